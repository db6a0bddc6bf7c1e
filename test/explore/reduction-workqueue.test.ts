/**
 * The reduction is sound for the workqueue's effects and waits: for small
 * programs racing queueWork, flushWork, cancelWorkSync, flushWorkqueue and
 * destroy against workers, DFS with DPOR reaches the same outcomes as the
 * unreduced search (what each side saw in runs that finished, and the kinds
 * of failure). A footprint that declares too little (a worker's pick, a
 * cancel taking a work off its queue) makes DPOR skip schedules, and one of
 * these fails.
 */
import { describe, expect, it } from "vitest";
import { access, cancelWorkSync, flushWork, Mutex, Work, Workqueue, type Effect, type Sim } from "../../src/index.js";
import { reached as reachedIn, type ReductionProgram } from "../support/reduction.js";

/** What an exhaustive DFS reached (test/support/reduction.ts), with this file's limits. */
function reached(build: ReductionProgram, reduction: "dpor" | "none"): string[] {
  return reachedIn(build, reduction, { checks: { lifetimes: false } });
}

/** A work that writes `tag` into `d.v`. */
function writer(sim: Sim, d: { v: string }, name: string, tag: string): Work {
  return new Work(sim, name, function* (): Generator<Effect, void, unknown> {
    yield* access(d, "write");
    d.v += tag;
  }, { static: true });
}

const PROGRAMS: Record<string, (sim: Sim, seen: (s: string) => void) => void> = {
  "queue against flush: what the flusher sees after flushing": (sim, seen) => {
    const d = sim.share({ v: "" });
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = writer(sim, d, "w", "w");
    sim.spawn("q", "process", function* () {
      yield* wq.queueWork(w);
    });
    sim.spawn("f", "process", function* () {
      const waited = yield* flushWork(w);
      yield* access(d, "read");
      seen(`flush=${waited} v=${d.v}`);
    });
  },
  "queue against cancel: whether it ran and what cancel returned": (sim, seen) => {
    const d = sim.share({ v: "" });
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = writer(sim, d, "w", "w");
    let cancelled = "";
    let done = 0;
    const finish = () => {
      if (++done === 2) seen(`cancel=${cancelled} v=${d.v}`);
    };
    sim.spawn("q", "process", function* () {
      yield* wq.queueWork(w);
      yield* flushWork(w);
      yield* access(d, "read");
      finish();
    });
    sim.spawn("c", "process", function* () {
      cancelled = String(yield* cancelWorkSync(w));
      yield* access(d, "read");
      finish();
    });
  },
  "two queuers of one work: which one queued it": (sim, seen) => {
    const d = sim.share({ v: "" });
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = writer(sim, d, "w", "x");
    for (const name of ["a", "b"]) {
      sim.spawn(name, "process", function* () {
        seen(`${name}:${yield* wq.queueWork(w)}`);
      });
    }
  },
  "two works on an unordered queue, then flushWorkqueue: the order they ran in": (sim, seen) => {
    const d = sim.share({ v: "" });
    const wq = new Workqueue(sim, "wq", { maxActive: 2, static: true });
    const a = writer(sim, d, "a", "a");
    const b = writer(sim, d, "b", "b");
    sim.spawn("f", "process", function* () {
      yield* wq.queueWork(a);
      yield* wq.queueWork(b);
      yield* wq.flushWorkqueue();
      yield* access(d, "read");
      seen(`f saw ${d.v}`);
    });
  },
  "an ordered queue: order of two works queued by two tasks": (sim, seen) => {
    const d = sim.share({ v: "" });
    const wq = new Workqueue(sim, "wq", { ordered: true, static: true });
    const [a, b] = ["a", "b"].map(
      (n) =>
        new Work(sim, n, function* () {
          yield* access(d, "write");
          d.v += n;
          if (d.v.length === 2) seen(d.v);
        }, { static: true }),
    ) as [Work, Work];
    sim.spawn("p", "process", function* () {
      yield* wq.queueWork(a);
    });
    sim.spawn("q", "process", function* () {
      yield* wq.queueWork(b);
    });
  },
  "flush under a lock the work takes: deadlock in some schedules": (sim, seen) => {
    const m = new Mutex(sim, "M", { static: true });
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = new Work(sim, "w", function* () {
      yield* m.lock();
      yield* m.unlock();
    }, { static: true });
    sim.spawn("q", "process", function* () {
      yield* wq.queueWork(w);
    });
    sim.spawn("f", "process", function* () {
      yield* m.lock();
      const waited = yield* flushWork(w);
      yield* m.unlock();
      seen(`flush=${waited}`);
    });
  },
  "destroy against a queue from another task: before, while draining (reported), after": (sim, seen) => {
    const wq = new Workqueue(sim, "wq");
    const a = new Work(sim, "a", function* () { /* nothing to do */ }, { static: true });
    const b = new Work(sim, "b", function* () { /* nothing to do */ }, { static: true });
    sim.spawn("x", "process", function* () {
      yield* wq.queueWork(a);
      yield* wq.destroy();
    });
    sim.spawn("y", "process", function* () {
      seen(`y:${yield* wq.queueWork(b)}`);
      seen(`b pending=${b.isPending()}`);
    });
  },
};

describe("DPOR reaches every outcome of the unreduced search, for workqueue races", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, () => {
      const all = reached(build, "none");
      expect(all.length).toBeGreaterThan(1);
      expect(reached(build, "dpor")).toEqual(all);
    }, 60_000);
  }
});
