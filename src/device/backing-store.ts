/**
 * GemBackingStore: the pages behind a GEM object and their DMA mapping.
 *
 * Mirrors: the shmem backing of a GEM object and its sg-table mapping:
 *   drm_gem_get_pages() / drm_gem_put_pages() (drivers/gpu/drm/drm_gem.c),
 *   drm_gem_shmem_get_pages_sgt() with dma_map_sgtable() and
 *   dma_unmap_sgtable() (drivers/gpu/drm/drm_gem_shmem_helper.c), the
 *   IOVA handling of dma-iommu (alloc_iova, iommu_map, iommu_unmap_fast,
 *   the IOTLB sync, free_iova), and dma_resv_wait_timeout() on the GEM's
 *   reservation object for the wait before teardown.
 * Ownership: the store owns its page frames (PageOwner label
 *   `${gem name} backing store`, `process` from the options) and, with an
 *   IOMMU, its IOVA range. The store itself is a heap object whose lifetime
 *   follows the GEM's: the driver makes it with the GEM and frees it
 *   (kfree) from the GEM's free callback, after release(); an op on a freed
 *   store reports use-after-free and does nothing.
 * Locking: none of its own. The driver serialises populate and the release
 *   pieces (the kernel holds the GEM's resv around drm_gem_shmem_get_pages
 *   and put_pages); every stage change is a step whose effect writes the
 *   store, so two racing calls see each other's stage. waitIdle() holds no
 *   lock while it waits (as dma_resv_wait_timeout).
 * States: unpopulated → populating → populated (pages held, DMA-mapped) →
 *   (dmaUnmap) DMA-unmapped → (freePages) unpopulated again: eviction frees
 *   the pages and a later populate brings new ones. Pages and mapping are
 *   tracked apart, so the pieces can run in any order; an order that lets
 *   a device reach freed memory is caught by the existing checks
 *   (phys-page-still-mapped when freeing frames the IOMMU table still maps;
 *   the engine's DMA checks for stale PTEs, TLB or IOTLB entries), never by
 *   the store. Only an op that cannot run in the stage at all (populate
 *   twice, freePages with no pages, dmaUnmap with no mapping) is a
 *   `gpuvm-wrong-stage` report, and the op does nothing.
 * Invariants: populate is all-or-nothing: on "nomem" every page, IOMMU
 *   entry and IOVA it took is given back. An IOVA range is freed only once
 *   the IOTLB is flushed (flushIotlb()), so no cached translation of a range
 *   can outlive its reuse.
 */
import { ArgumentError, ArgumentRangeError } from "../errors.js";
import { defineEffectKind, Effect, READ, WRITE } from "../kernel/effect.js";
import { guardLive, LIBRARY_CLASS, noteTouched, SimObject, touch } from "../kernel/heap.js";
import { GFP_KERNEL, PAGE_SIZE, type Gfp } from "../kernel/memory.js";
import { makeOp, type Op } from "../kernel/op.js";
import { Sim } from "../kernel/sim.js";
import { runVoidCallback } from "../drm/driver-callback.js";
import { GemObject, wrongStage } from "../drm/gem-object.js";
import { arg, checkOptions, describeValue, is, MAX_NANOSECONDS, type Spec } from "../validate.js";
import { IommuDomain } from "./iommu.js";
import { PhysMem, type PageOwner } from "./phys-mem.js";

/** Options of new GemBackingStore(). */
export interface GemBackingStoreOptions {
  /** The GEM object whose pages these are; the store has ceil(gem.size / 4096) pages. */
  readonly gem: GemObject;
  /** The machine's memory the pages come from. */
  readonly mem: PhysMem;
  /** The device's IOMMU domain; without it the device sees physical frames. Its Iommu must account on `mem`. */
  readonly iommu?: IommuDomain;
  /** The process whose data the pages hold (the DMA checks' cross-owner test). */
  readonly process?: string;
}

const OPTIONS: Spec<GemBackingStoreOptions> = {
  gem: is.instanceOf(GemObject),
  mem: is.instanceOf(PhysMem),
  iommu: is.instanceOf(IommuDomain),
  process: is.string,
};
const GFP_RULE = is.oneOf("GFP_KERNEL", "GFP_NOFS", "GFP_NOWAIT", "GFP_ATOMIC");
const RW = { read: true, write: true };
/** MAX_SCHEDULE_TIMEOUT, in simulated ns. */
const FOREVER = MAX_NANOSECONDS;

/** A stage change of a GEM backing store (populate, dmaUnmap, flushIotlb, freePages): writes the store. */
export const GEM_BACKING = defineEffectKind({ name: "gem-backing" });

/**
 * The driver's zap callback for release(): an op, a generator function
 * (yielding effects), or a plain function doing nothing that needs a step.
 */
export type BackingZap = () => Iterable<Effect, void, unknown> | void;

type Stage = "unpopulated" | "populating" | "populated";

/**
 * The backing pages of a GEM object and their DMA mapping.
 * @throws ArgumentError naming `sim`, `options` (not an object, an unknown
 *   key), `gem` or `mem` (missing, of the wrong class or of another Sim),
 *   `iommu` (not an IommuDomain, of another Sim, or of an Iommu that does
 *   not account on `mem`), `process` (not a string). Nothing is made then.
 */
export class GemBackingStore extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  readonly gem: GemObject;
  readonly mem: PhysMem;
  readonly iommu: IommuDomain | null;
  /** Pages of the object: ceil(gem.size / 4096). */
  readonly pageCount: number;
  /** The owner every page of the store gets. */
  readonly owner: PageOwner;
  /** @internal */ stage: Stage = "unpopulated";
  /** @internal The frames held, in object order (empty when unpopulated). */ frames: number[] = [];
  /** @internal Whether the pages are DMA-mapped (with an IOMMU: at `iovaBase`). */ mapped = false;
  /** @internal The IOVA of the current mapping, or null. */ iovaBase: number | null = null;
  /** @internal The IOVA the pages were last mapped at (kept until freePages: the sg-table's DMA addresses). */ dmaBase: number | null = null;
  /** @internal IOVA ranges unmapped but not yet flushed from the IOTLB (their IOVA is still held). */ pending: number[] = [];

  constructor(sim: Sim, options: GemBackingStoreOptions) {
    arg("sim", is.instanceOf(Sim), sim);
    if ((options as GemBackingStoreOptions | null) === null || typeof options !== "object") throw new ArgumentError("options", `must be { gem, mem, iommu?, process? }, got ${describeValue(options)}`);
    checkOptions("options", options, OPTIONS);
    if ((options.gem as GemObject | undefined) === undefined) throw new ArgumentError("gem", "is required: the GEM object");
    if ((options.mem as PhysMem | undefined) === undefined) throw new ArgumentError("mem", "is required: the PhysMem");
    if (options.gem.sim !== sim) throw new ArgumentError("gem", `${options.gem.label} belongs to another Sim`);
    if (options.mem.sim !== sim) throw new ArgumentError("mem", `${options.mem.label} belongs to another Sim`);
    if (options.iommu !== undefined && options.iommu.iommu.mem !== options.mem) {
      throw new ArgumentError("iommu", `${options.iommu.label} must belong to an Iommu made with { mem: ${options.mem.label} }`);
    }
    const gemName = options.gem.name === "" ? "gem" : options.gem.name;
    super(sim, "GemBackingStore", { name: gemName });
    this.gem = options.gem;
    this.mem = options.mem;
    this.iommu = options.iommu ?? null;
    this.pageCount = Math.ceil(options.gem.size / PAGE_SIZE);
    this.owner = options.process === undefined ? { label: `${gemName} backing store` } : { label: `${gemName} backing store`, process: options.process };
  }

  /** Whether the store holds its pages now (a query). */
  get populated(): boolean {
    noteTouched(this.sim, this, false);
    return this.stage === "populated";
  }

  /** The frames held, in object order; empty when not populated (a query). */
  get pages(): readonly number[] {
    noteTouched(this.sim, this, false);
    return this.frames.slice();
  }

  /** The IOVA (bytes) the pages are mapped at in the IOMMU, or null (a query). */
  get iova(): number | null {
    noteTouched(this.sim, this, false);
    return this.iovaBase;
  }

  /**
   * What a GPU PTE must hold for page `index` (a query): its IOVA page
   * number (iova / 4096) with an IOMMU, else its frame.
   * @throws ArgumentError naming `index` (not a number); ArgumentRangeError
   *   naming `index` when it is not a page the store holds now (an
   *   unpopulated store holds none).
   */
  dmaPage(index: number): number {
    arg("index", is.count, index);
    noteTouched(this.sim, this, false);
    if (index >= this.frames.length) throw new ArgumentRangeError("index", `must be a page the store holds: 0 to ${this.frames.length - 1}, got ${index}${this.frames.length === 0 ? " (not populated)" : ""}`);
    if (this.dmaBase !== null) return this.dmaBase / PAGE_SIZE + index;
    return this.frames[index] as number;
  }

  /**
   * Mirrors drm_gem_get_pages() then dma_map_sgtable(): allocate every page
   * (PhysMem.allocPage with `gfp`, default GFP_KERNEL, fault-injection site
   * "GemBackingStore.populate"), then with an IOMMU allocate an IOVA range
   * (iovaAlloc) and map the pages there, read-write, one iommu_map per run
   * of consecutive frames. All-or-nothing: when an allocation, the IOVA or
   * a map fails, everything done so far is given back and the result is
   * "nomem". A store that holds pages or a mapping already files
   * `gpuvm-wrong-stage` and returns "ok" with nothing changed.
   * @throws ArgumentError naming `gfp`.
   */
  populate(gfp: Gfp = GFP_KERNEL): Op<"ok" | "nomem"> {
    arg("gfp", GFP_RULE, gfp);
    return makeOp("drm_gem_get_pages", this, populateBody, gfp);
  }

  /**
   * Mirrors dma_resv_wait_timeout(gem.resv, DMA_RESV_USAGE_BOOKKEEP, false,
   * MAX_SCHEDULE_TIMEOUT): wait, holding no lock, until every fence of the
   * GEM's resv has signalled. The fence-wait checks apply (waiting in a
   * fence-signalling section is a report).
   */
  waitIdle(): Op<void> {
    return makeOp("dma_resv_wait_timeout", this, waitIdleBody);
  }

  /**
   * Mirrors dma_unmap_sgtable() with the IOTLB sync deferred (iommu_unmap_fast,
   * as a flush queue does): unmap the pages from the IOMMU; the IOTLB may
   * still hold their translations until flushIotlb(). Without an IOMMU only
   * the stage changes. A store that is not DMA-mapped files
   * `gpuvm-wrong-stage` and nothing changes.
   */
  dmaUnmap(): Op<void> {
    return makeOp("dma_unmap_sgtable", this, dmaUnmapBody);
  }

  /**
   * Mirrors the IOTLB sync of the unmapped ranges and the free_iova that
   * follows it: flush every range dmaUnmap() left pending and give its
   * IOVA back. Nothing pending (or no IOMMU): nothing happens, no report.
   */
  flushIotlb(): Op<void> {
    return makeOp("iommu_iotlb_sync", this, flushBody);
  }

  /**
   * Mirrors drm_gem_put_pages(): free every page. Frames the IOMMU table or
   * a GPU PTE still maps file `phys-page-still-mapped` (PhysMem's check)
   * and are freed anyway. A store holding no pages files
   * `gpuvm-wrong-stage` and nothing changes.
   */
  freePages(): Op<void> {
    return makeOp("drm_gem_put_pages", this, freePagesBody);
  }

  /**
   * The teardown in the right order: waitIdle(); zap() (the driver's
   * callback: clear the PTEs of every VM mapping the object and invalidate
   * their TLBs; run as a driver callback, so a callback that returns
   * anything but nothing or a generator is a UsageError in the task);
   * dmaUnmap(); flushIotlb(); freePages().
   * @throws ArgumentError naming `zap` (not a function).
   */
  release(zap: BackingZap): Op<void> {
    arg("zap", is.function, zap);
    return makeOp("gem_backing_release", this, releaseBody, zap);
  }
}

function stageStep(s: GemBackingStore, write: boolean): Effect {
  return new Effect(GEM_BACKING, s, write ? WRITE : READ);
}

function* populateBody(this: GemBackingStore, gfp: Gfp): Generator<Effect, "ok" | "nomem", unknown> {
  yield stageStep(this, true);
  touch(this.sim, this, true, "GemBackingStore.populate");
  if (!guardLive(this, "GemBackingStore.populate")) return "nomem";
  if (this.stage !== "unpopulated" || this.mapped) {
    wrongStage(this, this.stage === "unpopulated" ? "DMA-mapped" : this.stage, "drm_gem_get_pages", "a store with no pages and no DMA mapping");
    return "ok";
  }
  this.stage = "populating";
  const frames: number[] = [];
  let iova: number | null = null;
  let mappedBytes = 0;
  const size = this.pageCount * PAGE_SIZE;
  let ok = true;
  for (let i = 0; i < this.pageCount && ok; i++) {
    const pfn = yield* this.mem.allocPage(this.owner, gfp, { site: "GemBackingStore.populate" });
    if (pfn === null) ok = false;
    else frames.push(pfn);
  }
  const dom = this.iommu;
  if (ok && dom !== null) {
    iova = yield* dom.iovaAlloc(size);
    if (iova === null) ok = false;
    for (let i = 0; ok && iova !== null && i < frames.length; ) {
      let run = 1;
      while (i + run < frames.length && frames[i + run] === (frames[i] as number) + run) run++;
      if ((yield* dom.map(iova + i * PAGE_SIZE, frames[i] as number, run * PAGE_SIZE, RW)) === "nomem") ok = false;
      else mappedBytes += run * PAGE_SIZE;
      i += run;
    }
  }
  if (!ok) {
    // Give everything back, newest first: the mapping (nobody has seen the IOVA, but flush anyway), the IOVA, the pages.
    if (dom !== null && iova !== null) {
      if (mappedBytes > 0) {
        yield* dom.unmap(iova, mappedBytes);
        yield* dom.flushIotlb(iova, mappedBytes);
      }
      yield* dom.iovaFree(iova, size);
    }
    for (let i = frames.length - 1; i >= 0; i--) yield* this.mem.freePage(frames[i] as number);
  }
  yield stageStep(this, true);
  touch(this.sim, this, true, "GemBackingStore.populate");
  if (!ok) {
    this.stage = "unpopulated";
    return "nomem";
  }
  this.frames = frames;
  this.iovaBase = iova;
  this.dmaBase = iova;
  this.mapped = true;
  this.stage = "populated";
  return "ok";
}

function* waitIdleBody(this: GemBackingStore): Generator<Effect, void, unknown> {
  yield stageStep(this, false);
  touch(this.sim, this, false, "GemBackingStore.waitIdle");
  if (!guardLive(this, "GemBackingStore.waitIdle")) return;
  yield* this.gem.resv.waitTimeout("bookkeep", false, FOREVER);
}

function* dmaUnmapBody(this: GemBackingStore): Generator<Effect, void, unknown> {
  yield stageStep(this, true);
  touch(this.sim, this, true, "GemBackingStore.dmaUnmap");
  if (!guardLive(this, "GemBackingStore.dmaUnmap")) return;
  if (!this.mapped) {
    wrongStage(this, this.stage === "populating" ? "populating" : "not DMA-mapped", "dma_unmap_sgtable", "a DMA-mapped store");
    return;
  }
  this.mapped = false;
  const iova = this.iovaBase;
  this.iovaBase = null;
  if (this.iommu === null || iova === null) return;
  this.pending.push(iova);
  yield* this.iommu.unmap(iova, this.pageCount * PAGE_SIZE);
}

function* flushBody(this: GemBackingStore): Generator<Effect, void, unknown> {
  yield stageStep(this, true);
  touch(this.sim, this, true, "GemBackingStore.flushIotlb");
  if (!guardLive(this, "GemBackingStore.flushIotlb")) return;
  const dom = this.iommu;
  if (dom === null || this.pending.length === 0) return;
  const ranges = this.pending;
  this.pending = [];
  const size = this.pageCount * PAGE_SIZE;
  for (const iova of ranges) {
    yield* dom.flushIotlb(iova, size);
    yield* dom.iovaFree(iova, size);
  }
}

function* freePagesBody(this: GemBackingStore): Generator<Effect, void, unknown> {
  yield stageStep(this, true);
  touch(this.sim, this, true, "GemBackingStore.freePages");
  if (!guardLive(this, "GemBackingStore.freePages")) return;
  if (this.stage !== "populated") {
    wrongStage(this, this.stage, "drm_gem_put_pages", "a populated store");
    return;
  }
  const frames = this.frames;
  this.frames = [];
  this.dmaBase = null;
  this.stage = "unpopulated";
  // Last page first, so the lowest frame is on top of PhysMem's free stack again.
  for (let i = frames.length - 1; i >= 0; i--) yield* this.mem.freePage(frames[i] as number);
}

function* releaseBody(this: GemBackingStore, zap: BackingZap): Generator<Effect, void, unknown> {
  yield* this.waitIdle();
  yield* runVoidCallback(zap(), `zap callback of ${this.label}`);
  yield* this.dmaUnmap();
  yield* this.flushIotlb();
  yield* this.freePages();
}
