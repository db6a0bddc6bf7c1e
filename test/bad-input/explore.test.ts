import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, condResched, explore, replay, type ExploreOptions, type Scenario } from "../../src/index.js";
import { functionName } from "../../src/explore/execution.js";
import { decodeToken } from "../../src/kernel/token.js";
import { abba } from "../explore/fixtures/scenarios.js";
import { expectThrows } from "./helpers.js";
import { MAX_EXECUTIONS, MAX_PCT_DEPTH } from "../../src/explore/options.js";
import { MAX_NAME_LENGTH } from "../../src/kernel/token.js";

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
    ["a name with a lone surrogate", { name: "\ud800" }, ArgumentError, "name"],
    ["a name with a lone low surrogate", { name: "a\udc00b" }, ArgumentError, "name"],
    ["a name past MAX_NAME_LENGTH", { name: "n".repeat(MAX_NAME_LENGTH + 1) }, ArgumentError, "name"],
    ["a name too long once escaped", { name: "\u00e9".repeat(MAX_NAME_LENGTH) }, ArgumentError, "name"],
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

describe("bad input: a scenario function's own name", () => {
  /** abba under another function, whose `name` is defined by `define`. */
  function named(define: PropertyDescriptor): Scenario {
    const f = (sim: Parameters<Scenario>[0]): void => { abba(sim); };
    Object.defineProperty(f, "name", define);
    return f;
  }
  const run = (scenario: Scenario) => explore(scenario, { executions: 300 });

  const cases: [string, PropertyDescriptor, (name: string) => void][] = [
    ["a lone surrogate is replaced by U+FFFD", { value: "a\ud800b" }, (n) => { expect(n).toBe("a\ufffdb"); }],
    ["a name past MAX_NAME_LENGTH is cut to it", { value: "n".repeat(5000) }, (n) => { expect(n).toBe("n".repeat(MAX_NAME_LENGTH)); }],
    ["a name too long once escaped is cut at a code point", { value: "\u{1f600}".repeat(1000) }, (n) => { expect(encodeURIComponent(n).length).toBeLessThanOrEqual(3 * MAX_NAME_LENGTH); }],
    [
      "a throwing name getter gives 'scenario'",
      {
        get() {
          throw new Error("name getter");
        },
      },
      (n) => { expect(n).toBe("scenario"); },
    ],
    ["a name that is not a string gives 'scenario'", { value: 42 }, (n) => { expect(n).toBe("scenario"); }],
  ];
  for (const [what, define, check] of cases) {
    it(`${what}, and the token replays`, () => {
      const result = run(named(define));
      const f = result.failures[0];
      expect(f).toBeDefined();
      if (f === undefined) return;
      const data = decodeToken(f.token);
      check(data.scenario);
      expect(replay(named(define), f.token).reports[0]?.kind).toBe(f.report.kind);
    });
  }

  it("names() that fit are kept as they are", () => {
    expect(functionName(named({ value: "fits" }))).toBe("fits");
    expect(functionName(named({ value: "" }))).toBe("scenario");
  });
});
