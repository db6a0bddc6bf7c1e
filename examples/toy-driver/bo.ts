/**
 * The toy driver's buffer objects: GEM create and GEM close.
 *
 * Mirrors: DRM_IOCTL_<DRIVER>_GEM_CREATE and DRM_IOCTL_GEM_CLOSE with a
 * shmem-backed GEM object (drm_gem_shmem_create(), drm_gem_handle_create(),
 * drm_gem_handle_delete(), drm_gem_shmem_free()). A BO is a `GemObject`
 * (its own resv: external to every VM) plus a `GemBackingStore` holding its
 * pages, populated lazily at the first bind or exec that needs them
 * (drm_gem_shmem_get_pages()), freed at eviction and at the last put.
 *
 * Ownership: the GEM starts with the handle's reference; every VmBo holds
 * one ("vm_bo"), so closing the handle while mappings remain keeps the
 * object alive: its pages go when the last mapping is unbound (the VmBo's
 * last put drops the last GEM reference and runs `free`). The BO is on the
 * device's LRU from creation to its free; the shrinker takes references
 * with get-unless-zero only.
 * Locking: the GEM's resv serialises populate, eviction and the release
 * pieces; the LRU is under the device's `lruLock`.
 */
import { access, defineOp, GemBackingStore, GemObject, kfree, PAGE_SIZE, type Effect } from "../../src/index.js";
import type { ToyDevice, ToyFile } from "./device.js";

/** A buffer object of the toy driver. */
export class ToyBo {
  /** Set once the GEM's free callback ran (the BO left the LRU). */
  freed = false;

  constructor(
    readonly dev: ToyDevice,
    readonly gem: GemObject,
    readonly store: GemBackingStore,
    /** The process whose data the pages hold. */
    readonly process: string,
  ) {}

  get name(): string {
    return this.gem.name;
  }
}

/** The BO behind each GEM object of the toy driver (the driver's container_of). */
const bos = new WeakMap<GemObject, ToyBo>();

/** container_of(gem, struct toy_bo, base). */
export function toBo(gem: GemObject): ToyBo {
  const bo = bos.get(gem);
  if (bo === undefined) throw new Error(`${gem.name} is not a toy BO`);
  return bo;
}

/**
 * GEM_CREATE: a BO of `size` bytes (a multiple of 4096) for `file`'s
 * process, with no pages yet, on the LRU; returns its handle. The handle
 * holds the GEM's only reference.
 */
export function* gemCreate(file: ToyFile, size: number, name?: string): Generator<Effect, number, unknown> {
  const dev = file.dev;
  const sim = dev.sim;
  const id = ++dev.ids.bo;
  const gem = new GemObject(sim, {
    name: name ?? `bo${id}`,
    size: Math.ceil(size / PAGE_SIZE) * PAGE_SIZE,
    // drm_gem_object_funcs.free: runs at the last put, when nothing maps the object any more.
    free: (obj) => boFree(toBo(obj)),
  });
  const store = new GemBackingStore(sim, { gem, mem: dev.mem, process: file.process, ...(dev.domain === null ? {} : { iommu: dev.domain }) });
  const bo = new ToyBo(dev, gem, store, file.process);
  bos.set(gem, bo);
  // On the LRU from now on: the shrinker finds it there.
  yield* dev.lruLock.lock();
  yield* access(dev.lru, "write");
  dev.lru.push(bo);
  yield* dev.lruLock.unlock();
  // drm_gem_handle_create(): the handle's reference replaces the creator's.
  yield* gem.open();
  yield* gem.put("creator");
  yield* file.tableLock.lock();
  yield* access(file.handles, "write");
  const handle = file.nextHandle++;
  file.handles.set(handle, bo);
  yield* file.tableLock.unlock();
  return handle;
}

/**
 * GEM_CLOSE: drop the handle. With no mapping left this is the last
 * reference and the BO is freed now; otherwise the mappings keep it until
 * they are unbound (or their VM is destroyed). Returns false for an
 * unknown handle (-EINVAL).
 */
export function* gemClose(file: ToyFile, handle: number): Generator<Effect, boolean, unknown> {
  yield* file.tableLock.lock();
  const bo = yield* file.lookupBo(handle);
  if (bo !== null) {
    yield* access(file.handles, "write");
    file.handles.delete(handle);
  }
  yield* file.tableLock.unlock();
  if (bo === null) return false;
  yield* bo.gem.close();
  return true;
}

/**
 * Look a handle up and take a GEM reference (drm_gem_object_lookup());
 * the caller puts it with `holder`.
 */
export function* boLookup(file: ToyFile, handle: number, holder: string): Generator<Effect, ToyBo | null, unknown> {
  yield* file.tableLock.lock();
  const bo = yield* file.lookupBo(handle);
  if (bo !== null) yield* bo.gem.get(holder);
  yield* file.tableLock.unlock();
  return bo;
}

/**
 * Make the BO's pages resident (drm_gem_shmem_get_pages()), under its
 * resv: allocates every page and maps it in the IOMMU. "nomem" when memory
 * runs out (after reclaim), with nothing kept.
 */
export function* boPopulate(bo: ToyBo): Generator<Effect, "ok" | "nomem", unknown> {
  if (bo.store.populated) return "ok";
  return yield* bo.store.populate();
}

/** The zap of a BO being freed: its mappings (and so its PTEs) are already gone. */
const nothingToZap = defineOp("toy_bo_nothing_to_zap", function* (): Generator<Effect, void, unknown> {
  // Every mapping, and with it every PTE, went before the last reference: nothing to clear.
  yield* [];
});

/**
 * drm_gem_object_funcs.free: off the LRU, then the backing store in the
 * right order (wait for the fences, no PTE left to clear: every mapping is
 * gone, unmap and flush the IOMMU, free the pages), then the store itself.
 */
function* boFree(bo: ToyBo): Generator<Effect, void, unknown> {
  const dev = bo.dev;
  yield* dev.lruLock.lock();
  yield* access(dev.lru, "write");
  const i = dev.lru.indexOf(bo);
  if (i >= 0) dev.lru.splice(i, 1);
  bo.freed = true;
  yield* dev.lruLock.unlock();
  if (bo.store.populated) {
    // Nothing maps the object any more (the VmBos, which held references, are gone): nothing to zap.
    yield* bo.store.release(() => nothingToZap());
  }
  yield* kfree(bo.store);
}
