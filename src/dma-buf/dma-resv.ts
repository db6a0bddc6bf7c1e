/**
 * DmaResv: a reservation object, the lock and fence slots of a buffer.
 *
 * Mirrors: struct dma_resv — dma_resv_init(), dma_resv_lock(),
 *   dma_resv_lock_interruptible(), dma_resv_lock_slow(),
 *   dma_resv_lock_slow_interruptible(), dma_resv_trylock(),
 *   dma_resv_unlock(), dma_resv_assert_held(), dma_resv_is_locked(),
 *   dma_resv_locking_ctx(), dma_resv_reserve_fences(); the ww class
 *   reservation_ww_class (DEFINE_WD_CLASS).
 * Ownership: usually embedded in the object it protects (`embeddedIn: bo`),
 *   or shared by several (a VM's resv); it dies with its container. Its
 *   WwMutex is embedded in it.
 * Locking: `wwMutex` protects the fence slots (`numFences`, `maxFences`):
 *   reserveFences() asserts it is held (a `lock-not-held` report when not,
 *   and the op goes on as the kernel's WARN does).
 * States: unlocked ⇄ locked (with or without an acquire context).
 * Invariants: numFences <= maxFences. Slots reserved under one hold of the
 *   lock are gone once it is dropped (the kernel's CONFIG_DEBUG_MUTEXES
 *   dma_resv_reset_max_fences() at unlock; see `maxFences`).
 *
 * This file is built in two halves: the locking half (the class body down
 * to "Fence list") and the fence list (addFence, iteration, getSingleton,
 * waitTimeout, testSignaled, fini), added below that marker.
 */
import { ArgumentError } from "../errors.js";
import { arg, checkOptions, is, type Spec } from "../validate.js";
import { defineEffectKind, Effect, WRITE } from "../kernel/effect.js";
import { guardLive, SimObject, touch } from "../kernel/heap.js";
import { makeOp, type Op } from "../kernel/op.js";
import { Sim } from "../kernel/sim.js";
import type { LockResult } from "../locking/mutex.js";
import { WwClass, WwMutex, type WwAcquireCtx, type WwLockResult } from "../locking/ww-mutex.js";

/** How a fence in a reservation object is used (enum dma_resv_usage), weakest last. */
export type DmaResvUsage = "kernel" | "write" | "read" | "bookkeep";

/** Options of a {@link DmaResv}. */
export interface DmaResvOptions {
  /** Names the reservation object and its mutex in reports (default: none; the mutex then prints its class name). */
  readonly name?: string;
  /** The ww class of its mutex (default: {@link reservationWwClass} of the Sim, wait-die). */
  readonly wwClass?: WwClass;
  /** The object it is embedded in (a BO); it lives and dies with it. */
  readonly embeddedIn?: SimObject;
  /** A statically allocated reservation object: never freed, never a leak. Default false. */
  readonly static?: boolean;
}

const RESV_OPTIONS: Spec<DmaResvOptions> = {
  name: is.string,
  wwClass: is.instanceOf(WwClass),
  embeddedIn: is.instanceOf(SimObject),
  static: is.boolean,
};

/**
 * dma_resv_reserve_fences(): reads the lock's holder (the assertion) and
 * writes the fence slots of the reservation object.
 */
export const RESV_RESERVE = defineEffectKind({ name: "dma-resv-reserve" });

/** The name of the kernel's one reservation ww class. */
export const RESERVATION_WW_CLASS = "reservation_ww_class";

const resvClasses = new WeakMap<Sim, WwClass>();

/**
 * The Sim's reservation_ww_class (DEFINE_WD_CLASS(reservation_ww_class)):
 * wait-die, made on first use and the same object after. Its mutex class is
 * lockdep's boot-primed `classes.resv` (reservation_ww_class_mutex), so
 * every DmaResv of the class takes part in the boot order resv → fs_reclaim.
 * Make it (or the first DmaResv) at setup, not inside a task: the object's
 * footprint key then names it alike in every explored execution.
 *
 * @throws ArgumentError naming `sim` when it is not a Sim.
 */
export function reservationWwClass(sim: Sim): WwClass {
  arg("sim", is.instanceOf(Sim), sim);
  let cls = resvClasses.get(sim);
  if (cls === undefined) {
    cls = new WwClass(sim, RESERVATION_WW_CLASS, { algorithm: "wait-die" });
    resvClasses.set(sim, cls);
  }
  return cls;
}

/** The smallest fence list the kernel allocates (dma_resv_reserve_fences()). */
const MIN_FENCE_SLOTS = 4;

function roundUpPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export class DmaResv extends SimObject {
  /** The reservation lock (the kernel's `lock` field; named so it does not clash with `lock()`). */
  readonly wwMutex: WwMutex;
  /** @internal Fences in the list (the kernel's fences->num_fences). */ nFences = 0;
  /** @internal Slots of the list (fences->max_fences), valid for the hold `slotsHold`. */ nSlots = 0;
  /** @internal The hold of `wwMutex` (its acquisition step) under which `nSlots` was set; -1 none. */ slotsHold = -1;
  /** @internal */ readonly reserveEffect: Effect;

  /**
   * Mirrors dma_resv_init(): `new DmaResv(sim, { name: "bo0.resv", embeddedIn: bo })`.
   *
   * @throws ArgumentError naming `sim` (not a Sim), `options` (not an
   *   options object), an unknown option's key, `name`, `wwClass`,
   *   `embeddedIn` or `static` (wrong type), `wwClass` (of another Sim) or
   *   `embeddedIn` (of another Sim). Nothing is made then.
   */
  constructor(sim: Sim, options: DmaResvOptions = {}) {
    arg("sim", is.instanceOf(Sim), sim);
    checkOptions("options", options, RESV_OPTIONS);
    const { wwClass: given, ...objectOptions } = options;
    if (given !== undefined && given.sim !== sim) throw new ArgumentError("wwClass", `${given.label} belongs to another Sim`);
    const container = options.embeddedIn;
    if (container !== undefined && container.sim !== sim) throw new ArgumentError("embeddedIn", `${container.label} belongs to another Sim`);
    // Checked before the default class is made, so bad input makes nothing.
    const wwClass = given ?? reservationWwClass(sim);
    super(sim, "DmaResv", objectOptions);
    this.wwMutex = new WwMutex(sim, wwClass, options.name === undefined ? { embeddedIn: this } : { name: options.name, embeddedIn: this });
    this.reserveEffect = new Effect(RESV_RESERVE, this, WRITE, this);
  }

  /** The ww class of its mutex. */
  get wwClass(): WwClass {
    return this.wwMutex.wwClass;
  }

  /**
   * Mirrors dma_resv_lock(): `"locked"`, `"already-held"` (-EALREADY: `ctx`
   * holds it already) or `"backoff"` (-EDEADLK: release every lock of `ctx`,
   * then `lockSlow` this one). With `ctx` null, a plain sleeping lock.
   *
   * @throws ArgumentError naming `ctx` (neither null nor a WwAcquireCtx of this Sim).
   */
  lock(ctx: WwAcquireCtx | null): Op<WwLockResult> {
    return this.wwMutex.lock(ctx);
  }

  /** Mirrors dma_resv_lock_interruptible(): as `lock`, or `"interrupted"` (-EINTR) when a signal ends the wait. */
  lockInterruptible(ctx: WwAcquireCtx | null): Op<WwLockResult> {
    return this.wwMutex.lockInterruptible(ctx);
  }

  /**
   * Mirrors dma_resv_lock_slow(): after a `"backoff"` on this object, with
   * every other lock of `ctx` released, sleep until it is free; never backs off.
   *
   * @throws ArgumentError naming `ctx` (not a WwAcquireCtx of this Sim).
   */
  lockSlow(ctx: WwAcquireCtx): Op<void> {
    return this.wwMutex.lockSlow(ctx);
  }

  /** Mirrors dma_resv_lock_slow_interruptible(): `"locked"` or `"interrupted"`. */
  lockSlowInterruptible(ctx: WwAcquireCtx): Op<LockResult> {
    return this.wwMutex.lockSlowInterruptible(ctx);
  }

  /** Mirrors dma_resv_trylock(): take it if free, without a context; never sleeps. */
  trylock(): Op<boolean> {
    return this.wwMutex.trylock(null);
  }

  /** Mirrors dma_resv_unlock(). Unlocking a resv the task does not hold is a `ww-mutex-misuse` report (`unlock-not-held`). */
  unlock(): Op<void> {
    return this.wwMutex.unlock();
  }

  /** Mirrors dma_resv_assert_held(): a `lock-not-held` report (and false) unless the current task holds it. */
  assertHeld(): boolean {
    return this.wwMutex.assertHeld();
  }

  /** Mirrors dma_resv_is_locked(). A query. */
  isLocked(): boolean {
    return this.wwMutex.isLocked();
  }

  /** Mirrors dma_resv_locking_ctx(): the acquire context of the current hold, or null. A query. */
  lockingCtx(): WwAcquireCtx | null {
    return this.wwMutex.ctx;
  }

  /** Fences in the list (the kernel's num_fences). A query. */
  get numFences(): number {
    return this.nFences;
  }

  /**
   * Slots of the fence list usable now (the kernel's max_fences): slots
   * reserved under an earlier hold of the lock count as used. A query.
   *
   * Kernel: with CONFIG_DEBUG_MUTEXES, dma_resv_unlock() sets max_fences to
   * num_fences, so a driver that adds a fence after relocking without
   * reserving again is caught. Here the reset is read off lazily: the slots
   * belong to the hold they were reserved under, and the unlock step
   * changes nothing in the reservation object.
   */
  get maxFences(): number {
    const hold = this.holdId();
    return hold !== -1 && hold === this.slotsHold ? this.nSlots : this.nFences;
  }

  /** @internal Which hold of the lock this is: the step that took it, or -1 when not held. */
  holdId(): number {
    return this.wwMutex.heldBy === null ? -1 : (this.wwMutex.acquiredAt?.step ?? -1);
  }

  /**
   * Mirrors dma_resv_reserve_fences(): make room for `numFences` more
   * fences, so that as many addFence() calls cannot fail. The lock must be
   * held (a `lock-not-held` report when not; the op then goes on as the
   * kernel's does). Reserving within the free slots changes nothing; else
   * the list grows to max(4, the next power of two of `numFences`) for an
   * empty list, or max(in use + `numFences`, twice the slots).
   *
   * Returns `"ok"`, or `"nomem"` (-ENOMEM) when the new list cannot be
   * allocated: then nothing changed. Until memory accounting is wired in,
   * it always succeeds.
   *
   * @throws ArgumentError naming `numFences` (not a number),
   *   ArgumentRangeError naming it (not an integer >= 0). No op is made then.
   */
  reserveFences(numFences: number): Op<"ok" | "nomem"> {
    arg("numFences", is.count, numFences);
    return makeOp("dma_resv_reserve_fences", this, reserveFences, numFences);
  }

  // ---- Fence list -------------------------------------------------------
  // addFence, iteration, getSingleton, waitTimeout, testSignaled and fini
  // go here.
}

function* reserveFences(this: DmaResv, numFences: number): Generator<Effect, "ok" | "nomem", unknown> {
  yield this.reserveEffect;
  touch(this.sim, this, true, "DmaResv.reserveFences");
  guardLive(this, "DmaResv.reserveFences");
  this.assertHeld();
  const hold = this.holdId();
  const used = this.nFences;
  const slots = this.maxFences;
  if (slots > 0 && used + numFences <= slots) return "ok";
  const want = slots > 0 ? Math.max(used + numFences, slots * 2) : Math.max(MIN_FENCE_SLOTS, roundUpPowerOfTwo(numFences));
  // SEAM (memory): the kernel allocates the new list here with
  // kmalloc(GFP_KERNEL), which may sleep, enter reclaim and fail. The memory
  // layer charges it here (memCharge(bytes, GFP_KERNEL,
  // "dma_resv_reserve_fences")) and returns "nomem" on failure, before any
  // field below changes. Tested by the memory layer's fault injection.
  // Kernel: kmalloc rounds the list up to its slab size (ksize()); the
  // slots here are exactly `want`.
  this.nSlots = want;
  this.slotsHold = hold;
  return "ok";
}
