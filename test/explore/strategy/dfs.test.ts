/**
 * The exhaustive search: exact execution counts for tiny programs (each
 * Mazurkiewicz trace once), and property tests that the reduction loses no
 * outcome and never runs one trace twice.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { access, Completion, condResched, defineOp, explore, kfree, Kref, Mm, MmuIntervalNotifier, Mutex, PhysMem, Sim, SimObject, type MmuIntervalNotifierOps, type Scenario } from "../../../src/index.js";
import { Effect, WRITE, type Access } from "../../../src/kernel/effect.js";
import { ACCESS } from "../../../src/kernel/access.js";
import { dependent, DfsSearch, sigOf, type DfsOptions, type Sig } from "../../../src/explore/strategy/dfs.js";
import type { Task } from "../../../src/kernel/task.js";

/** A shared cell: order-sensitive appends (writes) and commuting increments (kref gets). */
class Cell extends SimObject {
  readonly kref = new Kref<Cell>(this);
  readonly log: number[] = [];
  count = 0;
}

const append = defineOp("append", function* (cell: Cell, who: number) {
  yield* access(cell, "write");
  cell.log.push(who);
});

const inc = defineOp("inc", function* (cell: Cell) {
  yield* cell.kref.get();
  cell.count++;
});

function cells(sim: Sim, n: number): Cell[] {
  return Array.from({ length: n }, (_, i) => new Cell(sim, "Cell", { name: `c${i}`, static: true }));
}

/**
 * P1: two tasks, one independent step each, after their start:
 *   t1: start, get(A)        t2: start, get(B)
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
  expect(r.pruned).toBe(0);
  return r.executions;
}

const dpor = { strategy: "dfs" } as const;

describe("dfs: exact execution counts", () => {
  it("P1 without reduction: all 6 interleavings", () => {
    // 1. t1.start t1.get t2.start t2.get   4. t2.start t1.start t1.get t2.get
    // 2. t1.start t2.start t2.get t1.get   5. t2.start t1.start t2.get t1.get
    // 3. t1.start t2.start t1.get t2.get   6. t2.start t2.get t1.start t1.get
    expect(executions(p1, { strategy: { name: "dfs", reduction: "none" } })).toBe(6);
  });

  it("P1 with DPOR: 1, every step is independent of the other task's", () => {
    // Starts touch nothing; the gets touch different refcounts. One trace:
    // 1. t1.start t1.get t2.start t2.get
    expect(executions(p1, dpor)).toBe(1);
  });

  it("P1 with preemption bounds 0, 1, 2: 2, 4, 6 (a bound runs every schedule within it)", () => {
    // bound 0: t1 t1 t2 t2, t2 t2 t1 t1.
    // bound 1: also t1 t2 t2 t1 and t2 t1 t1 t2 (one switch away from a runnable task each).
    // bound 2: also t1 t2 t1 t2 and t2 t1 t2 t1: all 6.
    const bounded = (b: number) => executions(p1, { strategy: { name: "dfs", preemptionBound: b } });
    expect([bounded(0), bounded(1), bounded(2)]).toEqual([2, 4, 6]);
  });

  it("two gets of one object commute (1 trace); two appends do not (2 traces)", () => {
    const gets: Scenario = (sim) => {
      const [a] = cells(sim, 1) as [Cell];
      sim.spawn("t1", "process", () => inc(a));
      sim.spawn("t2", "process", () => inc(a));
    };
    // 1. t1 appends first   2. t2 appends first
    const appends: Scenario = (sim) => {
      const [a] = cells(sim, 1) as [Cell];
      sim.spawn("t1", "process", () => append(a, 1));
      sim.spawn("t2", "process", () => append(a, 2));
    };
    expect(executions(gets, dpor)).toBe(1);
    expect(executions(appends, dpor)).toBe(2);
  });

  const own = (n: number): Scenario => (sim) => {
    for (let i = 0; i < n; i++) {
      const m = new Mutex(sim, `m${i}`, { static: true });
      sim.spawn(`t${i}`, "process", function* () {
        yield* m.lock();
        yield* m.unlock();
      });
    }
  };
  it.each([2, 3, 4, 5, 6])("%i tasks each locking their own mutex: 1", (n) => {
    expect(executions(own(n), dpor)).toBe(1);
  });

  const shared = (n: number): Scenario => (sim) => {
    const m = new Mutex(sim, "m", { static: true });
    for (let i = 0; i < n; i++) {
      sim.spawn(`t${i}`, "process", function* () {
        yield* m.lock();
        yield* m.unlock();
      });
    }
  };
  it.each([
    [2, 2],
    [3, 6],
    [4, 24],
    [5, 120],
  ])("%i tasks locking one shared mutex: %i (n!, one per order of the critical sections)", (n, count) => {
    expect(executions(shared(n), dpor)).toBe(count);
  });

  it.each([2, 3, 4])("%i tasks each taking two gets of one kref: 1", (n) => {
    const gets: Scenario = (sim) => {
      const [a] = cells(sim, 1) as [Cell];
      for (let i = 0; i < n; i++) {
        sim.spawn(`t${i}`, "process", function* () {
          yield* a.kref.get();
          yield* a.kref.get();
        });
      }
    };
    expect(executions(gets, dpor)).toBe(1);
  });

  it.each([2, 3, 4])("%i readers of one shared object: 1", (n) => {
    const readers: Scenario = (sim) => {
      const state = sim.share({ value: 0 });
      for (let i = 0; i < n; i++) sim.spawn(`r${i}`, "process", () => access(state, "read"));
    };
    expect(executions(readers, dpor)).toBe(1);
  });

  it.each([1, 2, 3, 4])("%i readers and one writer of one object: 2^R (each read sees the write or not)", (r) => {
    const seen = new Set<string>();
    const rw: Scenario = (sim) => {
      const state = sim.share({ value: 0 });
      const reads: (number | undefined)[] = [];
      for (let i = 0; i < r; i++) {
        sim.spawn(`r${i}`, "process", function* () {
          yield* access(state, "read");
          reads[i] = state.value;
          if (reads.filter((x) => x !== undefined).length === r) seen.add(reads.join(""));
        });
      }
      sim.spawn("w", "process", function* () {
        yield* access(state, "write");
        state.value = 1;
      });
    };
    expect(executions(rw, dpor)).toBe(2 ** r);
    expect(seen.size).toBe(2 ** r);
  });
});

describe("dfs: objects are named the same way in every execution", () => {
  it("a lookup whose get races with the last put, behind a read of the table (the race is reversed across executions)", () => {
    // The table and the refcount are first touched in different orders in
    // different executions; their footprint keys must not depend on that.
    class Bo extends SimObject {
      readonly kref = new Kref<Bo>(this);
    }
    const lookup: Scenario = (sim) => {
      const table: { bo: Bo | null } = sim.share({ bo: new Bo(sim, "Bo", { static: true }) });
      sim.spawn("lookup", "process", function* () {
        yield* access(table, "read");
        const bo = table.bo;
        yield* condResched();
        if (bo === null) return;
        yield* bo.kref.get(); // BUG: get, not get_unless_zero
        yield* bo.kref.put(() => undefined);
      });
      sim.spawn("remove", "process", function* () {
        yield* access(table, "write");
        const bo = table.bo as Bo;
        table.bo = null;
        yield* bo.kref.put(() => undefined);
      });
    };
    const r = explore(lookup, { strategy: "dfs", executions: 100 });
    expect(r.failures[0]?.report).toMatchObject({ kind: "refcount-inc-from-zero" });
  });

  it("access() refuses plain state that was not shared, naming the argument", () => {
    const sim = new Sim();
    expect(() => { sim.run(function* () {
        yield* access({ flag: true }, "read");
      }); },
    ).toThrow(/obj.*sim\.share/);
  });
});

describe("dfs: never claims a proof it does not have", () => {
  it("a polling loop of reads is spinning: it is parked, the writer runs, and its bug is found", () => {
    const poll: Scenario = (sim) => {
      const flag = sim.share({ v: false });
      sim.spawn("a", "process", function* () {
        for (;;) {
          yield* access(flag, "read");
          if (flag.v) break;
          yield* condResched();
        }
      });
      sim.spawn("b", "process", function* () {
        yield* access(flag, "write");
        flag.v = true;
        throw new Error("bug in b");
      });
    };
    const r = explore(poll, { strategy: "dfs", executions: 1000 });
    expect(r.failures[0]?.report).toMatchObject({ kind: "task-exception", error: "Error: bug in b" });
  });

  it("an execution cut by the step limit makes the search a non-proof: stoppedBy step-bound, not exhausted", () => {
    // t makes progress forever (refcount traffic); u's bug is behind it.
    class Bo extends SimObject {
      readonly kref = new Kref<Bo>(this);
    }
    const busy: Scenario = (sim) => {
      const bo = new Bo(sim, "Bo", { static: true });
      sim.spawn("t", "process", function* () {
        for (;;) {
          yield* bo.kref.get();
          yield* bo.kref.put(() => undefined);
        }
      });
    };
    const r = explore(busy, { strategy: "dfs", executions: 100, maxSteps: 50 });
    expect(r).toMatchObject({ stoppedBy: "step-bound", exhausted: false, stepBoundHits: 1 });
    const portfolio = explore(busy, { executions: 12, maxSteps: 50 });
    // The portfolio does not stop at the DFS's end: it goes on to its budget.
    expect(portfolio).toMatchObject({ stoppedBy: "executions", exhausted: false, executions: 12 });
  });
});

describe("dfs: tasks still blocked at the end, and signals (a second review's findings)", () => {
  /** The outcomes each reduction reaches, recorded by `record` at the end of every execution. */
  function both(build: (sim: Sim, record: (outcome: string) => void) => void): { dpor: string[]; none: string[] } {
    const run = (reduction: "dpor" | "none") => {
      const seen = new Set<string>();
      const r = explore((sim) => { build(sim, (o) => seen.add(o)); }, { strategy: { name: "dfs", reduction }, executions: 10_000, stopAtFirst: false, shrink: false });
      expect(r.exhausted).toBe(true);
      for (const f of r.failures) seen.add(f.fingerprint);
      return [...seen].sort();
    };
    return { dpor: run("dpor"), none: run("none") };
  }

  it("a lock never released: the order where the other task takes it first is run too", () => {
    class Obj extends SimObject {
      readonly kref = new Kref<Obj>(this);
    }
    const r = both((sim) => {
      const m = new Mutex(sim, "m", { static: true });
      const o = new Obj(sim, "Obj", { name: "o" });
      sim.spawn("t0", "process", () => m.lock()); // never unlocks
      sim.spawn("t1", "process", function* () {
        yield* m.lock();
        yield* m.unlock();
        yield* o.kref.put(() => kfree(o));
        yield* o.kref.put(() => kfree(o)); // BUG: one put too many
      });
    });
    expect(r.dpor).toEqual(r.none);
    expect(r.dpor.some((f) => f.startsWith("refcount-underflow"))).toBe(true);
  });

  it("one complete() and two waiters: either waiter may be the one left waiting", () => {
    const r = both((sim, record) => {
      const c = new Completion(sim, { name: "c", static: true });
      const got: string[] = [];
      sim.spawn("completer", "process", () => c.complete());
      for (const name of ["w1", "w2"]) {
        sim.spawn(name, "process", function* () {
          yield* c.waitForCompletion();
          got.push(name);
          record(got.join(","));
        });
      }
    });
    expect(r.dpor).toEqual(r.none);
    expect(r.dpor.filter((o) => o === "w1" || o === "w2")).toEqual(["w1", "w2"]);
  });

  it("a task interrupted by a handler that never returns still races with the steps it was interrupted before", () => {
    const r = both((sim, record) => {
      const m = new Mutex(sim, "m", { static: true });
      const x = sim.share({ log: [] as string[] });
      let done = 0;
      const fin = () => {
        if (++done === 3) record(x.log.join(","));
      };
      sim.spawn("t0", "process", function* () {
        yield* m.lock();
        yield* access(x, "write");
        x.log.push("t0");
        yield* m.unlock();
        yield* m.trylock();
        fin();
      });
      sim.spawn("t1", "process", function* () {
        yield* access(x, "write");
        x.log.push("t1");
        fin();
      });
      sim.spawn("irq", "hardirq", function* () {
        yield* m.lock(); // never released: whatever it interrupted never resumes
        fin();
      });
    });
    expect(r.dpor).toEqual(r.none);
  });

  it.each(["setup", "a task"])("a signal sent by %s ends an interruptible wait in the orders the unreduced search finds", (sender) => {
    const r = both((sim, record) => {
      const m = new Mutex(sim, "m", { static: true });
      const out: string[] = [];
      let done = 0;
      const tasks = sender === "setup" ? 2 : 3;
      const fin = () => {
        if (++done === tasks) record(out.join(","));
      };
      sim.spawn("t1", "process", function* () {
        yield* m.lock();
        yield* m.unlock();
        fin();
      });
      const t2 = sim.spawn("t2", "process", function* () {
        const got = yield* m.lockInterruptible();
        out.push(got);
        if (got === "locked") yield* m.unlock();
        fin();
      });
      if (sender === "setup") t2.kill();
      else {
        sim.spawn("t3", "process", function* () {
          t2.kill();
          fin();
          yield* condResched();
        });
      }
    });
    expect(r.dpor).toEqual(r.none);
    expect(r.dpor).toContain("interrupted");
  });
});

describe("dfs: blocking waits (issue 7, section 0)", () => {
  /**
   * Two tasks each lock a mutex, record their id and unlock it, twice; the
   * assertion fails only for the records 0,1,0,1. The four critical sections
   * have 6 orders; the reduction used to reach 4 of them and miss this one,
   * because its race check stopped at the holder's unlock, which is never
   * enabled together with the waiter's lock.
   */
  /** The program; `done` sees the records once both tasks have made theirs. */
  const twoByTwo =
    (done: (records: readonly number[]) => void): Scenario =>
    (sim) => {
      const m = new Mutex(sim, "m", { static: true });
      // Shared, but only touched under m: the lock orders every access.
      const records: number[] = [];
      for (const id of [0, 1]) {
        sim.spawn(`t${id}`, "process", function* () {
          for (let k = 0; k < 2; k++) {
            yield* m.lock();
            records.push(id);
            yield* m.unlock();
          }
          if (records.length === 4) done(records);
        });
      }
    };
  const alternating = twoByTwo((records) => {
    if (records.join(",") === "0,1,0,1") throw new Error("the records alternate");
  });

  it("finds the alternating order, as unreduced DFS does", () => {
    const r = explore(alternating, { strategy: { name: "dfs", reduction: "dpor" }, executions: 1000 });
    expect(r.failures[0]?.report).toMatchObject({ kind: "task-exception", error: "Error: the records alternate" });
    const all = explore(alternating, { strategy: { name: "dfs", reduction: "none" }, executions: 1000 });
    expect(all.failures[0]?.report.kind).toBe("task-exception");
  });

  it("runs each of the 6 orders of the critical sections once", () => {
    const orders = new Set<string>();
    const record = twoByTwo((records) => orders.add(records.join("")));
    expect(executions(record, dpor)).toBe(6);
    expect(orders.size).toBe(6);
  });

  it("waiters on a completion: every order the unreduced search finds", () => {
    const outcomes = (reduction: "dpor" | "none") => {
      const seen = new Set<string>();
      const s: Scenario = (sim) => {
        const done = new Completion(sim, { name: "done", static: true });
        const log: string[] = [];
        const note = defineOp("note", function* (what: string) {
          yield* access(log, "write");
          log.push(what);
          if (log.length === 3) seen.add(log.join(""));
        });
        sim.spawn("waiter", "process", function* () {
          yield* done.waitForCompletion();
          yield* note("w");
        });
        sim.spawn("completer", "process", function* () {
          yield* note("c");
          yield* done.complete();
        });
        sim.spawn("other", "process", function* () {
          yield* done.complete();
          yield* done.waitForCompletion();
          yield* note("o");
        });
      };
      explore(s, { strategy: { name: "dfs", reduction }, executions: 10_000, stopAtFirst: false });
      return [...seen].sort();
    };
    expect(outcomes("dpor")).toEqual(outcomes("none"));
  });
});

/**
 * A random small program: tasks of steps on three cells. Each step is an
 * append (a write), a read, an increment (a commuting kref get), a write of
 * two cells in one step, a cond_resched, a lock/unlock pair around an append
 * (a blocking wait), a complete or a wait for one (another blocking wait),
 * or an injected choice between two cells.
 */
type Op = "append" | "read" | "inc" | "pair" | "resched" | "locked" | "complete" | "wait" | "choose";
interface Step {
  readonly op: Op;
  readonly cell: number;
}

const PAIR = (cs: Cell[], c: number): Effect =>
  new Effect(ACCESS, cs[c] as Cell, WRITE, cs[c], null, Infinity, null, [{ object: cs[(c + 1) % 3] as object, mode: "read" } satisfies Access]);

function program(tasks: readonly (readonly Step[])[], outcomes: Set<string>): Scenario {
  return (sim) => {
    const cs = cells(sim, 3);
    const m = new Mutex(sim, "m", { static: true });
    const done = new Completion(sim, { name: "done", static: true });
    const seen: string[] = [];
    // Only as many waits block as there are completes (the first ones in task order), so nothing waits forever.
    let completes = 0;
    for (const steps of tasks) for (const s of steps) if (s.op === "complete") completes++;
    const blocking = new Set<Step>();
    for (const steps of tasks) for (const s of steps) if (s.op === "wait" && blocking.size < completes) blocking.add(s);
    tasks.forEach((steps, t) => {
      sim.spawn(`t${t}`, "process", function* () {
        for (const s of steps) {
          const c = cs[s.cell] as Cell;
          if (s.op === "append") yield* append(c, t);
          else if (s.op === "read") {
            yield* access(c, "read");
            seen.push(`${t}:${c.log.join("")}`);
          } else if (s.op === "inc") yield* inc(c);
          else if (s.op === "pair") {
            yield PAIR(cs, s.cell);
            c.log.push(10 + ((cs[(s.cell + 1) % 3] as Cell).log.length % 10));
          } else if (s.op === "locked") {
            yield* m.lock();
            yield* append(c, 20 + t);
            yield* m.unlock();
          } else if (s.op === "complete") yield* done.complete();
          else if (s.op === "wait") {
            // Only wait for a completion that some task will make.
            if (blocking.has(s)) {
              yield* done.waitForCompletion();
              yield* append(c, 30 + t);
            }
          } else if (s.op === "choose") {
            const k = yield* sim.choose(2);
            yield* append(cs[(s.cell + k) % 3] as Cell, t);
          } else yield* condResched();
        }
        if (sim.tasks.every((x) => x.state === "done" || x.name === `t${t}`)) {
          outcomes.add(JSON.stringify([cs.map((x) => [x.log, x.count]), [...seen].sort()]));
        }
      });
    });
  };
}

const OPS: Op[] = ["append", "read", "inc", "pair", "resched", "locked", "complete", "wait", "choose"];
const stepArb = fc.record({ op: fc.constantFrom(...OPS), cell: fc.integer({ min: 0, max: 2 }) });
const programArb = fc.oneof(
  fc.array(fc.array(stepArb, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 2 }),
  fc.array(fc.array(stepArb, { minLength: 1, maxLength: 2 }), { minLength: 3, maxLength: 3 }),
  fc.array(fc.array(stepArb, { minLength: 1, maxLength: 1 }), { minLength: 4, maxLength: 4 }),
);

describe("dfs: partial-order reduction is sound", () => {
  it("finds every outcome the unreduced search finds, in as many executions or fewer", () => {
    fc.assert(
      fc.property(programArb, (tasks) => {
        const all = new Set<string>();
        const reduced = new Set<string>();
        const full = explore(program(tasks, all), { strategy: { name: "dfs", reduction: "none" }, executions: 3000, stopAtFirst: false, checks: { deadlock: false } });
        // Programs whose every interleaving is too many to run here say nothing.
        fc.pre(full.exhausted);
        const red = explore(program(tasks, reduced), { strategy: "dfs", executions: 3000, stopAtFirst: false, checks: { deadlock: false } });
        expect(red.exhausted).toBe(true);
        expect([...reduced].sort()).toEqual([...all].sort());
        expect(red.executions).toBeLessThanOrEqual(full.executions);
      }),
      { numRuns: 60, seed: 7 },
    );
  }, 60_000);
});

/**
 * A trace's canonical form: its steps in the least order (by task id, then
 * step) consistent with program order and the order of dependent steps.
 * Two executions are the same Mazurkiewicz trace iff their forms are equal.
 */
function canonical(steps: readonly { task: number; sig: Sig; label: string }[]): string {
  const n = steps.length;
  const preds: number[][] = steps.map(() => []);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < j; i++) {
      const a = steps[i] as (typeof steps)[number];
      const b = steps[j] as (typeof steps)[number];
      if (a.task === b.task || dependent(a.sig, b.sig)) preds[j]?.push(i);
    }
  }
  const placed = new Set<number>();
  const out: string[] = [];
  while (placed.size < n) {
    let best = -1;
    for (let j = 0; j < n; j++) {
      if (placed.has(j) || !(preds[j] as number[]).every((i) => placed.has(i))) continue;
      if (best === -1 || (steps[j] as (typeof steps)[number]).task < (steps[best] as (typeof steps)[number]).task) best = j;
    }
    placed.add(best);
    out.push((steps[best] as (typeof steps)[number]).label);
  }
  return out.join(" ");
}

describe("dfs: the reduction is optimal", () => {
  it("never runs two executions of the same trace", () => {
    fc.assert(
      fc.property(programArb, (tasks) => {
        const search = new DfsSearch({});
        const forms: string[] = [];
        for (let k = 0; k < 20_000; k++) {
          const sim = new Sim({ seed: k, onReport: "collect", checks: { deadlock: false } });
          const strategy = search.next(sim);
          if (strategy === null) break;
          const steps: { task: number; sig: Sig; label: string }[] = [];
          let choices = "";
          sim.setStrategy({
            pick: (e, n, p) => strategy.pick(e, n, p),
            choose: (n) => {
              const v = strategy.choose(n);
              choices += `${v}`;
              return v;
            },
            executed: (t: Task, e: Effect) => {
              steps.push({ task: t.id, sig: sigOf(sim, t, e), label: `${t.id}:${e.describe()}` });
              strategy.executed?.(t, e);
            },
            touched: (t, o, w) => strategy.touched?.(t, o, w),
            ended: (o) => strategy.ended?.(o),
          });
          program(tasks, new Set())(sim);
          // A run cut short by a sleep set (possible after an injected choice) is not an execution of a trace.
          if (sim.runAll().outcome !== "stopped") forms.push(`${choices}|${canonical(steps)}`);
        }
        expect(search.exhausted).toBe(true);
        expect(new Set(forms).size).toBe(forms.length);
      }),
      { numRuns: 60, seed: 11 },
    );
  }, 60_000);
});

describe("dfs: injected choices", () => {
  it("explores every outcome of sim.choose(), each a node of its own", () => {
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

/** The canonical forms of the executions an exhaustive search of `build` runs to their end, and how many it cut short. */
function traceForms(build: (sim: Sim) => void, options: DfsOptions): { forms: string[]; stopped: number } {
  const search = new DfsSearch(options);
  const forms: string[] = [];
  let stopped = 0;
  for (let k = 0; k < 20_000; k++) {
    const sim = new Sim({ seed: k, onReport: "collect" });
    const strategy = search.next(sim);
    if (strategy === null) break;
    const steps: { task: number; sig: Sig; label: string }[] = [];
    sim.setStrategy({
      pick: (e, n, p) => strategy.pick(e, n, p),
      choose: (n) => strategy.choose(n),
      executed: (t: Task, e: Effect) => {
        steps.push({ task: t.id, sig: sigOf(sim, t, e), label: `${t.id}:${e.describe()}` });
        strategy.executed?.(t, e);
      },
      touched: (t, o, w) => strategy.touched?.(t, o, w),
      ended: (o) => strategy.ended?.(o),
    });
    build(sim);
    if (sim.runAll().outcome === "stopped") stopped++;
    else forms.push(canonical(steps));
  }
  expect(search.exhausted).toBe(true);
  return { forms, stopped };
}

/**
 * A task that waits (remove(), readBegin()) and reaches its wait only after
 * another task's chain of steps disabled it (an invalidation's start) and
 * enabled it again (the end): the wait's nearest race is with the end,
 * where it was disabled; the analysis must also reverse it with the start
 * (findings D4, D5 of issue 11).
 */
describe("dfs: a wait reached after the chain that disabled and enabled it", () => {
  const PAGE = 4096;
  const waiter = (how: "remove" | "readBegin") => (sim: Sim) => {
    const mm = new Mm(sim, new PhysMem(sim, { pages: 4 }), { process: "p1" });
    const ops: MmuIntervalNotifierOps = { invalidate: (n, _r, cur) => { n.setSeq(cur); return true; } };
    sim.spawn("setup", "process", function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      const n = yield* MmuIntervalNotifier.insert(mm, a, PAGE, ops);
      sim.spawn("unmapper", "process", function* () {
        yield* mm.munmap(a, PAGE);
      });
      sim.spawn("waiter", "process", function* () {
        if (how === "remove") yield* n.remove();
        else yield* n.readBegin();
      });
    });
  };
  for (const how of ["remove", "readBegin"] as const) {
    it(`${how}(): every trace of the unreduced search, each once`, () => {
      const all = new Set(traceForms(waiter(how), { reduction: "none" }).forms);
      const { forms, stopped } = traceForms(waiter(how), {});
      expect(all.size).toBe(2);
      expect(new Set(forms)).toEqual(all);
      expect(forms.length).toBe(all.size);
      // The reversals with the zap and the end find the wait disabled: cut short by the sleep set.
      expect(stopped).toBe(2);
    });
  }
});
