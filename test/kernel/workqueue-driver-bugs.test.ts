/**
 * A work function with a bug (it throws, returns no generator, yields
 * something that is not an effect) is a task-exception report of that run,
 * naming the site that queued it; the worker finishes the instance and
 * hands the queue on, so nothing else goes wrong because of it.
 */
import { describe, expect, it } from "vitest";
import { flushWork, Work, Workqueue, type TaskExceptionReport } from "../../src/index.js";
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
