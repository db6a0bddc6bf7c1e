/**
 * GpuTlb: the GPU's translation lookaside buffer.
 *
 * Mirrors: the TLB every GPU MMU has, and the invalidation a driver issues
 *   after changing PTEs (a range invalidation, or a full flush).
 * Ownership: hardware: static, never freed.
 * Locking: none; invalidations are steps whose effect names the TLB.
 *   lookup() and fill() are queries the engine runs inside its own step:
 *   they note the TLB (lookup a read, fill a write).
 * States: up to `entries` cached translations, each of one page (4 KiB,
 *   64 KiB or 2 MiB) keyed by its page-aligned VA, oldest evicted first.
 * Invariants: a cached translation stays usable until an invalidation
 *   covers it or it is evicted, whatever the page table says meanwhile: a
 *   PTE change without invalidate() leaves the old frame reachable.
 *   Argument checks come before any change: bad input changes nothing.
 */
import { ArgumentError, ArgumentRangeError } from "../errors.js";
import { defineEffectKind, Effect, WRITE } from "../kernel/effect.js";
import { guardLive, LIBRARY_CLASS, noteTouched, SimObject, touch } from "../kernel/heap.js";
import { makeOp, type Op } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";
import { GPU_VA_LIMIT } from "./page-table.js";

/** Page sizes a TLB entry may cover. */
export const TLB_PAGE_SIZES: readonly number[] = [4096, 65536, 2097152];
const DEFAULT_TLB_ENTRIES = 64;

/** A cached translation: the page's first frame, whether it may be written, its size in bytes. */
export interface TlbEntry {
  readonly pfn: number;
  readonly write: boolean;
  readonly size: number;
  /** The PhysMem generation of the frame at fill time (physical addressing only): tells a frame handed out again since. */
  readonly gen?: number;
}

/** Options of new GpuTlb(). */
export interface GpuTlbOptions {
  /** A name for reports (default: empty). */
  readonly name?: string;
  /** Capacity in translations (default 64). */
  readonly entries?: number;
}

const TLB_OPTIONS: Spec<GpuTlbOptions> = { name: is.string, entries: is.positiveInteger };
const ENTRY: Spec<TlbEntry> = { pfn: is.count, write: is.boolean, size: is.oneOf(...TLB_PAGE_SIZES), gen: is.safeInteger };

/** A range invalidation. */
export const TLB_INVALIDATE = defineEffectKind({ name: "tlb-invalidate" });
/** A full invalidation. */
export const TLB_INVALIDATE_ALL = defineEffectKind({ name: "tlb-invalidate-all" });

/**
 * @throws ArgumentError naming `sim`, `options` or its key (`name`,
 *   `entries`); ArgumentRangeError naming `entries` when not a positive
 *   integer. Nothing is made then.
 */
export class GpuTlb extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  /** Capacity in translations. */
  readonly entries: number;
  /** @internal Entries by `${size}:${page-aligned va}`, oldest first. */
  readonly cache = new Map<string, TlbEntry & { readonly va: number }>();

  constructor(sim: Sim, options: GpuTlbOptions = {}) {
    checkOptions("options", options, TLB_OPTIONS);
    super(sim, "GpuTlb", { name: options.name ?? "", static: true });
    this.entries = options.entries ?? DEFAULT_TLB_ENTRIES;
  }

  /** Translations cached now (a query). */
  get size(): number {
    noteTouched(this.sim, this, false);
    return this.cache.size;
  }

  /**
   * The cached translation of the page holding `va`, or null: what the
   * engine uses before walking the page table. It may be stale (the PTE
   * changed since the fill). `pfn` is the page's first frame, as the PTE's
   * address field holds it: the frame of `va` is pfn + (va % size) / 4096.
   * A query: notes the TLB (read).
   * @throws ArgumentError/ArgumentRangeError naming `va`: not a safe
   *   integer in [0, 2^48).
   */
  lookup(va: number): TlbEntry | null {
    checkVa("va", va);
    noteTouched(this.sim, this, false);
    if (!guardLive(this, "GpuTlb.lookup")) return null;
    for (const size of TLB_PAGE_SIZES) {
      const base = va - (va % size);
      const e = this.cache.get(`${size}:${base}`);
      if (e !== undefined) return e.gen === undefined ? { pfn: e.pfn, write: e.write, size: e.size } : { pfn: e.pfn, write: e.write, size: e.size, gen: e.gen };
    }
    return null;
  }

  /**
   * Cache `pte` (the page-table walk's answer for `va`: the page's first
   * frame, write permission, page size, and optionally `gen`, the frame's
   * PhysMem generation at fill time) for the page holding `va`,
   * evicting the oldest entry when full. A query-like update run inside
   * the engine's step: notes the TLB (write).
   * @throws ArgumentError naming `va` or `pte` (or its key `pfn`,
   *   `write`, `size`); ArgumentRangeError for `va` out of range or a
   *   `pfn` that is not a non-negative safe integer. Nothing changes then.
   */
  fill(va: number, pte: TlbEntry): void {
    checkVa("va", va);
    if ((pte as TlbEntry | null) === null || typeof pte !== "object") throw new ArgumentError("pte", `must be { pfn, write, size }, got ${describeValue(pte)}`);
    checkOptions("pte", pte, ENTRY);
    for (const k of ["pfn", "write", "size"] as const) if ((pte as Partial<TlbEntry>)[k] === undefined) throw new ArgumentError(`pte.${k}`, "must be given");
    noteTouched(this.sim, this, true);
    if (!guardLive(this, "GpuTlb.fill")) return;
    const base = va - (va % pte.size);
    const key = `${pte.size}:${base}`;
    this.cache.delete(key);
    if (this.cache.size >= this.entries) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, pte.gen === undefined ? { va: base, pfn: pte.pfn, write: pte.write, size: pte.size } : { va: base, pfn: pte.pfn, write: pte.write, size: pte.size, gen: pte.gen });
  }

  /** @internal lookup() without the checks and the noted read: for the engine's own step, which declares the TLB. */
  lookupRaw(va: number): (TlbEntry & { readonly va: number }) | undefined {
    const cache = this.cache;
    if (cache.size === 0) return undefined;
    return cache.get(`4096:${va - (va % 4096)}`) ?? cache.get(`65536:${va - (va % 65536)}`) ?? cache.get(`2097152:${va - (va % 2097152)}`);
  }

  /** @internal fill() without the checks and the noted write (the engine's step declares the TLB). */
  fillRaw(va: number, pfn: number, write: boolean, size: number, gen: number): void {
    const base = va - (va % size);
    const key = `${size}:${base}`;
    const cache = this.cache;
    cache.delete(key);
    if (cache.size >= this.entries) cache.delete(cache.keys().next().value as string);
    cache.set(key, gen < 0 ? { va: base, pfn, write, size } : { va: base, pfn, write, size, gen });
  }

  /**
   * Drop every cached translation whose page overlaps [va, va + range).
   * A `range` of 0 drops nothing.
   * @throws ArgumentError/ArgumentRangeError naming `va` or `range`: not
   *   non-negative safe integers, or the range passes 2^48.
   */
  invalidate(va: number, range: number): Op<void> {
    checkVa("va", va);
    arg("range", is.count, range);
    if (va + range > GPU_VA_LIMIT) throw new ArgumentRangeError("range", `va 0x${va.toString(16)} + range ${range} passes 2^48`);
    return makeOp("tlb_invalidate", this, invalidateBody, va, range);
  }

  /** Drop every cached translation. */
  invalidateAll(): Op<void> {
    return makeOp("tlb_invalidate_all", this, invalidateAllBody);
  }
}

function checkVa(name: string, va: number): void {
  arg(name, is.count, va);
  if (va >= GPU_VA_LIMIT) throw new ArgumentRangeError(name, `must be below 2^48, got ${va}`);
}

function* invalidateBody(this: GpuTlb, va: number, range: number): Generator<Effect, void, unknown> {
  yield new Effect(TLB_INVALIDATE, this, WRITE);
  touch(this.sim, this, true, "GpuTlb.invalidate");
  if (!guardLive(this, "GpuTlb.invalidate") || range === 0) return;
  const end = va + range;
  for (const [key, e] of this.cache) if (e.va < end && e.va + e.size > va) this.cache.delete(key);
}

function* invalidateAllBody(this: GpuTlb): Generator<Effect, void, unknown> {
  yield new Effect(TLB_INVALIDATE_ALL, this, WRITE);
  touch(this.sim, this, true, "GpuTlb.invalidateAll");
  if (guardLive(this, "GpuTlb.invalidateAll")) this.cache.clear();
}
