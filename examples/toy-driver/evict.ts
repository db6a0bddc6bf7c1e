/**
 * The toy driver's eviction under memory pressure: a shrinker over the BO
 * LRU.
 *
 * Mirrors: drm_gem_shmem's shrinker helpers and the msm / panfrost
 * shrinkers (count_objects / scan_objects), with the teardown of TTM's
 * eviction in the order the hardware needs: the GPU must be done with the
 * pages (the resv's fences), no PTE and no TLB entry may point at them
 * (`vm.gemEvict` marks every VmBo evicted so the next exec revalidates),
 * the IOMMU must not translate to them (unmap, then the IOTLB flush), and
 * only then are they freed (`GemBackingStore.release`: waitIdle, the zap,
 * dmaUnmap, flushIotlb, freePages).
 *
 * The scan runs in reclaim (the allocating task, or kswapd): it takes a BO
 * reference only with get-unless-zero under the LRU lock (a BO whose last
 * reference is being dropped is skipped: its free path removes it from the
 * LRU), only trylocks its resv (reclaim may not wait for a resv: resv →
 * fs_reclaim is the kernel's order), and skips a BO whose fences have not
 * signalled. Each deliberate bug changes one thing here (ToyBug).
 * Locking: lruLock (spin) for the walk, then per BO: resv (trylock) →
 * vmLock → the GEM's gpuvaLock.
 */
import { access, defineOp, gemEvict, SHRINK_STOP, Shrinker, type Effect } from "../../src/index.js";
import type { ToyBo } from "./bo.js";
import type { ToyDevice } from "./device.js";
import { toVm, type ToyVm } from "./vm.js";

/**
 * Clear the PTEs of every mapping of `bo` in every VM and mark its VmBos
 * evicted; invalidate the TLBs unless `invalidate` is false. Caller holds
 * the BO's resv.
 */
export function* zapBo(bo: ToyBo, invalidate: boolean): Generator<Effect, [ToyVm, () => Generator<Effect, void, unknown>][], unknown> {
  const dev = bo.dev;
  const later: [ToyVm, () => Generator<Effect, void, unknown>][] = [];
  yield* dev.vmLock.lock();
  yield* bo.gem.gpuvaLock.lock();
  for (const vmBo of bo.gem.vmBos()) {
    const vm = toVm(vmBo.vm);
    for (const va of vmBo.mappings()) {
      yield* vm.pt.unmap(va.addr, va.range);
      const inval = function* (): Generator<Effect, void, unknown> {
        yield* vm.tlb.invalidate(va.addr, va.range);
      };
      if (invalidate) yield* inval();
      else later.push([vm, inval]);
    }
  }
  yield* bo.gem.gpuvaLock.unlock();
  yield* dev.vmLock.unlock();
  return later;
}

/**
 * Evict `bo` (its resv held): "busy" when a fence has not signalled (the
 * shrinker does not wait in reclaim), else the pages are given back and
 * the number of pages freed is returned.
 */
export function* evictBo(bo: ToyBo): Generator<Effect, number | "busy", unknown> {
  const dev = bo.dev;
  const store = bo.store;
  if (!store.populated) return 0;
  const pages = store.pages.length;
  if (!dev.has("skipFenceWaitBeforeEvict") && !(yield* bo.gem.resv.testSignaled("bookkeep"))) return "busy";
  const markEvicted = function* (): Generator<Effect, void, unknown> {
    // drm_gpuvm_bo_gem_evict(): every VmBo of the object, in every VM, goes on its evict list.
    yield* bo.gem.gpuvaLock.lock();
    yield* gemEvict(bo.gem, true);
    yield* bo.gem.gpuvaLock.unlock();
  };
  if (dev.has("skipFenceWaitBeforeEvict")) {
    // BUG: tears down under a job that may still run (no waitIdle).
    yield* zapBo(bo, true);
    yield* markEvicted();
    yield* store.dmaUnmap();
    yield* store.flushIotlb();
    yield* store.freePages();
    return pages;
  }
  if (dev.has("freeBeforeTlbInvalidate")) {
    // BUG: the pages go before the TLB invalidations ...
    const later = yield* zapBo(bo, false);
    yield* markEvicted();
    yield* store.dmaUnmap();
    yield* store.flushIotlb();
    yield* store.freePages();
    // ... and leaves the TLB invalidations to the VM's next page-table update (a lazy flush).
    for (const [vm, inval] of later) {
      yield* access(vm.lazyInvalidations, "write");
      vm.lazyInvalidations.push(inval);
    }
    return pages;
  }
  if (dev.has("freeBeforeIommuFlush")) {
    // BUG: the pages are freed while the IOMMU still maps them; unmap and flush come after.
    yield* zapBo(bo, true);
    yield* markEvicted();
    yield* store.freePages();
    yield* store.dmaUnmap();
    yield* store.flushIotlb();
    return pages;
  }
  // The right order, all of it in the library's release(): wait, zap, unmap, flush, free.
  yield* store.release(() => zapAndMark(bo));
  return pages;
}

/** The zap of the correct eviction: PTEs cleared, TLBs invalidated, VmBos marked evicted. */
const zapAndMark = defineOp("toy_bo_zap", function* (bo: ToyBo): Generator<Effect, void, unknown> {
  yield* zapBo(bo, true);
  yield* bo.gem.gpuvaLock.lock();
  yield* gemEvict(bo.gem, true);
  yield* bo.gem.gpuvaLock.unlock();
});

/**
 * The shrinker: count the resident BOs on the LRU, scan them in order,
 * evicting each one that is not busy. Registered by the device.
 */
export function registerShrinker(dev: ToyDevice): Shrinker {
  const shrinker = new Shrinker(dev.sim, "toy-bo", {
    *countObjects() {
      yield* access(dev.lru, "read");
      return dev.lru.length;
    },
    *scanObjects(sc) {
      let freed = 0;
      let scanned = 0;
      for (let i = 0; scanned < sc.nrToScan; i++) {
        // Under the LRU lock: the next BO, with a reference only if it is not being freed.
        yield* dev.lruLock.lock();
        yield* access(dev.lru, "read");
        const bo = dev.lru[i] ?? null;
        const got = bo !== null && (yield* bo.gem.getUnlessZero("shrinker"));
        yield* dev.lruLock.unlock();
        if (bo === null) break;
        scanned++;
        if (!got) continue;
        if (yield* bo.gem.resv.trylock()) {
          const r = yield* evictBo(bo);
          if (typeof r === "number") freed += r;
          if (r === "busy") dev.stats.busy++;
          else if (r > 0) dev.stats.evicted++;
          yield* bo.gem.resv.unlock();
        }
        yield* bo.gem.put("shrinker");
      }
      sc.nrScanned = scanned;
      return freed === 0 && scanned === 0 ? SHRINK_STOP : freed;
    },
  });
  shrinker.register();
  return shrinker;
}
