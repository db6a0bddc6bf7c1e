/**
 * PhysMem: the machine's page frames, each named by its frame number (pfn).
 *
 * Mirrors: struct page and the buddy allocator's single-page interface
 *   (alloc_page() / __free_page(), include/linux/gfp.h), with the page
 *   flags a driver cares about (PG_dirty, a pin count as pin_user_pages()
 *   keeps) and a count of the mappings pointing at a frame (page_mapcount(),
 *   here counting GPU PTEs and IOMMU entries).
 * Ownership: a frame is owned by whoever allocated it (its PageOwner: a
 *   GEM's backing store, a page-table page) until freePage(); PhysMem
 *   itself is static (the machine's memory is never freed).
 * Locking: every state change is one step whose effect declares this
 *   PhysMem (and the memory model's state for the charge it takes or gives
 *   back); queries note their read (noteTouched). Mappers call
 *   noteMapped()/noteUnmapped() inside a step that declares this PhysMem.
 * States: per frame free ⇄ allocated; a pin count and a dirty flag (both
 *   cleared at free). An unpin with no pin left, or a pin, unpin or
 *   set-dirty of a free frame, files `phys-page-misuse` and changes nothing.
 * Invariants: an allocated frame is charged PAGE_SIZE bytes to the memory
 *   model (limits, reclaim and fault injection apply); a free frame has no
 *   owner, no flags and (when the driver is right) no mapping — freeing a
 *   mapped frame files `phys-page-still-mapped` and frees it anyway.
 * Storage: typed arrays indexed by pfn, sparse owner/mapper arrays, a
 *   stack of freed frames (the last freed handed out first) and, under it,
 *   the frames never handed out (lowest pfn first), so runs are
 *   deterministic and a machine of MAX_PAGES frames is cheap to make.
 */
import { ArgumentError, ArgumentRangeError } from "../errors.js";
import { defineEffectKind, Effect, WRITE, type Access } from "../kernel/effect.js";
import { LIBRARY_CLASS, noteTouched, SimObject, siteRef, touch, type Site } from "../kernel/heap.js";
import { memCharge, memFootprint, memUncharge, PAGE_SIZE, type Gfp } from "../kernel/memory.js";
import { makeOp, type Op } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import type { SiteRef } from "../report/report.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";

/** A frame's state. */
export type PageState = "free" | "allocated";

/**
 * Who owns an allocated frame: anything with a label (a GEM's backing
 * store, a page table, a process's anonymous memory). `process`, when
 * given, names the process whose data the frame holds: the DMA checks
 * call an access by one process's job to another process's frame
 * `dma-cross-owner`.
 */
export interface PageOwner {
  readonly label: string;
  readonly process?: string;
}

/** Options of {@link PhysMem}'s constructor. */
export interface PhysMemOptions {
  /** A name for reports (default empty). */
  readonly name?: string;
  /** Frames in the machine: a positive safe integer (required). */
  readonly pages: number;
}

const OPTIONS: Spec<PhysMemOptions> = { name: is.string, pages: is.positiveInteger };
const ALLOC_OPTIONS: Spec<{ site?: string }> = { site: is.nonEmptyString };
const GFP_RULE = is.oneOf("GFP_KERNEL", "GFP_NOFS", "GFP_NOWAIT", "GFP_ATOMIC");
const OWNER_RULE = (argument: string, v: unknown): void => {
  if (typeof v !== "object" || v === null || typeof (v as { label?: unknown }).label !== "string") {
    throw new ArgumentError(argument, `must be an object with a string label, got ${describeValue(v)}`);
  }
  const process = (v as { process?: unknown }).process;
  if (process !== undefined && typeof process !== "string") {
    throw new ArgumentError(argument, `process must be a string when given, got ${describeValue(process)}`);
  }
};

/** At most 2^26 frames (256 GiB): per-frame arrays are allocated up front. */
export const MAX_PAGES = 1 << 26;

const DIRTY = 2;

/** Allocating a frame (after its charge): writes the PhysMem. */
export const PHYS_ALLOC = defineEffectKind({ name: "phys-alloc" });
/** Freeing a frame: writes the PhysMem and gives the charge back. */
export const PHYS_FREE = defineEffectKind({ name: "phys-free" });
/** Setting or clearing a frame flag (pin, unpin, dirty). */
export const PHYS_FLAGS = defineEffectKind({ name: "phys-flags" });

function checkOptionsFirst(options: PhysMemOptions): { name?: string; static: true } {
  if ((options as PhysMemOptions | undefined) === undefined) throw new ArgumentError("options", "must be an object with `pages`, got undefined");
  checkOptions("options", options, OPTIONS);
  if ((options.pages as number | undefined) === undefined) throw new ArgumentError("pages", "is required: a positive integer");
  if (options.pages > MAX_PAGES) throw new ArgumentRangeError("pages", `must be at most ${MAX_PAGES}, got ${options.pages}`);
  return options.name === undefined ? { static: true } : { name: options.name, static: true };
}

export class PhysMem extends SimObject {
  /** @internal A library class: its operations declare their own footprints. */
  static readonly [LIBRARY_CLASS] = true;
  /** Frames in the machine. */
  readonly pages: number;
  /** @internal 0 free, 1 allocated. */ readonly states: Uint8Array;
  /** @internal DIRTY. */ readonly flags: Uint8Array;
  /** @internal Pins of each frame (pin_user_pages()'s count). */ readonly pinCounts: Uint32Array;
  /** @internal Mappings (PTEs, IOMMU entries) pointing at each frame. */ readonly mapCounts: Uint32Array;
  /** @internal Allocations of each frame so far (wraps at 2^32). */ readonly generations: Uint32Array;
  /** @internal Frames freed and not handed out again, the next one to hand out on top. */ readonly freeStack: number[] = [];
  /** @internal Frames from here to `pages` were never handed out (taken, lowest first, when freeStack is empty). */ fresh = 0;
  /** @internal Owner of each allocated frame (sparse: grows as frames are handed out). */ readonly owners: (PageOwner | null)[] = [];
  /** @internal Where each frame was last freed (sparse). */ readonly freeSites = new Map<number, Site>();
  /** @internal The last mapper of each frame, for DMA reports (sparse). */ readonly mappers: (string | null)[] = [];
  /** @internal Effects made once. */ readonly allocEffect: Effect;
  /** @internal */ readonly flagsEffect: Effect;

  /**
   * @param options `pages`: frames in the machine (required, at most
   *   MAX_PAGES, 2^26); `name`.
   * @throws ArgumentError naming `sim`, `options`, an unknown key,
   *   `pages` (missing or not a positive integer) or `name`;
   *   ArgumentRangeError naming `pages` when too large or not a positive integer.
   */
  constructor(sim: Sim, options: PhysMemOptions) {
    super(sim, "PhysMem", checkOptionsFirst(options));
    this.pages = options.pages;
    this.states = new Uint8Array(this.pages);
    this.flags = new Uint8Array(this.pages);
    this.pinCounts = new Uint32Array(this.pages);
    this.mapCounts = new Uint32Array(this.pages);
    this.generations = new Uint32Array(this.pages);
    // Nothing per frame is built up front beyond the zeroed typed arrays: a
    // machine of MAX_PAGES frames is made in milliseconds.
    this.allocEffect = new Effect(PHYS_ALLOC, this, WRITE);
    this.flagsEffect = new Effect(PHYS_FLAGS, this, WRITE);
  }

  /** Free frames now (a query). */
  get freePages(): number {
    noteTouched(this.sim, this, false);
    return this.freeStack.length + (this.pages - this.fresh);
  }

  /**
   * Mirrors alloc_page(gfp): one frame for `owner`, charged PAGE_SIZE bytes
   * through the memory model (kmalloc's checks: might-sleep, reclaim, the
   * limit, fault injection at `options.site`, default "PhysMem.allocPage").
   * Returns the pfn, or null (-ENOMEM: the charge failed or no frame is
   * free; nothing changes then). Two steps: the charge, then the frame.
   * @throws ArgumentError naming `owner`, `gfp`, `options` or `site`.
   */
  allocPage(owner: PageOwner, gfp: Gfp, options: { readonly site?: string } = {}): Op<number | null> {
    arg("owner", OWNER_RULE, owner);
    arg("gfp", GFP_RULE, gfp);
    checkOptions("options", options, ALLOC_OPTIONS);
    return makeOp("alloc_page", this, allocBody, owner, gfp, options.site ?? "PhysMem.allocPage");
  }

  /**
   * Mirrors __free_page(): give frame `pfn` back (its charge too). A frame
   * still mapped (mapCount > 0) files `phys-page-still-mapped` and is freed
   * anyway; a frame already free files `phys-page-double-free` and nothing
   * changes.
   * @throws ArgumentError / ArgumentRangeError naming `pfn`.
   */
  freePage(pfn: number): Op<void> {
    this.checkPfn("pfn", pfn);
    return makeOp("__free_page", this, freeBody, pfn);
  }

  /**
   * Pin frame `pfn` (pin_user_pages()): one more pin (a count). A free
   * frame files `phys-page-misuse` (`pin-free`) and nothing changes.
   * @throws as freePage.
   */
  pin(pfn: number): Op<void> {
    this.checkPfn("pfn", pfn);
    return makeOp("pin_user_page", this, flagBody, pfn, "pin");
  }

  /**
   * Drop one pin of frame `pfn` (unpin_user_page()). A frame with no pin
   * left (`unpin-unpinned`, the kernel's underflow warning) or a free frame
   * (`unpin-free`) files `phys-page-misuse` and nothing changes.
   * @throws as freePage.
   */
  unpin(pfn: number): Op<void> {
    this.checkPfn("pfn", pfn);
    return makeOp("unpin_user_page", this, flagBody, pfn, "unpin");
  }

  /**
   * Mirrors set_page_dirty(). A free frame files `phys-page-misuse`
   * (`dirty-free`) and nothing changes. @throws as freePage.
   */
  markDirty(pfn: number): Op<void> {
    this.checkPfn("pfn", pfn);
    return makeOp("set_page_dirty", this, flagBody, pfn, "dirty");
  }

  /** Frame `pfn`'s state (a query). @throws as freePage. */
  state(pfn: number): PageState {
    this.noteFrameRead(pfn);
    return this.states[pfn] === 1 ? "allocated" : "free";
  }

  /** The owner of allocated frame `pfn`, null when free (a query). @throws as freePage. */
  owner(pfn: number): PageOwner | null {
    this.noteFrameRead(pfn);
    return this.owners[pfn] ?? null;
  }

  /** Where frame `pfn` was last freed (task, step, op), null if never (a query). @throws as freePage. */
  freedBy(pfn: number): SiteRef | null {
    this.noteFrameRead(pfn);
    const s = this.freeSites.get(pfn);
    return s === undefined ? null : siteRef(s);
  }

  /** Whether frame `pfn` is pinned (pinCount > 0) / dirty (queries). @throws as freePage. */
  isPinned(pfn: number): boolean {
    this.noteFrameRead(pfn);
    return (this.pinCounts[pfn] as number) > 0;
  }

  /** How many pins frame `pfn` holds (a query). @throws as freePage. */
  pinCount(pfn: number): number {
    this.noteFrameRead(pfn);
    return this.pinCounts[pfn] as number;
  }

  isDirty(pfn: number): boolean {
    this.noteFrameRead(pfn);
    return ((this.flags[pfn] as number) & DIRTY) !== 0;
  }

  /** How many mappings (PTEs, IOMMU entries) point at frame `pfn` (a query). @throws as freePage. */
  mapCount(pfn: number): number {
    this.noteFrameRead(pfn);
    return this.mapCounts[pfn] as number;
  }

  /**
   * How many times frame `pfn` has been allocated (a query): 0 for a frame
   * never allocated. A translation cached with the generation it was made
   * for (an IOTLB or TLB entry) tells a frame freed and handed out again
   * since from the frame it meant. @throws as freePage.
   */
  generation(pfn: number): number {
    this.noteFrameRead(pfn);
    return this.generations[pfn] as number;
  }

  /** The label of the last mapper of frame `pfn`, or null (a query). @throws as freePage. */
  mappedBy(pfn: number): string | null {
    this.noteFrameRead(pfn);
    return this.mappers[pfn] ?? null;
  }

  /**
   * @internal A mapper (page table, IOMMU domain) now points `count`
   * consecutive frames from `pfn` at them. Call inside a step whose effect
   * declares this PhysMem (in `also`).
   */
  noteMapped(pfn: number, by: { readonly label: string }, count = 1): void {
    touch(this.sim, this, true, "PhysMem.noteMapped");
    const label = by.label;
    for (let i = pfn, end = pfn + count; i < end; i++) {
      this.mapCounts[i] = (this.mapCounts[i] as number) + 1;
      this.mappers[i] = label;
    }
  }

  /** @internal The reverse of noteMapped(); the count never goes below zero. */
  noteUnmapped(pfn: number, _by: { readonly label: string }, count = 1): void {
    touch(this.sim, this, true, "PhysMem.noteUnmapped");
    this.dropMapCounts(pfn, count);
  }


  /**
   * @internal noteUnmapped() without the noted write, for a mapper that
   * drops many entries in one step and has noted its write to this
   * PhysMem once (touch) in that step.
   */
  dropMapCounts(pfn: number, count: number): void {
    for (let i = pfn, end = pfn + count; i < end; i++) {
      const c = this.mapCounts[i] as number;
      if (c > 0) this.mapCounts[i] = c - 1;
    }
  }

  /** @internal The access a mapper's step declares for noteMapped()/noteUnmapped(). */
  get access(): Access {
    return { object: this, mode: "write" };
  }

  /** @internal A query's prologue: check `pfn`, then note the read. */
  noteFrameRead(pfn: number): void {
    this.checkPfn("pfn", pfn);
    noteTouched(this.sim, this, false);
  }

  /** @internal */
  checkPfn(name: string, pfn: number): void {
    is.safeInteger(name, pfn);
    if (pfn < 0 || pfn >= this.pages) throw new ArgumentRangeError(name, `must be a frame of ${this.label}: 0 to ${this.pages - 1}, got ${pfn}`);
  }

  /** @internal Take a free frame for `owner` (inside a step declaring this PhysMem); -1 when none. */
  takeFrame(owner: PageOwner): number {
    let pfn = this.freeStack.pop();
    if (pfn === undefined) {
      if (this.fresh === this.pages) return -1;
      pfn = this.fresh++;
    }
    this.states[pfn] = 1;
    // A pin or dirty bit set while the frame was free (a driver bug) must not reach its next owner.
    this.flags[pfn] = 0;
    this.pinCounts[pfn] = 0;
    this.generations[pfn] = (this.generations[pfn] as number) + 1;
    this.owners[pfn] = owner;
    return pfn;
  }
}

function* allocBody(this: PhysMem, owner: PageOwner, gfp: Gfp, site: string): Generator<Effect, number | null, unknown> {
  if (!(yield* memCharge(PAGE_SIZE, gfp, site))) return null;
  const mem = memFootprint(this.sim);
  yield mem === null ? this.allocEffect : new Effect(PHYS_ALLOC, this, WRITE, this, null, Infinity, null, [mem]);
  touch(this.sim, this, true, "alloc_page");
  const pfn = this.takeFrame(owner);
  // No frame left: the charge goes back (the machine is smaller than the limit).
  if (pfn < 0) memUncharge(this.sim, PAGE_SIZE);
  return pfn < 0 ? null : pfn;
}

function* freeBody(this: PhysMem, pfn: number): Generator<Effect, void, unknown> {
  const mem = memFootprint(this.sim);
  yield new Effect(PHYS_FREE, this, WRITE, this, null, Infinity, null, mem === null ? null : [mem]);
  touch(this.sim, this, true, "__free_page");
  const site = this.sim.site("__free_page");
  if (this.states[pfn] !== 1) {
    const prev = this.freeSites.get(pfn);
    this.sim.file({ kind: "phys-page-double-free", mem: this.label, pfn, firstFree: prev === undefined ? null : siteRef(prev), secondFree: siteRef(site) });
    return;
  }
  const mapped = this.mapCounts[pfn] as number;
  const owner = this.owners[pfn] as PageOwner;
  if (mapped > 0) {
    this.sim.file({ kind: "phys-page-still-mapped", mem: this.label, pfn, owner: owner.label, mapCount: mapped, mappedBy: this.mappers[pfn] ?? null, freed: siteRef(site) });
  }
  this.states[pfn] = 0;
  this.flags[pfn] = 0;
  this.pinCounts[pfn] = 0;
  this.owners[pfn] = null;
  this.freeSites.set(pfn, site);
  this.freeStack.push(pfn);
  memUncharge(this.sim, PAGE_SIZE);
}

const FLAG_OPS = { pin: "pin_user_page", unpin: "unpin_user_page", dirty: "set_page_dirty" } as const;

function* flagBody(this: PhysMem, pfn: number, what: "pin" | "unpin" | "dirty"): Generator<Effect, void, unknown> {
  yield this.flagsEffect;
  touch(this.sim, this, true, "PhysMem flags");
  let problem: "unpin-unpinned" | "pin-free" | "unpin-free" | "dirty-free" | null = null;
  const pins = this.pinCounts[pfn] as number;
  if (this.states[pfn] !== 1) problem = what === "pin" ? "pin-free" : what === "unpin" ? "unpin-free" : "dirty-free";
  else if (what === "unpin" && pins === 0) problem = "unpin-unpinned";
  if (problem !== null) {
    const freed = problem === "unpin-unpinned" ? undefined : this.freeSites.get(pfn);
    this.sim.file({ kind: "phys-page-misuse", problem, mem: this.label, pfn, site: siteRef(this.sim.site(FLAG_OPS[what])), freedBy: freed === undefined ? null : siteRef(freed) });
    return;
  }
  if (what === "pin") this.pinCounts[pfn] = pins + 1;
  else if (what === "unpin") this.pinCounts[pfn] = pins - 1;
  else this.flags[pfn] = (this.flags[pfn] as number) | DIRTY;
}
