/**
 * Reclaim context and the boot-primed lock order: a shrinker that takes a
 * reservation lock without trylock is a lock-order cycle through fs_reclaim
 * the first time it happens (seed thread 002: the msm GEM free path versus
 * the shrinker).
 */
import { describe, expect, it } from "vitest";
import { Lockdep, lockMapAcquire, lockMapRelease, Sim, type Report } from "../../src/index.js";

type Cycle = Extract<Report, { kind: "lock-order-cycle" }>;

describe("reclaim context", () => {
  it("a reclaim task holds fs_reclaim for its whole life, and not at exit", () => {
    const sim = new Sim({ onReport: "collect", lockdep: new Lockdep() });
    let held: string[] = [];
    sim.spawn("kswapd", "reclaim", function* () {
      held = sim.tasks[0]?.held.map((h) => h.cls.name) ?? [];
    });
    sim.runAll();
    expect(held).toEqual(["fs_reclaim"]);
    expect(sim.reports).toEqual([]);
  });

  it("taking a resv lock in reclaim closes a cycle with the order primed at boot", () => {
    const sim = new Sim({ onReport: "collect", lockdep: new Lockdep() });
    sim.spawn("shrinker", "reclaim", function* () {
      const resv = { lockClass: sim.lockdep.classes.resv, label: "bo->resv" };
      lockMapAcquire(resv);
      lockMapRelease(resv);
    });
    sim.runAll();
    const r = sim.reports[0] as Cycle;
    expect(r.kind).toBe("lock-order-cycle");
    expect(r.cycle.map((e) => [e.from, e.to])).toEqual([
      ["fs_reclaim", "reservation_ww_class_mutex"],
      ["reservation_ww_class_mutex", "fs_reclaim"],
    ]);
    expect(r.cycle[1]?.toSite.replay).toBe("boot");
    // What it already holds; the lock it is trying to take is the first edge's `to`.
    expect(r.held.map((h) => h.lockClass)).toEqual(["fs_reclaim"]);
  });
});
