/**
 * A shrinker with a bug (a count or scan that is NaN, negative, not a
 * number, throws, or yields something that is not an effect) is a
 * task-exception report of the task that ran it. Direct reclaim puts the
 * allocating task's reclaim state back; kswapd exits, and the next wakeup
 * spawns a new one.
 */
import { describe, expect, it } from "vitest";
import {
  configureMemory,
  GFP_KERNEL,
  kmalloc,
  memoryStats,
  PAGE_SIZE,
  Shrinker,
  SHRINK_STOP,
  type ShrinkResult,
  type TaskExceptionReport,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

const bugs: readonly [string, "count" | "scan", () => ShrinkResult, RegExp][] = [
  ["count NaN", "count", () => NaN, /countObjects\(\) must return an integer >= 0 or SHRINK_EMPTY, got number NaN/],
  ["count -5", "count", () => -5, /countObjects\(\) must return an integer >= 0 or SHRINK_EMPTY, got number -5/],
  ["scan a string", "scan", () => "1" as never, /scanObjects\(\) must return an integer >= 0 or SHRINK_STOP, got the string "1"/],
  ["scan throws", "scan", () => { throw new Error("scan boom"); }, /^Error: scan boom$/],
  ["scan yields a number", "scan", () => (function* () { yield 3; return 0; })() as never, /Shrinker "bad": scanObjects\(\) yielded number 3, not an effect/],
];

function badShrinker(sim: ReturnType<typeof collectingSim>, where: "count" | "scan", bug: () => ShrinkResult): Shrinker {
  return new Shrinker(sim, "bad", {
    countObjects: where === "count" ? bug : () => 1,
    scanObjects: where === "scan" ? bug : () => SHRINK_STOP,
  });
}

describe("shrinker: a buggy callback", () => {
  for (const [what, where, bug, message] of bugs) {
    it(`in direct reclaim (${what}) is a task-exception report of the allocating task; nothing stays charged or held`, () => {
      const sim = collectingSim({}, { taskExceptions: "expected" });
      configureMemory(sim, { limitPages: 1 });
      badShrinker(sim, where, bug).register();
      const t = sim.spawn("alloc", "process", function* () {
        yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
        yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
      });
      sim.runAll();
      expect(sim.reports.map((r) => r.kind)).toEqual(["task-exception"]);
      const r = sim.reports[0] as TaskExceptionReport;
      expect(r.error).toMatch(message);
      expect(r.task).toBe(t.label);
      expect(memoryStats(sim).usageBytes).toBe(PAGE_SIZE);
    });

    it(`in kswapd (${what}) is a task-exception report of kswapd0; the next wakeup spawns a new one`, () => {
      const sim = collectingSim({}, { taskExceptions: "expected" });
      configureMemory(sim, { limitPages: 4, kswapd: true, watermarkPages: 1 });
      badShrinker(sim, where, bug).register();
      sim.spawn("alloc", "process", function* () {
        yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
        yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
        // Let kswapd run and die before the next wakeup.
        for (let i = 0; i < 20; i++) yield* kmalloc(1, GFP_KERNEL);
      });
      sim.runAll();
      const kinds = sim.reports.map((r) => r.kind);
      expect(kinds.length).toBeGreaterThanOrEqual(2);
      expect(new Set(kinds)).toEqual(new Set(["task-exception"]));
      for (const r of sim.reports as TaskExceptionReport[]) {
        expect(r.error).toMatch(message);
        expect(r.task).toMatch(/^kswapd0/);
      }
      const s = memoryStats(sim);
      expect(s.kswapdRunning).toBe(false);
      expect(s.kswapdWakeups).toBe(kinds.length);
    });
  }
});
