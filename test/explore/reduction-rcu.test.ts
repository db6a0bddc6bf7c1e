/**
 * The reduction is sound for RCU: for small programs with readers (nested
 * or not), synchronizeRcu, callRcu and kfreeRcu, RcuPointer reads and
 * writes, DFS with DPOR reaches the same outcomes as the unreduced search:
 * the same values seen by the tasks in runs that finish, and the same kinds
 * of failure. Two readers' rcu_read_lock/unlock steps are declared to
 * commute (each only adds itself to, or takes itself out of, the readers
 * set); the programs with two readers check that claim, and every
 * grace-period wait (synchronize_rcu, the rcu_gp task) is a blocking wait
 * whose races the reduction must not skip.
 */
import { describe, expect, it } from "vitest";
import {
  access,
  callRcu,
  explore,
  kfree,
  kfreeRcu,
  Kref,
  RcuPointer,
  rcuReadLock,
  rcuReadUnlock,
  SimObject,
  synchronizeRcu,
  type Effect,
  type Sim,
} from "../../src/index.js";
import { reached as reachedIn, type ReductionProgram } from "../support/reduction.js";

class Obj extends SimObject {
  readonly kref = new Kref<Obj>(this);
  constructor(sim: Sim, name: string) {
    super(sim, "Obj", { name });
  }
}

type Build = (sim: Sim, seen: (s: string) => void) => void;

/** What an exhaustive DFS reached (test/support/reduction.ts), with this file's limits. */
function reached(build: ReductionProgram, reduction: "dpor" | "none"): string[] {
  return reachedIn(build, reduction, { executions: 60_000 });
}

/** Calls `seen` with every task's observation once all `n` tasks finished. */
function tally(n: number, seen: (s: string) => void): (name: string, what: string) => void {
  const saw = new Map<string, string>();
  return (name, what) => {
    saw.set(name, what);
    if (saw.size === n) seen([...saw].map(([k, v]) => `${k}=${v}`).sort().join(" "));
  };
}

/** A reader: inside a section (nested `depth` deep, the read after the inner unlocks), it reads the data once. */
function reader(sim: Sim, name: string, data: { value: number; freed: boolean }, done: (name: string, what: string) => void, depth = 1): void {
  sim.spawn(name, "process", function* () {
    for (let i = 0; i < depth; i++) yield* rcuReadLock();
    for (let i = 1; i < depth; i++) yield* rcuReadUnlock();
    yield* access(data, "read");
    done(name, `${data.value}${data.freed ? "F" : ""}`);
    yield* rcuReadUnlock();
  });
}

const PROGRAMS: Record<string, Build> = {
  "one reader / unpublish, synchronize_rcu, free": (sim, seen) => {
    const data = sim.share({ value: 0, freed: false });
    const done = tally(2, seen);
    reader(sim, "r0", data, done);
    sim.spawn("w", "process", function* () {
      yield* access(data, "write");
      data.value = 1;
      yield* synchronizeRcu();
      yield* access(data, "write");
      data.freed = true;
      done("w", "ok");
    });
  },
  "two readers / synchronize_rcu, free": (sim, seen) => {
    const data = sim.share({ value: 0, freed: false });
    const done = tally(3, seen);
    reader(sim, "r0", data, done);
    reader(sim, "r1", data, done);
    sim.spawn("w", "process", function* () {
      yield* synchronizeRcu();
      yield* access(data, "write");
      data.freed = true;
      done("w", "ok");
    });
  },
  "a nested reader / unpublish, synchronize_rcu, free": (sim, seen) => {
    const data = sim.share({ value: 0, freed: false });
    const done = tally(2, seen);
    reader(sim, "r0", data, done, 2);
    sim.spawn("w", "process", function* () {
      yield* access(data, "write");
      data.value = 1;
      yield* synchronizeRcu();
      yield* access(data, "write");
      data.freed = true;
      done("w", "ok");
    });
  },
  "a reader / unpublish, call_rcu frees": (sim, seen) => {
    const data = sim.share({ value: 0, freed: false });
    const o = new Obj(sim, "o");
    const done = tally(2, seen);
    reader(sim, "r0", data, done);
    sim.spawn("w", "process", function* () {
      yield* access(data, "write");
      data.value = 1;
      yield* callRcu(o, function* (obj) {
        yield* access(data, "write");
        data.freed = true;
        yield* kfree(obj);
      });
      done("w", "ok");
    });
  },
  "call_rcu from two tasks: one rcu_gp task or two, callbacks in queue order": (sim, seen) => {
    const log = sim.share<string[]>([]);
    const done = tally(2, seen);
    for (const name of ["w0", "w1"]) {
      const o = new SimObject(sim, "Obj", { name, static: true });
      sim.spawn(name, "process", function* () {
        yield* callRcu(o, function* () {
          yield* access(log, "write");
          log.push(name);
          if (log.length === 2) seen(`callbacks ${log.join(",")}`);
        });
        done(name, "ok");
      });
    }
  },
};

/** The get-unless-zero pattern: a reader of an RcuPointer, an updater that unpublishes and puts. */
function getUnlessZero(release: (o: Obj) => Iterable<Effect, void, unknown>): Build {
  return (sim, seen) => {
    const o = new Obj(sim, "fence");
    const p = new RcuPointer<Obj>(sim, o, { name: "p", static: true });
    const done = tally(2, seen);
    sim.spawn("reader", "process", function* () {
      yield* rcuReadLock();
      const got = yield* p.rcuDereference();
      let what = "null";
      if (got !== null) {
        if (yield* got.kref.getUnlessZero()) {
          what = "got";
          yield* got.kref.put(release);
        } else what = "zero";
      }
      yield* rcuReadUnlock();
      done("reader", what);
    });
    sim.spawn("updater", "process", function* () {
      yield* p.rcuAssignPointer(null);
      yield* o.kref.put(release);
      done("updater", "ok");
    });
  };
}

PROGRAMS["get-unless-zero under RCU, plain kfree (buggy)"] = getUnlessZero((o) => kfree(o));
PROGRAMS["get-unless-zero under RCU, kfreeRcu (fixed)"] = getUnlessZero((o) => kfreeRcu(o));
PROGRAMS["synchronize_rcu inside a read section, with another reader"] = (sim, seen) => {
  const data = sim.share({ value: 0, freed: false });
  const done = tally(1, seen);
  reader(sim, "r0", data, done);
  sim.spawn("w", "process", function* () {
    yield* rcuReadLock();
    yield* synchronizeRcu();
    yield* rcuReadUnlock();
  });
};

describe("DPOR reaches the same outcomes as the unreduced search: RCU", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, () => {
      const all = reached(build, "none");
      expect(all.length).toBeGreaterThan(0);
      expect(reached(build, "dpor")).toEqual(all);
    });
  }

  it("two readers' sections commute: with no updater, DPOR runs one execution where the unreduced search runs many", () => {
    const run = (reduction: "dpor" | "none") =>
      explore(
        (sim) => {
          const data = sim.share({ value: 0, freed: false });
          const done = tally(2, () => undefined);
          reader(sim, "r0", data, done);
          reader(sim, "r1", data, done);
        },
        { strategy: { name: "dfs", reduction }, executions: 10_000, stopAtFirst: false, shrink: false },
      );
    const reduced = run("dpor");
    const all = run("none");
    expect([reduced.exhausted, all.exhausted]).toEqual([true, true]);
    expect(reduced.executions).toBe(1);
    expect(all.executions).toBeGreaterThan(1);
  });

  it("the programs do what they say: RCU keeps readers safe, plain kfree does not", () => {
    const one = reached(PROGRAMS["one reader / unpublish, synchronize_rcu, free"] as Build, "dpor");
    // A reader that saw the old value (0) never sees it freed; one that came after the update sees the new value.
    expect(one).toEqual(["r0=0 w=ok", "r0=1 w=ok", "r0=1F w=ok"]);
    const cb = reached(PROGRAMS["a reader / unpublish, call_rcu frees"] as Build, "dpor");
    expect(cb).toEqual(["r0=0 w=ok", "r0=1 w=ok", "r0=1F w=ok"]);
    const buggy = reached(PROGRAMS["get-unless-zero under RCU, plain kfree (buggy)"] as Build, "dpor");
    expect(buggy).toContain("failure:use-after-free");
    const fixed = reached(PROGRAMS["get-unless-zero under RCU, kfreeRcu (fixed)"] as Build, "dpor");
    expect(fixed.filter((s) => s.startsWith("failure:"))).toEqual([]);
    expect(fixed).toEqual(["reader=got updater=ok", "reader=null updater=ok", "reader=zero updater=ok"]);
  });
});
