import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, condResched, type Scenario } from "../../src/index.js";
import { exploreTest, type ExploreTestOptions } from "../../src/vitest.js";
import { expectThrows } from "./helpers.js";

let runs = 0;
const scenario: Scenario = (sim) => {
  runs++;
  sim.spawn("t", "process", function* () {
    yield* condResched();
  });
};

describe("bad input: exploreTest()", () => {
  it("a bad name or scenario names the argument", () => {
    expectThrows(() => {
      exploreTest("", scenario);
    }, ArgumentError, "name");
    expectThrows(() => {
      exploreTest(5 as never, scenario);
    }, ArgumentError, "name");
    expectThrows(() => {
      exploreTest("t", null as never);
    }, ArgumentError, "scenario");
  });

  const cases: [string, unknown, typeof ArgumentError | typeof ArgumentRangeError, string][] = [
    ["null options", null, ArgumentError, "options"],
    ["an unknown option", { expext: "deadlock" }, ArgumentError, "expext"],
    ["expect not a report kind", { expect: "deadlocks" }, ArgumentError, "expect"],
    ["timeout 0", { timeout: 0 }, ArgumentRangeError, "timeout"],
    ["stopAtFirst not a boolean", { stopAtFirst: "no" }, ArgumentError, "stopAtFirst"],
    ["executions 0", { executions: 0 }, ArgumentRangeError, "executions"],
    ["PCT depth 1e9", { strategy: { name: "pct", depth: 1e9 } }, ArgumentRangeError, "strategy.depth"],
    ["a DFS shard [0, 0]", { strategy: { name: "dfs", shard: [0, 0] } }, ArgumentRangeError, "strategy.shard"],
    ["executions 2^40", { executions: 2 ** 40 }, ArgumentRangeError, "executions"],
    ["an unknown PCT key", { strategy: { name: "pct", dept: 1 } }, ArgumentError, "strategy.dept"],
  ];
  for (const [what, options, cls, argument] of cases) {
    it(`${what} names '${argument}' when exploreTest() is called; the scenario is not run`, () => {
      const before = runs;
      expectThrows(() => {
      exploreTest("t", scenario, options as ExploreTestOptions);
    }, cls, argument);
      expect(runs).toBe(before);
    });
  }
});
