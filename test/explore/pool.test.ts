/**
 * exploreParallel() and ExplorePool: on one worker and on two, the result
 * is explore()'s, to the last statistic, token and report (all but
 * `timeMs`); a scenario that cannot be loaded is a typed error naming the
 * argument.
 *
 * Workers import test/explore/fixtures/scenarios.ts by path. Starting a
 * worker that loads the simulator through tsx takes a few hundred
 * milliseconds, so the file keeps two pools for all its tests.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, explore, type ExploreOptions, type ExploreResult } from "../../src/index.js";
import { ExplorePool, exploreParallel, type ScenarioModule } from "../../src/explore/pool.js";
import { abba, abbaFixed, racy, busyForever } from "./fixtures/scenarios.js";

const MODULE = new URL("./fixtures/scenarios.ts", import.meta.url).href;
const target = (name: string): ScenarioModule => ({ module: MODULE, export: name });

let one: ExplorePool;
let two: ExplorePool;

beforeAll(() => {
  one = new ExplorePool({ workers: 1 });
  two = new ExplorePool({ workers: 2 });
});

afterAll(async () => {
  await Promise.all([one.destroy(), two.destroy()]);
});

/** Everything but the wall-clock time. */
function timeless(r: ExploreResult): ExploreResult {
  return { ...r, timeMs: 0 };
}

/** The in-process result, after checking that both pools give exactly it. */
async function sameEverywhere(name: string, scenario: Parameters<typeof explore>[0], options: ExploreOptions): Promise<ExploreResult> {
  const inProcess = explore(scenario, options);
  const [onOne, onTwo] = await Promise.all([one.explore(target(name), options), two.explore(target(name), options)]);
  expect(timeless(onOne)).toEqual(timeless(inProcess));
  expect(timeless(onTwo)).toEqual(timeless(inProcess));
  return inProcess;
}

describe("ExplorePool: the result does not depend on the number of workers", () => {
  it("AB-BA, portfolio, first failure: the same failure, shrunk the same, with the same token", async () => {
    const r = await sameEverywhere("abba", abba, { executions: 500, seed: 3 });
    expect(r.stoppedBy).toBe("failure");
    expect(r.failures).toHaveLength(1);
    expect(r.failures[0]?.report.kind).toBe("lock-order-cycle");
  });

  it("a portfolio whose DFS is cut by the step limit goes on to its budget, as explore() does", async () => {
    const r = await sameEverywhere("busyForever", busyForever, { executions: 40, maxSteps: 30 });
    expect(r).toMatchObject({ stoppedBy: "executions", exhausted: false, executions: 40 });
  });

  it("AB-BA, lockdep off, random, every failure: the same deadlocks at the same executions", async () => {
    const r = await sameEverywhere("abba", abba, { strategy: "random", executions: 300, stopAtFirst: false, checks: { lockdep: false } });
    expect(r.executions).toBe(300);
    expect(r.failures.map((f) => f.report.kind)).toContain("deadlock");
  });

  it("a correct program: the whole budget, nothing found", async () => {
    const r = await sameEverywhere("abbaFixed", abbaFixed, { strategy: "random", executions: 400 });
    expect(r).toMatchObject({ executions: 400, failed: 0, failures: [], stoppedBy: "executions" });
  });

  it("PCT over runs of varying length: estimates the workers guessed wrong are re-run, and the result is still explore()'s", async () => {
    const r = await sameEverywhere("racy", racy, { strategy: "pct", executions: 400, seed: 7, stopAtFirst: false, shrink: false });
    expect(r.steps.max).toBeGreaterThan(r.steps.min);
    expect(r.failures.length).toBeGreaterThanOrEqual(2);
    // One worker runs its cells in order, so which guesses were wrong is
    // fixed: the cells sent ahead of the first result guessed no estimate.
    expect(one.lastRun?.reruns).toBeGreaterThan(0);
  });

  it("the portfolio, sharded: DFS in one worker, the rest spread, the same as explore() on that shard", async () => {
    const r = await sameEverywhere("racy", racy, { executions: 300, seed: 1, stopAtFirst: false, shrink: false, shard: [1, 2] });
    // Every shard runs the DFS's indices (2, 5, 8, ...), the others the odd
    // random and PCT indices. This shard's DFS subtrees are exhausted at
    // index 11 (the reduction runs each trace once), which ends the portfolio.
    expect(r).toMatchObject({ executions: 8, stoppedBy: "exhausted" });
  });

  it("DFS alone: one sequential search in one worker", async () => {
    const r = await sameEverywhere("abbaFixed", abbaFixed, { strategy: { name: "dfs", reduction: "none" }, executions: 1000 });
    expect(r).toMatchObject({ exhausted: true, stoppedBy: "exhausted" });
  });

  it("a time budget stops the run at a prefix of the executions", async () => {
    const r = await two.explore(target("abbaFixed"), { strategy: "random", executions: 10_000_000, timeMs: 100 });
    expect(r.stoppedBy).toBe("time");
    expect(r.executions).toBeLessThan(10_000_000);
  });

  it("reaches into objects with a dotted export path, as catalog variants are", async () => {
    const r = await two.explore(target("nested.variants.fixed"), { strategy: "random", executions: 50 });
    expect(timeless(r)).toEqual(timeless(explore(abbaFixed, { strategy: "random", executions: 50 })));
  });
});

describe("ExplorePool: errors name the argument", () => {
  it.each([
    ["a module that does not exist", { module: "/no/such/scenarios.ts", export: "abba" }, "target.module"],
    ["a relative module path", { module: "fixtures/scenarios.ts", export: "abba" }, "target.module"],
    ["an export that does not exist", target("noSuchExport"), "target.export"],
    ["an export that is not a function", target("notAScenario"), "target.export"],
    ["an empty export name", target(""), "target.export"],
  ])("%s", async (_what, bad, argument) => {
    const error: unknown = await two.explore(bad, { executions: 10 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArgumentError);
    expect(error).toMatchObject({ argument });
  });

  it("bad options, exactly as explore() rejects them", async () => {
    const error: unknown = await two.explore(target("abba"), { executions: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ArgumentRangeError);
    expect(error).toMatchObject({ argument: "executions" });
    expect(() => explore(abba, { executions: 0 })).toThrow((error as Error).message);
  });

  it("a worker count that is not a positive integer", async () => {
    expect(() => new ExplorePool({ workers: 0 })).toThrow(ArgumentRangeError);
    await expect(exploreParallel(target("abba"), { workers: 1.5 })).rejects.toMatchObject({ argument: "workers" });
  });
});

describe("exploreParallel", () => {
  it("runs a scenario given as a function on this thread, through explore()", async () => {
    const r = await exploreParallel(abbaFixed, { workers: 2, strategy: "random", executions: 100 });
    expect(timeless(r)).toEqual(timeless(explore(abbaFixed, { strategy: "random", executions: 100 })));
  });

  it("runs a module-addressed scenario in a pool of its own, and shuts it down", async () => {
    const r = await exploreParallel(target("abba"), { workers: 2, executions: 200, seed: 3 });
    expect(timeless(r)).toEqual(timeless(explore(abba, { executions: 200, seed: 3 })));
  });
});

describe("scenario misuse in workers", () => {
  it("an async scenario or one that spawns no task is an ArgumentError naming 'scenario', from the workers too", async () => {
    for (const name of ["asyncScenario", "noTasks"]) {
      const e: unknown = await one.explore(target(name), { executions: 3, strategy: "random" }).catch((error: unknown) => error);
      expect(e).toBeInstanceOf(ArgumentError);
      expect((e as ArgumentError).argument).toBe("scenario");
    }
  });
});
