/**
 * DmaResv, the locking half: the reservation ww class (the boot-primed
 * lockdep class), the lock ops as thin dma_resv_* wrappers of the ww mutex,
 * assertHeld on the exact instance, and reserveFences' slot bookkeeping.
 */
import { describe, expect, it } from "vitest";
import {
  Completion,
  DmaResv,
  fsReclaimAcquire,
  fsReclaimRelease,
  kfree,
  RESERVATION_WW_CLASS,
  reservationWwClass,
  SimObject,
  WwAcquireCtx,
  WwClass,
  type Report,
  type ReportKind,
  type Sim,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

function onlyReport<K extends ReportKind>(sim: Sim, kind: K): Extract<Report, { kind: K }> {
  expect(sim.reports.map((r) => r.kind)).toEqual([kind]);
  return sim.reports[0] as Extract<Report, { kind: K }>;
}

describe("reservationWwClass", () => {
  it("is one wait-die class per Sim, whose mutexes are lockdep's boot-primed resv class", () => {
    const sim = collectingSim();
    const cls = reservationWwClass(sim);
    expect(reservationWwClass(sim)).toBe(cls);
    expect(reservationWwClass(collectingSim()) === cls).toBe(false);
    expect(cls.name).toBe(RESERVATION_WW_CLASS);
    expect(cls.algorithm).toBe("wait-die");
    expect(cls.mutexClass).toBe(sim.lockdep.classes.resv);
    expect(cls.acquireClass).toBe(sim.lockdep.classes.resvAcquire);
    const resv = new DmaResv(sim, { name: "bo0.resv", static: true });
    expect(resv.wwClass).toBe(cls);
    expect(resv.wwMutex.lockClass).toBe(sim.lockdep.classes.resv);
    expect(resv.wwMutex.label).toBe('WwMutex#2 "bo0.resv" in DmaResv#1 "bo0.resv"');
  });

  it("a DmaResv lock is the primed class: taking it inside reclaim closes a cycle with the boot order resv -> fs_reclaim", () => {
    const sim = collectingSim();
    const resv = new DmaResv(sim, { name: "bo0.resv", static: true });
    sim.run(function* () {
      fsReclaimAcquire();
      yield* resv.lock(null);
      yield* resv.unlock();
      fsReclaimRelease();
    });
    const r = onlyReport(sim, "lock-order-cycle");
    expect(r.cycle.map((e) => e.from)).toEqual(["fs_reclaim", "reservation_ww_class_mutex"]);
    expect(r.cycle[1]).toMatchObject({ from: "reservation_ww_class_mutex", to: "fs_reclaim", fromSite: { replay: "boot" } });
  });

  it("and the boot order itself is clean: reclaim under a held resv", () => {
    const sim = collectingSim();
    const resv = new DmaResv(sim, { static: true });
    sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(resv.wwClass);
      yield* resv.lock(ctx);
      fsReclaimAcquire();
      fsReclaimRelease();
      yield* resv.unlock();
      ctx.fini();
    });
    expect(sim.reports).toEqual([]);
  });
});

describe("DmaResv lock ops", () => {
  it("lock, trylock, unlock, isLocked, lockingCtx and assertHeld follow the ww mutex", () => {
    const sim = collectingSim();
    const resv = new DmaResv(sim, { name: "r", static: true });
    sim.run(function* () {
      expect(resv.isLocked()).toBe(false);
      expect(yield* resv.trylock()).toBe(true);
      expect(resv.isLocked()).toBe(true);
      expect(resv.lockingCtx()).toBeNull();
      expect(resv.assertHeld()).toBe(true);
      yield* resv.unlock();
      const ctx = yield* WwAcquireCtx.init(resv.wwClass);
      expect(yield* resv.lock(ctx)).toBe("locked");
      expect(yield* resv.lock(ctx)).toBe("already-held");
      expect(resv.lockingCtx()).toBe(ctx);
      yield* resv.unlock();
      expect(yield* resv.lockInterruptible(ctx)).toBe("locked");
      yield* resv.unlock();
      ctx.fini();
    });
    expect(sim.reports).toEqual([]);
  });

  it("assertHeld by a task that does not hold it is a lock-not-held report naming the resv's mutex and its holder", () => {
    const sim = collectingSim();
    const resv = new DmaResv(sim, { name: "r", static: true });
    const locked = new Completion(sim, { name: "locked", static: true });
    const checked = new Completion(sim, { name: "checked", static: true });
    let asserted: boolean | null = null;
    sim.spawn("holder", "process", function* () {
      yield* resv.lock(null);
      yield* locked.complete();
      yield* checked.waitForCompletion();
      yield* resv.unlock();
    });
    sim.spawn("other", "process", function* () {
      yield* locked.waitForCompletion();
      asserted = resv.assertHeld();
      yield* checked.complete();
    });
    sim.runAll();
    expect(asserted).toBe(false);
    const r = onlyReport(sim, "lock-not-held");
    expect(r).toMatchObject({ lock: resv.wwMutex.label, owner: "holder/1" });
  });

  it("lockSlow after a back-off, under a wound-wait class given as an option", () => {
    const sim = collectingSim();
    const cls = new WwClass(sim, "test_ww_class", { algorithm: "wound-wait", injectBackoffAt: 1 });
    const a = new DmaResv(sim, { name: "a", wwClass: cls, static: true });
    const b = new DmaResv(sim, { name: "b", wwClass: cls, static: true });
    expect(a.wwClass).toBe(cls);
    sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(cls);
      expect(yield* a.lock(ctx)).toBe("locked");
      expect(yield* b.lock(ctx)).toBe("backoff");
      yield* a.unlock();
      yield* b.lockSlow(ctx);
      expect(yield* a.lock(ctx)).toBe("locked");
      yield* a.unlock();
      yield* b.unlock();
      expect(yield* b.lockSlowInterruptible(ctx)).toBe("locked");
      yield* b.unlock();
      ctx.fini();
    });
    // The second lockSlow had no back-off pending: the ww layer reports it.
    expect(sim.reports.map((r) => r.kind)).toEqual(["ww-mutex-misuse"]);
    expect(sim.reports[0]).toMatchObject({ problem: "slow-lock-without-backoff" });
  });

  it("a resv embedded in an object dies with it: a lock op on it afterwards is a use-after-free", () => {
    const sim = collectingSim();
    const bo = new SimObject(sim, "Bo", { name: "bo0" });
    const resv = new DmaResv(sim, { embeddedIn: bo });
    sim.run(function* () {
      yield* kfree(bo);
      resv.isLocked();
    });
    const r = onlyReport(sim, "use-after-free");
    expect(r).toMatchObject({ kind: "use-after-free", access: "DmaResv.isLocked" });
  });
});

describe("DmaResv.reserveFences: the slot bookkeeping of dma_resv_reserve_fences()", () => {
  it("an empty list gets max(4, the next power of two); room left changes nothing; more doubles", () => {
    const sim = collectingSim();
    const resv = new DmaResv(sim, { static: true });
    sim.run(function* () {
      yield* resv.lock(null);
      expect(resv.maxFences).toBe(0);
      expect(yield* resv.reserveFences(1)).toBe("ok");
      expect(resv.maxFences).toBe(4);
      expect(yield* resv.reserveFences(4)).toBe("ok");
      expect(resv.maxFences).toBe(4);
      expect(yield* resv.reserveFences(5)).toBe("ok");
      expect(resv.maxFences).toBe(8);
      expect(yield* resv.reserveFences(20)).toBe("ok");
      expect(resv.maxFences).toBe(20);
      expect(resv.numFences).toBe(0);
      yield* resv.unlock();
      // The slots belonged to that hold (CONFIG_DEBUG_MUTEXES' reset at unlock).
      expect(resv.maxFences).toBe(0);
      yield* resv.lock(null);
      expect(resv.maxFences).toBe(0);
      expect(yield* resv.reserveFences(5)).toBe("ok");
      expect(resv.maxFences).toBe(8);
      expect(yield* resv.reserveFences(0)).toBe("ok");
      expect(resv.maxFences).toBe(8);
      yield* resv.unlock();
    });
    expect(sim.reports).toEqual([]);
  });

  it("without the lock it is a lock-not-held report, and goes on as the kernel's WARN does", () => {
    const sim = collectingSim();
    const resv = new DmaResv(sim, { name: "r", static: true });
    const result = sim.run(function* () {
      return yield* resv.reserveFences(2);
    });
    expect(result).toBe("ok");
    const r = onlyReport(sim, "lock-not-held");
    expect(r).toMatchObject({ kind: "lock-not-held", lock: resv.wwMutex.label, owner: null });
    // Not held: no hold to keep the slots.
    expect(resv.maxFences).toBe(0);
  });
});
