/**
 * Mm: a process's address space, as far as a GPU driver sees it (userptr).
 *
 * Mirrors: struct mm_struct with its anonymous mappings (mmap(MAP_ANONYMOUS
 *   | MAP_POPULATE), munmap()), the OOM reaper's __oom_reap_task_mm(), and
 *   the interval-notifier half of struct mmu_notifier_subscriptions
 *   (invalidate_seq, active_invalidate_ranges, the deferred list, the wait
 *   queue) with mn_itree_inv_start_range() / mn_itree_inv_end().
 * Ownership: static (lives as long as the Sim); it owns its pages (PhysMem
 *   owner `{ label: "<process> anon", process }`) from mmap() to munmap()
 *   or a successful reclaim(). Notifiers (mmu-notifier.ts) are embedded in it.
 * Locking: every change is one step whose effect names the Mm (the kernel's
 *   mmap_lock and subscriptions->lock are not modelled as locks: a step is
 *   atomic). pfns() and isMapped() note their read.
 * VA layout: a bump allocator from USER_VA_BASE upwards, page-aligned,
 *   never reused; a guard page between two mappings.
 * States: invalidateSeq is even while no invalidation runs, odd while one
 *   or more do (activeInvalidateRanges > 0 and a notifier overlapped, or a
 *   notifier was inserted since one started).
 * Invariants: the callbacks of an invalidation run between its start and
 *   end steps, in the invalidating task; pages are freed only after the end
 *   (as tlb_finish_mmu() frees them after mmu_notifier_invalidate_range_end()).
 */
import { ArgumentError, ArgumentRangeError, UsageError } from "../errors.js";
import { checkMightSleep } from "../kernel/context.js";
import { defineEffectKind, Effect, WRITE } from "../kernel/effect.js";
import { LIBRARY_CLASS, noteTouched, SimObject, touch } from "../kernel/heap.js";
import { GFP_KERNEL, PAGE_SIZE } from "../kernel/memory.js";
import { makeOp, type Op } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import { current } from "../kernel/task.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";
import { PhysMem, type PageOwner } from "./phys-mem.js";
import type { MmuIntervalNotifier } from "./mmu-notifier.js";
import { runCallbackResult } from "../drm/driver-callback.js";

/** Where the first mapping of every Mm starts (4 GiB: below is left unmapped, as a NULL guard). */
export const USER_VA_BASE = 0x1_0000_0000;
/** The end of the user address space (47 bits, as x86-64's TASK_SIZE). */
export const USER_VA_LIMIT = 2 ** 47;

/** The range an invalidate callback is told about (struct mmu_notifier_range). */
export interface MmuNotifierRange {
  /** First byte. */
  readonly start: number;
  /** Length in bytes. */
  readonly length: number;
  /** mmu_notifier_range_blockable(): false in reclaim, where the callback may only trylock. */
  readonly blockable: boolean;
  /** Why: "unmap" (MMU_NOTIFY_UNMAP: munmap, and the OOM reaper's __oom_reap_task_mm()). */
  readonly event: string;
}

/** Options of new Mm(). */
export interface MmOptions {
  /** A name for reports (default: the process name). */
  readonly name?: string;
  /** The process whose address space it is (required): the owner of its pages. */
  readonly process: string;
}

const OPTIONS: Spec<MmOptions> = { name: is.string, process: is.nonEmptyString };

/** mmap(): writes the Mm (the VMA and its pages' entries). */
export const MM_MMAP = defineEffectKind({ name: "mm-mmap" });
/** mmu_notifier_invalidate_range_start(): writes the Mm (the sequence, the active count). */
export const MMU_INVALIDATE_START = defineEffectKind({ name: "mmu-invalidate-start" });
/** zap_page_range(): the user PTEs of the range are cleared. */
export const MM_ZAP = defineEffectKind({ name: "mm-zap" });
/** mmu_notifier_invalidate_range_end(): writes the Mm (the sequence, the deferred list). */
export const MMU_INVALIDATE_END = defineEffectKind({ name: "mmu-invalidate-end" });

export class Mm extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  readonly mem: PhysMem;
  readonly process: string;
  /** @internal The owner of every page it maps. */ readonly pageOwner: PageOwner;
  /** @internal Mapped pages: user page number (addr / 4096) → pfn. */ readonly pages = new Map<number, number>();
  /** @internal The next address the bump allocator hands out. */ nextVa = USER_VA_BASE;
  /** @internal subscriptions->invalidate_seq: odd while invalidating. */ invalidateSeq = 2;
  /** @internal subscriptions->active_invalidate_ranges. */ activeInvalidateRanges = 0;
  /** @internal The interval tree (a list: there are few). */ readonly notifiers: MmuIntervalNotifier[] = [];
  /** @internal Inserts and removes waiting for the end of the invalidations (deferred_list). */
  readonly deferred: { readonly notifier: MmuIntervalNotifier; readonly insert: boolean }[] = [];
  /** @internal Whether the fs_reclaim → notifier-map order was primed (__mmu_notifier_register). */ primed = false;

  /**
   * @param mem the machine's memory, where its pages come from.
   * @throws ArgumentError naming `sim`, `mem` (not a PhysMem, or one of
   *   another Sim), `options`, an unknown key, `process` (missing or not a
   *   non-empty string) or `name`. Nothing is
   *   made then.
   */
  constructor(sim: Sim, mem: PhysMem, options: MmOptions) {
    if (typeof sim !== "object" || (sim as Sim | null) === null || typeof (sim as { heap?: unknown }).heap !== "object") {
      throw new ArgumentError("sim", `must be a Sim, got ${describeValue(sim)}`);
    }
    arg("mem", is.instanceOf(PhysMem), mem);
    checkOptions("options", options, OPTIONS);
    if ((options.process as string | undefined) === undefined) throw new ArgumentError("process", "is required: a non-empty string");
    if (mem.sim !== sim) throw new ArgumentError("mem", `must be a PhysMem of the same Sim, got ${mem.label} of ${mem.sim.label}`);
    super(sim, "Mm", { name: options.name ?? options.process, static: true });
    this.mem = mem;
    this.process = options.process;
    this.pageOwner = { label: `${options.process} anon`, process: options.process };
  }

  /**
   * Mirrors mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_ANONYMOUS |
   * MAP_POPULATE): `length` bytes (a positive multiple of 4096) of new
   * anonymous memory, every page allocated now (GFP_KERNEL, through
   * PhysMem). Returns the user address, or "nomem" (every page allocated
   * so far is freed again; the address space is unchanged).
   * @throws ArgumentError / ArgumentRangeError naming `length`.
   */
  mmap(length: number): Op<number | "nomem"> {
    checkLength("length", length);
    if (length > USER_VA_LIMIT - USER_VA_BASE) throw new ArgumentRangeError("length", `must be at most ${USER_VA_LIMIT - USER_VA_BASE}, got ${length}`);
    return makeOp("mmap", this, mmapBody, length);
  }

  /**
   * Whether every page of [addr, addr + length) is mapped now (a query).
   * @throws ArgumentError / ArgumentRangeError naming `addr` or `length`.
   */
  isMapped(addr: number, length: number): boolean {
    checkRange(addr, length);
    noteTouched(this.sim, this, false);
    for (let p = addr / PAGE_SIZE, end = (addr + length) / PAGE_SIZE; p < end; p++) if (!this.pages.has(p)) return false;
    return true;
  }

  /**
   * The frames backing [addr, addr + length) now, one per 4 KiB page, as
   * hmm_range_fault() returns them (a query). The range must be mapped:
   * check isMapped() first where a munmap may race (hmm_range_fault()'s
   * -EFAULT).
   * @throws ArgumentError / ArgumentRangeError naming `addr` or `length`;
   *   ArgumentRangeError naming `addr` when a page of the range is not mapped.
   */
  pfns(addr: number, length: number): number[] {
    checkRange(addr, length);
    noteTouched(this.sim, this, false);
    const out: number[] = [];
    for (let p = addr / PAGE_SIZE, end = (addr + length) / PAGE_SIZE; p < end; p++) {
      const pfn = this.pages.get(p);
      if (pfn === undefined) throw new ArgumentRangeError("addr", `page ${(p * PAGE_SIZE).toString(16)} of the range is not mapped in ${this.label}`);
      out.push(pfn);
    }
    return out;
  }

  /**
   * Mirrors munmap(addr, length): invalidation start (every overlapping
   * interval notifier's invalidate, blockable, event "unmap"), the user
   * PTEs cleared, invalidation end, then the pages freed. Pages of the
   * range that are not mapped are skipped (as munmap of a hole). May sleep.
   * A callback that throws ends the invalidation and stops the munmap there
   * (nothing unmapped); the error reaches the task (`task-exception`).
   * @throws ArgumentError / ArgumentRangeError naming `addr` or `length`.
   */
  munmap(addr: number, length: number): Op<void> {
    checkRange(addr, length);
    return makeOp("munmap", this, unmapBody, addr, length, true) as Op<unknown> as Op<void>;
  }

  /**
   * Mirrors __oom_reap_task_mm() on [addr, addr + length): the same as
   * munmap() but non-blockable (mmu_notifier_invalidate_range_start_nonblock(),
   * event "unmap", as the reaper's MMU_NOTIFY_UNMAP): the callbacks may
   * only trylock, and one may return false (-EAGAIN); then the reap of the
   * range fails: the invalidation ends, nothing is unmapped or freed, and
   * reclaim() returns false. Returns true when the pages were freed.
   * @throws as munmap().
   */
  reclaim(addr: number, length: number): Op<boolean> {
    checkRange(addr, length);
    return makeOp("__oom_reap_task_mm", this, unmapBody, addr, length, false);
  }

  /** @internal Whether an invalidation is running (mn_itree_is_invalidating()). */
  get invalidating(): boolean {
    return (this.invalidateSeq & 1) === 1;
  }
}

function checkLength(name: string, length: number): void {
  arg(name, is.positiveInteger, length);
  if (length % PAGE_SIZE !== 0) throw new ArgumentRangeError(name, `must be a multiple of ${PAGE_SIZE}, got ${length}`);
}

function checkRange(addr: number, length: number): void {
  arg("addr", is.count, addr);
  if (addr % PAGE_SIZE !== 0) throw new ArgumentRangeError("addr", `must be a multiple of ${PAGE_SIZE}, got ${addr}`);
  checkLength("length", length);
  if (addr + length > USER_VA_LIMIT) throw new ArgumentRangeError("length", `addr + length must be at most ${USER_VA_LIMIT}, got ${addr + length}`);
}

function* mmapBody(this: Mm, length: number): Generator<Effect, number | "nomem", unknown> {
  const n = length / PAGE_SIZE;
  const got: number[] = [];
  for (let i = 0; i < n; i++) {
    const pfn = yield* this.mem.allocPage(this.pageOwner, GFP_KERNEL, { site: "mmap" });
    if (pfn === null) {
      // ORDER: nothing was mapped yet; give back what was allocated.
      for (const p of got) yield* this.mem.freePage(p);
      return "nomem";
    }
    got.push(pfn);
  }
  yield new Effect(MM_MMAP, this, WRITE);
  touch(this.sim, this, true, "mmap");
  if (this.nextVa + length > USER_VA_LIMIT) {
    for (const p of got) yield* this.mem.freePage(p);
    return "nomem";
  }
  const addr = this.nextVa;
  // A guard page after each mapping, so two mappings never touch.
  this.nextVa += length + PAGE_SIZE;
  for (let i = 0; i < n; i++) this.pages.set(addr / PAGE_SIZE + i, got[i] as number);
  return addr;
}

function* unmapBody(this: Mm, addr: number, length: number, blockable: boolean): Generator<Effect, boolean, unknown> {
  // As mmu_notifier_invalidate_range_start(): might_sleep() when blockable.
  if (blockable) checkMightSleep(current(), "mmu_notifier_invalidate_range_start");
  const ok = yield* invalidateRange(this, { start: addr, length, blockable, event: "unmap" });
  if (!ok) return false;
  yield new Effect(MM_ZAP, this, WRITE);
  touch(this.sim, this, true, "zap_page_range");
  const freed: number[] = [];
  for (let p = addr / PAGE_SIZE, end = (addr + length) / PAGE_SIZE; p < end; p++) {
    const pfn = this.pages.get(p);
    if (pfn === undefined) continue;
    this.pages.delete(p);
    freed.push(pfn);
  }
  yield* endInvalidation(this);
  // ORDER: pages go back only after the invalidation ended (tlb_finish_mmu()).
  for (const pfn of freed) yield* this.mem.freePage(pfn);
  return true;
}

/** @internal Mirrors mn_itree_inv_end(): one step. */
export function* endInvalidation(mm: Mm): Generator<Effect, void, unknown> {
  yield new Effect(MMU_INVALIDATE_END, mm, WRITE);
  touch(mm.sim, mm, true, "mmu_notifier_invalidate_range_end");
  mm.activeInvalidateRanges--;
  if (mm.activeInvalidateRanges > 0 || !mm.invalidating) return;
  // INVARIANT: even again: readers blocked in readBegin() may proceed.
  mm.invalidateSeq++;
  for (const d of mm.deferred) {
    if (d.insert) mm.notifiers.push(d.notifier);
    else {
      const i = mm.notifiers.indexOf(d.notifier);
      if (i >= 0) mm.notifiers.splice(i, 1);
    }
  }
  mm.deferred.length = 0;
}

/**
 * @internal Mirrors mmu_notifier_invalidate_range_start() (blockable) or
 * _nonblock() and mn_itree_invalidate(): the start step, then every
 * overlapping notifier's callback in this task. A callback that throws:
 * the invalidation is ended, then the error is rethrown (the caller stops;
 * the task's exception is a `task-exception` report). Returns false when a
 * non-blockable callback failed; the invalidation has then ended already
 * (as the kernel's out_would_block path). When it returns true the caller
 * ends it with endInvalidation() after zapping.
 */
export function* invalidateRange(mm: Mm, range: MmuNotifierRange): Generator<Effect, boolean, unknown> {
  const task = current();
  yield new Effect(MMU_INVALIDATE_START, mm, WRITE);
  touch(mm.sim, mm, true, "mmu_notifier_invalidate_range_start");
  mm.activeInvalidateRanges++;
  const end = range.start + range.length;
  const subs = mm.notifiers.filter((n) => n.start < end && range.start < n.start + n.length);
  if (subs.length > 0) mm.invalidateSeq |= 1;
  const curSeq = mm.invalidateSeq;
  const lockdep = task.sim.lockdep;
  lockdep.acquire(task, lockdep.maps.mmuNotifier, range.blockable ? "mmu_notifier_invalidate_range_start" : "mmu_notifier_invalidate_range_start_nonblock");
  if (!range.blockable) task.mmuNotifierNonblock++;
  let ok = true;
  let thrown: { readonly error: unknown } | null = null;
  try {
    for (const n of subs) {
      const what = `ops.invalidate of ${n.label}`;
      const r = yield* runCallbackResult(n.ops.invalidate(n, { ...range }, curSeq), what);
      if (typeof r !== "boolean") throw new UsageError(`${what} returned ${describeValue(r)}: it returns true, or false (only when not blockable)`);
      if (r) continue;
      if (range.blockable) {
        mm.sim.file({ kind: "mmu-notifier-blockable-fail", notifier: n.label, mm: mm.label, start: range.start, length: range.length, event: range.event });
        continue;
      }
      ok = false;
      break;
    }
  } catch (e) {
    thrown = { error: e };
  } finally {
    // Also when a callback threw: the task's context is left as it was found.
    if (!range.blockable) task.mmuNotifierNonblock--;
    lockdep.release(task, lockdep.maps.mmuNotifier, null);
  }
  if (thrown !== null) {
    // The kernel would oops here with the lock state undefined. The model ends the
    // invalidation (nothing is unmapped) so the rest of the run stays meaningful, then
    // lets the error reach the task: a task-exception report names the callback.
    yield* endInvalidation(mm);
    throw thrown.error;
  }
  if (!ok) yield* endInvalidation(mm);
  return ok;
}
