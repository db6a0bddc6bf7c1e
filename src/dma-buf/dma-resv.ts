/**
 * DmaResv: a reservation object, the lock and fence slots of a buffer.
 *
 * Mirrors: struct dma_resv — dma_resv_init(), dma_resv_lock(),
 *   dma_resv_lock_interruptible(), dma_resv_lock_slow(),
 *   dma_resv_lock_slow_interruptible(), dma_resv_trylock(),
 *   dma_resv_unlock(), dma_resv_assert_held(), dma_resv_is_locked(),
 *   dma_resv_locking_ctx(), dma_resv_reserve_fences(),
 *   dma_resv_add_fence(), dma_resv_replace_fences(), struct dma_resv_iter
 *   (dma_resv_iter_first/next, _first_unlocked/_next_unlocked,
 *   dma_resv_iter_end, dma_resv_iter_is_restarted), dma_resv_get_fences(),
 *   dma_resv_get_singleton(), dma_resv_wait_timeout(),
 *   dma_resv_test_signaled(), dma_resv_fini(); struct dma_resv_list; the ww
 *   class reservation_ww_class (DEFINE_WD_CLASS).
 * Ownership: usually embedded in the object it protects (`embeddedIn: bo`),
 *   or shared by several (a VM's resv); it dies with its container, whose
 *   release calls fini() first. Its WwMutex is embedded in it. The fence
 *   list (DmaResvList) is a heap object of its own, charged to memory,
 *   replaced by reserveFences() and freed with kfreeRcu (fini() too). Each
 *   fence in the list holds one reference (holder tag "dma_resv").
 * Locking: `wwMutex` protects the list and its slots: reserveFences,
 *   addFence, replaceFences and the locked iteration assert it is held (a
 *   `lock-not-held` report when not). Unlocked readers (the unlocked
 *   iteration, getFences, getSingleton, waitTimeout, testSignaled) read the
 *   list under rcuReadLock(), take each fence with getRcu(), and restart
 *   when the sequence count `seq` (the kernel's seqcount_ww_mutex) moved.
 * States: unlocked ⇄ locked (with or without an acquire context); list:
 *   none → allocated (replaced on growth) → none again at fini().
 * Invariants: numFences <= maxFences. Slots reserved under one hold of the
 *   lock are gone once it is dropped (the kernel's CONFIG_DEBUG_MUTEXES
 *   dma_resv_reset_max_fences() at unlock; see `maxFences`). Every fence in
 *   the current list holds one reference until it is replaced, dropped by
 *   a reserve (signalled), or fini().
 *
 * This file is built in two halves: the locking half (the class body down
 * to "Fence list") and the fence list below that marker.
 */
import { ArgumentError } from "../errors.js";
import { arg, checkOptions, is, type Spec } from "../validate.js";
import { defineEffectKind, Effect, READ, WRITE, type Access } from "../kernel/effect.js";
import { guardLive, kfree, LIBRARY_CLASS, objectRef, SimObject, siteRef, touch, type Site } from "../kernel/heap.js";
import { GFP_KERNEL, kmallocObject } from "../kernel/memory.js";
import { makeNamedOp, makeOp, type Op } from "../kernel/op.js";
import { kfreeRcu, rcuReadLock, rcuReadUnlock } from "../kernel/rcu.js";
import { Sim } from "../kernel/sim.js";
import { DmaFence } from "./dma-fence.js";
import { dmaFenceArrayCreate } from "./dma-fence-array.js";
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
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  /** The reservation lock (the kernel's `lock` field; named so it does not clash with `lock()`). */
  readonly wwMutex: WwMutex;
  /** @internal The fence list (the kernel's RCU pointer `fences`), or null before the first reserve and after fini. */ list: DmaResvList | null = null;
  /** @internal The sequence count: bumped by every change of the set of fences (write_seqcount_begin/end). */ seq = 0;
  /** @internal Where the list last grew. */ lastReserve: Site | null = null;
  /**
   * @internal Test switch for the negative test: reserveFences() frees the
   * old list with a plain kfree() instead of kfreeRcu(), a use-after-free
   * for an unlocked reader still walking it. Never set outside tests.
   */
  unsafePlainKfree = false;
  /** @internal Slots of the list (fences->max_fences), valid for the hold `slotsHold`. */ nSlots = 0;
  /** @internal The hold of `wwMutex` (its acquisition step) under which `nSlots` was set; -1 none. */ slotsHold = -1;
  /** @internal */ readonly reserveEffect: Effect;
  /** @internal Where fini() ran, or null: every later fence op is a `resv-misuse` report. */ finiSite: Site | null = null;

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
    return this.list === null ? 0 : this.list.table.length;
  }

  /** @internal The kernel's num_fences, as the slot code reads it. */
  get nFences(): number {
    return this.numFences;
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
   * allocated: then nothing changed. The new list is allocated with
   * GFP_KERNEL (kmallocObject, fault-injection site
   * `"dma_resv_reserve_fences"`, LIST_HEADER_BYTES + 8 bytes a slot): it
   * may sleep (`sleep-in-atomic` under a spinlock), takes fs_reclaim (a
   * lock-order report when a lock held here is taken in reclaim), may run
   * the shrinkers under pressure, and may fail. Signalled fences are left
   * out of the new list (their references dropped), and the old list is
   * freed with kfreeRcu, so unlocked readers may still walk it.
   *
   * @throws ArgumentError naming `numFences` (not a number),
   *   ArgumentRangeError naming it (not an integer >= 0). No op is made then.
   */
  reserveFences(numFences: number): Op<"ok" | "nomem"> {
    arg("numFences", is.count, numFences);
    return makeOp("dma_resv_reserve_fences", this, reserveFences, numFences);
  }

  // ---- Fence list -------------------------------------------------------

  /**
   * The fences in the list and their usages, oldest slot first. A query for
   * tests and reports: no effect, no lock needed, no references taken.
   */
  get fenceList(): readonly DmaResvEntry[] {
    return this.list === null ? [] : this.list.table.slice();
  }

  /**
   * Mirrors dma_resv_add_fence(): add `fence` with `usage`, taking a
   * reference (holder tag "dma_resv"), with the lock held and a slot
   * reserved under this hold. As the kernel's code does, an entry is
   * replaced (its reference dropped) rather than a slot used when it has
   * the same fence context and a usage at least as weak as `usage`
   * (kernel < write < read < bookkeep), or when its fence is signalled.
   * The fence is published: never signalling it is a
   * `fence-never-signalled` report at teardown.
   *
   * Reports (and then nothing changes): `lock-not-held` without the lock
   * (the kernel's WARN, after which it would corrupt the list);
   * `resv-no-fence-slot` when no slot is free (the kernel's BUG_ON);
   * `use-after-free` when `fence` was freed; `resv-misuse`
   * (`used-after-fini`) after fini().
   *
   * @throws ArgumentError naming `fence` (not a DmaFence) or `usage` (not a
   *   DmaResvUsage); ForeignSimError when the fence is of another Sim.
   */
  addFence(fence: DmaFence, usage: DmaResvUsage): Op<void> {
    arg("fence", is.instanceOf(DmaFence), fence);
    arg("usage", USAGE_RULE, usage);
    return makeNamedOp("dma_resv_add_fence", ["this", "fence", null, null], this, addFence, fence, usage);
  }

  /**
   * Mirrors dma_resv_replace_fences(): with the lock held, every entry of
   * fence context `context` becomes `replacement` with `usage`; each
   * replaced fence's reference is dropped and `replacement` gets one per
   * entry (see docs/kernel-differences.md). Without the lock: a
   * `lock-not-held` report and nothing changes. Returns how many entries
   * were replaced.
   *
   * @throws ArgumentError naming `context` (not a count), `replacement`
   *   (not a DmaFence) or `usage`.
   */
  replaceFences(context: number, replacement: DmaFence, usage: DmaResvUsage): Op<number> {
    arg("context", is.count, context);
    arg("replacement", is.instanceOf(DmaFence), replacement);
    arg("usage", USAGE_RULE, usage);
    return makeNamedOp("dma_resv_replace_fences", ["this", null, "replacement", null], this, replaceFences, context, replacement, usage);
  }

  /**
   * Mirrors dma_resv_for_each_fence() with the lock held: the fences of
   * usage `usage` or stronger (an iteration for "read" returns kernel,
   * write and read fences), signalled or not, with their usages. No
   * references are taken: they are valid while the lock is held. Without
   * the lock, a `lock-not-held` report (and the list is read anyway).
   *
   * @throws ArgumentError naming `usage`.
   */
  fences(usage: DmaResvUsage): Op<DmaResvEntry[]> {
    arg("usage", USAGE_RULE, usage);
    return makeOp("dma_resv_for_each_fence", this, forEachFenceLocked, usage);
  }

  /**
   * Mirrors dma_resv_get_fences(): without the lock, under RCU, a
   * reference (untagged: the caller's) to each unsignalled fence of
   * `usage` or stronger. The caller puts them. A restart of the iteration
   * drops what was collected and starts again, as the kernel's does.
   *
   * Kernel: the returned array is krealloc'd and may fail with -ENOMEM;
   * here it is a plain array and never fails (docs/kernel-differences.md).
   *
   * @throws ArgumentError naming `usage`.
   */
  getFences(usage: DmaResvUsage): Op<DmaFence[]> {
    arg("usage", USAGE_RULE, usage);
    return makeOp("dma_resv_get_fences", this, getFences, usage);
  }

  /**
   * Mirrors dma_resv_get_singleton(): one fence for the unsignalled fences
   * of `usage` or stronger: null when there are none, the fence itself
   * when one (a reference the caller puts), else a new DmaFenceArray over
   * them (on a new fence context, seqno 1) that signals once all did.
   * `"nomem"` (-ENOMEM) when the array cannot be allocated (GFP_KERNEL,
   * site `"dma_fence_array_create"`): the references taken are dropped
   * again.
   *
   * @throws ArgumentError naming `usage`.
   */
  getSingleton(usage: DmaResvUsage): Op<DmaFence | null | "nomem"> {
    arg("usage", USAGE_RULE, usage);
    return makeOp("dma_resv_get_singleton", this, getSingleton, usage);
  }

  /**
   * Mirrors dma_resv_wait_timeout(): wait, without the lock, for each
   * unsignalled fence of `usage` or stronger in turn, for at most
   * `timeoutNs` of simulated time in all. Returns the time left in ns
   * (at least 1: the kernel's positive return; 1 when `timeoutNs` is 0 and
   * all are signalled), 0 when it timed out, or `"interrupted"`
   * (-ERESTARTSYS) when `intr` and a signal is pending. Each wait is
   * DmaFence.waitTimeout: might_sleep, the fence-wait annotation, and the
   * fence-wait deadlock check apply.
   *
   * @throws ArgumentError naming `usage`, `intr` (not a boolean) or
   *   `timeoutNs` (not a number); ArgumentRangeError naming `timeoutNs`
   *   unless finite nanoseconds in the safe range.
   */
  waitTimeout(usage: DmaResvUsage, intr: boolean, timeoutNs: number): Op<number | "interrupted"> {
    arg("usage", USAGE_RULE, usage);
    arg("intr", is.boolean, intr);
    arg("timeoutNs", is.nanoseconds, timeoutNs);
    return makeOp("dma_resv_wait_timeout", this, waitTimeout, usage, intr, timeoutNs);
  }

  /**
   * Mirrors dma_resv_test_signaled(): whether every fence of `usage` or
   * stronger is signalled, read without the lock under RCU.
   *
   * @throws ArgumentError naming `usage`.
   */
  testSignaled(usage: DmaResvUsage): Op<boolean> {
    arg("usage", USAGE_RULE, usage);
    return makeOp("dma_resv_test_signaled", this, testSignaled, usage);
  }

  /**
   * Mirrors dma_resv_fini(): drop the reference of every fence in the list
   * and free the list (kfreeRcu). Call it before the object goes (a
   * container's release); the list is a `leak` otherwise. No lock needed:
   * nobody else may use the object any more.
   *
   * Reports (`resv-misuse`): `fini-twice` (nothing more happens; the
   * kernel would free the list again), `fini-while-locked` (the kernel's
   * ww_mutex_destroy() warning; it finalises anyway). After fini(),
   * reserveFences, addFence, replaceFences and the locked iteration file
   * `used-after-fini` and change nothing; the unlocked readers find no
   * fences.
   */
  fini(): Op<void> {
    return makeOp("dma_resv_fini", this, fini);
  }
}

/** A fence in a reservation object's list, with its usage. */
export interface DmaResvEntry {
  readonly fence: DmaFence;
  readonly usage: DmaResvUsage;
}

/** The bytes of a fence list besides its slots (struct dma_resv_list's header, rounded). */
export const LIST_HEADER_BYTES = 16;
/** The bytes of one slot (a tagged fence pointer). */
const SLOT_BYTES = 8;

/**
 * struct dma_resv_list: the fence table of a reservation object. A heap
 * object, allocated by reserveFences() (charged to memory) and freed by
 * kfreeRcu when replaced or at fini, so RCU readers may still walk it.
 */
export class DmaResvList extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  /** @internal The fences, in slot order (the table up to num_fences). */ readonly table: DmaResvEntry[] = [];

  constructor(
    sim: Sim,
    /** The slots allocated (the kernel's allocation, before any reset). */
    readonly slots: number,
    name: string,
  ) {
    super(sim, "DmaResvList", { name });
  }
}

/** The holder tag of the list's references. */
export const RESV_HOLDER = "dma_resv";
/** The holder tag of the unlocked iterator's reference to its current fence. */
export const RESV_ITER_HOLDER = "dma_resv_iter";

const USAGES: readonly DmaResvUsage[] = ["kernel", "write", "read", "bookkeep"];
const USAGE_RULE = is.oneOf(...USAGES);
/** enum dma_resv_usage's order: kernel 0 < write 1 < read 2 < bookkeep 3. */
function rank(u: DmaResvUsage): number {
  return USAGES.indexOf(u);
}

/**
 * A fence op on a reservation object after its fini(): a `resv-misuse`
 * report (`used-after-fini`), and true (the caller then changes nothing).
 * Call it after the op's step on `resv`.
 */
function usedAfterFini(resv: DmaResv, op: string): boolean {
  if (resv.finiSite === null) return false;
  fileMisuse(resv, "used-after-fini", op);
  return true;
}

function fileMisuse(resv: DmaResv, problem: "fini-twice" | "fini-while-locked" | "used-after-fini", op: string): void {
  const sim = resv.sim;
  sim.file({ kind: "resv-misuse", problem, resv: objectRef(resv), op, site: siteRef(sim.site(op)), fini: resv.finiSite === null ? null : siteRef(resv.finiSite) });
}

/** dma_resv_add_fence(), dma_resv_replace_fences(), dma_resv_fini(): write the resv and its list. */
export const RESV_ADD_FENCE = defineEffectKind({ name: "dma-resv-add-fence" });
/** dma_resv_fini(): writes the fence list away and reads the lock (ww_mutex_destroy()'s check that it is free). */
export const RESV_FINI = defineEffectKind({ name: "dma-resv-fini" });
/** A reader's step: the list pointer and the sequence count, or an entry of a list. */
export const RESV_READ = defineEffectKind({ name: "dma-resv-read" });

function listAccess(list: DmaResvList | null, mode: "read" | "write"): readonly Access[] | null {
  if (list === null) return null;
  const out: Access[] = [{ object: list, mode }];
  // A writer tests the fences in the list with dma_fence_is_signaled(): it reads them.
  if (mode === "write") for (const e of list.table) out.push({ object: e.fence, mode: "read" });
  return out;
}

/** Yield a step on `resv` (and its list, as it is when the step runs): returns that list. */
function* resvStep(resv: DmaResv, kind: ReturnType<typeof defineEffectKind>, write: boolean): Generator<Effect, DmaResvList | null, unknown> {
  for (;;) {
    const list = resv.list;
    yield new Effect(kind, resv, write ? WRITE : READ, resv, null, Infinity, null, listAccess(list, write ? "write" : "read"));
    // Another task replaced the list between our look and our step (a writer without the lock): look again.
    if (resv.list === list) return list;
  }
}

const RESERVE_SITE = "dma_resv_reserve_fences";

function* reserveFences(this: DmaResv, numFences: number): Generator<Effect, "ok" | "nomem", unknown> {
  yield this.reserveEffect;
  touch(this.sim, this, true, "DmaResv.reserveFences");
  guardLive(this, "DmaResv.reserveFences");
  if (usedAfterFini(this, RESERVE_SITE)) return "ok";
  this.assertHeld();
  const hold = this.holdId();
  const used = this.nFences;
  const slots = this.maxFences;
  if (slots > 0 && used + numFences <= slots) return "ok";
  const want = slots > 0 ? Math.max(used + numFences, slots * 2) : Math.max(MIN_FENCE_SLOTS, roundUpPowerOfTwo(numFences));
  // Kernel: kmalloc rounds the list up to its slab size (ksize()); the
  // slots here are exactly `want`.
  const sim = this.sim;
  const name = this.name === "" ? "" : `${this.name}.fences`;
  const list = yield* kmallocObject(() => new DmaResvList(sim, want, name), GFP_KERNEL, { size: LIST_HEADER_BYTES + SLOT_BYTES * want, site: RESERVE_SITE });
  if (list === null) return "nomem";
  // The copy and the publish (rcu_assign_pointer): one step on the resv, the old list and the new.
  let old: DmaResvList | null;
  for (;;) {
    old = this.list;
    const also: Access[] = [{ object: list, mode: "write" }];
    if (old !== null) {
      also.push({ object: old, mode: "read" });
      for (const e of old.table) also.push({ object: e.fence, mode: "read" });
    }
    yield new Effect(RESV_RESERVE, this, WRITE, this, null, Infinity, null, also);
    if (this.list === old) break;
  }
  touch(sim, this, true, "DmaResv.reserveFences");
  touch(sim, list, true, "DmaResv.reserveFences");
  const dropped: DmaFence[] = [];
  if (old !== null) {
    touch(sim, old, false, "DmaResv.reserveFences");
    guardLive(old, "DmaResv.reserveFences");
    for (const e of old.table) {
      if (e.fence.isSignaled()) dropped.push(e.fence);
      else list.table.push(e);
    }
  }
  this.list = list;
  this.nSlots = want;
  this.slotsHold = hold;
  this.lastReserve = sim.site(RESERVE_SITE);
  if (old === null) return "ok";
  // The set of unsignalled fences is the same: readers need not restart (no seq bump), as in the kernel.
  for (const f of dropped) yield* f.put(RESV_HOLDER);
  if (this.unsafePlainKfree) yield* kfree(old);
  else yield* kfreeRcu(old);
  return "ok";
}

function* addFence(this: DmaResv, fence: DmaFence, usage: DmaResvUsage): Generator<Effect, void, unknown> {
  const sim = this.sim;
  const list = yield* resvStep(this, RESV_ADD_FENCE, true);
  touch(sim, this, true, "DmaResv.addFence");
  guardLive(this, "DmaResv.addFence");
  // A freed fence: the use-after-free report, and nothing added (the list never holds a freed fence).
  if (!guardLive(fence, "DmaResv.addFence")) return;
  if (usedAfterFini(this, "dma_resv_add_fence")) return;
  if (!this.assertHeld()) return;
  const r = rank(usage);
  let i = -1;
  if (list !== null) {
    touch(sim, list, true, "DmaResv.addFence");
    guardLive(list, "DmaResv.addFence");
    i = list.table.findIndex((e) => (e.fence.context === fence.context && rank(e.usage) >= r) || e.fence.isSignaled());
  }
  if (i < 0 && this.nFences >= this.maxFences) {
    sim.file({
      kind: "resv-no-fence-slot",
      resv: objectRef(this),
      fence: { object: objectRef(fence), context: fence.context, seqno: fence.seqno, timeline: fence.fenceContext.name },
      usage,
      numFences: this.nFences,
      maxFences: this.maxFences,
      add: siteRef(sim.site("dma_resv_add_fence")),
      lastReserve: this.lastReserve === null ? null : siteRef(this.lastReserve),
    });
    return;
  }
  const table = (list as DmaResvList).table;
  const old = i >= 0 ? (table[i] as DmaResvEntry).fence : null;
  if (i >= 0) table[i] = { fence, usage };
  else table.push({ fence, usage });
  this.seq++;
  fence.markPublished("resv");
  // Kernel: dma_fence_get() comes first; here after the step, so a report leaves the count untouched.
  // The caller holds a reference for the whole call, so the fence cannot go in between.
  yield* fence.get(RESV_HOLDER);
  if (old !== null) yield* old.put(RESV_HOLDER);
}

function* replaceFences(this: DmaResv, context: number, replacement: DmaFence, usage: DmaResvUsage): Generator<Effect, number, unknown> {
  const sim = this.sim;
  const list = yield* resvStep(this, RESV_ADD_FENCE, true);
  touch(sim, this, true, "DmaResv.replaceFences");
  guardLive(this, "DmaResv.replaceFences");
  if (!guardLive(replacement, "DmaResv.replaceFences")) return 0;
  if (usedAfterFini(this, "dma_resv_replace_fences")) return 0;
  if (!this.assertHeld() || list === null) return 0;
  touch(sim, list, true, "DmaResv.replaceFences");
  guardLive(list, "DmaResv.replaceFences");
  const olds: DmaFence[] = [];
  list.table.forEach((e, i) => {
    if (e.fence.context !== context) return;
    olds.push(e.fence);
    list.table[i] = { fence: replacement, usage };
  });
  if (olds.length === 0) return 0;
  this.seq++;
  replacement.markPublished("resv");
  for (let n = olds.length; n > 0; n--) yield* replacement.get(RESV_HOLDER);
  for (const f of olds) yield* f.put(RESV_HOLDER);
  return olds.length;
}

function* forEachFenceLocked(this: DmaResv, usage: DmaResvUsage): Generator<Effect, DmaResvEntry[], unknown> {
  const it = new DmaResvIter(this, usage);
  const out: DmaResvEntry[] = [];
  for (let f = yield* it.first(); f !== null; f = yield* it.next()) out.push({ fence: f, usage: it.fenceUsage as DmaResvUsage });
  return out;
}

/**
 * struct dma_resv_iter: a cursor over the fences of a reservation object
 * of one usage or stronger. `new DmaResvIter(resv, usage)` is
 * dma_resv_iter_begin().
 *
 * Locked (the lock held): `first()` / `next()` return each fence in turn
 * (no reference taken), null at the end.
 *
 * Unlocked: `firstUnlocked()` / `nextUnlocked()` return each unsignalled
 * fence, holding a reference to it (tag "dma_resv_iter") until the next
 * call or `end()`. Each call runs under rcuReadLock(), takes the fence
 * with getRcu() (skipping one being released) and, when a writer changed
 * the list meanwhile (the sequence count moved), restarts from the first
 * fence: `isRestarted` is then true, and a caller that accumulates must
 * start over. Call `end()` (dma_resv_iter_end) when done.
 */
export class DmaResvIter {
  /** @internal */ list: DmaResvList | null = null;
  /** @internal */ index = 0;
  /** @internal The list's length when the walk (re)started. */ seen = 0;
  /** @internal The sequence count the walk started at. */ seq = 0;
  /** @internal The current fence (unlocked: a reference is held). */ fence: DmaFence | null = null;
  /** @internal */ current: DmaResvUsage | null = null;
  /** @internal */ restarted = false;

  /**
   * @throws ArgumentError naming `resv` (not a DmaResv) or `usage`.
   */
  constructor(
    readonly resv: DmaResv,
    readonly usage: DmaResvUsage,
  ) {
    arg("resv", is.instanceOf(DmaResv), resv);
    arg("usage", USAGE_RULE, usage);
  }

  /** Mirrors dma_resv_iter_is_restarted(): the last call started over from the first fence. A query. */
  get isRestarted(): boolean {
    return this.restarted;
  }

  /** Mirrors dma_resv_iter_usage(): the usage of the current fence, or null. A query. */
  get fenceUsage(): DmaResvUsage | null {
    return this.current;
  }

  /** Fences in the list when the unlocked walk last (re)started (the cursor's num_fences). A query. */
  get numFences(): number {
    return this.seen;
  }

  /** Mirrors dma_resv_iter_first(): with the lock held (else a `lock-not-held` report). */
  first(): Op<DmaFence | null> {
    return makeOp("dma_resv_iter_first", this, iterLocked, true);
  }

  /** Mirrors dma_resv_iter_next(): with the lock held. */
  next(): Op<DmaFence | null> {
    return makeOp("dma_resv_iter_next", this, iterLocked, false);
  }

  /** Mirrors dma_resv_iter_first_unlocked(). */
  firstUnlocked(): Op<DmaFence | null> {
    return makeOp("dma_resv_iter_first_unlocked", this, iterUnlocked, true);
  }

  /** Mirrors dma_resv_iter_next_unlocked(). */
  nextUnlocked(): Op<DmaFence | null> {
    return makeOp("dma_resv_iter_next_unlocked", this, iterUnlocked, false);
  }

  /** Mirrors dma_resv_iter_end(): drop the reference to the current fence (unlocked iteration). */
  end(): Op<void> {
    return makeOp("dma_resv_iter_end", this, iterEnd);
  }
}

function* iterLocked(this: DmaResvIter, first: boolean): Generator<Effect, DmaFence | null, unknown> {
  const resv = this.resv;
  const op = first ? "DmaResv.iterFirst" : "DmaResv.iterNext";
  const list = yield* resvStep(resv, RESV_READ, false);
  touch(resv.sim, resv, false, op);
  guardLive(resv, op);
  if (first && usedAfterFini(resv, "dma_resv_iter_first")) {
    this.list = null;
    this.index = 0;
  } else resv.assertHeld();
  if (first) {
    this.index = 0;
    this.list = list;
  }
  this.restarted = first;
  const l = this.list;
  if (l === null) return (this.fence = null);
  touch(resv.sim, l, false, op);
  guardLive(l, op);
  const want = rank(this.usage);
  while (this.index < l.table.length) {
    const e = l.table[this.index++] as DmaResvEntry;
    if (rank(e.usage) <= want) {
      this.current = e.usage;
      return (this.fence = e.fence);
    }
  }
  this.current = null;
  return (this.fence = null);
}

/** dma_resv_iter_restart_unlocked(): one step reading the sequence count, the list pointer and its length. */
function* restartUnlocked(it: DmaResvIter): Generator<Effect, void, unknown> {
  const resv = it.resv;
  const list = yield* resvStep(resv, RESV_READ, false);
  touch(resv.sim, resv, false, "DmaResvIter.restart");
  guardLive(resv, "DmaResvIter.restart");
  // After fini() the list is gone (null): an unlocked reader finds no fences and files nothing (see docs/dma-resv.md).
  it.seq = resv.seq;
  it.index = 0;
  it.list = list;
  it.seen = 0;
  if (list !== null) {
    touch(resv.sim, list, false, "DmaResvIter.restart");
    guardLive(list, "DmaResvIter.restart");
    it.seen = list.table.length;
  }
  it.restarted = true;
}

/** dma_resv_iter_walk_unlocked(): on to the next unsignalled fence of the usage, with a reference. */
function* walkUnlocked(it: DmaResvIter): Generator<Effect, void, unknown> {
  const list = it.list;
  if (list === null) {
    // Kernel: returns early and keeps the previous fence as the cursor's,
    // so a list gone (fini, or emptied by dma_resv_copy_fences()) under a
    // walk would return it again. Here it is dropped: the walk ends.
    const prev = it.fence;
    it.fence = null;
    it.current = null;
    if (prev !== null) yield* prev.put(RESV_ITER_HOLDER);
    return;
  }
  const want = rank(it.usage);
  for (;;) {
    const prev = it.fence;
    it.fence = null;
    it.current = null;
    if (prev !== null) yield* prev.put(RESV_ITER_HOLDER);
    if (it.index >= it.seen) return;
    // Read one entry of the list: a step, so a writer (or a free) can come in between.
    yield new Effect(RESV_READ, list, READ, list);
    touch(it.resv.sim, list, false, "DmaResvIter.walk");
    if (!guardLive(list, "DmaResvIter.walk")) return;
    const e = list.table[it.index++];
    if (e === undefined) return;
    if (!(yield* e.fence.getRcu(RESV_ITER_HOLDER))) return;
    it.fence = e.fence;
    it.current = e.usage;
    // dma_fence_is_signaled() reads the fence: a step of its own, ordered against its signal.
    yield new Effect(RESV_READ, e.fence, READ, e.fence);
    if (!e.fence.isSignaled() && want >= rank(e.usage)) return;
  }
}

/** read_seqcount_retry(): one step; true when a writer changed the list since the walk started. */
function* seqRetry(it: DmaResvIter): Generator<Effect, boolean, unknown> {
  const resv = it.resv;
  yield new Effect(RESV_READ, resv, READ, resv);
  touch(resv.sim, resv, false, "DmaResvIter.retry");
  return resv.seq !== it.seq;
}

function* iterUnlocked(this: DmaResvIter, first: boolean): Generator<Effect, DmaFence | null, unknown> {
  yield* rcuReadLock();
  if (first) {
    do {
      yield* restartUnlocked(this);
      yield* walkUnlocked(this);
    } while (yield* seqRetry(this));
  } else {
    this.restarted = false;
    let restart = yield* seqRetry(this);
    do {
      if (restart) yield* restartUnlocked(this);
      yield* walkUnlocked(this);
      restart = true;
    } while (yield* seqRetry(this));
  }
  yield* rcuReadUnlock();
  return this.fence;
}

function* iterEnd(this: DmaResvIter): Generator<Effect, void, unknown> {
  const f = this.fence;
  this.fence = null;
  this.current = null;
  if (f !== null) yield* f.put(RESV_ITER_HOLDER);
}

function* getFences(this: DmaResv, usage: DmaResvUsage): Generator<Effect, DmaFence[], unknown> {
  const it = new DmaResvIter(this, usage);
  const out: DmaFence[] = [];
  for (let f = yield* it.firstUnlocked(); f !== null; f = yield* it.nextUnlocked()) {
    if (it.isRestarted) while (out.length > 0) yield* (out.pop() as DmaFence).put();
    yield* f.get();
    out.push(f);
  }
  yield* it.end();
  return out;
}

function* getSingleton(this: DmaResv, usage: DmaResvUsage): Generator<Effect, DmaFence | null | "nomem", unknown> {
  const fences = yield* getFences.call(this, usage);
  if (fences.length === 0) return null;
  if (fences.length === 1) return fences[0] as DmaFence;
  const array = yield* dmaFenceArrayCreate(fences);
  if (array !== null) return array;
  for (let i = fences.length - 1; i >= 0; i--) yield* (fences[i] as DmaFence).put();
  return "nomem";
}

function* waitTimeout(this: DmaResv, usage: DmaResvUsage, intr: boolean, timeoutNs: number): Generator<Effect, number | "interrupted", unknown> {
  const sim = this.sim;
  const deadline = sim.now + timeoutNs;
  const it = new DmaResvIter(this, usage);
  for (let f = yield* it.firstUnlocked(); f !== null; f = yield* it.nextUnlocked()) {
    const left = Math.max(0, deadline - sim.now);
    const r = yield* f.waitTimeout(intr, left);
    if (r !== "signalled") {
      yield* it.end();
      return r === "interrupted" ? "interrupted" : 0;
    }
  }
  yield* it.end();
  return Math.max(1, deadline - sim.now);
}

function* testSignaled(this: DmaResv, usage: DmaResvUsage): Generator<Effect, boolean, unknown> {
  const it = new DmaResvIter(this, usage);
  const f = yield* it.firstUnlocked();
  yield* it.end();
  return f === null;
}

function* fini(this: DmaResv): Generator<Effect, void, unknown> {
  const sim = this.sim;
  let list: DmaResvList | null;
  for (;;) {
    list = this.list;
    // The step also reads the lock (ww_mutex_destroy()'s check that it is free).
    const also: Access[] = [...(listAccess(list, "write") ?? []), { object: this.wwMutex, mode: "read" }];
    yield new Effect(RESV_FINI, this, WRITE, this, null, Infinity, null, also);
    if (this.list === list) break;
  }
  touch(sim, this, true, "DmaResv.fini");
  guardLive(this, "DmaResv.fini");
  if (this.finiSite !== null) {
    fileMisuse(this, "fini-twice", "dma_resv_fini");
    return;
  }
  // Kernel: ww_mutex_destroy() warns (CONFIG_DEBUG_MUTEXES) and the list is freed anyway.
  if (this.wwMutex.isLocked()) fileMisuse(this, "fini-while-locked", "dma_resv_fini");
  this.finiSite = sim.site("dma_resv_fini");
  if (list === null) return;
  touch(sim, list, true, "DmaResv.fini");
  guardLive(list, "DmaResv.fini");
  this.list = null;
  this.seq++;
  this.nSlots = 0;
  this.slotsHold = -1;
  for (const e of list.table) yield* e.fence.put(RESV_HOLDER);
  yield* kfreeRcu(list);
}
