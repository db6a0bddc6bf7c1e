/**
 * The toy driver's userptr bindings: GPU mappings of a process's own
 * anonymous memory, kept coherent with an mmu interval notifier.
 *
 * Mirrors: xe_userptr.c / amdgpu_hmm.c / nouveau_svm.c: a range of an `Mm`
 * watched by an `MmuIntervalNotifier` (mmu_interval_notifier_insert()).
 * Binding follows the read_begin / read_retry protocol: take the sequence
 * number (`readBegin`), get the pages (`Mm.pfns`, as hmm_range_fault()),
 * DMA-map them in the IOMMU, take the driver lock, and only if
 * `readRetry(seq)` says no invalidation ran meanwhile write the PTEs;
 * otherwise undo and start again. The invalidate callback (run by munmap
 * and by reclaim, where it may only trylock) takes the same lock, records
 * the new sequence (`setSeq`) so a racing bind or exec retries, waits for
 * the GPU jobs of the VM (or gives up when it may not block), clears the
 * PTEs, invalidates the TLB and unmaps and flushes the IOMMU before the mm
 * may free the pages.
 *
 * Ownership: a userptr belongs to its VM (vm.userptrs) and is destroyed
 * with it; it holds no reference on the pages (the mm owns them), only
 * their IOMMU mapping while bound.
 * Locking: `dev.vmLock` protects `bound`, `seq` and the PTEs (the
 * notifier's "driver lock"); an exec checks `readRetry` under it before it
 * queues a job and adds that job's fence to the VM's resv under it, so the
 * callback either sees the job's fence or the exec sees the new sequence.
 */
import { access, defineOp, GFP_KERNEL, MmuIntervalNotifier, PAGE_SIZE, type Effect, type Mm, type MmuNotifierRange } from "../../src/index.js";
import type { ToyVm } from "./vm.js";

const RW = { read: true, write: true };
/** The IOVA window of a userptr: one IOMMU leaf table's reach. */
const WINDOW = 2 * 1024 * 1024;
/** MAX_SCHEDULE_TIMEOUT. */
const FOREVER = 2 ** 52;

/** A userptr binding: `length` bytes of user memory at `addr` mapped at GPU VA `gpuVa`. */
export class ToyUserptr {
  notifier: MmuIntervalNotifier | null = null;
  /** The sequence the PTEs were written under (valid while `readRetry(seq)` is false). */
  seq = 0;
  /** Whether PTEs are written (and the pages DMA-mapped at `window.base + PAGE_SIZE`). */
  bound = false;
  /**
   * With an IOMMU: the userptr's IOVA window, reserved at creation: a
   * 2 MiB-aligned stretch whose IOMMU leaf table a scratch page keeps alive,
   * so mapping the pages under vmLock never allocates.
   */
  window: { readonly reserved: number; readonly base: number; readonly scratch: number } | null = null;
  /** The user range is gone (munmapped): the binding stays empty. */
  dead = false;

  constructor(
    readonly vm: ToyVm,
    readonly mm: Mm,
    readonly addr: number,
    readonly length: number,
    readonly gpuVa: number,
  ) {}

  /** Whether a job may use the binding now: bound, and no invalidation since. Caller holds vmLock. */
  valid(): boolean {
    if (!this.bound || this.notifier === null) return false;
    // The deliberate bug skips read_retry everywhere: bound is taken to mean valid.
    return this.vm.dev.has("ignoreReadRetry") || !this.notifier.readRetry(this.seq);
  }
}

/**
 * Create a userptr binding of [addr, addr + length) of `mm` at `gpuVa` in
 * `vm`: reserve its IOVA window and insert its notifier. The pages are
 * pinned and mapped lazily, by the first exec that uses it
 * ({@link userptrPin}, as xe does). Returns it, or "nomem".
 */
export function* userptrCreate(vm: ToyVm, mm: Mm, addr: number, length: number, gpuVa: number): Generator<Effect, ToyUserptr | "nomem", unknown> {
  const dev = vm.dev;
  const up = dev.sim.share(new ToyUserptr(vm, mm, addr, length, gpuVa));
  if (dev.domain !== null) {
    // Reserve 4 MiB of IOVA, use its 2 MiB-aligned half, and map a scratch page at its start.
    const reserved = yield* dev.domain.iovaAlloc(2 * WINDOW);
    if (reserved === null) return "nomem";
    const base = Math.ceil(reserved / WINDOW) * WINDOW;
    const scratch = yield* dev.mem.allocPage({ label: `${vm.gpuvm.name} userptr scratch`, process: vm.file.process }, GFP_KERNEL);
    if (scratch === null || (yield* dev.domain.map(base, scratch, PAGE_SIZE, { read: true, write: false })) !== "ok") {
      if (scratch !== null) yield* dev.mem.freePage(scratch);
      yield* dev.domain.iovaFree(reserved, 2 * WINDOW);
      return "nomem";
    }
    up.window = { reserved, base, scratch };
  }
  up.notifier = yield* MmuIntervalNotifier.insert(mm, addr, length, { invalidate: (n, range, cur) => invalidateOp(up, n, range, cur) }, { name: `${vm.gpuvm.name} userptr` });
  yield* access(vm.userptrs, "write");
  vm.userptrs.push(up);
  return up;
}

/**
 * (Re)bind the userptr: read_begin, the pages, their DMA mapping, then
 * under vmLock read_retry and the PTEs; start again when an invalidation
 * ran in between. "gone" when the user range is unmapped. Holds no lock on
 * entry (it may sleep and allocate).
 */
export function* userptrPin(up: ToyUserptr): Generator<Effect, "ok" | "nomem" | "gone", unknown> {
  const dev = up.vm.dev;
  const n = up.notifier as MmuIntervalNotifier;
  for (;;) {
    const seq = yield* n.readBegin();
    if (!up.mm.isMapped(up.addr, up.length)) {
      up.dead = true;
      dev.stats.userptrGone++;
      return "gone";
    }
    const pfns = up.mm.pfns(up.addr, up.length);
    const pool = yield* up.vm.pt.prealloc(up.vm.pt.tablesNeeded(up.gpuVa, up.length, PAGE_SIZE));
    if (pool === null) return "nomem";
    yield* dev.vmLock.lock();
    yield* access(up, "write");
    // mmu_interval_read_retry(): the pages may be stale if an invalidation ran since readBegin.
    const stale = n.readRetry(seq) && !dev.has("ignoreReadRetry");
    if (stale || up.bound) {
      yield* dev.vmLock.unlock();
      yield* pool.release();
      if (!stale) return "ok"; // someone else bound it meanwhile
      dev.stats.userptrRetries++;
      continue;
    }
    // dma_map_page() of every page, under the lock as drm_gpusvm does: the
    // invalidation cannot free them in between. The userptr's IOVA window
    // keeps its leaf table allocated, so this map allocates nothing under
    // the lock (see docs/toy-driver.md, "What the library did not let the
    // driver say", for why not GFP_ATOMIC).
    const mapped = yield* dmaMap(up, pfns);
    let r: "ok" | "nomem" = "nomem";
    if (mapped !== null) {
      const pages = dev.domain === null ? pfns : pfns.map((_, i) => mapped / PAGE_SIZE + i);
      r = yield* up.vm.pt.mapPages(up.gpuVa, pages, RW, { prealloc: pool });
      if (r === "ok") {
        up.bound = true;
        up.seq = seq;
      } else {
        yield* dmaUnmap(up, up.length);
      }
    }
    yield* dev.vmLock.unlock();
    yield* pool.release();
    return r;
  }
}

/**
 * dma_map_page() of every page into the userptr's IOVA window (its leaf
 * table is there: no allocation). The IOVA of the first page (0 without an
 * IOMMU), or null on failure with nothing left mapped.
 */
function* dmaMap(up: ToyUserptr, pfns: readonly number[]): Generator<Effect, number | null, unknown> {
  const domain = up.vm.dev.domain;
  if (domain === null || up.window === null) return 0;
  const iova = up.window.base + PAGE_SIZE;
  for (let i = 0; i < pfns.length; i++) {
    if ((yield* domain.map(iova + i * PAGE_SIZE, pfns[i] as number, PAGE_SIZE, RW)) !== "ok") {
      yield* dmaUnmap(up, i * PAGE_SIZE);
      return null;
    }
  }
  return iova;
}

/** dma_unmap_page() of the first `length` bytes of the mapping, and the IOTLB flush. */
function* dmaUnmap(up: ToyUserptr, length: number): Generator<Effect, void, unknown> {
  const domain = up.vm.dev.domain;
  if (domain === null || up.window === null || length === 0) return;
  yield* domain.unmap(up.window.base + PAGE_SIZE, length);
  yield* domain.flushIotlb(up.window.base + PAGE_SIZE, length);
}

/** Clear the PTEs, invalidate the TLB, unmap and flush the IOMMU. Caller holds vmLock. */
function* zap(up: ToyUserptr): Generator<Effect, void, unknown> {
  if (!up.bound) return;
  up.vm.dev.stats.userptrZaps++;
  yield* up.vm.pt.unmap(up.gpuVa, up.length);
  yield* up.vm.tlb.invalidate(up.gpuVa, up.length);
  yield* dmaUnmap(up, up.length);
  up.bound = false;
}

/**
 * The notifier's invalidate callback. Blockable (munmap): take vmLock, set
 * the sequence, drop it, wait for the VM's jobs, then tear down under
 * vmLock. Not blockable (reclaim, the OOM reaper): trylock, and give up
 * (false) when the lock is taken or a job may still use the pages.
 */
function* userptrInvalidate(up: ToyUserptr, n: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number): Generator<Effect, boolean, unknown> {
  const dev = up.vm.dev;
  const resv = up.vm.root.resv;
  if (!range.blockable) {
    if (!(yield* dev.vmLock.trylock())) return false;
    if (up.bound && !(yield* resv.testSignaled("bookkeep"))) {
      yield* dev.vmLock.unlock();
      return false;
    }
    yield* access(up, "write");
    n.setSeq(curSeq);
    yield* zap(up);
    yield* dev.vmLock.unlock();
    return true;
  }
  yield* dev.vmLock.lock();
  yield* access(up, "write");
  n.setSeq(curSeq);
  yield* dev.vmLock.unlock();
  // From here no exec queues a job on the old pages; wait for the ones queued (xe_vma_userptr_invalidate).
  if (up.bound) yield* resv.waitTimeout("bookkeep", false, FOREVER);
  yield* dev.vmLock.lock();
  yield* zap(up);
  yield* dev.vmLock.unlock();
  return true;
}

const invalidateOp = defineOp("toy_userptr_invalidate", userptrInvalidate);

/** Tear the binding down and remove the notifier (VM destroy). */
export function* userptrDestroy(up: ToyUserptr): Generator<Effect, void, unknown> {
  const dev = up.vm.dev;
  yield* dev.vmLock.lock();
  yield* access(up, "write");
  yield* zap(up);
  yield* dev.vmLock.unlock();
  if (up.notifier !== null) yield* up.notifier.remove();
  const w = up.window;
  if (w !== null && dev.domain !== null) {
    yield* dev.domain.unmap(w.base, PAGE_SIZE);
    yield* dev.domain.flushIotlb(w.base, PAGE_SIZE);
    yield* dev.domain.iovaFree(w.reserved, 2 * WINDOW);
    yield* dev.mem.freePage(w.scratch);
    up.window = null;
  }
}
