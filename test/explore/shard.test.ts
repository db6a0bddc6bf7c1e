/**
 * Sharding (`shard: [i, n]`): shards together cover what one unsharded run
 * covers, so a CI matrix can spread one exploration over machines.
 *
 * Random walks and PCT are sharded by execution index (shard i of n runs
 * the indices congruent to i mod n); DFS is sharded by subtree (the first
 * choice's options are dealt out by position, and each shard searches the
 * whole subtree under its options).
 */
import { describe, expect, it } from "vitest";
import { access, explore, kfree, Kref, SimObject, type Effect, type ExploreOptions, type ExploreResult, type Scenario } from "../../src/index.js";
import { deriveSeed } from "../../src/kernel/prng.js";
import { racy } from "./fixtures/scenarios.js";

const SEED = 5;
const BUDGET = 400;

function fingerprints(...runs: readonly ExploreResult[]): string[] {
  return [...new Set(runs.flatMap((r) => r.failures.map((f) => f.fingerprint)))].sort();
}

/**
 * Run `options` on `racy`, and say which execution indices ran: each
 * execution's Sim is seeded from the run's seed and its index, so the seed
 * the scenario sees names the index. (With shrinking off, and no lock-order
 * cycle to look for a deadlock behind, nothing else runs the scenario.)
 */
function runWithIndices(options: ExploreOptions): { result: ExploreResult; indices: number[] } {
  const indexOf = new Map<number, number>();
  for (let i = 0; i < BUDGET; i++) indexOf.set(deriveSeed(SEED, i), i);
  const seen = new Set<number>();
  const observed: Scenario = (sim) => {
    seen.add(indexOf.get(sim.seed) ?? -1);
    racy(sim);
  };
  const result = explore(observed, { ...options, seed: SEED, executions: BUDGET, stopAtFirst: false, shrink: false });
  return { result, indices: [...seen].sort((a, b) => a - b) };
}

describe.each(["random", "pct"] as const)("shards of %s", (strategy) => {
  it("together run every index the unsharded run runs, each once, and find the same failures", () => {
    const all = runWithIndices({ strategy });
    const s0 = runWithIndices({ strategy, shard: [0, 2] });
    const s1 = runWithIndices({ strategy, shard: [1, 2] });
    expect(all.indices).toEqual(Array.from({ length: BUDGET }, (_, i) => i));
    expect(s0.indices.every((i) => i % 2 === 0) && s1.indices.every((i) => i % 2 === 1)).toBe(true);
    expect([...s0.indices, ...s1.indices].sort((a, b) => a - b)).toEqual(all.indices);
    expect(s0.result.executions + s1.result.executions).toBe(all.result.executions);
    // The same failures. (Not necessarily found at the same executions for
    // PCT: its step estimate is the longest execution its own shard has seen.)
    const found = fingerprints(all.result);
    expect(found.length).toBeGreaterThanOrEqual(2);
    expect(fingerprints(s0.result, s1.result)).toEqual(found);
  });
});

class Bo extends SimObject {
  readonly kref = new Kref<Bo>(this);
}

function* boFree(bo: Bo): Generator<Effect, void, unknown> {
  yield* kfree(bo);
}

/**
 * Two failures: when both trimmers read 2 and drop a reference, the count
 * reaches zero and the lookup's kref_get (not get-unless-zero) is an
 * increment from zero; when a trimmer reads 1 and skips its put, a
 * reference is left at teardown (a leak).
 */
const twoBugs: Scenario = (sim) => {
  const bo = new Bo(sim, "Bo", { name: "bo0" });
  sim.run(function* () {
    yield* bo.kref.get(); // the cache's reference
  });
  for (const name of ["trim1", "trim2"]) {
    sim.spawn(name, "process", function* () {
      yield* access(bo.kref, "read");
      if (bo.kref.read() > 1) yield* bo.kref.put(boFree); // BUG: read, then act
    });
  }
  sim.spawn("lookup", "process", function* () {
    yield* bo.kref.get(); // BUG: the count may already be zero
    yield* bo.kref.put(boFree);
  });
};

describe("shards of DFS", () => {
  const options = { executions: 100_000, stopAtFirst: false, shrink: false } as const;

  it("without reduction: the executions add up, subtree by subtree, and so do the failures", () => {
    // The first choice is among the three tasks' starts, in spawn order:
    // trim1, trim2, lookup. Shard 0 of 2 takes positions 0 and 2 (trim1's
    // and lookup's subtrees), shard 1 position 1 (trim2's). Every execution
    // lies in exactly one first-level subtree, so the counts add up:
    // trim2's subtree has 594 executions, trim1's as many (the trimmers are
    // symmetric), lookup's 568; 594 + 568 + 594 = 1756.
    const strategy = { name: "dfs", reduction: "none" } as const;
    const all = explore(twoBugs, { ...options, strategy });
    const s0 = explore(twoBugs, { ...options, strategy, shard: [0, 2] });
    const s1 = explore(twoBugs, { ...options, strategy, shard: [1, 2] });
    expect([all, s0, s1].map((r) => r.exhausted)).toEqual([true, true, true]);
    expect([all.executions, s0.executions, s1.executions]).toEqual([1756, 594 + 568, 594]);
    expect(fingerprints(all)).toHaveLength(2);
    expect(fingerprints(s0, s1)).toEqual(fingerprints(all));
  });

  it("with DPOR: the shards together find the same failures", () => {
    // Counts need not add up here: a sharded search must try every first
    // choice it owns, where the unsharded one may find some redundant.
    const all = explore(twoBugs, { ...options, strategy: "dfs" });
    const s0 = explore(twoBugs, { ...options, strategy: "dfs", shard: [0, 2] });
    const s1 = explore(twoBugs, { ...options, strategy: "dfs", shard: [1, 2] });
    expect([all, s0, s1].map((r) => r.exhausted)).toEqual([true, true, true]);
    expect(fingerprints(all)).toHaveLength(2);
    expect(fingerprints(s0, s1)).toEqual(fingerprints(all));
  });
});
