import { describe, expect, it } from "vitest";
import { ArgumentError, explore, type ExploreResult } from "../src/index.js";
import { exploreTest, formatStatistics, installMatchers, matchers } from "../src/vitest.js";
import { abba, ordered } from "./cli/fixtures/scenarios.js";

// abba takes two static mutexes in opposite orders in two tasks: lockdep's
// lock-order cycle, or with lockdep off the deadlock itself. ordered takes
// them in the same order in both and passes.

exploreTest("exploreTest: a fixed scenario passes its whole budget", ordered, { executions: 200 });
exploreTest("exploreTest: a buggy scenario is caught with the expected kind", abba, { expect: "lock-order-cycle" });
exploreTest("exploreTest: explore() options go through (lockdep off: the deadlock itself)", abba, {
  expect: "deadlock",
  checks: { lockdep: false },
  strategy: "dfs",
});

/** Call a matcher as Vitest would, with a minimal `this`. */
const context = { isNot: false } as ThisParameterType<typeof matchers.toPassExploration>;

describe("toPassExploration", () => {
  it("passes for a fixed scenario and fails for a buggy one", () => {
    expect(ordered).toPassExploration();
    expect(abba).not.toPassExploration();
  });

  it("prints each failure's report, its replay line and the statistics", () => {
    const r = matchers.toPassExploration.call(context, abba, { stopAtFirst: false });
    expect(r.pass).toBe(false);
    const message = r.message();
    expect(message).toMatch(/^expected scenario abba to pass exploration, but it found 1 distinct failure:\n\nFailure 1 of 1: lock-order-cycle, found by random at execution 0/);
    expect(message).toContain("WARNING: possible circular locking dependency detected");
    expect(message).toContain('Replay: replay(scenario, "gpuvm-sim:2:0.1.0:abba:random:3298878556:7c7b3a9c:11.17.1b.1a.1a")');
    // A-then-B and B-then-A close the same cycle: one failure, whichever task closed it.
    expect(message).not.toContain("Failure 2 of");
    expect(message).toMatch(
      /Exploration: \d+ executions, \d+ failed, 1 distinct failure; strategy portfolio; stopped by exhausted \(.*\); steps min \d+, mean [\d.]+, max \d+; \d+ ms\.$/,
    );
  });

  it("throws the message from expect()", () => {
    expect(() => {
      expect(abba).toPassExploration({ strategy: "random" });
    }).toThrow(/replay\(scenario, "gpuvm-sim:2:0\.1\.0:abba:random:/);
    expect(() => {
      expect(abba).toPassExploration({ strategy: "random" });
    }).toThrow(/strategy random; stopped by failure \(stopped at the first failure\)/);
  });

  it("says so when negated and nothing was found", () => {
    expect(() => {
      expect(ordered).not.toPassExploration({ executions: 5, strategy: "pct" });
    }).toThrow(/^expected scenario ordered to fail exploration, but no execution filed a report\.\n\nExploration: 5 executions, 0 failed, 0 distinct failures; strategy pct;/);
  });

  it("takes an ExploreResult: explore once, assert twice", () => {
    const result = explore(abba, { stopAtFirst: false });
    expect(result).not.toPassExploration();
    expect(result).toFindReport("lock-order-cycle");
    expect(explore(ordered, { executions: 10 })).toPassExploration();
    const message = matchers.toPassExploration.call(context, result).message();
    expect(message).toMatch(/^expected the exploration result to pass exploration/);
    expect(message).toContain("strategy (not recorded in an ExploreResult)");
  });

  it("refuses options with an ExploreResult, and values that are neither", () => {
    const result = explore(ordered, { executions: 1 });
    expect(() => {
      expect(result).toPassExploration({ executions: 5 });
    }).toThrow(ArgumentError);
    expect(() => {
      expect(42).toPassExploration();
    }).toThrow(/must be given a scenario \(sim\) => void or an ExploreResult, got number/);
  });
});

describe("toFindReport", () => {
  it("passes when exploration finds a report of the kind", () => {
    expect(abba).toFindReport("lock-order-cycle");
    expect(abba).toFindReport("deadlock", { checks: { lockdep: false } });
    expect(ordered).not.toFindReport("deadlock", { executions: 50 });
  });

  it("says what it found instead, and how to keep looking", () => {
    const r = matchers.toFindReport.call(context, abba, "deadlock");
    expect(r.pass).toBe(false);
    const message = r.message();
    expect(message).toMatch(/^expected scenario abba to find a deadlock report, but it found lock-order-cycle instead:\n\nFailure 1 of 1: lock-order-cycle/);
    expect(message).toContain('Replay: replay(scenario, "gpuvm-sim:2:0.1.0:abba:');
    expect(message).toMatch(/Exploration: 1 execution, 1 failed, 1 distinct failure; strategy portfolio; stopped by failure/);
    expect(message).toMatch(/pass \{ stopAtFirst: false \} to keep looking for a deadlock report\.$/);
  });

  it("says when nothing was found at all", () => {
    expect(() => {
      expect(ordered).toFindReport("deadlock", { executions: 20 });
    }).toThrow(/^expected scenario ordered to find a deadlock report, but no execution filed a report\.\n\nExploration: 9 executions, 0 failed/);
  });

  it("shows the report it found when negated", () => {
    expect(() => {
      expect(abba).not.toFindReport("deadlock", { checks: { lockdep: false }, strategy: "dfs" });
    }).toThrow(/^expected scenario abba not to find a deadlock report, but it did:\n\nFailure 1 of 1: deadlock, found by dfs at execution \d+/);
    const r = matchers.toFindReport.call({ ...context, isNot: true }, abba, "deadlock", { checks: { lockdep: false } });
    expect(r.pass).toBe(true);
    expect(r.message()).toContain("INFO: gpuvm-sim: deadlock: all 2 live tasks are blocked");
    expect(r.message()).toContain("strategy portfolio;");
  });

  it("takes an ExploreResult", () => {
    const result: ExploreResult = explore(abba, { checks: { lockdep: false } });
    expect(result).toFindReport("deadlock");
    expect(result).not.toFindReport("use-after-free");
  });

  it("is typed by report kind", () => {
    // @ts-expect-error: not a report kind
    expect(() => matchers.toFindReport.call(context, ordered, "no-such-kind", { executions: 1 })).not.toThrow();
  });
});

describe("formatStatistics", () => {
  const base: ExploreResult = {
    strategy: "portfolio",
    seed: 0,
    executions: 3,
    failed: 0,
    failures: [],
    steps: { min: 4, mean: 5, max: 6 },
    stepBoundHits: 0,
    pruned: 0,
    exhausted: false,
    stoppedBy: "executions",
    timeMs: 12.4,
  };

  it("is one line for a run that used its budget", () => {
    expect(formatStatistics(base, "random")).toBe(
      "Exploration: 3 executions, 0 failed, 0 distinct failures; strategy random; stopped by executions (used its whole budget of executions); steps min 4, mean 5.0, max 6; 12 ms.",
    );
  });

  it("says which limit to raise", () => {
    const text = formatStatistics({ ...base, stoppedBy: "time", stepBoundHits: 1 }, "dfs");
    expect(text.split("\n").slice(1)).toEqual([
      "The time budget ran out first: raise timeMs (or lower executions) to explore the whole budget.",
      "1 execution hit maxSteps before finishing and was not checked to the end: raise maxSteps.",
    ]);
  });
});

describe("installMatchers", () => {
  it("can be called again", () => {
    installMatchers();
    expect(ordered).toPassExploration({ executions: 3 });
  });
});
