/**
 * Iommu and IommuDomain: the device's DMA remapping unit and its IOTLB.
 *
 * Mirrors: struct iommu_domain; iommu_domain_alloc(), iommu_map(),
 *   iommu_unmap_fast(), iommu_iotlb_sync() and iommu_flush_iotlb_all()
 *   (drivers/iommu/iommu.c).
 * Ownership: an Iommu is hardware: static, never freed. Its domains are
 *   embedded in it and live as long as it does.
 * Locking: none; every change is one step whose effect names the domain
 *   (and the Iommu, whose IOTLB it may change). translate() is a query run
 *   inside the engine's step: it notes the domain (read) and the Iommu
 *   (write: a miss fills the IOTLB).
 * States: a domain maps 4 KiB IOVA pages to frames (pfn) with read/write
 *   permission; leaf tables (one per 2 MiB of IOVA) are charged to the
 *   memory model while they hold an entry. The IOTLB holds up to
 *   `iotlbEntries` translations of 4 KiB pages, oldest evicted first.
 * Invariants: unmap() never touches the IOTLB (as iommu_unmap_fast()): an
 *   entry cached before the unmap keeps translating to the old frame until
 *   flushIotlb() covers it; translate() calls such a hit "stale-iotlb".
 *   With a PhysMem (`mem` option), each table entry counts as a mapping of
 *   its frame (PhysMem.noteMapped at map, noteUnmapped at unmap) and
 *   records the frame's generation; an IOTLB entry is a cache, not a
 *   mapping: freeing a frame only the IOTLB still reaches files nothing
 *   (the engine's DMA check catches the access), freeing one the table
 *   still maps files `phys-page-still-mapped`.
 * IOVA space: iovaAlloc()/iovaFree() hand out ranges of the aperture (as
 *   alloc_iova()/free_iova()), first fit from the lowest address above
 *   page 0; the allocator's state is the domain's, and its steps write it.
 *   Argument checks come before any change: bad input changes nothing.
 */
import { ArgumentError, ArgumentRangeError } from "../errors.js";
import { defineEffectKind, Effect, WRITE, type Access } from "../kernel/effect.js";
import { guardLive, LIBRARY_CLASS, noteTouched, SimObject, touch } from "../kernel/heap.js";
import { GFP_KERNEL, memCharge, memFootprint, memUncharge, PAGE_SIZE, type Gfp } from "../kernel/memory.js";
import { makeOp, type Op } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import { MAX_PAGES, PhysMem } from "./phys-mem.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";

/** The IOVA aperture: 48 bits. */
export const IOVA_LIMIT = 2 ** 48;
/** Bytes of IOVA one leaf table covers (512 entries of 4 KiB). */
const TABLE_SPAN = 512 * PAGE_SIZE;
/** Default IOTLB capacity, in 4 KiB translations. */
const DEFAULT_IOTLB_ENTRIES = 64;

/** Read/write permission of a mapping (IOMMU_READ / IOMMU_WRITE). */
export interface IommuProt {
  readonly read: boolean;
  readonly write: boolean;
}

/** What a device access resolves to: a frame and the path that gave it, or a fault. */
/**
 * What a device access resolves to: a frame, the path that gave it and the
 * frame's PhysMem generation when the translation was made (-1 for an Iommu
 * without `mem`), or a fault.
 */
export type IommuTranslation = { readonly pfn: number; readonly via: "iotlb" | "stale-iotlb" | "table"; readonly gen: number } | { readonly fault: "unmapped" | "permission" };

/** Options of new Iommu(). */
export interface IommuOptions {
  /** A name for reports (default: empty). */
  readonly name?: string;
  /** IOTLB capacity in 4 KiB translations (default 64). */
  readonly iotlbEntries?: number;
  /**
   * The machine's memory: with it, map() and unmap() keep each frame's
   * mapping count (so freeing a frame the table maps files
   * `phys-page-still-mapped`), frames must be frames of it, and
   * translations carry the frame's generation.
   */
  readonly mem?: PhysMem;
}

const IOMMU_OPTIONS: Spec<IommuOptions> = { name: is.string, iotlbEntries: is.positiveInteger, mem: is.instanceOf(PhysMem) };
const PROT: Spec<IommuProt> = { read: is.boolean, write: is.boolean };
const ACCESS = is.oneOf("read", "write");
const GFP_RULE = is.oneOf("GFP_KERNEL", "GFP_NOFS", "GFP_NOWAIT", "GFP_ATOMIC");

/** One 4 KiB translation (a table entry or an IOTLB entry). */
interface Entry {
  readonly pfn: number;
  readonly read: boolean;
  readonly write: boolean;
  /** The frame's PhysMem generation at map time; -1 without mem. */
  readonly gen: number;
}

interface IotlbEntry extends Entry {
  readonly domain: IommuDomain;
  readonly page: number;
}

/** iommu_map(): writes the domain, may charge or give back table memory. */
export const IOMMU_MAP = defineEffectKind({ name: "iommu-map" });
/** iommu_unmap_fast(): writes the domain's table; the IOTLB is left as it is. */
export const IOMMU_UNMAP = defineEffectKind({ name: "iommu-unmap" });
/** iommu_iotlb_sync() / iommu_flush_iotlb_all(): drops the domain's IOTLB entries. */
export const IOTLB_FLUSH = defineEffectKind({ name: "iotlb-flush" });
/** alloc_iova() / free_iova(): writes the domain's IOVA allocator. */
export const IOVA_ALLOC = defineEffectKind({ name: "iova-alloc" });

/**
 * An IOMMU: owns the IOTLB shared by its domains.
 * @throws ArgumentError naming `sim`, `options` or its key (`name`,
 *   `iotlbEntries`); ArgumentRangeError naming `iotlbEntries` when not a
 *   positive integer. Nothing is made then.
 */
export class Iommu extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  /** IOTLB capacity, in 4 KiB translations. */
  readonly iotlbEntries: number;
  /** @internal Cached translations by `${domain.id}:${page}`, oldest first. */
  readonly iotlb = new Map<string, IotlbEntry>();
  /** The PhysMem whose frames the domains map, if given. */
  readonly mem: PhysMem | null;

  constructor(sim: Sim, options: IommuOptions = {}) {
    checkOptions("options", options, IOMMU_OPTIONS);
    if (options.mem !== undefined && options.mem.sim !== sim) throw new ArgumentError("mem", `${options.mem.label} belongs to another Sim`);
    super(sim, "Iommu", { name: options.name ?? "", static: true });
    this.iotlbEntries = options.iotlbEntries ?? DEFAULT_IOTLB_ENTRIES;
    this.mem = options.mem ?? null;
  }

  /**
   * Mirrors iommu_domain_alloc(): a new, empty paging domain of this IOMMU
   * (embedded in it). Not an effect: a domain nobody maps into yet is seen
   * by no other task.
   * @throws ArgumentError naming `name` when given and not a string.
   */
  domainAlloc(name?: string): IommuDomain {
    if (name !== undefined) arg("name", is.string, name);
    return new IommuDomain(this, name ?? "");
  }

  /** The number of translations in the IOTLB now (a query). */
  get iotlbSize(): number {
    noteTouched(this.sim, this, false);
    return this.iotlb.size;
  }

  /** @internal Cache a translation, evicting the oldest when full. */
  fillIotlb(domain: IommuDomain, page: number, e: Entry): void {
    const key = `${domain.id}:${page}`;
    this.iotlb.delete(key);
    if (this.iotlb.size >= this.iotlbEntries) {
      const oldest = this.iotlb.keys().next().value as string;
      this.iotlb.delete(oldest);
    }
    this.iotlb.set(key, { domain, page, pfn: e.pfn, read: e.read, write: e.write, gen: e.gen });
  }
}

/**
 * A paging domain: an IOVA space of 4 KiB pages. Made by Iommu.domainAlloc().
 */
export class IommuDomain extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  /** @internal Entries by IOVA page number. */
  readonly table = new Map<number, Entry>();
  /** @internal Entries held by each leaf table, by its index (iova / 2 MiB). */
  readonly leafUse = new Map<number, number>();
  /** @internal Allocated IOVA ranges, [start, end) in bytes, sorted by start. */
  readonly iovas: { start: number; end: number }[] = [];

  /** @internal Use Iommu.domainAlloc(). */
  constructor(
    readonly iommu: Iommu,
    name: string,
  ) {
    if (!(iommu instanceof Iommu)) throw new ArgumentError("iommu", `must be an Iommu, got ${describeValue(iommu)}`);
    arg("name", is.string, name);
    super(iommu.sim, "IommuDomain", { name, embeddedIn: iommu });
  }

  /** Bytes of IOVA mapped now (a query). */
  get mappedBytes(): number {
    noteTouched(this.sim, this, false);
    return this.table.size * PAGE_SIZE;
  }

  /**
   * Mirrors iommu_map(domain, iova, pfn << PAGE_SHIFT, size, prot, gfp):
   * map `size` bytes at `iova` to the frames from `pfn` on. Leaf tables it
   * needs are charged through the memory model with `gfp` (default
   * GFP_KERNEL; limits, reclaim and fault injection apply; GFP_NOWAIT or
   * GFP_ATOMIC, as dma-iommu's map path passes, neither sleeps nor enters
   * reclaim, so a map under a lock the reclaim path takes is no
   * lockdep report, at the price of failing sooner): "nomem" when
   * that fails, and then nothing is mapped (the kernel unmaps what it had
   * mapped; here nothing was). A `size` of 0 maps nothing, as the kernel's
   * loop does.
   *
   * @param iova Bytes, 4 KiB aligned, iova + size <= 2^48.
   * @param pfn First frame (a non-negative safe integer).
   * @param size Bytes, a multiple of 4 KiB.
   * @param gfp The leaf tables' allocation flags: "GFP_KERNEL" (default),
   *   "GFP_NOFS", "GFP_NOWAIT" or "GFP_ATOMIC".
   * @throws ArgumentError naming `iova`, `pfn`, `size`, `prot` (or its
   *   key) or `gfp` for a wrong type or value; ArgumentRangeError for misalignment, a range
   *   outside the aperture or more than MAX_PAGES (2^26) pages; ArgumentError naming `iova` (in the task, after
   *   the step's effect) when a page of the range is already mapped (the
   *   kernel's -EEXIST). Nothing changes then.
   */
  map(iova: number, pfn: number, size: number, prot: IommuProt, gfp: Gfp = GFP_KERNEL): Op<"ok" | "nomem"> {
    checkRange(iova, size);
    arg("pfn", is.count, pfn);
    if (!Number.isSafeInteger(pfn + size / PAGE_SIZE)) throw new ArgumentRangeError("pfn", `pfn ${pfn} + ${size / PAGE_SIZE} pages is not a safe integer`);
    // Entries are kept per page: a map larger than the largest machine would run out of memory, not fail.
    if (size / PAGE_SIZE > MAX_PAGES) throw new ArgumentRangeError("size", `must be at most ${MAX_PAGES} pages (MAX_PAGES) in one map, got ${size / PAGE_SIZE}`);
    const mem = this.iommu.mem;
    if (mem !== null && pfn + size / PAGE_SIZE > mem.pages) throw new ArgumentRangeError("pfn", `frames ${pfn} to ${pfn + size / PAGE_SIZE - 1} are not all frames of ${mem.label} (0 to ${mem.pages - 1})`);
    if ((prot as IommuProt | null) === null || typeof prot !== "object") throw new ArgumentError("prot", `must be { read, write }, got ${describeValue(prot)}`);
    checkOptions("prot", prot, PROT);
    for (const k of ["read", "write"] as const) if ((prot as Partial<IommuProt>)[k] === undefined) throw new ArgumentError(`prot.${k}`, "must be given");
    arg("gfp", GFP_RULE, gfp);
    return makeOp("iommu_map", this, mapBody, iova, pfn, { size, read: prot.read, write: prot.write, gfp });
  }

  /**
   * Mirrors iommu_unmap_fast(): unmap up to `size` bytes at `iova`, stopping
   * at the first page that is not mapped (as __iommu_unmap() does), and
   * return the bytes unmapped. The IOTLB is NOT synced: until
   * flushIotlb() covers the range, translate() may still hit the old
   * frames through cached entries (docs/kernel-differences.md: the kernel's
   * iommu_unmap() syncs at once; iommu_unmap_fast() does not). Leaf tables
   * left empty are given back to the memory model.
   * @throws ArgumentError/ArgumentRangeError naming `iova` or `size`: not
   *   4 KiB aligned, or outside the aperture (the kernel returns 0 there).
   */
  unmap(iova: number, size: number): Op<number> {
    checkRange(iova, size);
    return makeOp("iommu_unmap", this, unmapBody, iova, size);
  }

  /**
   * Mirrors iommu_flush_iotlb_all() (no arguments) or iommu_iotlb_sync()
   * of a gathered range (`iova`, `size` bytes): drop this domain's IOTLB
   * entries for pages overlapping the range (or all of them).
   * @throws ArgumentError/ArgumentRangeError naming `iova` or `size`: not
   *   non-negative safe integers, only one of them given, or the range
   *   passes the 48-bit aperture.
   */
  flushIotlb(iova?: number, size?: number): Op<void> {
    if (iova === undefined && size === undefined) return makeOp("iommu_flush_iotlb_all", this, flushBody, 0, IOVA_LIMIT);
    if (iova === undefined) throw new ArgumentError("iova", "must be given with size");
    arg("iova", is.count, iova);
    if (size === undefined) throw new ArgumentError("size", "must be given with iova");
    arg("size", is.count, size);
    if (iova >= IOVA_LIMIT) throw new ArgumentRangeError("iova", `must be below 2^48, got ${iova}`);
    if (iova + size > IOVA_LIMIT) throw new ArgumentRangeError("size", `iova 0x${iova.toString(16)} + size ${size} passes the 48-bit aperture`);
    return makeOp("iommu_iotlb_sync", this, flushBody, iova, size);
  }

  /**
   * A device access at `iova`: the IOTLB first (a hit whose entry no longer
   * matches the table is "stale-iotlb", and still gives its old frame),
   * then the table (a hit fills the IOTLB). An unmapped page is
   * { fault: "unmapped" }; a write through a read-only translation, or a
   * read through a write-only one, is { fault: "permission" }. A query run
   * inside the engine's step: notes the domain (read) and the Iommu (write).
   * @throws ArgumentError/ArgumentRangeError naming `iova` (not a safe
   *   integer in [0, 2^48)) or `access` (not "read" or "write").
   */
  translate(iova: number, access: "read" | "write"): IommuTranslation {
    arg("iova", is.count, iova);
    if (iova >= IOVA_LIMIT) throw new ArgumentRangeError("iova", `must be below 2^48, got ${iova}`);
    arg("access", ACCESS, access);
    noteTouched(this.sim, this, false);
    noteTouched(this.sim, this.iommu, true);
    if (!guardLive(this, "IommuDomain.translate")) return { fault: "unmapped" };
    const page = Math.floor(iova / PAGE_SIZE);
    const cached = this.iommu.iotlb.get(`${this.id}:${page}`);
    const current = this.table.get(page);
    if (cached !== undefined) {
      if (!permits(cached, access)) return { fault: "permission" };
      const fresh = current?.pfn === cached.pfn && current.read === cached.read && current.write === cached.write && current.gen === cached.gen;
      return { pfn: cached.pfn, via: fresh ? "iotlb" : "stale-iotlb", gen: cached.gen };
    }
    if (current === undefined) return { fault: "unmapped" };
    if (!permits(current, access)) return { fault: "permission" };
    this.iommu.fillIotlb(this, page, current);
    return { pfn: current.pfn, via: "table", gen: current.gen };
  }

  /**
   * Mirrors alloc_iova() (drivers/iommu/iova.c) as dma-iommu uses it: a
   * free range of `size` bytes of this domain's IOVA space, the lowest one
   * that fits above page 0 (IOVA 0 is never handed out, as dma-iommu's
   * start pfn is 1), so a range freed is the first reused. The kernel
   * searches top-down from the limit; docs/kernel-differences.md. One step
   * (effect `iova-alloc`, writing the domain). Returns the IOVA in bytes, or
   * null when no range of that size is free (nothing changes then).
   * @throws ArgumentError naming `size` (not a number) or
   *   ArgumentRangeError naming `size` (not a positive multiple of 4 KiB,
   *   or larger than the aperture).
   */
  iovaAlloc(size: number): Op<number | null> {
    arg("size", is.positiveInteger, size);
    if (size % PAGE_SIZE !== 0) throw new ArgumentRangeError("size", `must be a multiple of 4 KiB, got ${size}`);
    if (size > IOVA_LIMIT - PAGE_SIZE) throw new ArgumentRangeError("size", `must fit the 48-bit aperture above page 0, got ${size}`);
    return makeOp("alloc_iova", this, iovaAllocBody, size);
  }

  /**
   * Mirrors free_iova(): give back the range `iovaAlloc(size)` returned as
   * `iova`. One step (effect `iova-alloc`). A range that is not exactly one
   * allocated range (never allocated, already freed, or another size) is an
   * ArgumentError naming `iova` (or `size` when the start matches but the
   * size does not), thrown in the task after the step's effect, as map()'s
   * -EEXIST; nothing changes then (the kernel's free_iova() finds nothing
   * and does nothing).
   * @throws ArgumentError / ArgumentRangeError naming `iova` or `size` at
   *   the call: not 4 KiB aligned, not positive (size), outside the aperture.
   */
  iovaFree(iova: number, size: number): Op<void> {
    checkRange(iova, size);
    if (size === 0) throw new ArgumentRangeError("size", "must be positive");
    return makeOp("free_iova", this, iovaFreeBody, iova, size);
  }

  /** Bytes of IOVA space allocated by iovaAlloc() now (a query). */
  get iovaBytes(): number {
    noteTouched(this.sim, this, false);
    let n = 0;
    for (const r of this.iovas) n += r.end - r.start;
    return n;
  }
}

function* iovaAllocBody(this: IommuDomain, size: number): Generator<Effect, number | null, unknown> {
  yield new Effect(IOVA_ALLOC, this, WRITE);
  touch(this.sim, this, true, "alloc_iova");
  if (!guardLive(this, "alloc_iova")) return null;
  let at = PAGE_SIZE;
  let i = 0;
  for (; i < this.iovas.length; i++) {
    const r = this.iovas[i] as { start: number; end: number };
    if (r.start - at >= size) break;
    at = Math.max(at, r.end);
  }
  if (at + size > IOVA_LIMIT) return null;
  this.iovas.splice(i, 0, { start: at, end: at + size });
  return at;
}

function* iovaFreeBody(this: IommuDomain, iova: number, size: number): Generator<Effect, void, unknown> {
  yield new Effect(IOVA_ALLOC, this, WRITE);
  touch(this.sim, this, true, "free_iova");
  if (!guardLive(this, "free_iova")) return;
  const i = this.iovas.findIndex((r) => r.start === iova);
  if (i < 0) throw new ArgumentError("iova", `0x${iova.toString(16)} is not the start of an IOVA range allocated in ${this.label}`);
  const r = this.iovas[i] as { start: number; end: number };
  if (r.end - r.start !== size) throw new ArgumentError("size", `the IOVA range at 0x${iova.toString(16)} in ${this.label} is ${r.end - r.start} bytes, not ${size}`);
  this.iovas.splice(i, 1);
}

function permits(e: Entry, access: "read" | "write"): boolean {
  return access === "read" ? e.read : e.write;
}

/** iova and size: 4 KiB aligned, non-negative, within the aperture. */
function checkRange(iova: number, size: number): void {
  arg("iova", is.count, iova);
  arg("size", is.count, size);
  if (iova % PAGE_SIZE !== 0) throw new ArgumentRangeError("iova", `must be 4 KiB aligned, got 0x${iova.toString(16)}`);
  if (size % PAGE_SIZE !== 0) throw new ArgumentRangeError("size", `must be a multiple of 4 KiB, got ${size}`);
  if (iova + size > IOVA_LIMIT) throw new ArgumentRangeError("size", `iova 0x${iova.toString(16)} + size ${size} passes the 48-bit aperture`);
}

/** The step's accesses beyond the domain: the Iommu (IOTLB) and, when observable, the memory state. */
function alsoOf(d: IommuDomain): Access[] {
  const out: Access[] = [{ object: d.iommu, mode: "write" }];
  if (d.iommu.mem !== null) out.push(d.iommu.mem.access);
  const mem = memFootprint(d.sim);
  if (mem !== null) out.push(mem);
  return out;
}

/** Leaf tables the range needs that do not exist yet. */
function tablesNeeded(d: IommuDomain, iova: number, size: number): number {
  if (size === 0) return 0;
  let n = 0;
  const last = Math.floor((iova + size - 1) / TABLE_SPAN);
  for (let t = Math.floor(iova / TABLE_SPAN); t <= last; t++) if (!d.leafUse.has(t)) n++;
  return n;
}

function firstMapped(d: IommuDomain, iova: number, size: number): number | null {
  const first = iova / PAGE_SIZE;
  for (let p = first; p < first + size / PAGE_SIZE; p++) if (d.table.has(p)) return p * PAGE_SIZE;
  return null;
}

function* mapBody(this: IommuDomain, iova: number, pfn: number, o: { size: number; read: boolean; write: boolean; gfp: Gfp }): Generator<Effect, "ok" | "nomem", unknown> {
  let charged = 0;
  for (;;) {
    yield new Effect(IOMMU_MAP, this, WRITE, this, null, Infinity, null, alsoOf(this));
    touch(this.sim, this, true, "IommuDomain.map");
    if (!guardLive(this, "IommuDomain.map")) {
      if (charged > 0) memUncharge(this.sim, charged);
      return "nomem";
    }
    const clash = firstMapped(this, iova, o.size);
    const need = tablesNeeded(this, iova, o.size) * PAGE_SIZE;
    if (clash !== null || need <= charged) {
      // ORDER: give back what is not needed before anything is mapped, so a throw leaves nothing charged.
      if (clash !== null) {
        if (charged > 0) memUncharge(this.sim, charged);
        throw new ArgumentError("iova", `page 0x${clash.toString(16)} of IommuDomain ${this.label} is already mapped (-EEXIST)`);
      }
      if (charged > need) memUncharge(this.sim, charged - need);
      break;
    }
    // A leaf table is missing: charge it (a step of its own, which may reclaim), then look again,
    // as another task may have made or freed tables meanwhile.
    const ok = yield* memCharge(need - charged, o.gfp, "iommu_map");
    if (!ok) {
      if (charged > 0) {
        yield new Effect(IOMMU_MAP, this, WRITE, this, null, Infinity, null, alsoOf(this));
        memUncharge(this.sim, charged);
      }
      return "nomem";
    }
    charged = need;
  }
  const first = iova / PAGE_SIZE;
  const phys = this.iommu.mem;
  if (phys !== null && o.size > 0) phys.noteMapped(pfn, this, o.size / PAGE_SIZE);
  for (let i = 0; i < o.size / PAGE_SIZE; i++) {
    const page = first + i;
    this.table.set(page, { pfn: pfn + i, read: o.read, write: o.write, gen: phys === null ? -1 : (phys.generations[pfn + i] as number) });
    const t = Math.floor(page / 512);
    this.leafUse.set(t, (this.leafUse.get(t) ?? 0) + 1);
  }
  return "ok";
}

function* unmapBody(this: IommuDomain, iova: number, size: number): Generator<Effect, number, unknown> {
  yield new Effect(IOMMU_UNMAP, this, WRITE, this, null, Infinity, null, alsoOf(this));
  touch(this.sim, this, true, "IommuDomain.unmap");
  if (!guardLive(this, "IommuDomain.unmap")) return 0;
  const first = iova / PAGE_SIZE;
  const phys = this.iommu.mem;
  let freedTables = 0;
  let done = 0;
  for (; done < size / PAGE_SIZE; done++) {
    const page = first + done;
    const e = this.table.get(page);
    if (e === undefined) break;
    this.table.delete(page);
    if (phys !== null) phys.noteUnmapped(e.pfn, this);
    const t = Math.floor(page / 512);
    const left = (this.leafUse.get(t) as number) - 1;
    if (left === 0) {
      this.leafUse.delete(t);
      freedTables++;
    } else this.leafUse.set(t, left);
  }
  if (freedTables > 0) memUncharge(this.sim, freedTables * PAGE_SIZE);
  return done * PAGE_SIZE;
}

function* flushBody(this: IommuDomain, iova: number, size: number): Generator<Effect, void, unknown> {
  yield new Effect(IOTLB_FLUSH, this, WRITE, this, null, Infinity, null, [{ object: this.iommu, mode: "write" }]);
  touch(this.sim, this.iommu, true, "IommuDomain.flushIotlb");
  if (!guardLive(this, "IommuDomain.flushIotlb") || size === 0) return;
  const first = Math.floor(iova / PAGE_SIZE);
  const end = Math.ceil((iova + size) / PAGE_SIZE);
  for (const [key, e] of this.iommu.iotlb) {
    if (e.domain === this && e.page >= first && e.page < end) this.iommu.iotlb.delete(key);
  }
}
