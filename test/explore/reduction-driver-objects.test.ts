/**
 * The reduction sees a driver's own objects without access(): a step that
 * calls a method or reads an accessor of a driver's SimObject class has that
 * object in its footprint under DFS, so a read of `bo.size` is ordered
 * against the kfree of `bo` (the README's first example, found exhaustively).
 * The library's classes are not watched: their operations declare their own
 * footprints.
 */
import { describe, expect, it } from "vitest";
import { condResched, DmaFence, explore, FenceContext, kfree, Kref, Mutex, SimObject, type Effect, type Sim } from "../../src/index.js";
import { reached, type ReductionProgram } from "../support/reduction.js";

class Bo extends SimObject {
  readonly kref = new Kref<Bo>(this);
  #size = 4096;
  get size(): number {
    return this.#size;
  }
  set size(v: number) {
    this.#size = v;
  }
  grow(): number {
    return (this.#size *= 2);
  }
}

function* release(bo: Bo): Generator<Effect, void, unknown> {
  yield* kfree(bo);
}

const PROGRAMS: Record<string, ReductionProgram> = {
  "a getter read against the last put (the README's first example)": (sim, seen) => {
    const bo = new Bo(sim, "Bo", { name: "scanout" });
    sim.spawn("display", "process", function* () {
      let bytes = 0;
      for (let i = 0; i < 2; i++) {
        bytes += bo.size;
        yield* condResched();
      }
      seen(`display read ${bytes}`);
    });
    sim.spawn("close", "process", function* () {
      yield* bo.kref.put(release);
    });
  },
  "a method that changes the object, in two tasks: the values each sees": (sim, seen) => {
    const bo = new Bo(sim, "Bo", { static: true });
    for (const name of ["a", "b"]) {
      sim.spawn(name, "process", function* () {
        yield* condResched();
        seen(`${name}:${bo.grow()}`);
      });
    }
  },
  "an accessor write against an accessor read": (sim, seen) => {
    const bo = new Bo(sim, "Bo", { static: true });
    sim.spawn("w", "process", function* () {
      yield* condResched();
      bo.size = 1;
    });
    sim.spawn("r", "process", function* () {
      yield* condResched();
      seen(`r:${bo.size}`);
    });
  },
};

describe("DPOR orders a driver's own objects without access()", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, () => {
      const all = reached(build, "none");
      expect(all.length).toBeGreaterThan(1);
      expect(reached(build, "dpor")).toEqual(all);
    });
  }

  it("the README's first example is a use-after-free under the default DFS", () => {
    const r = explore((sim) => { (PROGRAMS["a getter read against the last put (the README's first example)"] as (sim: Sim, seen: (s: string) => void) => void)(sim, () => undefined); }, { strategy: "dfs" });
    expect(r.failures[0]?.report).toMatchObject({ kind: "use-after-free", access: "Bo.size" });
  });

  it("two tasks that only read a driver object's accessor commute: one execution", () => {
    const r = explore(
      (sim) => {
        const bo = new Bo(sim, "Bo", { static: true });
        for (const name of ["a", "b"]) {
          sim.spawn(name, "process", function* () {
            yield* condResched();
            if (bo.size < 0) throw new Error("unreachable");
          });
        }
      },
      { strategy: "dfs", stopAtFirst: false },
    );
    expect(r.exhausted).toBe(true);
    expect(r.executions).toBe(1);
  });
});

describe("DPOR orders a library query the driver branches on", () => {
  it("fence.isSignaled() against the signal: both answers", () => {
    const build = (sim: Sim, seen: (s: string) => void): void => {
      const fence = new DmaFence(new FenceContext(sim, "ring"), { static: true });
      sim.spawn("s", "process", function* () {
        yield* condResched();
        yield* fence.signal();
      });
      sim.spawn("r", "process", function* () {
        yield* condResched();
        seen(`signalled:${fence.isSignaled()}`);
      });
    };
    const all = reached(build, "none");
    expect(all).toEqual(["signalled:false", "signalled:true"]);
    expect(reached(build, "dpor")).toEqual(all);
  });

  it("kref.read() against a get: both counts", () => {
    const build = (sim: Sim, seen: (s: string) => void): void => {
      const bo = new Bo(sim, "Bo", { static: true });
      sim.spawn("g", "process", function* () {
        yield* bo.kref.get();
      });
      sim.spawn("r", "process", function* () {
        yield* condResched();
        seen(`count:${bo.kref.read()}`);
      });
    };
    const all = reached(build, "none");
    expect(all).toEqual(["count:1", "count:2"]);
    expect(reached(build, "dpor")).toEqual(all);
  });

  it("mutex.isLocked() against lock and unlock: both answers", () => {
    const build = (sim: Sim, seen: (s: string) => void): void => {
      const m = new Mutex(sim, "m", { static: true });
      sim.spawn("l", "process", function* () {
        yield* m.lock();
        yield* m.unlock();
      });
      sim.spawn("r", "process", function* () {
        yield* condResched();
        seen(`locked:${m.isLocked()}`);
      });
    };
    const all = reached(build, "none");
    expect(all).toEqual(["locked:false", "locked:true"]);
    expect(reached(build, "dpor")).toEqual(all);
  });
});
