import { describe, expect, it } from "vitest";
import { explore, Lockdep } from "../../src/index.js";
import { runOnce, runSeeds } from "../../src/scenarios/scenario.js";
import { shrinkerResvInversion } from "../../src/scenarios/shrinker-resv-inversion.js";
import { expectKind } from "./helpers.js";

const { buggy, fixed } = shrinkerResvInversion.variants;

describe("shrinker-resv-inversion, buggy", () => {
  it("is a lock-order cycle through fs_reclaim on every seed, against the boot-primed order", () => {
    for (let seed = 0; seed < 20; seed++) {
      const sim = runOnce(buggy, { seed, lockdep: new Lockdep() });
      const r = expectKind(sim.reports[0], "lock-order-cycle");
      // 2. pressure: dma_resv_lock in its direct reclaim -> fs_reclaim before resv.
      expect(r.task).toBe("pressure/2");
      expect(r.cycle[0]).toMatchObject({ from: "fs_reclaim", to: "reservation_ww_class_mutex" });
      // The other direction is known from boot, whether or not alloc/1 ran first.
      expect(r.cycle.slice(1).some((e) => e.toSite.replay === "boot")).toBe(true);
    }
  });

  it("follows the drawn schedule under round-robin: the shrinker's lock in pressure/2's reclaim", () => {
    const sim = runOnce(buggy, { strategy: "round-robin", lockdep: new Lockdep() });
    // 4. pressure/2: over the limit, its reclaim runs the shrinker, whose plain lock closes the cycle.
    const r = expectKind(sim.reports[0], "lock-order-cycle");
    expect(r.step).toBe(4);
    expect(r.cycle[0]?.toSite.op).toBe("ww_mutex_lock");
    expect(r.held.map((h) => h.lock)).toEqual(["fs_reclaim"]);
  });

  it("is caught by the first execution of the seed loop", () => {
    const run = runSeeds(buggy, { seeds: 10 });
    expect(run.executions).toBe(1);
    expect(run.firstFailure?.report.kind).toBe("lock-order-cycle");
  });
});

describe("shrinker-resv-inversion, fixed", () => {
  it("passes the whole budget: a trylock adds no dependency", () => {
    const run = runSeeds(fixed, { seeds: 200 });
    expect(run.firstFailure).toBeNull();
    expect(run.executions).toBe(200);
  });

  it("passes every schedule", () => {
    const r = explore(fixed, { strategy: { name: "dfs", reduction: "dpor" }, executions: 20_000, stopAtFirst: false, shrink: false });
    expect(r.exhausted).toBe(true);
    expect(r.failures).toEqual([]);
  });
});
