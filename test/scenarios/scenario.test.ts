import { describe, expect, it } from "vitest";
import { ArgumentRangeError, Completion, condResched, Lockdep, SimObject } from "../../src/index.js";
import { runOnce, runSeeds, type Scenario } from "../../src/scenarios/scenario.js";

describe("runOnce", () => {
  it("checks for leaks after a run that ended normally", () => {
    const sim = runOnce((s) => {
      new SimObject(s, "Forgotten");
      s.spawn("t", "process", function* () {
        yield* condResched();
      });
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["leak"]);
  });

  it("does not check for leaks after a deadlock: what stuck tasks hold is a consequence", () => {
    const sim = runOnce((s) => {
      const never = new Completion(s, { name: "never" });
      s.spawn("stuck", "process", function* () {
        yield* never.waitForCompletion();
      });
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["deadlock"]);
    expect(sim.liveObjects()).toHaveLength(1);
  });

  it("passes Sim options through, but always collects reports", () => {
    const lockdep = new Lockdep();
    const sim = runOnce(() => undefined, { seed: 42, lockdep });
    expect([sim.seed, sim.lockdep, sim.onReport]).toEqual([42, lockdep, "collect"]);
  });
});

describe("runSeeds", () => {
  const quiet: Scenario = (sim) => {
    sim.spawn("idle", "process", function* () {
      yield* condResched();
    });
  };

  it("runs the whole budget when nothing is reported, seeds counting up from firstSeed", () => {
    const run = runSeeds(quiet, { seeds: 5, firstSeed: 3 });
    expect(run).toEqual({ executions: 5, firstFailure: null });
  });

  it("gives each execution a fresh Sim with the next seed", () => {
    const seen: number[] = [];
    runSeeds((sim) => seen.push(sim.seed), { seeds: 4, firstSeed: 10 });
    expect(seen).toEqual([10, 11, 12, 13]);
  });

  it("defaults to 200 executions from seed 0", () => {
    const seen: number[] = [];
    expect(runSeeds((sim) => seen.push(sim.seed)).executions).toBe(200);
    expect(seen[0]).toBe(0);
    expect(seen).toHaveLength(200);
  });

  it("rejects a budget that is not a positive integer, and a bad first seed", () => {
    expect(() => runSeeds(quiet, { seeds: 0 })).toThrow(ArgumentRangeError);
    expect(() => runSeeds(quiet, { seeds: 1.5 })).toThrow(ArgumentRangeError);
    expect(() => runSeeds(quiet, { firstSeed: 0.5 })).toThrow(ArgumentRangeError);
    expect(() => runSeeds(quiet, { firstSeed: Number.MAX_SAFE_INTEGER, seeds: 2 })).toThrow(ArgumentRangeError);
  });
});
