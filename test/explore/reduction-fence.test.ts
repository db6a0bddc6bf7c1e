/**
 * The reduction is sound for fences: for small programs over each fence
 * operation that blocks or races (a wait against the signal, two waiters, a
 * callback added while the fence is signalled, a timed wait whose deadline
 * ties with the signal, an error set around the signal, a callback removed
 * around the signal), DFS with DPOR reaches the same outcomes as the
 * unreduced search: what the tasks saw in runs that finish, and the kinds of
 * failure.
 */
import { describe, expect, it } from "vitest";
import { access, DmaFence, FenceContext, msleep, type Effect, type Sim } from "../../src/index.js";
import { reached } from "../support/reduction.js";


/** A fence made at setup, signalled by `signaller`, never freed. */
function fenceFor(sim: Sim, signaller: ReturnType<Sim["spawn"]>): DmaFence {
  return new DmaFence(new FenceContext(sim, "ring"), { static: true, signaller });
}

const PROGRAMS: Record<string, (sim: Sim, seen: (s: string) => void) => void> = {
  "a waiter against the signaller, with data written before the signal": (sim, seen) => {
    const d = sim.share({ v: 0, log: "" });
    const fences: DmaFence[] = [];
    const s = sim.spawn("s", "process", function* () {
      yield* access(d, "write");
      d.v = 1;
      yield* (fences[0] as DmaFence).signal();
    });
    sim.spawn("w", "process", function* () {
      yield* (fences[0] as DmaFence).wait(false);
      yield* access(d, "read");
      seen(`w saw ${d.v}`);
    });
    sim.spawn("peek", "process", function* () {
      yield* access(d, "write");
      d.log += String(d.v);
      seen(`peek saw ${d.log}`);
    });
    fences.push(fenceFor(sim, s));
  },
  "two waiters wake in either order": (sim, seen) => {
    const d = sim.share({ log: "" });
    const fences: DmaFence[] = [];
    const s = sim.spawn("s", "process", function* () {
      yield* (fences[0] as DmaFence).signal();
    });
    for (const name of ["a", "b"]) {
      sim.spawn(name, "process", function* () {
        yield* (fences[0] as DmaFence).wait(name === "a");
        yield* access(d, "write");
        d.log += name;
        if (d.log.length === 2) seen(d.log);
      });
    }
    fences.push(fenceFor(sim, s));
  },
  "addCallback racing the signal": (sim, seen) => {
    const d = sim.share({ ran: "" });
    const fences: DmaFence[] = [];
    const s = sim.spawn("s", "process", function* () {
      yield* (fences[0] as DmaFence).signal();
      yield* access(d, "read");
      seen(`after signal: ${d.ran}`);
    });
    sim.spawn("a", "process", function* (): Generator<Effect, void, unknown> {
      const r = yield* (fences[0] as DmaFence).addCallback(function* () {
        yield* access(d, "write");
        d.ran = "cb";
      });
      seen(`add: ${r}`);
    });
    fences.push(fenceFor(sim, s));
  },
  "removeCallback racing the signal": (sim, seen) => {
    const fences: DmaFence[] = [];
    const cb = (): undefined => {
      seen("callback ran");
      return undefined;
    };
    const s = sim.spawn("s", "process", function* () {
      yield* (fences[0] as DmaFence).signal();
    });
    sim.spawn("a", "process", function* () {
      const f = fences[0] as DmaFence;
      yield* f.addCallback(cb);
      seen(`removed: ${String(yield* f.removeCallback(cb))}`);
    });
    fences.push(fenceFor(sim, s));
  },
  "waitTimeout whose deadline ties with a delayed signal": (sim, seen) => {
    const fences: DmaFence[] = [];
    const s = sim.spawn("s", "process", function* () {
      yield* msleep(0.0001); // 100 ns
      yield* (fences[0] as DmaFence).signal();
    });
    sim.spawn("w", "process", function* () {
      seen(`wait: ${yield* (fences[0] as DmaFence).waitTimeout(false, 100)}`);
    });
    fences.push(fenceFor(sim, s));
  },
  "an interruptible wait, a kill and the signal": (sim, seen) => {
    const fences: DmaFence[] = [];
    const s = sim.spawn("s", "process", function* () {
      yield* (fences[0] as DmaFence).signal();
    });
    const w = sim.spawn("w", "process", function* () {
      seen(`wait: ${yield* (fences[0] as DmaFence).wait(true)}`);
    });
    sim.spawn("k", "process", function* () {
      yield* access(w, "write");
      w.kill();
    });
    fences.push(fenceFor(sim, s));
  },
  "setError racing the signal": (sim, seen) => {
    const fences: DmaFence[] = [];
    const s = sim.spawn("s", "process", function* () {
      yield* (fences[0] as DmaFence).signal();
    });
    sim.spawn("e", "process", function* () {
      yield* (fences[0] as DmaFence).setError(-5);
      seen("set");
    });
    fences.push(fenceFor(sim, s));
  },
  // The context's seqno counter is written by the step that makes the fence
  // (a constructor, no step of its own): two such steps are dependent.
  "two tasks make a fence each on one context: the seqno each gets": (sim, seen) => {
    const ctx = new FenceContext(sim, "ring");
    for (const name of ["a", "b"]) {
      const own = sim.share({ v: 0 });
      sim.spawn(name, "process", function* () {
        yield* access(own, "write");
        const f = new DmaFence(ctx, { static: true });
        seen(`${name}:${f.seqno}`);
        yield* f.signal();
      });
    }
  },
  // The Sim's context counter is written by the step that makes a context.
  "two tasks make a fence context each: the context number each gets": (sim, seen) => {
    for (const name of ["a", "b"]) {
      const own = sim.share({ v: 0 });
      sim.spawn(name, "process", function* () {
        yield* access(own, "write");
        seen(`${name}:${new FenceContext(sim, name).context}`);
      });
    }
  },
  // A method called on a freed fence reports in the op's own step (the one
  // that names the fence), not in the caller's step before it, where the
  // method was looked up and whose footprint does not name the fence.
  "a get after the last put elsewhere: the failure kinds": (sim, seen) => {
    const f = new DmaFence(new FenceContext(sim, "ring"), {});
    sim.spawn("a", "process", function* () {
      yield* f.get();
      yield* f.addCallback(() => undefined);
      yield* f.put();
      seen("a done");
    });
    sim.spawn("s", "process", function* () {
      yield* f.signal();
      yield* f.put();
      seen("s done");
    });
  },
};

describe("DPOR reaches every outcome of the unreduced search, for fence operations", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, () => {
      const all = reached(build, "none");
      expect(all.length).toBeGreaterThan(1);
      expect(reached(build, "dpor")).toEqual(all);
    });
  }
});
