/**
 * GpuPageTable: a GPU's multi-level page table (48-bit VA, 4 KiB granule,
 * four levels of 512 entries), its table pages taken from a PhysMem.
 *
 * Mirrors: the io-pgtable walkers (drivers/iommu/io-pgtable-arm.c:
 *   __arm_lpae_map(), __arm_lpae_unmap(), level-2 block entries) as a
 *   GPU driver's page-table code uses them; 64 KiB pages follow the Arm
 *   contiguous bit of CPU page tables (io-pgtable-arm itself has no such
 *   size); `walk` is the hardware's translation.
 * Ownership: the table owns its table pages (PhysMem frames whose owner is
 *   this table) until unmap({ freeTables: true }) frees the empty ones; it
 *   does not own the frames its leaf entries point at (it only counts
 *   itself as their mapper, PhysMem.noteMapped). The object is static.
 * Locking: the caller serialises map and unmap (a driver's VM lock or the
 *   bind job's signalling section); each op's writes run in one step whose
 *   effect declares this table and the PhysMem. walk() notes its read.
 * Encoding: level 0 (root) to level 3; an entry is two 32-bit words in
 *   its table's Uint32Array: the frame (or, for a table entry, the child
 *   table's index) and flags: valid, read, write and the entry's kind
 *   (table, 4 KiB page, 64 KiB page, 2 MiB block). A 64 KiB page is 16
 *   consecutive level-3 entries with the contiguous kind, each holding its
 *   own 4 KiB frame; a 2 MiB page is one level-2 block entry.
 * Invariants: `live[t]` counts table t's valid entries; a map that cannot
 *   get its table pages changes nothing (they are allocated before any
 *   entry is written, and given back on failure).
 */
import { ArgumentError, ArgumentRangeError, UsageError } from "../errors.js";
import { defineEffectKind, Effect, WRITE } from "../kernel/effect.js";
import { LIBRARY_CLASS, noteTouched, SimObject, touch } from "../kernel/heap.js";
import { GFP_KERNEL, PAGE_SIZE, type Gfp } from "../kernel/memory.js";
import { makeOp, type Op } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";
import { PhysMem } from "./phys-mem.js";

/** Page sizes a leaf entry maps: 4 KiB, 64 KiB (contiguous hint) and 2 MiB (a level-2 block). */
export type PageSize = 4096 | 65536 | 2097152;
/** A translation: the first frame of the page (`pfn`), its permissions and size. */
export interface Pte {
  readonly pfn: number;
  readonly read: boolean;
  readonly write: boolean;
  readonly size: PageSize;
}
/** Options of {@link GpuPageTable}'s constructor. */
export interface GpuPageTableOptions {
  /** A name for reports (default empty). */
  readonly name?: string;
  /** How table pages are allocated (default GFP_KERNEL). */
  readonly gfp?: Gfp;
  /**
   * What a leaf entry's frame field holds: "physical" (default) a frame of
   * `mem`, counted on it as mapped by this table (PhysMem.noteMapped);
   * "iova" an IOVA page number (any safe integer below 2^36) that an
   * IOMMU domain translates, with no PhysMem accounting.
   */
  readonly addresses?: "physical" | "iova";
}

/** Options of a map that takes its table pages from a preallocated pool. */
export interface PtMapOptions {
  /** Table pages come from this pool (made by {@link GpuPageTable.prealloc}); the map never allocates. */
  readonly prealloc?: PtPrealloc;
}

/** IOVA page numbers a PTE may hold in "iova" mode: below 2^36 (a 48-bit IOVA space). */
export const IOVA_PAGE_LIMIT = 2 ** 36;

/** The VA space: 2^48 bytes. */
export const GPU_VA_LIMIT = 2 ** 48;
/** Entries per table. */
const ENTRIES = 512;
/** Bytes of one table (512 entries of 8 bytes). */
const TABLE_BYTES = ENTRIES * 8;
/** Bytes of per-table bookkeeping besides the entries (its frame, its live count). */
const TABLE_META_BYTES = 16;

const VALID = 1;
const READ_BIT = 2;
const WRITE_BIT = 4;
const KIND_SHIFT = 3;
const KIND_TABLE = 0;
const KIND_4K = 1;
const KIND_64K = 2;
const KIND_2M = 3;

/** Bytes one entry of level 0..3 spans. */
const SPAN: readonly number[] = [2 ** 39, 2 ** 30, 2 ** 21, 2 ** 12];

const GFP_RULE = is.oneOf("GFP_KERNEL", "GFP_NOFS", "GFP_NOWAIT", "GFP_ATOMIC");
const OPTIONS: Spec<GpuPageTableOptions> = { name: is.string, gfp: GFP_RULE, addresses: is.oneOf("physical", "iova") };
const MAP_OPTIONS: Spec<PtMapOptions> = { prealloc: (argument: string, v: unknown) => { is.instanceOf(PtPrealloc)(argument, v); } };
const UNMAP_OPTIONS: Spec<{ freeTables?: boolean }> = { freeTables: is.boolean };
const PROT_SPEC: Spec<{ read: boolean; write: boolean }> = { read: is.boolean, write: is.boolean };
const SIZE_RULE = is.oneOf(4096, 65536, 2097152);

/** The write step of a map (and the check that opens it). */
export const GPU_PT_MAP = defineEffectKind({ name: "gpu-pt-map" });
/** The write step of an unmap. */
export const GPU_PT_UNMAP = defineEffectKind({ name: "gpu-pt-unmap" });

function checkVa(name: string, va: number): void {
  is.safeInteger(name, va);
  if (va < 0 || va >= GPU_VA_LIMIT) throw new ArgumentRangeError(name, `must be in [0, 2^48), got ${va}`);
}

interface MapArgs {
  readonly va: number;
  readonly pfn: number;
  readonly size: PageSize;
  readonly flags: number;
  readonly count: number;
  /** Per-page frames (mapPages), or null: consecutive frames from `pfn`. */
  readonly pfns: readonly number[] | null;
  readonly pool: PtPrealloc | null;
}

export class GpuPageTable extends SimObject {
  /** @internal A library class: its operations declare their own footprints. */
  static readonly [LIBRARY_CLASS] = true;
  /** The PhysMem table pages come from. */
  readonly mem: PhysMem;
  /** @internal How table pages are allocated. */ readonly gfp: Gfp;
  /** What leaf entries hold: physical frames of `mem` or IOVA page numbers. */ readonly addresses: "physical" | "iova";
  /** @internal Tables by index; null for a released index. */ readonly tables: (Uint32Array | null)[] = [];
  /** @internal Valid entries per table. */ readonly live: number[] = [];
  /** @internal The PhysMem frame of each table. */ readonly tablePfn: number[] = [];
  /** @internal Released indices to reuse. */ readonly spare: number[] = [];
  /** @internal The root table's index, -1 before the first map. */ root = -1;
  /** @internal Tables in use. */ tableCount = 0;
  /** @internal PTE words written (set or cleared) since creation: for the bench. */ pteWrites = 0;

  /**
   * @param mem The PhysMem table pages are allocated from (owner: this table).
   * @throws ArgumentError naming `sim`, `mem` (not a PhysMem of `sim`),
   *   `options`, an unknown key, `name` or `gfp`.
   */
  constructor(sim: Sim, mem: PhysMem, options: GpuPageTableOptions = {}) {
    super(sim, "GpuPageTable", checkFirst(sim, mem, options));
    this.mem = mem;
    this.gfp = options.gfp ?? GFP_KERNEL;
    this.addresses = options.addresses ?? "physical";
  }

  /** Bytes of table storage now: 4 KiB per table plus its bookkeeping (a query). */
  get tableBytes(): number {
    noteTouched(this.sim, this, false);
    return this.tableCount * (TABLE_BYTES + TABLE_META_BYTES);
  }

  /** Tables in use, root included (a query). */
  get tablePages(): number {
    noteTouched(this.sim, this, false);
    return this.tableCount;
  }

  /**
   * Map `count` (default 1) consecutive pages of `size` bytes from `va`
   * onto frames from `pfn`, with permissions `prot`. Missing tables are
   * allocated first (the table's gfp, fault-injection site
   * "GpuPageTable.table"); if one cannot be had, those already allocated
   * are freed and the result is "nomem" with nothing changed. Otherwise
   * every entry is written in one step: "ok".
   *
   * @throws ArgumentError naming `va` or `pfn` (not a safe integer, not
   *   aligned to `size`), `size` (not a PageSize), `prot` or its keys (`prot.read`, `prot.write`: required),
   *   `count` (not a positive integer); ArgumentRangeError naming `va` /
   *   `count` (the range leaves the 48-bit space) or `pfn` (frames outside
   *   the PhysMem). In the task, before any change: ArgumentError naming
   *   `va` when an entry of the range is already mapped.
   */
  map(va: number, pfn: number, size: PageSize, prot: { readonly read: boolean; readonly write: boolean }, count = 1, options: PtMapOptions = {}): Op<"ok" | "nomem"> {
    checkVa("va", va);
    arg("size", SIZE_RULE, size);
    is.safeInteger("pfn", pfn);
    checkProt(prot);
    is.positiveInteger("count", count);
    const pool = this.checkMapOptions(options);
    if (va % size !== 0) throw new ArgumentError("va", `must be aligned to the page size ${size}, got ${va}`);
    const frames = size / PAGE_SIZE;
    if (pfn % frames !== 0) throw new ArgumentError("pfn", `must be aligned to ${frames} frames for a ${size}-byte page, got ${pfn}`);
    if (va + count * size > GPU_VA_LIMIT) throw new ArgumentRangeError("count", `${count} pages of ${size} bytes from ${va} leave the 48-bit VA space`);
    this.checkFrames("pfn", pfn, count * frames);
    const kind = size === 4096 ? KIND_4K : size === 65536 ? KIND_64K : KIND_2M;
    const flags = VALID | (prot.read ? READ_BIT : 0) | (prot.write ? WRITE_BIT : 0) | (kind << KIND_SHIFT);
    return makeOp("gpu_pt_map", this, mapBody, { va, pfn, size, flags, count, pfns: null, pool });
  }

  /**
   * Map `pfns.length` consecutive 4 KiB pages from `va`, page k onto frame
   * `pfns[k]` (any frames: a scattered backing store), all-or-nothing as
   * map(); with `options.prealloc` the table pages come from that pool.
   * @throws ArgumentError naming `va` (not 4 KiB-aligned, or, in the task,
   *   an entry already mapped), `pfns` (not a non-empty array),
   *   `pfns[k]` (not a safe integer), `prot` or its keys, `options` or
   *   `prealloc`; ArgumentRangeError naming `pfns` (the range leaves the VA
   *   space) or `pfns[k]` (not a frame of the PhysMem; in "iova" mode not
   *   below 2^36).
   */
  mapPages(va: number, pfns: readonly number[], prot: { readonly read: boolean; readonly write: boolean }, options: PtMapOptions = {}): Op<"ok" | "nomem"> {
    checkVa("va", va);
    if (!Array.isArray(pfns) || pfns.length === 0) throw new ArgumentError("pfns", `must be a non-empty array of frames, got ${describeValue(pfns)}`);
    for (let k = 0; k < pfns.length; k++) {
      is.safeInteger(`pfns[${k}]`, pfns[k]);
      this.checkFrames(`pfns[${k}]`, pfns[k] as number, 1);
    }
    checkProt(prot);
    const pool = this.checkMapOptions(options);
    if (va % PAGE_SIZE !== 0) throw new ArgumentError("va", `must be 4 KiB-aligned, got ${va}`);
    if (va + pfns.length * PAGE_SIZE > GPU_VA_LIMIT) throw new ArgumentRangeError("pfns", `${pfns.length} pages from ${va} leave the 48-bit VA space`);
    const flags = VALID | (prot.read ? READ_BIT : 0) | (prot.write ? WRITE_BIT : 0) | (KIND_4K << KIND_SHIFT);
    return makeOp("gpu_pt_map", this, mapBody, { va, pfn: 0, size: 4096 as PageSize, flags, count: pfns.length, pfns: Array.from(pfns as Iterable<number>), pool });
  }

  /**
   * The table pages a map of [va, va + range) in pages of `size` would
   * allocate now (a noted query): what to preallocate before a map that
   * must not allocate (an async bind in a fence-signalling section).
   * @throws ArgumentError / ArgumentRangeError naming `va`, `range` (not a
   *   positive multiple of `size`, or leaving the VA space) or `size`.
   */
  tablesNeeded(va: number, range: number, size: PageSize): number {
    checkVa("va", va);
    arg("size", SIZE_RULE, size);
    is.positiveInteger("range", range);
    if (va % size !== 0) throw new ArgumentError("va", `must be aligned to the page size ${size}, got ${va}`);
    if (range % size !== 0) throw new ArgumentError("range", `must be a multiple of the page size ${size}, got ${range}`);
    if (va + range > GPU_VA_LIMIT) throw new ArgumentRangeError("range", `[${va}, ${va + range}) leaves the 48-bit VA space`);
    noteTouched(this.sim, this, false);
    return this.missingTables({ va, pfn: 0, size, flags: 0, count: range / size, pfns: null, pool: null }, false);
  }

  /**
   * Allocate `count` table pages now (with `gfp`, default the table's),
   * for maps that then take them from the pool and never allocate
   * (panthor's preallocated page-table pages for an async VM_BIND).
   * Returns the pool, or null with nothing kept when an allocation fails.
   * @throws ArgumentError naming `count` (not a non-negative integer) or `gfp`.
   */
  prealloc(count: number, gfp?: Gfp): Op<PtPrealloc | null> {
    arg("count", is.count, count);
    if (gfp !== undefined) arg("gfp", GFP_RULE, gfp);
    return makeOp("gpu_pt_prealloc", this, preallocBody, count, gfp ?? this.gfp);
  }

  /** @internal Check a map's options; the pool, or null. */
  checkMapOptions(options: PtMapOptions): PtPrealloc | null {
    checkOptions("options", options, MAP_OPTIONS);
    const pool = options.prealloc ?? null;
    if (pool !== null && pool.pt !== this) throw new ArgumentError("prealloc", `is a pool of ${pool.pt.label}, not of ${this.label}`);
    return pool;
  }

  /** @internal Check that `count` frames from `pfn` may go in leaf entries; throws naming `name`. */
  checkFrames(name: string, pfn: number, count: number): void {
    if (this.addresses === "iova") {
      if (pfn < 0 || pfn + count > IOVA_PAGE_LIMIT) throw new ArgumentRangeError(name, `IOVA pages ${pfn} to ${pfn + count - 1} are not all below 2^36`);
      return;
    }
    if (pfn < 0 || pfn + count > this.mem.pages) throw new ArgumentRangeError(name, `frames ${pfn} to ${pfn + count - 1} are not all in ${this.mem.label} (0 to ${this.mem.pages - 1})`);
  }

  /**
   * Clear every entry in [va, va + range). Ranges with nothing mapped are
   * skipped. With `freeTables`, tables left empty are detached and their
   * frames freed (each a step of PhysMem.freePage; the root stays).
   *
   * @throws ArgumentError naming `va` / `range` (not a safe integer, not
   *   4 KiB-aligned, range zero), `options` or `freeTables`;
   *   ArgumentRangeError when the range leaves the VA space. In the task,
   *   before any change: ArgumentError naming `range` when it would split a
   *   64 KiB or 2 MiB page.
   */
  unmap(va: number, range: number, options: { readonly freeTables?: boolean } = {}): Op<void> {
    checkVa("va", va);
    is.positiveInteger("range", range);
    checkOptions("options", options, UNMAP_OPTIONS);
    if (va % PAGE_SIZE !== 0) throw new ArgumentError("va", `must be 4 KiB-aligned, got ${va}`);
    if (range % PAGE_SIZE !== 0) throw new ArgumentError("range", `must be a multiple of 4 KiB, got ${range}`);
    if (va + range > GPU_VA_LIMIT) throw new ArgumentRangeError("range", `[${va}, ${va + range}) leaves the 48-bit VA space`);
    return makeOp("gpu_pt_unmap", this, unmapBody, va, range, options.freeTables === true);
  }

  /**
   * The translation of `va`: the leaf entry covering it, or null (a query,
   * the hardware's walk; notes its read).
   * @throws ArgumentError / ArgumentRangeError naming `va`.
   */
  walk(va: number): Pte | null {
    checkVa("va", va);
    noteTouched(this.sim, this, false);
    return this.walkRaw(va);
  }

  /** @internal The table at `level` covering `va`, -1 if missing; -2 if a leaf entry is in the way. */
  tableAt(level: number, va: number): number {
    let t = this.root;
    for (let l = 0; l < level; l++) {
      if (t < 0) return -1;
      const tab = this.tables[t] as Uint32Array;
      const i = Math.floor(va / (SPAN[l] as number)) % ENTRIES;
      const f = tab[2 * i + 1] as number;
      if ((f & VALID) === 0) return -1;
      if (f >>> KIND_SHIFT !== KIND_TABLE) return -2;
      t = tab[2 * i] as number;
    }
    return t;
  }

  /** @internal Tables a map of `a` lacks; throws (naming `va`) on an entry already mapped. Reads only. */
  missingTables(a: MapArgs, checkLeaves = true): number {
    const end = a.va + a.count * a.size;
    const leafLevel = a.size === 2097152 ? 2 : 3;
    let missing = this.root < 0 ? 1 : 0;
    for (let level = 1; level <= leafLevel; level++) {
      const g = (SPAN[level - 1] as number);
      for (let r = Math.floor(a.va / g); r * g < end; r++) {
        const t = this.root < 0 ? -1 : this.tableAt(level, Math.max(r * g, a.va));
        if (t === -2 && checkLeaves) throw new ArgumentError("va", `${hex(Math.max(r * g, a.va))} is already mapped by a larger page`);
        if (t === -1) missing++;
      }
    }
    // Every leaf slot must be free (an empty table at a 2 MiB slot is replaced).
    if (this.root >= 0 && checkLeaves) {
      const step = (SPAN[leafLevel] as number);
      for (let v = a.va; v < end; ) {
        const t = this.tableAt(leafLevel, v);
        if (t < 0) {
          v = (Math.floor(v / (SPAN[leafLevel - 1] as number)) + 1) * (SPAN[leafLevel - 1] as number);
          continue;
        }
        const tab = this.tables[t] as Uint32Array;
        const i = Math.floor(v / step) % ENTRIES;
        const f = tab[2 * i + 1] as number;
        if ((f & VALID) !== 0 && !(leafLevel === 2 && f >>> KIND_SHIFT === KIND_TABLE && this.live[tab[2 * i] as number] === 0)) {
          throw new ArgumentError("va", `${hex(v)} is already mapped`);
        }
        v += step;
      }
    }
    return missing;
  }

  /** @internal A new table at a fresh or reused index, backed by frame `pfn`. */
  newTable(pfn: number): number {
    const idx = this.spare.length > 0 ? (this.spare.pop() as number) : this.tables.length;
    this.tables[idx] = new Uint32Array(2 * ENTRIES);
    this.live[idx] = 0;
    this.tablePfn[idx] = pfn;
    this.tableCount++;
    return idx;
  }

  /** @internal Drop table `t` (its frame is freed by the caller). */
  dropTable(t: number): void {
    this.tables[t] = null;
    this.spare.push(t);
    this.tableCount--;
  }

  /** @internal The child table under entry `i` of table `t`, made from `frames` if missing. */
  child(t: number, i: number, frames: number[]): number {
    const tab = this.tables[t] as Uint32Array;
    const f = tab[2 * i + 1] as number;
    if ((f & VALID) !== 0) return tab[2 * i] as number;
    const pfn = frames.pop();
    if (pfn === undefined) throw new UsageError(`${this.label}: changed between the steps of a map (the caller must serialise map and unmap)`);
    const c = this.newTable(pfn);
    tab[2 * i] = c;
    tab[2 * i + 1] = VALID;
    this.live[t] = (this.live[t] as number) + 1;
    return c;
  }

  /** @internal Write the entries of `a` (inside a step declaring this table and the PhysMem); tables from `frames`. Returns frames of replaced empty tables. */
  install(a: MapArgs, frames: number[]): number[] {
    const replaced: number[] = [];
    if (this.root < 0) this.root = this.newTable(frames.pop() as number);
    const frameStep = a.size / PAGE_SIZE;
    const leafLevel = a.size === 2097152 ? 2 : 3;
    const slotSpan = (SPAN[leafLevel] as number);
    let leaf = -1;
    let leafBase = -1;
    const parentSpan = (SPAN[leafLevel - 1] as number);
    for (let k = 0; k < a.count; k++) {
      const va = a.va + k * a.size;
      const base = Math.floor(va / parentSpan);
      if (base !== leafBase) {
        let t = this.root;
        for (let level = 0; level < leafLevel; level++) t = this.child(t, Math.floor(va / (SPAN[level] as number)) % ENTRIES, frames);
        leaf = t;
        leafBase = base;
      }
      const tab = this.tables[leaf] as Uint32Array;
      const pfn = a.pfns === null ? a.pfn + k * frameStep : (a.pfns[k] as number);
      if (a.size === 65536) {
        const i0 = Math.floor(va / slotSpan) % ENTRIES;
        for (let j = 0; j < 16; j++) {
          tab[2 * (i0 + j)] = pfn + j;
          tab[2 * (i0 + j) + 1] = a.flags;
        }
        this.live[leaf] = (this.live[leaf] as number) + 16;
        this.pteWrites += 16;
      } else {
        const i = Math.floor(va / slotSpan) % ENTRIES;
        const old = tab[2 * i + 1] as number;
        if ((old & VALID) !== 0) {
          // An empty table at a 2 MiB slot: replaced by the block (missingTables allowed it).
          const c = tab[2 * i] as number;
          replaced.push(this.tablePfn[c] as number);
          this.dropTable(c);
        } else {
          this.live[leaf] = (this.live[leaf] as number) + 1;
        }
        tab[2 * i] = pfn;
        tab[2 * i + 1] = a.flags;
        this.pteWrites++;
      }
    }
    if (this.addresses === "physical") {
      if (a.pfns === null) this.mem.noteMapped(a.pfn, this, a.count * frameStep);
      else for (const f of a.pfns) this.mem.noteMapped(f, this, 1);
    }
    return replaced;
  }

  /** @internal Check that [va, end) splits no 64 KiB or 2 MiB page; throws naming `range`. */
  checkUnmapBounds(va: number, end: number): void {
    for (const v of [va, end - 1]) {
      const p = this.walkRaw(v);
      if (p === null) continue;
      const start = Math.floor(v / p.size) * p.size;
      if (start < va || start + p.size > end) throw new ArgumentError("range", `[${hex(va)}, ${hex(end)}) would split the ${p.size}-byte page at ${hex(start)}`);
    }
  }

  /** @internal walk() without the noted read (inside the table's own steps). */
  walkRaw(va: number): Pte | null {
    let t = this.root;
    for (let level = 0; level < 4 && t >= 0; level++) {
      const tab = this.tables[t] as Uint32Array;
      const i = Math.floor(va / (SPAN[level] as number)) % ENTRIES;
      const f = tab[2 * i + 1] as number;
      if ((f & VALID) === 0) return null;
      const kind = f >>> KIND_SHIFT;
      if (kind === KIND_TABLE) {
        t = tab[2 * i] as number;
        continue;
      }
      const read = (f & READ_BIT) !== 0;
      const write = (f & WRITE_BIT) !== 0;
      if (kind === KIND_2M) return { pfn: tab[2 * i] as number, read, write, size: 2097152 };
      if (kind === KIND_64K) return { pfn: (tab[2 * i] as number) - (i % 16), read, write, size: 65536 };
      return { pfn: tab[2 * i] as number, read, write, size: 4096 };
    }
    return null;
  }

  /** @internal Clear [lo, hi) under table `t` at `level` whose first byte is `base`; empty children go to `freed` with freeTables. */
  clear(t: number, level: number, base: number, lo: number, hi: number, freeTables: boolean, freed: number[]): void {
    const tab = this.tables[t] as Uint32Array;
    const span = (SPAN[level] as number);
    const first = Math.floor((lo - base) / span);
    const last = Math.floor((hi - 1 - base) / span);
    for (let i = first; i <= last; i++) {
      const f = tab[2 * i + 1] as number;
      if ((f & VALID) === 0) continue;
      const kind = f >>> KIND_SHIFT;
      if (kind === KIND_TABLE) {
        const c = tab[2 * i] as number;
        const cBase = base + i * span;
        this.clear(c, level + 1, cBase, Math.max(lo, cBase), Math.min(hi, cBase + span), freeTables, freed);
        if (freeTables && this.live[c] === 0) {
          freed.push(this.tablePfn[c] as number);
          this.dropTable(c);
          tab[2 * i] = 0;
          tab[2 * i + 1] = 0;
          this.live[t] = (this.live[t] as number) - 1;
        }
        continue;
      }
      if (this.addresses === "physical") this.mem.dropMapCounts(tab[2 * i] as number, kind === KIND_2M ? 512 : 1);
      tab[2 * i] = 0;
      tab[2 * i + 1] = 0;
      this.live[t] = (this.live[t] as number) - 1;
      this.pteWrites++;
    }
  }
}

function hex(v: number): string {
  return `0x${v.toString(16)}`;
}

function checkProt(prot: { readonly read: boolean; readonly write: boolean }): void {
  checkOptions("prot", prot, PROT_SPEC);
  if ((prot.read as boolean | undefined) === undefined) throw new ArgumentError("prot.read", "is required: a boolean");
  if ((prot.write as boolean | undefined) === undefined) throw new ArgumentError("prot.write", "is required: a boolean");
}

function checkFirst(sim: Sim, mem: PhysMem, options: GpuPageTableOptions): { name?: string; static: true } {
  if (!(mem instanceof PhysMem)) throw new ArgumentError("mem", `must be a PhysMem, got ${describeValue(mem)}`);
  if (mem.sim !== sim) throw new ArgumentError("mem", `${mem.label} belongs to another Sim`);
  checkOptions("options", options, OPTIONS);
  return options.name === undefined ? { static: true } : { name: options.name, static: true };
}

function* mapBody(this: GpuPageTable, a: MapArgs): Generator<Effect, "ok" | "nomem", unknown> {
  const mem = this.mem;
  const write = new Effect(GPU_PT_MAP, this, WRITE, this, null, Infinity, null, [mem.access]);
  // A map needing no table page checks and writes in one step.
  yield write;
  touch(this.sim, this, true, "gpu_pt_map");
  let missing = this.missingTables(a);
  if (missing === 0) {
    const replaced = this.install(a, []);
    for (const pfn of replaced) yield* mem.freePage(pfn);
    return "ok";
  }
  if (a.pool !== null) {
    const pool = a.pool;
    if (pool.frames.length < missing) {
      this.sim.file({ kind: "pt-prealloc-short", pageTable: this.label, va: a.va, needed: missing, remaining: pool.frames.length });
      return "nomem";
    }
    // Taken from the pool's top: the pool keeps the rest for later maps.
    const taken = pool.frames.splice(pool.frames.length - missing, missing);
    const replaced = this.install(a, taken);
    for (const pfn of replaced) yield* mem.freePage(pfn);
    return "ok";
  }
  const frames: number[] = [];
  for (let n = 0; n < missing; n++) {
    const pfn = yield* mem.allocPage(this, this.gfp, { site: "GpuPageTable.table" });
    if (pfn === null) {
      // ORDER: nothing was written yet; giving the frames back is the whole rollback.
      for (const f of frames) yield* mem.freePage(f);
      return "nomem";
    }
    frames.push(pfn);
  }
  frames.reverse();
  yield write;
  touch(this.sim, this, true, "gpu_pt_map");
  try {
    missing = this.missingTables(a);
  } catch (e) {
    for (const f of frames) yield* mem.freePage(f);
    throw e;
  }
  if (missing > frames.length) {
    for (const f of frames) yield* mem.freePage(f);
    throw new UsageError(`${this.label}: changed between the steps of a map (the caller must serialise map and unmap)`);
  }
  const replaced = this.install(a, frames);
  for (const f of frames) yield* mem.freePage(f);
  for (const pfn of replaced) yield* mem.freePage(pfn);
  return "ok";
}

function* unmapBody(this: GpuPageTable, va: number, range: number, freeTables: boolean): Generator<Effect, void, unknown> {
  yield new Effect(GPU_PT_UNMAP, this, WRITE, this, null, Infinity, null, [this.mem.access]);
  touch(this.sim, this, true, "gpu_pt_unmap");
  if (this.root < 0) return;
  const end = va + range;
  this.checkUnmapBounds(va, end);
  const freed: number[] = [];
  // The step declares the PhysMem: one noted write covers every count clear() drops.
  if (this.addresses === "physical") touch(this.sim, this.mem, true, "PhysMem.noteUnmapped");
  this.clear(this.root, 0, 0, va, end, freeTables, freed);
  for (const pfn of freed) yield* this.mem.freePage(pfn);
}


/**
 * PtPrealloc: page-table pages allocated ahead of a map that must not
 * allocate (made by {@link GpuPageTable.prealloc}).
 *
 * Mirrors: panthor's per-VM reserved page-table pages for an async bind
 *   (panthor_vm_op_ctx_prealloc_pts): allocated in the ioctl, consumed in
 *   the bind job's run_job, leftovers freed on cleanup.
 * Ownership: the pool owns its frames (owner: its page table) until a map
 *   takes them or release() frees them.
 * Locking: as the page table's maps (the caller serialises).
 * Invariants: `frames` are allocated frames of the table's PhysMem owned by
 *   the table; a map that needs more than the pool holds takes none.
 */
export class PtPrealloc {
  /** @internal Frames left, the next one to take on top. */ readonly frames: number[];
  constructor(
    /** The page table the pool is for. */
    readonly pt: GpuPageTable,
    frames: number[],
  ) {
    this.frames = frames;
  }

  /** Frames left in the pool (a query: notes the page table). */
  get remaining(): number {
    noteTouched(this.pt.sim, this.pt, false);
    return this.frames.length;
  }

  /** Free the frames left (each a step of PhysMem.freePage); the pool is empty afterwards. */
  release(): Op<void> {
    return makeOp("gpu_pt_prealloc_release", this, releaseBody);
  }
}

function* preallocBody(this: GpuPageTable, count: number, gfp: Gfp): Generator<Effect, PtPrealloc | null, unknown> {
  const frames: number[] = [];
  for (let n = 0; n < count; n++) {
    const pfn = yield* this.mem.allocPage(this, gfp, { site: "GpuPageTable.prealloc" });
    if (pfn === null) {
      for (const f of frames) yield* this.mem.freePage(f);
      return null;
    }
    frames.push(pfn);
  }
  return new PtPrealloc(this, frames);
}

function* releaseBody(this: PtPrealloc): Generator<Effect, void, unknown> {
  yield new Effect(GPU_PT_MAP, this.pt, WRITE, this.pt, null, Infinity, null, [this.pt.mem.access]);
  touch(this.pt.sim, this.pt, true, "gpu_pt_prealloc_release");
  const frames = this.frames.splice(0, this.frames.length);
  for (const f of frames) yield* this.pt.mem.freePage(f);
}
