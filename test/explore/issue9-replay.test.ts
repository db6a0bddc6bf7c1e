/**
 * Failures the explorer finds in the issue-9 modules (an RCU reader that
 * outlives a plain kfree, a work function and a fence callback that throw
 * in some schedules, a shrinker that fails under pressure) come with replay
 * tokens that reproduce them, and exploring twice (or with one seed) finds
 * the same failures with the same tokens.
 */
import { describe, expect, it } from "vitest";
import {
  configureMemory,
  DmaFence,
  explore,
  FenceContext,
  GFP_KERNEL,
  kfree,
  kmalloc,
  Kref,
  PAGE_SIZE,
  RcuPointer,
  rcuReadLock,
  rcuReadUnlock,
  replay,
  Shrinker,
  SimObject,
  Work,
  Workqueue,
  type Sim,
} from "../../src/index.js";

class Obj extends SimObject {
  readonly kref = new Kref<Obj>(this);
  constructor(sim: Sim) {
    super(sim, "Obj", { name: "obj" });
  }
}

/** RCU: the writer frees with plain kfree while a reader may still hold the pointer. */
function rcu(sim: Sim): void {
  // RCU: the writer frees with plain kfree while a reader may still hold the pointer.
  const obj = new Obj(sim);
  const ptr = new RcuPointer<Obj>(sim, obj, { static: true });
  sim.spawn("reader", "process", function* () {
    yield* rcuReadLock();
    const p = yield* ptr.rcuDereference();
    if (p !== null && (yield* p.kref.getUnlessZero("reader"))) yield* p.kref.put(() => kfree(p), "reader");
    yield* rcuReadUnlock();
  });
  sim.spawn("writer", "process", function* () {
    yield* ptr.rcuAssignPointer(null);
    yield* kfree(obj);
  });
}

/** A work and a fence callback that throw when they run after the flag is set. */
function workAndFence(sim: Sim): void {
  const flags = sim.share({ late: false });
  const wq = new Workqueue(sim, "wq", { static: true });
  const work = new Work(sim, "w", function* () {
    if (flags.late) throw new Error("late work");
  }, { static: true });
  const ctx = new FenceContext(sim, "ring");
  sim.spawn("submit", "process", function* () {
    yield* wq.queueWork(work);
    const f = new DmaFence(ctx, { static: true });
    yield* f.addCallback(() => {
      if (flags.late) throw new Error("late callback");
    });
    yield* f.signal();
  });
  sim.spawn("setter", "process", function* () {
    flags.late = true;
    yield* wq.flushWorkqueue();
  });
}

/** A shrinker that returns NaN under pressure, reached in the schedules where the other task's buffer is still held. */
function shrinker(sim: Sim): void {
  configureMemory(sim, { limitPages: 1 });
  new Shrinker(sim, "bad", { countObjects: () => NaN, scanObjects: () => 0 }).register();
  for (const name of ["a", "b"]) {
    sim.spawn(name, "process", function* () {
      const buf = yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
      if (buf !== null) yield* kfree(buf);
    });
  }
}

const SCENARIOS: readonly [string, (sim: Sim) => void, RegExp][] = [
  ["rcu", rcu, /^use-after-free$/],
  ["work and fence", workAndFence, /^task-exception Error: late (work|callback)$/],
  ["shrinker", shrinker, /^task-exception UsageError: Shrinker "bad": countObjects\(\) must return/],
];

function describeFailure(f: { report: { kind: string } }): string {
  const error = (f.report as { error?: string }).error;
  return error === undefined ? f.report.kind : `${f.report.kind} ${error}`;
}

const OPTIONS = { strategy: { name: "dfs", preemptionBound: 2 }, executions: 300, stopAtFirst: false, shrink: false } as const;

describe("issue 9 failures under explore()", () => {
  for (const [name, scenario, expected] of SCENARIOS) {
    it(`${name}: found in some schedules (not all), each replays from its token to the same report without divergence`, () => {
      const r = explore(scenario, OPTIONS);
      expect(r.failures.length).toBeGreaterThan(0);
      expect(r.failed).toBeLessThan(r.executions);
      for (const f of r.failures) {
        expect(describeFailure(f)).toMatch(expected);
        const again = replay(scenario, f.token, { stacks: false });
        expect(again.divergence).toBeNull();
        expect(again.report === null ? null : describeFailure({ report: again.report })).toBe(describeFailure(f));
      }
    });

    it(`${name}: the same failures with the same tokens when explored twice, by DFS or by one seed`, () => {
      const tokens = () => explore(scenario, OPTIONS).failures.map((f) => `${describeFailure(f)} ${f.token}`);
      expect(tokens()).toEqual(tokens());
      const random = () => explore(scenario, { strategy: "random", seed: 77, executions: 40, stopAtFirst: false, shrink: false }).failures.map((f) => f.token);
      expect(random()).toEqual(random());
    });
  }
});
