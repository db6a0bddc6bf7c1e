/**
 * A work function with a bug (it throws, returns no generator, yields
 * something that is not an effect) is a task-exception report of that run,
 * naming the site that queued it; the worker finishes the instance and
 * hands the queue on, so nothing else goes wrong because of it. One that
 * returns with a lock held or in atomic context is a workqueue-misuse
 * report (problem "leaked-lock"), as process_one_work() reports it.
 */
import { describe, expect, it } from "vitest";
import {
  flushWork,
  localIrqSave,
  Mutex,
  rcuReadLock,
  Work,
  Workqueue,
  type Effect,
  type TaskExceptionReport,
  type WorkqueueMisuseReport,
} from "../../src/index.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { collectingSim } from "../support/collecting-sim.js";

const bugs: readonly [string, (n: number) => unknown, RegExp][] = [
  ["throws", () => { throw new Error("boom"); }, /^Error: boom$/],
  ["returns a number", () => 5, /UsageError: the function of Work#\d+ "w" returned number 5, not a generator/],
  ["yields a number", () => (function* () { yield 42; })(), /UsageError: the function of Work#\d+ "w" yielded number 42, not an effect/],
];

describe("workqueue: a buggy work function", () => {
  for (const [what, bug, message] of bugs) {
    it(`that ${what} is one task-exception report with queuedBy; flush returns, the work runs again, destroy drains`, () => {
      const sim = collectingSim({}, { taskExceptions: "expected" });
      let runs = 0;
      const w = new Work(sim, "w", (() => {
        runs++;
        if (runs === 1) return bug(runs);
        return (function* () { /* fine the second time */ })();
      }) as never);
      const other = new Work(sim, "other", function* () { runs += 10; });
      const wq = new Workqueue(sim, "wq", { ordered: true });
      const seen: unknown[] = [];
      sim.spawn("driver", "process", function* () {
        yield* wq.queueWork(w);
        yield* wq.queueWork(other);
        seen.push(yield* flushWork(w));
        seen.push(yield* wq.queueWork(w));
        yield* wq.flushWorkqueue();
        yield* wq.destroy();
      });
      sim.runAll();
      expect(sim.reports.map((r) => r.kind)).toEqual(["task-exception"]);
      const r = sim.reports[0] as TaskExceptionReport;
      expect(r.error).toMatch(message);
      expect(r.task).toMatch(/^kworker\/u:\d+\/\d+$/);
      expect(r.queuedBy).toMatchObject({ task: "driver/1", work: w.label, workqueue: wq.label });
      expect(seen).toEqual([true, "queued"]);
      expect(runs).toBe(12);
      expect([w.isPending(), w.isRunning(), wq.isFreed]).toEqual([false, false, true]);
    });
  }

  it("in throw mode the work's error ends the run as thrown", () => {
    const sim = collectingSim({ onReport: "throw" });
    const w = new Work(sim, "w", () => { throw new Error("boom"); });
    const wq = new Workqueue(sim, "wq", { static: true });
    sim.spawn("driver", "process", function* () {
      yield* wq.queueWork(w);
    });
    expect(() => sim.runAll()).toThrow("boom");
  });
});

describe("workqueue: a work function that leaks a lock or atomic context", () => {
  const leaks: readonly [string, (m: Mutex) => Generator<Effect, void, unknown>, { held: string[]; rcuDepth: number; atomic: boolean }][] = [
    ["a mutex", function* (m) { yield* m.lock(); }, { held: ["m"], rcuDepth: 0, atomic: false }],
    ["an RCU read section", function* () { yield* rcuReadLock(); }, { held: ["rcu_read_lock"], rcuDepth: 1, atomic: false }],
    ["irqs off", function* () { localIrqSave(); }, { held: [], rcuDepth: 0, atomic: true }],
  ];
  for (const [what, leak, expected] of leaks) {
    it(`${what}: a workqueue-misuse report (leaked-lock) naming the work, its queue, the queuing site and what is held`, () => {
      const sim = collectingSim();
      const m = new Mutex(sim, "m", { static: true });
      const w = new Work(sim, "w", () => leak(m), { static: true });
      const wq = new Workqueue(sim, "wq", { static: true });
      sim.spawn("driver", "process", function* () {
        yield* wq.queueWork(w);
      });
      sim.runAll();
      const r = sim.reports[0] as Extract<WorkqueueMisuseReport, { problem: "leaked-lock" }>;
      expect(r).toMatchObject({ kind: "workqueue-misuse", problem: "leaked-lock", work: w.label, workqueue: wq.label, rcuDepth: expected.rcuDepth, atomic: expected.atomic });
      expect(r.queued).toMatchObject({ task: "driver/1", op: "queue_work" });
      expect(r.held.map((h) => h.lockClass)).toEqual(expected.held);
      expect(fingerprint(r)).toBe(`workqueue-misuse: leaked-lock / "w" / ${expected.held.join(", ")}`);
    });
  }

  it("a work that unlocks what it locked is clean", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "m", { static: true });
    const w = new Work(sim, "w", function* () {
      yield* m.lock();
      yield* m.unlock();
    }, { static: true });
    const wq = new Workqueue(sim, "wq", { static: true });
    sim.spawn("driver", "process", function* () {
      yield* wq.queueWork(w);
      yield* flushWork(w);
    });
    sim.runAll();
    expect(sim.reports).toEqual([]);
  });
});
