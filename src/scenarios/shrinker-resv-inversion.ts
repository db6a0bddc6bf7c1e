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
 *   alloc/1                                   pressure/2
 *   1. dma_resv_lock(bo)                      1. kmalloc(3 pages, GFP_KERNEL): over
 *   2. kmalloc(GFP_KERNEL): fs_reclaim           the limit, direct reclaim: fs_reclaim
 *      -> resv before fs_reclaim              2. shrinker: dma_resv_lock(bo)
 *                                                -> fs_reclaim before resv: cycle
 *
 * Fixed: the shrinker only trylocks, and stops (SHRINK_STOP) when the lock
 * is busy, as shrinkers must: a trylock never waits, so it adds no
 * dependency.
 */
import { configureMemory, GFP_KERNEL, kmalloc, PAGE_SIZE, type KmallocBuffer } from "../kernel/memory.js";
import { kfree, SimObject } from "../kernel/heap.js";
import type { Effect } from "../kernel/effect.js";
import { Shrinker, SHRINK_STOP } from "../kernel/shrinker.js";
import type { Sim } from "../kernel/sim.js";
import { WwAcquireCtx } from "../locking/ww-mutex.js";
import { DmaResv, reservationWwClass } from "../dma-buf/dma-resv.js";
import type { CatalogScenario } from "./scenario.js";

/** A BO with its reservation lock and its backing pages (under the lock); its memory is what the shrinker wants. */
class Bo extends SimObject {
  /** Its reservation object, of the kernel's reservation_ww_class. */
  readonly resv: DmaResv;
  /** Backing pages. Locking: resv. */
  readonly pages: KmallocBuffer[] = [];

  constructor(sim: Sim) {
    super(sim, "Bo", { name: "bo0", static: true });
    this.resv = new DmaResv(sim, { embeddedIn: this });
  }
}

/** The BO shrinker's scan: take the resv (`lock` waits for it, `trylock` does not), drop one backing page. */
type TakeResv = (bo: Bo) => Iterable<Effect, boolean, unknown>;

function world(sim: Sim, take: TakeResv): void {
  // Two pages: the BO's page always fits, the pressure task's three never do.
  configureMemory(sim, { limitPages: 2 });
  // A DmaResv's mutex is of reservation_ww_class, the class lockdep's boot order knows.
  const bo = new Bo(sim);
  new Shrinker(sim, "bo-shrinker", {
    countObjects: () => 1,
    *scanObjects(): Generator<Effect, number, unknown> {
      if (!(yield* take(bo))) return SHRINK_STOP; // busy: try again later
      const page = bo.pages.pop();
      yield* bo.resv.unlock();
      if (page === undefined) return 0;
      yield* kfree(page);
      return 1;
    },
  }).register();
  sim.spawn("alloc", "process", function* () {
    const ctx = yield* WwAcquireCtx.init(sim, reservationWwClass(sim));
    yield* bo.resv.lock(ctx);
    // Populating the BO while it is locked: a GFP_KERNEL allocation may enter reclaim.
    const page = yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
    if (page !== null) bo.pages.push(page);
    yield* bo.resv.unlock();
    ctx.fini();
    // Release the BO's pages (whatever the shrinker left).
    yield* bo.resv.lock(null);
    const left = bo.pages.splice(0);
    yield* bo.resv.unlock();
    for (const page of left) yield* kfree(page);
  });
  sim.spawn("pressure", "process", function* () {
    // More than the limit: direct reclaim runs the shrinkers in this task, then it fails.
    const big = yield* kmalloc(3 * PAGE_SIZE, GFP_KERNEL);
    if (big !== null) yield* kfree(big);
  });
}

function buggy(sim: Sim): void {
  world(sim, function* (bo) {
    // BUG: waits for the resv lock inside reclaim.
    yield* bo.resv.lock(null);
    return true;
  });
}

function fixed(sim: Sim): void {
  world(sim, (bo) => bo.resv.trylock());
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
