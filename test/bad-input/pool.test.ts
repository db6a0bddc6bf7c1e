/**
 * exploreParallel() and ExplorePool refuse bad input before a worker thread
 * starts (none of these cases starts one).
 */
import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, condResched, exploreParallel, ExplorePool, type ParallelExploreOptions, type Scenario } from "../../src/index.js";
import { expectRejects, expectThrows } from "./helpers.js";

let runs = 0;
const scenario: Scenario = (sim) => {
  runs++;
  sim.spawn("t", "process", function* () {
    yield* condResched();
  });
};

describe("bad input: exploreParallel() and ExplorePool", () => {
  const cases: [string, unknown, typeof ArgumentError | typeof ArgumentRangeError, string][] = [
    ["null options", null, ArgumentError, "options"],
    ["no options", undefined, ArgumentError, "options"],
    ["no workers", {}, ArgumentError, "workers"],
    ["workers a string", { workers: "2" }, ArgumentError, "workers"],
    ["workers 0", { workers: 0 }, ArgumentRangeError, "workers"],
    ["workers past the maximum", { workers: 257 }, ArgumentRangeError, "workers"],
    ["a name with a lone surrogate", { workers: 1, name: "\ud800" }, ArgumentError, "name"],
    ["a name past MAX_NAME_LENGTH", { workers: 1, name: "n".repeat(1025) }, ArgumentError, "name"],
    ["workers 1e9", { workers: 1e9 }, ArgumentRangeError, "workers"],
    ["executions past the maximum", { workers: 1, executions: 2 ** 40 }, ArgumentRangeError, "executions"],
    ["PCT depth 1e9", { workers: 1, strategy: { name: "pct", depth: 1e9 } }, ArgumentRangeError, "strategy.depth"],
    ["a DFS shard [3, 2]", { workers: 1, strategy: { name: "dfs", shard: [3, 2] } }, ArgumentRangeError, "strategy.shard"],
    ["an unknown option", { workers: 1, wrokers: 2 }, ArgumentError, "wrokers"],
    ["stopAtFirst not a boolean", { workers: 1, stopAtFirst: "no" }, ArgumentError, "stopAtFirst"],
    ["an unknown PCT key", { workers: 1, strategy: { name: "pct", dept: 1 } }, ArgumentError, "strategy.dept"],
  ];
  for (const [what, options, cls, argument] of cases) {
    it(`exploreParallel(): ${what} names '${argument}'; nothing runs`, async () => {
      const before = runs;
      await expectRejects(() => exploreParallel(scenario, options as ParallelExploreOptions), cls, argument);
      expect(runs).toBe(before);
    });
  }

  it("exploreParallel(): a target that is neither a function nor { module, export } names 'target'", async () => {
    await expectRejects(() => exploreParallel(null as never, { workers: 1 }), ArgumentError, "target");
    await expectRejects(() => exploreParallel({ module: "" } as never, { workers: 1 }), ArgumentError, "target.module");
    await expectRejects(() => exploreParallel({ module: "/x.ts", export: "a", extra: 1 } as never, { workers: 1 }), ArgumentError, "target.extra");
  });

  it("new ExplorePool(): bad options name the argument", () => {
    expectThrows(() => new ExplorePool(null as never), ArgumentError, "options");
    expectThrows(() => new ExplorePool({ workers: 1, threads: 2 } as never), ArgumentError, "threads");
    expectThrows(() => new ExplorePool({ workers: 100_000 }), ArgumentRangeError, "workers");
    expectThrows(() => new ExplorePool({ workers: 0 }), ArgumentRangeError, "workers");
  });

  it("ExplorePool.explore(): a function target or bad options are refused before a worker starts", async () => {
    const pool = new ExplorePool({ workers: 1 });
    try {
      await expectRejects(() => pool.explore(scenario as never), ArgumentError, "target");
      await expectRejects(() => pool.explore({ module: "/nowhere.ts", export: "x" }, { stopAtFirst: "no" } as never), ArgumentError, "target.module");
      expect(pool.lastRun).toBeNull();
    } finally {
      await pool.destroy();
    }
  });
});
