/**
 * gem-free-vs-shrinker: a GEM object's free path racing the driver's
 * shrinker, and the lock the free path may not wait for.
 *
 * Seed thread 002 (msm GEM free path vs the shrinker, Jun 2022). Rob Clark
 * made msm_gem_free_object() stop taking the object's reservation lock: it
 * runs from the last put, which can be the shrinker's, inside reclaim,
 * where waiting for a resv closes a cycle with every allocation made under
 * one (resv before fs_reclaim, which lockdep knows from boot). Instead
 * msm_gem_is_locked() says yes when the refcount is zero: "if refcount==0
 * then by definition we aren't racing with anyone else", given a shrinker
 * that only takes references with kref_get_unless_zero(). Daniel Vetter
 * objected that this blinds lockdep to the inversion the lock would show,
 * and that the standard fix (TTM's, i915's) is to trylock the resv on
 * cleanup and push the work to a worker when that fails.
 *
 * The world: a BO shares its VM's resv (as msm's and most drivers' BOs
 * do) and sits on the driver's LRU (under `lru.lock`); submit/3 locks the
 * VM's resv and allocates under it; pressure/4 allocates more than the
 * limit, so direct reclaim runs the shrinker, which picks the BO off the
 * LRU, takes a reference, drops the LRU lock, trylocks the resv, purges the
 * pages and puts its reference (drm_gem_lru_scan()). close/2 closes the
 * BO's last handle; whichever put is last runs the free path.
 *
 * Buggy: the shrinker takes its reference with kref_get(). The free path
 * leaves the LRU under its lock after the count reached zero, so the
 * shrinker can find a dying object there. Step numbers are those of seed 1
 * (the seed loop's first catch):
 *
 *   close/2                                   pressure/4 (direct reclaim)
 *                                             21. mutex_lock(lru.lock)
 *   22. drm_gem_object_put(bo): 1 -> 0;
 *       msm_gem_free_object():
 *       mutex_lock(lru.lock) waits
 *                                             23. bo is on the LRU
 *                                             24. kref_get(bo)
 *                                                 => refcount-inc-from-zero
 *
 * Fixed: kref_get_unless_zero() in the shrinker (it skips the dying BO),
 * and a free path that trylocks the resv and, when someone holds it (here
 * submit/3), defers the page release to a worker (`kworker/u:1`, spawned
 * for it) that may wait.
 *
 * Further variants, with the fixed shrinker:
 * - pretend-locked: the free path takes no lock at all, and the pages
 *   helper's msm_gem_is_locked() check passes because the count is zero.
 *   Clean, and with this shrinker correct, but only because nothing here
 *   checks the lock the pretence stands for: the inversion is hidden.
 * - no-pretence: the same free path taking the resv for real, as it did
 *   before the pretence. When the shrinker's put is the last, the free
 *   path runs in reclaim and waits for the resv: lockdep reports the cycle
 *   with the boot-time order.
 */
import { GemObject } from "../drm/gem-object.js";
import { PhysMem } from "../device/phys-mem.js";
import { access } from "../kernel/access.js";
import type { Effect } from "../kernel/effect.js";
import { kfree, SimObject } from "../kernel/heap.js";
import { configureMemory, GFP_KERNEL, kmalloc, PAGE_SIZE } from "../kernel/memory.js";
import { Shrinker, SHRINK_STOP } from "../kernel/shrinker.js";
import type { Sim } from "../kernel/sim.js";
import { Mutex } from "../locking/mutex.js";
import type { CatalogScenario } from "./scenario.js";

/** Pages of the BO. */
const BO_PAGES = 2;

/** The driver's part of a BO (msm_gem_object beyond the GEM): its pages, and whether it is on the LRU. */
class MsmBo extends SimObject {
  /** The frames. Locking: the GEM's resv (or the pretence). */
  readonly pages: number[] = [];
  /** On the driver's LRU. Locking: lru.lock. */
  onLru = true;

  constructor(sim: Sim, readonly obj: GemObject) {
    super(sim, "MsmBo", { name: "bo (msm)" });
  }
}

/** The device's memory and the driver's LRU of shrinkable BOs. */
interface World {
  readonly sim: Sim;
  readonly mem: PhysMem;
  /** The VM's root object: its resv is shared by the BO. */
  readonly root: GemObject;
  /** The driver's LRU lock (msm's lru.lock). */
  readonly lruLock: Mutex;
  /** The LRU. Locking: lruLock. */
  readonly lru: MsmBo[];
}

/**
 * msm_gem_is_locked(): whether the object's pages may be touched. With
 * `pretend`, a count of zero counts as locked (the 2022 patch).
 */
function msmGemIsLocked(bo: MsmBo, pretend: boolean): boolean {
  if (bo.obj.resv.isLocked()) return true;
  return pretend && bo.obj.refcount.read() === 0;
}

/** put_pages(): give the BO's pages back; GEM_WARN_ON(!msm_gem_is_locked()) first. */
function* putPages(w: World, bo: MsmBo, pretend: boolean): Generator<Effect, number, unknown> {
  // The kernel's GEM_WARN_ON: report the lock as not held.
  if (!msmGemIsLocked(bo, pretend)) bo.obj.resv.assertHeld();
  yield* access(bo, "write");
  const pages = bo.pages.splice(0);
  for (const pfn of pages) yield* w.mem.freePage(pfn);
  return pages.length;
}

// --- the shrinker ------------------------------------------------------------

/** How the shrinker takes its reference of a BO it found on the LRU (under lru.lock). */
type ShrinkerGet = (obj: GemObject) => Iterable<Effect, boolean, unknown>;

/** BUG: kref_get() on an object the LRU still lists, though its count may already be zero. */
function* krefGet(obj: GemObject): Generator<Effect, boolean, unknown> {
  yield* obj.get("shrinker");
  return true;
}

/** kref_get_unless_zero(): a dying object is skipped. */
function getUnlessZero(obj: GemObject): Iterable<Effect, boolean, unknown> {
  return obj.getUnlessZero("shrinker");
}

/** Register the driver's shrinker, taking its references with `get`. */
function registerShrinker(w: World, get: ShrinkerGet): void {
  new Shrinker(w.sim, "msm_gem_shrinker", {
    countObjects: () => 1,
    // Mirrors drm_gem_lru_scan() with msm's purge as the shrink callback.
    *scanObjects(): Generator<Effect, number, unknown> {
      yield* w.lruLock.lock();
      yield* access(w.lru, "read");
      const bo = w.lru[0];
      const got = bo === undefined ? false : yield* get(bo.obj);
      yield* w.lruLock.unlock();
      if (bo === undefined || !got) return 0;
      let freed = 0;
      // Reclaim may only trylock: a busy resv is skipped.
      if (yield* bo.obj.resv.trylock()) {
        freed = yield* putPages(w, bo, false);
        yield* bo.obj.resv.unlock();
      }
      // ORDER: this put may be the last: the free path then runs here, in reclaim.
      yield* bo.obj.put("shrinker");
      return freed > 0 ? freed : SHRINK_STOP;
    },
  }).register();
}

// --- the free path -----------------------------------------------------------

/** How msm_gem_free_object() releases the pages, once off the LRU. */
type ReleasePages = (w: World, bo: MsmBo) => Generator<Effect, void, unknown>;

/** The end of the free path: the driver's part and its hold on the shared resv go. */
function* finishFree(w: World, bo: MsmBo): Generator<Effect, void, unknown> {
  yield* kfree(bo);
  yield* w.root.put("bo resv");
}

/** Trylock the resv; if someone holds it, a worker (which may wait for it) finishes. */
function* trylockOrDefer(w: World, bo: MsmBo): Generator<Effect, void, unknown> {
  const resv = bo.obj.resv;
  if (yield* resv.trylock()) {
    yield* putPages(w, bo, false);
    yield* resv.unlock();
    yield* finishFree(w, bo);
    return;
  }
  // The worker is spawned for this work and exits when it is done.
  w.sim.spawn("kworker/u:1", "process", function* () {
    yield* resv.lock(null);
    yield* putPages(w, bo, false);
    yield* resv.unlock();
    yield* finishFree(w, bo);
  });
}

/** The pretence: no lock; msm_gem_is_locked() passes because the count is zero. */
function* pretendLocked(w: World, bo: MsmBo): Generator<Effect, void, unknown> {
  yield* putPages(w, bo, true);
  yield* finishFree(w, bo);
}

/** The free path as before the pretence: it waits for the resv, wherever the last put ran. */
function* lockResv(w: World, bo: MsmBo): Generator<Effect, void, unknown> {
  yield* bo.obj.resv.lock(null);
  yield* putPages(w, bo, false);
  yield* bo.obj.resv.unlock();
  yield* finishFree(w, bo);
}

function scenario(get: ShrinkerGet, release: ReleasePages): (sim: Sim) => void {
  return (sim) => {
    // Four pages: the BO's two and a job fit; pressure/4's eight never do.
    configureMemory(sim, { limitPages: 4 });
    const mem = new PhysMem(sim, { name: "ram", pages: 16 });
    const root = new GemObject(sim, { name: "vm root", size: PAGE_SIZE });
    const w: World = { sim, mem, root, lruLock: new Mutex(sim, "msm lru.lock", { static: true }), lru: sim.share([] as MsmBo[]) };
    let bo: MsmBo | null = null;
    const obj = new GemObject(sim, {
      name: "bo",
      size: BO_PAGES * PAGE_SIZE,
      resv: root.resv,
      // Mirrors msm_gem_free_object(): off the LRU, then the pages.
      *free(): Generator<Effect, void, unknown> {
        const b = bo as MsmBo;
        yield* w.lruLock.lock();
        yield* access(w.lru, "write");
        w.lru.splice(w.lru.indexOf(b), 1);
        b.onLru = false;
        yield* w.lruLock.unlock();
        yield* release(w, b);
      },
    });
    bo = new MsmBo(sim, obj);
    registerShrinker(w, get);
    const b = bo;
    sim.spawn("setup", "process", function* () {
      // The BO's resv is the VM's: it holds the root until its free path is done.
      yield* root.get("bo resv");
      // The VM's reference, handed to submit/3.
      yield* root.get("submit");
      yield* root.put("creator");
      for (let i = 0; i < BO_PAGES; i++) {
        const pfn = yield* mem.allocPage({ label: "bo backing store" }, GFP_KERNEL);
        if (pfn !== null) b.pages.push(pfn);
      }
      yield* access(w.lru, "write");
      w.lru.push(b);
      yield* obj.open();
      yield* obj.put("creator");
      sim.spawn("close", "process", function* () {
        yield* obj.close();
      });
      sim.spawn("submit", "process", function* () {
        // A submission allocates under the VM's resv (resv before fs_reclaim).
        yield* root.resv.lock(null);
        const job = yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
        yield* root.resv.unlock();
        if (job !== null) yield* kfree(job);
        yield* root.put("submit");
      });
      sim.spawn("pressure", "process", function* () {
        const big = yield* kmalloc(8 * PAGE_SIZE, GFP_KERNEL);
        if (big !== null) yield* kfree(big);
      });
    });
  };
}

export const gemFreeVsShrinker: CatalogScenario = {
  name: "gem-free-vs-shrinker",
  title: "A GEM free path racing the shrinker: kref_get on a dying object, and a lock the free path may not wait for",
  description:
    "The shrinker finds a BO on the driver's LRU and takes a reference with kref_get(), though the BO's last " +
    "put may already have started its free path, which has not taken it off the LRU yet. The fix is " +
    "kref_get_unless_zero() in the shrinker, and a free path that trylocks the reservation lock and defers to " +
    "a worker when it is busy, instead of waiting for it in reclaim or pretending to hold it.",
  expect: "refcount-inc-from-zero",
  variants: { buggy: scenario(krefGet, trylockOrDefer), fixed: scenario(getUnlessZero, trylockOrDefer) },
  more: [
    { name: "pretend-locked", title: "msm's pretence: no lock in the free path, 'locked' when the count is zero (clean, and blind to the inversion)", scenario: scenario(getUnlessZero, pretendLocked), expect: null },
    { name: "no-pretence", title: "The free path waits for the resv: from the shrinker's last put, in reclaim", scenario: scenario(getUnlessZero, lockResv), expect: "lock-order-cycle" },
  ],
};
