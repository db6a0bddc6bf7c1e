/**
 * invalidate-stale-dma: a shrinker that may only trylock evicts a buffer
 * the GPU is still using, and gives its pages back while the device can
 * still reach them through a stale translation.
 *
 * Seed thread 003 (dma-buf invalidation and userptr, Mar 2018). Christian
 * König: an mmu notifier cannot take a reservation lock and a shrinker can
 * only trylock it, but either must wait for the buffer's fences; the sg
 * tables (the IOMMU mappings) of the released memory "might live a bit
 * longer, but that is unproblematic". Chris Wilson: holding the
 * reservation only stops new fences, "I hold the reservation_object does
 * not imply you can just go and nuke the backing storage". Daniel Vetter:
 * that is the point of an IOMMU, device isolation; the IOMMU mappings (and
 * the GPU PTEs) must be gone before the memory is given back, so that a
 * stray write faults instead of landing in memory the kernel reused.
 *
 * The world: a BO of two pages behind an IOMMU, mapped in the GPU page
 * table (PTEs hold IOVA page numbers); app/3 submits a job that reads the
 * BO, then writes it page by page (each access range one step, translated
 * then), and puts the job's fence in the BO's resv; pressure/2 allocates
 * more than the limit, so direct reclaim runs the shrinker, which takes
 * the BO off its LRU with a reference, trylocks the BO's resv and evicts
 * it. The driver's fault handler sends a faulting page to a scratch page
 * and retries (as drivers do for memory that is gone): a job that faults
 * is contained, so only an access that reaches a freed page is a report.
 *
 * Buggy: the shrinker takes the trylock for idleness and tears down
 * lazily, as the thread's amdgpu did: the IOMMU entries are unmapped with
 * the IOTLB sync left for later, the pages go back at once, and the GPU
 * side is torn down after. In that window the job, running on, translates
 * through its TLB to the IOVA, and the IOTLB still holds the translation.
 * Step numbers are those of seed 2:
 *
 *   pressure/2 (direct reclaim)               gpu0-sched/4 (the job)
 *                                             43. read: TLB miss, PTE ->
 *                                                 IOVA -> IOMMU table ->
 *                                                 pfn; TLB, IOTLB filled
 *   47. dma_resv_trylock(bo.resv): got it
 *   49. iommu_unmap_fast() (no IOTLB sync)
 *                                             50, 52, 53. writes: TLB ->
 *                                                 IOVA -> stale IOTLB
 *                                                 entry (the frames still
 *                                                 allocated)
 *   54. __free_page(pfn 2)
 *                                             55. write va 0x101000: TLB
 *                                                 hit -> IOVA -> stale
 *                                                 IOTLB entry -> pfn 2
 *                                                 => dma-use-after-free
 *
 * Fixed: dma_resv_wait_timeout() for the BO's fences, then the PTEs
 * cleared and the GPU TLB invalidated, the IOMMU unmapped and its IOTLB
 * flushed, and only then the pages freed (GemBackingStore.release).
 *
 * Further variants:
 * - stale-tlb: a GPU without an IOMMU (PTEs hold frames): the shrinker
 *   clears the PTEs but never invalidates the GPU TLB, and frees the
 *   pages; the job's next access hits the stale TLB entry:
 *   dma-use-after-free through the TLB alone.
 * - no-wait-full-teardown: no fence wait, but everything torn down before
 *   the free: the job's late accesses fault and go to the scratch page.
 *   Clean: the device isolation Daniel Vetter defends (the rendering is
 *   lost; memory is safe).
 */
import { GemObject } from "../drm/gem-object.js";
import { GemBackingStore } from "../device/backing-store.js";
import { Gpu, type GpuFault } from "../device/gpu.js";
import { Iommu, type IommuDomain } from "../device/iommu.js";
import { GpuPageTable } from "../device/page-table.js";
import { PhysMem } from "../device/phys-mem.js";
import type { GpuTlb } from "../device/tlb.js";
import { access } from "../kernel/access.js";
import type { Effect } from "../kernel/effect.js";
import { defineOp } from "../kernel/op.js";
import { kfree } from "../kernel/heap.js";
import { configureMemory, GFP_KERNEL, kmalloc, PAGE_SIZE } from "../kernel/memory.js";
import { Shrinker, SHRINK_STOP } from "../kernel/shrinker.js";
import type { Sim } from "../kernel/sim.js";
import { Mutex } from "../locking/mutex.js";
import type { CatalogScenario } from "./scenario.js";

/** The BO's GPU VA and size. */
const BO_VA = 0x10_0000;
const BO_PAGES = 2;
const BO_SIZE = BO_PAGES * PAGE_SIZE;
const RW = { read: true, write: true };

/** The device and the BO, as the shrinker and the fault handler see them. */
interface World {
  readonly sim: Sim;
  readonly mem: PhysMem;
  /** The GPU's IOMMU domain, or null for a GPU that sees physical memory. */
  readonly dom: IommuDomain | null;
  readonly pt: GpuPageTable;
  readonly tlb: GpuTlb;
  readonly gpu: Gpu;
  readonly bo: GemObject;
  readonly store: GemBackingStore;
  /** The driver's page-table lock (sdma_vm->pt_lock): the shrinker's zap and the fault handler take it. */
  readonly ptLock: Mutex;
  /** The shrinker's LRU of evictable BOs (the BO leaves it in its free path). Locking: lruLock. */
  readonly lru: GemObject[];
  readonly lruLock: Mutex;
  /** What a PTE holds for the scratch page (its IOVA page number, or its frame). */
  scratchDma: number;
}

/** The shrinker's eviction of the BO, called with its resv trylocked and the store populated. */
type Evict = (w: World) => Generator<Effect, void, unknown>;

/** The driver's zap: clear the BO's PTEs and invalidate the GPU TLB over them. */
const zap = defineOp("drv_gem_zap", function* (w: World): Generator<Effect, void, unknown> {
  yield* w.ptLock.lock();
  yield* clearBoPtes(w);
  yield* w.tlb.invalidate(BO_VA, BO_SIZE);
  yield* w.ptLock.unlock();
});

/** Clear the PTEs that still point at the BO's pages (the fault handler may have sent some to the scratch page). Under ptLock. */
function* clearBoPtes(w: World): Generator<Effect, void, unknown> {
  for (let i = 0; i < BO_PAGES; i++) {
    const va = BO_VA + i * PAGE_SIZE;
    const pte = w.pt.walk(va);
    if (pte !== null && pte.pfn !== w.scratchDma) yield* w.pt.unmap(va, PAGE_SIZE);
  }
}

/** Everything, in order: wait for the fences, zap, IOMMU unmap, IOTLB flush, free (GemBackingStore.release). */
function* evictFixed(w: World): Generator<Effect, void, unknown> {
  yield* w.store.release(() => zap(w));
}

/** BUG: no fence wait; the IOMMU unmapped without the IOTLB sync, the pages freed, the GPU side after. */
function* evictLazy(w: World): Generator<Effect, void, unknown> {
  yield* w.store.dmaUnmap();
  yield* w.store.freePages();
  yield* zap(w);
  yield* w.store.flushIotlb();
}

/** BUG: no fence wait; the PTEs cleared but the GPU TLB never invalidated. */
function* evictNoTlbInvalidate(w: World): Generator<Effect, void, unknown> {
  yield* w.ptLock.lock();
  yield* clearBoPtes(w);
  yield* w.ptLock.unlock();
  yield* w.store.dmaUnmap();
  yield* w.store.flushIotlb();
  yield* w.store.freePages();
}

/** No fence wait, but the whole teardown before the free: late accesses fault. */
export function* evictNoWait(w: World): Generator<Effect, void, unknown> {
  yield* zap(w);
  yield* w.store.dmaUnmap();
  yield* w.store.flushIotlb();
  yield* w.store.freePages();
}

/**
 * The driver's GPU fault handler: point the faulting page at the scratch
 * page and retry. It runs in the job's fence-signalling section: the
 * tables are there already, so the map allocates nothing.
 */
function faultHandler(w: () => World): (fault: GpuFault) => Generator<Effect, "retry" | "fail", unknown> {
  return function* (fault) {
    const world = w();
    const page = fault.va - (fault.va % PAGE_SIZE);
    // RELIES ON: the tables are there (the BO was mapped), so nothing is allocated here.
    yield* world.ptLock.lock();
    yield* world.pt.unmap(page, PAGE_SIZE);
    yield* world.tlb.invalidate(page, PAGE_SIZE);
    const r = yield* world.pt.map(page, world.scratchDma, 4096, RW);
    yield* world.ptLock.unlock();
    return r === "ok" ? "retry" : "fail";
  };
}

/**
 * The world, with or without an IOMMU, and `evict` as the shrinker's
 * eviction; `observe` (tests) gets the page table and the scratch page's
 * PTE value once set up.
 */
export function scenario(withIommu: boolean, evict: Evict, observe?: (w: { readonly pt: GpuPageTable; readonly scratchDma: number }) => void): (sim: Sim) => void {
  return (sim) => {
    // The tables, the BO and the scratch page fit; pressure/3's request never does.
    configureMemory(sim, { limitPages: 12 });
    const mem = new PhysMem(sim, { name: "ram", pages: 64 });
    const dom = withIommu ? new Iommu(sim, { name: "iommu0", mem }).domainAlloc("gpu0") : null;
    const pt = new GpuPageTable(sim, mem, { name: "vm page table", addresses: withIommu ? "iova" : "physical" });
    let world: World | null = null;
    const gpu = new Gpu(sim, { name: "gpu0", mem, ...(dom === null ? {} : { iommu: dom }), faultHandler: faultHandler(() => world as World) });
    const store: { s: GemBackingStore | null } = { s: null };
    const bo = new GemObject(sim, {
      name: "bo",
      size: BO_SIZE,
      // The last put releases what the shrinker left, in the right order, then the store.
      *free(): Generator<Effect, void, unknown> {
        const w = world as World;
        yield* w.lruLock.lock();
        yield* access(w.lru, "write");
        w.lru.splice(0);
        yield* w.lruLock.unlock();
        if (w.store.populated) yield* w.store.release(() => zap(w));
        yield* kfree(w.store);
      },
    });
    store.s = new GemBackingStore(sim, { gem: bo, mem, ...(dom === null ? {} : { iommu: dom }), process: "app" });
    const w: World = {
      sim,
      mem,
      dom,
      pt,
      tlb: gpu.tlb(pt),
      gpu,
      bo,
      store: store.s,
      ptLock: new Mutex(sim, "sdma_vm->pt_lock", { static: true }),
      lru: sim.share([bo]),
      lruLock: new Mutex(sim, "sdma->lru_lock", { static: true }),
      scratchDma: -1,
    };
    world = w;
    new Shrinker(sim, "bo-shrinker", {
      countObjects: () => 1,
      // Mirrors drm_gem_lru_scan(): a reference under the LRU lock, then only a trylock.
      *scanObjects(): Generator<Effect, number, unknown> {
        yield* w.lruLock.lock();
        yield* access(w.lru, "read");
        const got = w.lru.length > 0 && (yield* bo.getUnlessZero("shrinker"));
        yield* w.lruLock.unlock();
        if (!got) return SHRINK_STOP;
        let freed = 0;
        // Reclaim may only trylock.
        if (yield* bo.resv.trylock()) {
          if (w.store.populated) {
            yield* evict(w);
            freed = BO_PAGES;
          }
          yield* bo.resv.unlock();
        }
        yield* bo.put("shrinker");
        return freed > 0 ? freed : SHRINK_STOP;
      },
    }).register();
    sim.spawn("setup", "process", function* () {
      // The scratch page faulting accesses are sent to.
      const scratch = (yield* mem.allocPage({ label: "scratch page" }, GFP_KERNEL)) as number;
      if (dom !== null) {
        const iova = (yield* dom.iovaAlloc(PAGE_SIZE)) as number;
        yield* dom.map(iova, scratch, PAGE_SIZE, RW);
        w.scratchDma = iova / PAGE_SIZE;
      } else {
        w.scratchDma = scratch;
      }
      observe?.(w);
      yield* w.store.populate();
      yield* pt.mapPages(BO_VA, [w.store.dmaPage(0), w.store.dmaPage(1)], RW);
      sim.spawn("pressure", "process", function* () {
        const big = yield* kmalloc(32 * PAGE_SIZE, GFP_KERNEL);
        if (big !== null) yield* kfree(big);
      });
      sim.spawn("app", "process", function* () {
        // The exec: the job's fence goes into the BO's resv before the lock is dropped.
        yield* bo.resv.lock(null);
        yield* bo.resv.reserveFences(1);
        const job = yield* gpu.submit({
          name: "render",
          pageTable: pt,
          process: "app",
          reads: [{ va: BO_VA, length: BO_SIZE }],
          // Page by page, so the eviction can come between two of them.
          writes: Array.from({ length: 24 }, (_, i) => i % 2).map((i) => ({ va: BO_VA + i * PAGE_SIZE, length: PAGE_SIZE })),
        });
        yield* bo.resv.addFence(job.finished, "write");
        yield* bo.resv.unlock();
        yield* job.finished.wait(false);
        yield* job.finished.put("submit");
        yield* bo.put("creator");
      });
    });
  };
}

export const invalidateStaleDma: CatalogScenario = {
  name: "invalidate-stale-dma",
  title: "A shrinker that may only trylock gives a busy BO's pages back while the GPU can still reach them",
  description:
    "A shrinker trylocks a buffer object's reservation and evicts it without waiting for its fences, unmapping " +
    "the IOMMU without an IOTLB sync and freeing the pages before the GPU PTEs and TLB are torn down. The job " +
    "still running writes through the stale IOTLB entry into memory the kernel gave back. The fix waits for the " +
    "fences, then clears the PTEs, invalidates the TLB, unmaps the IOMMU and flushes its IOTLB before freeing.",
  expect: "dma-use-after-free",
  variants: { buggy: scenario(true, evictLazy), fixed: scenario(true, evictFixed) },
  more: [
    { name: "stale-tlb", title: "No IOMMU: the PTEs cleared, the GPU TLB never invalidated, the pages freed", scenario: scenario(false, evictNoTlbInvalidate), expect: "dma-use-after-free" },
    { name: "no-wait-full-teardown", title: "No fence wait, but everything torn down first: the late accesses fault to the scratch page", scenario: scenario(true, evictNoWait), expect: null },
  ],
};
