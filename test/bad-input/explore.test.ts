import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, condResched, explore, type ExploreOptions, type Scenario } from "../../src/index.js";
import { expectThrows } from "./helpers.js";
import { MAX_EXECUTIONS, MAX_PCT_DEPTH } from "../../src/explore/options.js";

/** A scenario that counts how often it was set up. */
function counted(): { scenario: Scenario; calls: () => number } {
  let n = 0;
  return {
    scenario: (sim) => {
      n++;
      sim.spawn("t", "process", function* () {
        yield* condResched();
      });
    },
    calls: () => n,
  };
}

describe("bad input: explore()", () => {
  it("a scenario that is not a function names 'scenario'", () => {
    expectThrows(() => explore(null as never), ArgumentError, "scenario");
  });

  const cases: [string, unknown, typeof ArgumentError | typeof ArgumentRangeError, string][] = [
    ["null options", null, ArgumentError, "options"],
    ["an unknown option", { executons: 5 }, ArgumentError, "executons"],
    ["stopAtFirst not a boolean", { stopAtFirst: "no" }, ArgumentError, "stopAtFirst"],
    ["shrink not a boolean", { shrink: 0 }, ArgumentError, "shrink"],
    ["executions 0", { executions: 0 }, ArgumentRangeError, "executions"],
    ["executions a string", { executions: "5" }, ArgumentError, "executions"],
    ["maxSteps 1.5", { maxSteps: 1.5 }, ArgumentRangeError, "maxSteps"],
    ["a fractional seed", { seed: 0.5 }, ArgumentRangeError, "seed"],
    ["timeMs a string", { timeMs: "5" }, ArgumentError, "timeMs"],
    ["timeMs 0", { timeMs: 0 }, ArgumentRangeError, "timeMs"],
    ["an empty name", { name: "" }, ArgumentError, "name"],
    ["shard not a pair", { shard: 3 }, ArgumentError, "shard"],
    ["shard out of range", { shard: [2, 2] }, ArgumentRangeError, "shard"],
    ["null checks", { checks: null }, ArgumentError, "checks"],
    ["an unknown check", { checks: { lifetime: false } }, ArgumentError, "checks.lifetime"],
    ["a strategy that is a number", { strategy: 5 }, ArgumentError, "strategy"],
    ["a strategy name not known", { strategy: "bfs" }, ArgumentError, "strategy"],
    ["a strategy object of no known name", { strategy: { name: "bfs" } }, ArgumentError, "strategy.name"],
    ["an unknown PCT key", { strategy: { name: "pct", dept: 2 } }, ArgumentError, "strategy.dept"],
    ["PCT depth 0", { strategy: { name: "pct", depth: 0 } }, ArgumentRangeError, "strategy.depth"],
    ["an unknown DFS key", { strategy: { name: "dfs", preemptions: 2 } }, ArgumentError, "strategy.preemptions"],
    ["a negative preemption bound", { strategy: { name: "dfs", preemptionBound: -1 } }, ArgumentRangeError, "strategy.preemptionBound"],
    ["a reduction not known", { strategy: { name: "dfs", reduction: "sleep-sets" } }, ArgumentError, "strategy.reduction"],
    ["a preemption bound that is a string", { strategy: { name: "dfs", preemptionBound: "2" } }, ArgumentError, "strategy.preemptionBound"],
    ["a delay bound of 1.5", { strategy: { name: "dfs", delayBound: 1.5 } }, ArgumentRangeError, "strategy.delayBound"],
    ["a DFS shard that is a string", { strategy: { name: "dfs", shard: "x" } }, ArgumentError, "strategy.shard"],
    ["a DFS shard of three", { strategy: { name: "dfs", shard: [0, 1, 2] } }, ArgumentError, "strategy.shard"],
    ["a DFS shard of strings", { strategy: { name: "dfs", shard: ["0", "2"] } }, ArgumentError, "strategy.shard"],
    ["a DFS shard index past its count", { strategy: { name: "dfs", shard: [3, 2] } }, ArgumentRangeError, "strategy.shard"],
    ["a DFS shard count 0", { strategy: { name: "dfs", shard: [0, 0] } }, ArgumentRangeError, "strategy.shard"],
    ["a DFS shard index -1", { strategy: { name: "dfs", shard: [-1, 2] } }, ArgumentRangeError, "strategy.shard"],
    ["a DFS shard of fractions", { strategy: { name: "dfs", shard: [0.5, 2] } }, ArgumentRangeError, "strategy.shard"],
    ["shard of strings", { shard: ["0", "2"] }, ArgumentError, "shard"],
    ["PCT depth 1e9", { strategy: { name: "pct", depth: 1e9 } }, ArgumentRangeError, "strategy.depth"],
    ["PCT depth past the maximum", { strategy: { name: "pct", depth: MAX_PCT_DEPTH + 1 } }, ArgumentRangeError, "strategy.depth"],
    ["PCT depth a string", { strategy: { name: "pct", depth: "3" } }, ArgumentError, "strategy.depth"],
    ["executions past the maximum", { executions: MAX_EXECUTIONS + 1 }, ArgumentRangeError, "executions"],
    ["executions 2^53 - 1", { executions: Number.MAX_SAFE_INTEGER }, ArgumentRangeError, "executions"],
  ];
  for (const [what, options, cls, argument] of cases) {
    it(`${what} names '${argument}'; no execution runs`, () => {
      const { scenario, calls } = counted();
      expectThrows(() => explore(scenario, options as ExploreOptions), cls, argument);
      expect(calls()).toBe(0);
    });
  }

  it("an async scenario is an ArgumentError naming 'scenario' before any step runs", () => {
    let steps = 0;
    // An async scenario's type does not fit Scenario: a JavaScript caller can still pass one.
    const scenario = (async (sim: Parameters<Scenario>[0]): Promise<void> => {
      await Promise.resolve();
      sim.spawn("late", "process", function* () {
        steps++;
        yield* condResched();
      });
    }) as unknown as Scenario;
    const e = expectThrows(() => explore(scenario, { executions: 5 }), ArgumentError, "scenario");
    expect(e.message).toMatch(/returned a promise/);
    expect(steps).toBe(0);
  });

  it("a scenario that spawns no task is an ArgumentError naming 'scenario', not a vacuous pass", () => {
    let calls = 0;
    const e = expectThrows(
      () =>
        explore(
          () => {
            calls++;
          },
          { executions: 5 },
        ),
      ArgumentError,
      "scenario",
    );
    expect(e.message).toMatch(/spawned no task/);
    expect(calls).toBe(1);
  });
});
