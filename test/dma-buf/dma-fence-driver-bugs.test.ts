/**
 * A fence callback or release op with a bug (throws, returns something that
 * is not an op, yields something that is not an effect) is a task-exception
 * report of the signalling task, and nothing more: the irq state and the
 * signalling section it was run in are put back, so no bogus context or
 * lock-held reports follow; the fence is signalled.
 */
import { describe, expect, it } from "vitest";
import { DmaFence, FenceContext, type DmaFenceCallback, type TaskExceptionReport } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

const bugs: readonly [string, () => unknown, RegExp][] = [
  ["throws", () => { throw new Error("cb boom"); }, /^Error: cb boom$/],
  ["returns a number", () => 5, /UsageError: a callback of DmaFence#\d+ returned number 5: return nothing, an op or a generator/],
  ["returns an array of numbers", () => [5], /UsageError: a callback of DmaFence#\d+ yielded number 5, not an effect/],
];

describe("dma-fence: a buggy callback", () => {
  for (const [what, bug, message] of bugs) {
    it(`that ${what} is one task-exception report of the signaller; the fence is signalled and the task's context restored`, () => {
      const sim = collectingSim({}, { taskExceptions: "expected" });
      const ctx = new FenceContext(sim, "ring");
      const f = new DmaFence(ctx, { static: true });
      const t = sim.spawn("signaller", "process", function* () {
        yield* f.addCallback(bug as DmaFenceCallback);
        yield* f.signal();
      });
      sim.runAll();
      expect(sim.reports.map((r) => r.kind)).toEqual(["task-exception"]);
      const r = sim.reports[0] as TaskExceptionReport;
      expect(r.error).toMatch(message);
      expect(r.task).toBe(t.label);
      expect([f.isSignaled(), t.irqsOff, t.fenceSignalling]).toEqual([true, 0, 0]);
      expect(sim.teardown()).toEqual([]);
    });
  }

  it("a release op that returns garbage is a task-exception report of the task that put the last reference", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const ctx = new FenceContext(sim, "ring");
    const f = new DmaFence(ctx, { ops: { release: (() => 7) as never } });
    const t = sim.spawn("owner", "process", function* () {
      yield* f.signal();
      yield* f.put();
    });
    sim.runAll();
    expect(sim.reports.map((r) => r.kind)).toEqual(["task-exception"]);
    expect((sim.reports[0] as TaskExceptionReport).error).toMatch(/UsageError: the release op of DmaFence#\d+ returned number 7/);
    expect((sim.reports[0] as TaskExceptionReport).task).toBe(t.label);
  });
});
