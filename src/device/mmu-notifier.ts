/**
 * MmuIntervalNotifier: a driver's subscription to invalidations of a range
 * of a process's address space (userptr).
 *
 * Mirrors: struct mmu_interval_notifier; mmu_interval_notifier_insert(),
 *   mmu_interval_notifier_remove(), mmu_interval_read_begin(),
 *   mmu_interval_read_retry(), mmu_interval_set_seq(),
 *   mn_itree_invalidate() (mm/mmu_notifier.c, include/linux/mmu_notifier.h).
 * Ownership: embedded in its Mm (lives as long as it); remove() ends the
 *   subscription, not the object.
 * Locking: the Mm's steps (insert, the invalidation's start and end) change
 *   the interval list and the sequence; `seq` is changed by setSeq(), which
 *   the driver's callback calls under the driver's own lock, and read by
 *   readRetry() under that same lock (both note it).
 * Context: the invalidate callback runs in the invalidating task under the
 *   lockdep map `mmu_notifier_invalidate_range_start`, which is ordered
 *   after fs_reclaim (primed at the first insert, as __mmu_notifier_register
 *   does): a GFP_KERNEL allocation, or a lock also held around one, in the
 *   callback is a lockdep report. When not blockable (reclaim) anything
 *   that may sleep is `sleep-in-atomic`, reason `"mmu-notifier-nonblock"`.
 * States: subscribed (inserted) → removed.
 * Invariants: seq is odd from insertion on (never equal to an idle Mm's
 *   even sequence); it equals the Mm's sequence only while an invalidation
 *   that already called setSeq() on it is running, and readBegin() waits
 *   until that invalidation ended.
 */
import { ArgumentError, ArgumentRangeError, UsageError } from "../errors.js";
import { checkMightSleep } from "../kernel/context.js";
import { defineEffectKind, Effect, READ, WRITE, type Waitable } from "../kernel/effect.js";
import { LIBRARY_CLASS, noteTouched, SimObject, touch } from "../kernel/heap.js";
import { makeOp, type Op } from "../kernel/op.js";
import { current, type Task } from "../kernel/task.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";
import { Mm, USER_VA_LIMIT, type MmuNotifierRange } from "./mm.js";

/** The driver's callbacks (struct mmu_interval_notifier_ops). */
export interface MmuIntervalNotifierOps {
  /**
   * Stop the device using the range: under the driver's lock, call
   * `n.setSeq(curSeq)`, then tear down the GPU mappings. Return true, or
   * false only when `range.blockable` is false and a trylock failed (the
   * kernel's -EAGAIN). A plain function or a generator function.
   */
  readonly invalidate: (n: MmuIntervalNotifier, range: MmuNotifierRange, curSeq: number) => Iterable<Effect, boolean, unknown> | boolean;
}

const INSERT_OPTIONS: Spec<{ name?: string }> = { name: is.string };

/** mmu_interval_read_begin(): reads the notifier and the Mm; waits while the notifier is being invalidated. */
export const MMU_READ_BEGIN = defineEffectKind({ name: "mmu-read-begin" });
/** mmu_interval_notifier_insert(): writes the Mm's interval list. */
export const MMU_NOTIFIER_INSERT = defineEffectKind({ name: "mmu-notifier-insert" });
/** mmu_interval_notifier_remove(): waits for the invalidations to end, then writes the Mm's list. */
export const MMU_NOTIFIER_REMOVE = defineEffectKind({ name: "mmu-notifier-remove" });

/** Waits until no invalidation runs in the Mm (remove's wait). */
class MmIdle implements Waitable {
  constructor(readonly mm: Mm) {}
  get label(): string {
    return this.mm.label;
  }
  canProceed(_task: Task): boolean {
    return !this.mm.invalidating;
  }
  wakers(): null {
    return null;
  }
}

export type { MmuNotifierRange };

export class MmuIntervalNotifier extends SimObject implements Waitable {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  /** @internal interval_sub->invalidate_seq. */ seq: number;
  /** @internal */ removed = false;
  /** @internal */ readonly mmIdle: MmIdle;

  /** @internal Use MmuIntervalNotifier.insert(). */
  constructor(
    readonly mm: Mm,
    /** First byte of the range. */
    readonly start: number,
    /** Length of the range in bytes. */
    readonly length: number,
    /** @internal */ readonly ops: MmuIntervalNotifierOps,
    name: string,
  ) {
    super(mm.sim, "MmuIntervalNotifier", { name, embeddedIn: mm });
    this.seq = mm.invalidateSeq - 1;
    this.mmIdle = new MmIdle(mm);
  }

  /**
   * Mirrors mmu_interval_notifier_insert(): subscribe `ops` to
   * invalidations of [start, start + length) of `mm`. While an
   * invalidation runs (one that met a notifier, or one that met none and
   * has not ended: as the kernel, the sequence then goes odd), the new
   * notifier's readBegin() blocks until its end; an insertion during one
   * that met a notifier joins the list only then (the deferred list). One step; the first insert on an
   * Mm primes lockdep with fs_reclaim → the notifier map.
   * @param options `name` for reports (default empty).
   * @throws ArgumentError naming `mm`, `start`, `length`, `ops`,
   *   `ops.invalidate`, `options` or its key (`name`); ArgumentRangeError
   *   naming `start` or `length` (past the user address space).
   */
  static insert(mm: Mm, start: number, length: number, ops: MmuIntervalNotifierOps, options: { readonly name?: string } = {}): Op<MmuIntervalNotifier> {
    arg("mm", is.instanceOf(Mm), mm);
    arg("start", is.count, start);
    arg("length", is.positiveInteger, length);
    if (start + length > USER_VA_LIMIT) throw new ArgumentRangeError("length", `start + length must be at most ${USER_VA_LIMIT}, got ${start + length}`);
    if (typeof ops !== "object" || (ops as MmuIntervalNotifierOps | null) === null) throw new ArgumentError("ops", `must be an object { invalidate }, got ${describeValue(ops)}`);
    arg("ops.invalidate", is.function, ops.invalidate);
    checkOptions("options", options, INSERT_OPTIONS);
    return makeOp("mmu_interval_notifier_insert", mm, insertBody, start, length, { ops, name: options.name ?? "" });
  }

  /** Waitable (public because Waitable is): readBegin() proceeds unless an invalidation that reached this notifier still runs. */
  canProceed(_task: Task): boolean {
    return this.seq !== this.mm.invalidateSeq;
  }

  /** Waitable: the invalidating task ends it, whichever it is. */
  wakers(): null {
    return null;
  }

  /**
   * Mirrors mmu_interval_read_begin(): the sequence to give readRetry()
   * later. Blocks (may sleep) while an invalidation that already reached
   * this notifier is running. One step. The value is opaque (odd, as the
   * kernel's).
   * @throws UsageError (in the task) after remove().
   */
  readBegin(): Op<number> {
    return makeOp("mmu_interval_read_begin", this, readBeginBody);
  }

  /**
   * Mirrors mmu_interval_read_retry(): whether an invalidation called
   * setSeq() since readBegin() returned `seq` (then the pages the driver
   * looked up may be gone: retry). Call it under the lock the callback
   * takes around setSeq(). A query (noted).
   * @throws ArgumentError naming `seq` unless a safe integer.
   */
  readRetry(seq: number): boolean {
    arg("seq", is.safeInteger, seq);
    noteTouched(this.sim, this, false);
    return this.seq !== seq;
  }

  /**
   * Mirrors mmu_interval_set_seq(): the invalidate callback records the
   * invalidation's `curSeq` (under the driver's lock), so that readRetry()
   * of a reader that began earlier says retry. Not an effect: it joins the
   * callback's current step.
   * @throws ArgumentError naming `curSeq` unless a safe integer.
   */
  setSeq(curSeq: number): void {
    arg("curSeq", is.safeInteger, curSeq);
    // A noted write: it joins the footprint of the callback's current step.
    noteTouched(this.sim, this, true);
    this.seq = curSeq;
  }

  /**
   * Mirrors mmu_interval_notifier_remove(): end the subscription. Waits
   * (may sleep) while an invalidation runs in the Mm, so no callback of
   * this notifier runs once it returns. One step. Takes and drops the
   * notifier's lockdep map first, as the kernel does: removing under a
   * lock the invalidate callback takes is a lockdep report (a deadlock
   * once an invalidation runs).
   * @throws UsageError (in the task) when already removed.
   */
  remove(): Op<void> {
    return makeOp("mmu_interval_notifier_remove", this, removeBody);
  }

  /** Whether remove() ran (a query). */
  get isRemoved(): boolean {
    noteTouched(this.sim, this, false);
    return this.removed;
  }
}

function* insertBody(this: Mm, start: number, length: number, spec: { ops: MmuIntervalNotifierOps; name: string }): Generator<Effect, MmuIntervalNotifier, unknown> {
  const task = current();
  yield new Effect(MMU_NOTIFIER_INSERT, this, WRITE);
  touch(this.sim, this, true, "mmu_interval_notifier_insert");
  // RELIES ON: `primed` is read after the effect, in the step that writes the Mm.
  if (!this.primed) {
    // As __mmu_notifier_register(): teach lockdep that the notifier map nests in fs_reclaim.
    const lockdep = task.sim.lockdep;
    lockdep.acquire(task, lockdep.maps.fsReclaim, "fs_reclaim_acquire");
    lockdep.acquire(task, lockdep.maps.mmuNotifier, "__mmu_notifier_register");
    lockdep.release(task, lockdep.maps.mmuNotifier, null);
    lockdep.release(task, lockdep.maps.fsReclaim, null);
    this.primed = true;
  }
  const n = new MmuIntervalNotifier(this, start, length, spec.ops, spec.name);
  if (this.activeInvalidateRanges > 0) {
    if (this.invalidating) {
      // The running invalidation may or may not cover the new range: the list changes at its end.
      this.deferred.push({ notifier: n, insert: true });
    } else {
      // An invalidation runs that met no notifier when it started: the list may change now, but
      // the sequence goes odd so the new notifier's readBegin() waits for that invalidation's end
      // (it may be freeing the pages the driver is about to look up).
      this.invalidateSeq |= 1;
      this.notifiers.push(n);
    }
    n.seq = this.invalidateSeq;
  } else {
    this.notifiers.push(n);
  }
  return n;
}

/**
 * Take and drop the notifier's lockdep map, then check that the caller may
 * sleep: what mmu_interval_read_begin() and mmu_interval_notifier_remove()
 * do first, whether or not they then wait.
 */
function touchNotifierMap(op: string): void {
  const task = current();
  const lockdep = task.sim.lockdep;
  lockdep.acquire(task, lockdep.maps.mmuNotifier, op);
  lockdep.release(task, lockdep.maps.mmuNotifier, null);
  checkMightSleep(task, op);
}

function* readBeginBody(this: MmuIntervalNotifier): Generator<Effect, number, unknown> {
  // As the kernel: a read_begin under a lock the callback takes is an inversion; wait_event() may sleep whether or not it waits.
  touchNotifierMap("mmu_interval_read_begin");
  yield new Effect(MMU_READ_BEGIN, this, READ, this, this, Infinity, null, [{ object: this.mm, mode: "read" }]);
  touch(this.sim, this, false, "mmu_interval_read_begin");
  touch(this.sim, this.mm, false, "mmu_interval_read_begin");
  // RELIES ON: checked after the effect, so the check is part of the step that declares the read.
  if (this.removed) throw new UsageError(`mmu_interval_read_begin() on ${this.label} after remove()`);
  return this.seq;
}

function* removeBody(this: MmuIntervalNotifier): Generator<Effect, void, unknown> {
  // As the kernel (whether or not it then waits): a remove under a lock the
  // callback takes is an inversion even when no invalidation runs.
  touchNotifierMap("mmu_interval_notifier_remove");
  yield new Effect(MMU_NOTIFIER_REMOVE, this, WRITE, this.mm, this.mmIdle, Infinity, null, [{ object: this, mode: "write" }]);
  touch(this.sim, this.mm, true, "mmu_interval_notifier_remove");
  touch(this.sim, this, true, "mmu_interval_notifier_remove");
  if (this.removed) throw new UsageError(`mmu_interval_notifier_remove() of ${this.label}, already removed`);
  const mm = this.mm;
  this.removed = true;
  const i = mm.notifiers.indexOf(this);
  if (i >= 0) mm.notifiers.splice(i, 1);
  const d = mm.deferred.findIndex((x) => x.notifier === this);
  if (d >= 0) mm.deferred.splice(d, 1);
}
