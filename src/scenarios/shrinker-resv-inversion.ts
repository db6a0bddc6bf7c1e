/**
 * shrinker-resv-inversion: a shrinker that takes a buffer object's
 * reservation lock, and so waits for it inside memory reclaim.
 *
 * Every allocation that may reclaim memory runs the shrinkers. A task that
 * allocates while holding a BO's reservation lock (binding it, filling its
 * pages) therefore orders the resv lock before fs_reclaim, as the kernel
 * teaches lockdep at boot (dma_resv_lockdep()). A shrinker that then waits
 * for a resv lock orders fs_reclaim before it: the two can deadlock, the
 * shrinker waiting for the lock and the holder waiting for the reclaim that
 * runs the shrinker. Seed thread 002 is about this inversion on msm's free
 * path.
 *
 * Buggy. Lockdep reports it on the shrinker's first lock, whatever the
 * schedule, because the other order is primed at boot:
 *
 *   alloc/1                                   kswapd/2 (reclaim)
 *   1. dma_resv_lock(bo)                      1. fs_reclaim (reclaim context)
 *   2. kmalloc(GFP_KERNEL): fs_reclaim        2. dma_resv_lock(bo)
 *      -> resv before fs_reclaim                 -> fs_reclaim before resv: cycle
 *
 * Fixed: the shrinker only trylocks, and skips a BO whose lock is busy, as
 * shrinkers must: a trylock never waits, so it adds no dependency.
 */
import { fsReclaimAcquire, fsReclaimRelease } from "../kernel/context.js";
import { SimObject } from "../kernel/heap.js";
import type { Sim } from "../kernel/sim.js";
import { WwAcquireCtx, WwClass, WwMutex } from "../locking/ww-mutex.js";
import type { CatalogScenario } from "./scenario.js";

/** A BO with its reservation lock; its memory is what the shrinker wants. */
class Bo extends SimObject {
  readonly resv: WwMutex;

  constructor(sim: Sim, cls: WwClass) {
    super(sim, "Bo", { name: "bo0", static: true });
    this.resv = new WwMutex(sim, cls, { embeddedIn: this });
  }
}

function world(sim: Sim): Bo {
  // DEFINE_WD_CLASS(reservation_ww_class): the class lockdep's boot order knows.
  const cls = new WwClass(sim, "reservation_ww_class", { algorithm: "wait-die" });
  const bo = new Bo(sim, cls);
  sim.spawn("alloc", "process", function* () {
    const ctx = yield* WwAcquireCtx.init(sim, cls);
    yield* bo.resv.lock(ctx);
    // A GFP_KERNEL allocation while the BO is locked may enter reclaim.
    fsReclaimAcquire();
    fsReclaimRelease();
    yield* bo.resv.unlock();
    ctx.fini();
  });
  return bo;
}

function buggy(sim: Sim): void {
  const bo = world(sim);
  sim.spawn("kswapd", "reclaim", function* () {
    // BUG: waits for the resv lock inside reclaim.
    yield* bo.resv.lock(null);
    yield* bo.resv.unlock();
  });
}

function fixed(sim: Sim): void {
  const bo = world(sim);
  sim.spawn("kswapd", "reclaim", function* () {
    if (!(yield* bo.resv.trylock(null))) return; // busy: skip this BO
    yield* bo.resv.unlock();
  });
}

export const shrinkerResvInversion: CatalogScenario = {
  name: "shrinker-resv-inversion",
  title: "A shrinker waits for a reservation lock inside memory reclaim",
  description:
    "Allocating memory while holding a buffer object's reservation lock can enter reclaim, which runs the " +
    "shrinkers. A shrinker that waits for a reservation lock therefore closes a cycle with that allocation, " +
    "which lockdep knows from boot. The fix is for the shrinker to trylock and skip busy objects.",
  expect: "lock-order-cycle",
  variants: { buggy, fixed },
};
