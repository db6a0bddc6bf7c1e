/**
 * The exhaustive search: exact execution counts for tiny programs, and a
 * property test that partial-order reduction loses no outcome.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { condResched, defineOp, Effect, explore, Kref, Sim, SimObject, type Scenario } from "../../../src/index.js";

/** A shared cell: order-sensitive appends (a "trylock"-kind effect) and commuting increments (a kref get). */
class Cell extends SimObject {
  readonly kref = new Kref<Cell>(this);
  readonly log: number[] = [];
  count = 0;
}

const append = defineOp("append", function* (cell: Cell, who: number) {
  yield new Effect("trylock", cell);
  cell.log.push(who);
});

const inc = defineOp("inc", function* (cell: Cell) {
  yield new Effect("kref-get", cell);
  cell.count++;
});

function cells(sim: Sim, n: number): Cell[] {
  return Array.from({ length: n }, (_, i) => new Cell(sim, "Cell", { name: `c${i}`, static: true }));
}

/**
 * P1: two tasks, one independent step each, after their start:
 *   t1: start, get(A)        t2: start, get(B)
 * Every interleaving of the four steps (no reduction): C(4, 2) = 6.
 */
const p1: Scenario = (sim) => {
  const [a, b] = cells(sim, 2) as [Cell, Cell];
  sim.spawn("t1", "process", () => inc(a));
  sim.spawn("t2", "process", () => inc(b));
};

function executions(scenario: Scenario, strategy: Parameters<typeof explore>[1]): number {
  const r = explore(scenario, { ...strategy, executions: 100_000, stopAtFirst: false });
  expect(r.exhausted).toBe(true);
  expect(r.failures).toEqual([]);
  return r.executions;
}

describe("dfs: exact execution counts", () => {
  it("P1 without reduction: all 6 interleavings", () => {
    // 1. t1.start t1.get t2.start t2.get   4. t2.start t1.start t1.get t2.get
    // 2. t1.start t2.start t2.get t1.get   5. t2.start t1.start t2.get t1.get
    // 3. t1.start t2.start t1.get t2.get   6. t2.start t2.get t1.start t1.get
    expect(executions(p1, { strategy: { name: "dfs", reduction: "none" } })).toBe(6);
  });

  it("P1 with DPOR: 4, the two orders of the independent gets are one", () => {
    // A start is dependent with everything (the code after it may read
    // anything), the gets on A and B are independent. DPOR runs:
    // 1. t1.start t1.get t2.start t2.get
    // 2. t1.start t2.start t2.get t1.get   (t1.get || t2.get: covers t1.start t2.start t1.get t2.get)
    // 3. t2.start t2.get t1.start t1.get
    // 4. t2.start t1.start t1.get t2.get   (covers t2.start t1.start t2.get t1.get)
    expect(executions(p1, { strategy: "dfs" })).toBe(4);
  });

  it("P1 with preemption bounds 0, 1, 2: 2, 4, 6", () => {
    // A preemption switches away from a task that could go on.
    // bound 0: t1 t1 t2 t2, t2 t2 t1 t1.
    // bound 1: also t1 t2 t2 t1 and t2 t1 t1 t2 (one switch away from a runnable task each).
    // bound 2: also t1 t2 t1 t2 and t2 t1 t2 t1: all 6.
    const bounded = (b: number) => executions(p1, { strategy: { name: "dfs", reduction: "none", preemptionBound: b } });
    expect([bounded(0), bounded(1), bounded(2)]).toEqual([2, 4, 6]);
  });

  it("two gets of one object commute; two appends do not", () => {
    // t1: start, get(A); t2: start, get(A): the gets commute, so the same 4 as P1.
    const gets: Scenario = (sim) => {
      const [a] = cells(sim, 1) as [Cell];
      sim.spawn("t1", "process", () => inc(a));
      sim.spawn("t2", "process", () => inc(a));
    };
    // With appends to one cell every pair of steps is dependent (starts with
    // everything, the appends with each other), so nothing merges: all 6.
    const appends: Scenario = (sim) => {
      const [a] = cells(sim, 1) as [Cell];
      sim.spawn("t1", "process", () => append(a, 1));
      sim.spawn("t2", "process", () => append(a, 2));
    };
    expect(executions(gets, { strategy: "dfs" })).toBe(4);
    expect(executions(appends, { strategy: "dfs" })).toBe(6);
  });
});

/** A random small program: tasks of steps, each an append, an inc or a cond_resched on a cell. */
interface Step { readonly op: "append" | "inc" | "resched"; readonly cell: number }

function program(tasks: readonly (readonly Step[])[], outcomes: Set<string>): Scenario {
  return (sim) => {
    const cs = cells(sim, 3);
    tasks.forEach((steps, t) => {
      sim.spawn(`t${t}`, "process", function* () {
        for (const s of steps) {
          const c = cs[s.cell] as Cell;
          if (s.op === "append") yield* append(c, t);
          else if (s.op === "inc") yield* inc(c);
          else yield* condResched();
        }
        // The last task to finish records the outcome: every cell's log and count.
        if (sim.tasks.every((x) => x.state === "done" || x.name === `t${t}`)) {
          outcomes.add(JSON.stringify(cs.map((x) => [x.log, x.count])));
        }
      });
    });
  };
}

const stepArb = fc.record({ op: fc.constantFrom("append" as const, "inc" as const, "resched" as const), cell: fc.integer({ min: 0, max: 2 }) });

describe("dfs: partial-order reduction is sound", () => {
  it("finds every outcome the unreduced search finds, in fewer or as many executions", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.array(fc.array(stepArb, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 2 }), fc.array(fc.array(stepArb, { minLength: 1, maxLength: 2 }), { minLength: 3, maxLength: 3 })),
        (tasks) => {
          const all = new Set<string>();
          const reduced = new Set<string>();
          const full = explore(program(tasks, all), { strategy: { name: "dfs", reduction: "none" }, executions: 100_000, stopAtFirst: false });
          const dpor = explore(program(tasks, reduced), { strategy: "dfs", executions: 100_000, stopAtFirst: false });
          expect(full.exhausted && dpor.exhausted).toBe(true);
          expect([...reduced].sort()).toEqual([...all].sort());
          expect(dpor.executions).toBeLessThanOrEqual(full.executions);
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });
});

describe("dfs: injected choices", () => {
  it("explores every outcome of sim.choose(), each a frame of its own", () => {
    // One task choosing among 3, then among 2: 6 executions, every pair of outcomes once.
    const seen: string[] = [];
    const choosy: Scenario = (sim) => {
      sim.spawn("t", "process", function* () {
        const a = yield* sim.choose(3);
        const b = yield* sim.choose(2);
        seen.push(`${a}${b}`);
      });
    };
    const r = explore(choosy, { strategy: "dfs", executions: 100, stopAtFirst: false });
    expect(r).toMatchObject({ executions: 6, exhausted: true });
    expect(seen.sort()).toEqual(["00", "01", "10", "11", "20", "21"]);
  });

  it("finds a bug behind one outcome of a choice", () => {
    const unlucky: Scenario = (sim) => {
      sim.spawn("t", "process", function* () {
        if ((yield* sim.choose(4)) === 3) throw new Error("the allocation failed and the error path is broken");
      });
    };
    const r = explore(unlucky, { strategy: "dfs", executions: 100 });
    expect(r.failures[0]?.report).toMatchObject({ kind: "task-exception" });
    expect(r.failures[0]?.execution).toBe(3);
  });
});
