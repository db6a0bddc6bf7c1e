import { describe, expect, it } from "vitest";
import { explore, type Scenario } from "../../src/index.js";
import { gemFreeVsShrinker } from "../../src/scenarios/gem-free-vs-shrinker.js";
import { runOnce, runSeeds } from "../../src/scenarios/scenario.js";
import { expectKind } from "./helpers.js";

const { buggy, fixed } = gemFreeVsShrinker.variants;
function variant(name: string): Scenario {
  const s = gemFreeVsShrinker.more?.find((m) => m.name === name)?.scenario;
  if (s === undefined) throw new Error(`no variant ${name}`);
  return s;
}

/** Every schedule (DFS with DPOR); returns the exploration. */
function exhaust(scenario: Scenario) {
  return explore(scenario, { strategy: { name: "dfs", reduction: "dpor" }, executions: 20_000, stopAtFirst: false, shrink: false });
}

describe("gem-free-vs-shrinker, buggy: kref_get in the shrinker", () => {
  it("the shrinker (in pressure/4's reclaim) takes a reference of the BO close/2's put just zeroed", () => {
    const failure = runSeeds(buggy, { seeds: 50 }).firstFailure;
    expect(failure?.seed).toBe(1);
    const r = expectKind(failure?.report, "refcount-inc-from-zero");
    expect(r.object.label).toBe('GemObject#7 "bo"');
    expect(r.get.task).toBe("pressure/4");
    expect(r.get.op).toBe("kref_get");
    expect(r.zeroedBy?.task).toBe("close/2");
  });

  it("is the only bug: every failing schedule starts with it", { timeout: 60_000 }, () => {
    const r = exhaust(buggy);
    expect(r.exhausted).toBe(true);
    expect(r.failures.length).toBeGreaterThan(0);
    for (const f of r.failures) expect(f.reports[0]?.kind).toBe("refcount-inc-from-zero");
    expect(r.failures.length).toBeLessThan(r.executions);
  });
});

describe("gem-free-vs-shrinker, no-pretence: the free path waits for the resv", () => {
  it("from the shrinker's last put, in reclaim: fs_reclaim -> resv against the boot-time order", () => {
    const failure = runSeeds(variant("no-pretence"), { seeds: 50 }).firstFailure;
    const r = expectKind(failure?.report, "lock-order-cycle");
    expect(r.cycle.map((e) => [e.from, e.to])).toEqual([
      ["fs_reclaim", "reservation_ww_class_mutex"],
      ["reservation_ww_class_mutex", "fs_reclaim"],
    ]);
    expect(r.cycle[0]?.toSite.task).toBe("pressure/4");
    expect(r.cycle[1]?.toSite.replay).toBe("boot");
    expect(r.held.map((h) => h.lock)).toEqual(["fs_reclaim"]);
  });
});

describe("gem-free-vs-shrinker, fixed and pretend-locked", () => {
  it.each([
    ["fixed (get-unless-zero, trylock or defer)", fixed],
    ["pretend-locked (clean: the pretence hides the inversion)", variant("pretend-locked")],
  ] as const)("%s is clean in every schedule", { timeout: 60_000 }, (_name, scenario) => {
    const r = exhaust(scenario);
    expect(r.exhausted).toBe(true);
    expect(r.failures).toEqual([]);
  });

  it("fixed: when submit/3 holds the resv, the free path defers to a worker", { timeout: 60_000 }, () => {
    const deferred = Array.from({ length: 200 }, (_, seed) => runOnce(fixed, { seed })).filter((sim) => sim.tasks.some((t) => t.name === "kworker/u:1"));
    expect(deferred.length).toBeGreaterThan(0);
    for (const sim of deferred) expect(sim.reports).toEqual([]);
  });
});
