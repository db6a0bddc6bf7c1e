/**
 * WwMutex: wound/wait mutexes, their classes and acquire contexts.
 *
 * Mirrors: struct ww_class (DEFINE_WD_CLASS / DEFINE_WW_CLASS), struct
 *   ww_mutex — ww_mutex_lock(), ww_mutex_lock_interruptible(),
 *   ww_mutex_lock_slow(), ww_mutex_lock_slow_interruptible(),
 *   ww_mutex_trylock(), ww_mutex_unlock(), ww_mutex_is_locked() — and struct
 *   ww_acquire_ctx — ww_acquire_init(), ww_acquire_done(), ww_acquire_fini();
 *   CONFIG_DEBUG_WW_MUTEX_SLOWPATH's injected back-offs.
 * Ownership: a WwClass lives as long as its Sim (a static in the kernel). A
 *   WwMutex is usually embedded in the object it protects (a dma_resv). A
 *   WwAcquireCtx belongs to the task that initialised it (it lives on that
 *   task's stack in the kernel) and is not a heap object.
 * Locking: every field of a WwMutex and the `wounded` flag of the context
 *   holding it change only inside its ops, one step at a time; the rest of a
 *   context changes only in its own task. Taking a WwMutex may sleep.
 * States: a context goes active → done (optional) → finished; a mutex goes
 *   free → held (with or without a context) → free.
 * Invariants: `heldCtx` is the context of the current hold, or null;
 *   `ctx.acquired` counts the mutexes held under it; `waiters` holds the
 *   contexts blocked on the mutex, oldest (smallest stamp) first. Under
 *   wait-die a context holding locks waits only for a younger one; under
 *   wound-wait it wounds a younger holder, which backs off at its next
 *   contended wait: waits among contexts never stay in a cycle. Misuse is a
 *   `ww-mutex-misuse` report, filed once per context and problem; the op
 *   then carries on as the kernel would.
 *
 * Differences from the kernel are listed where they happen (search "Kernel:").
 */
import { ArgumentError } from "../errors.js";
import { arg, describeValue, is, type Rule } from "../validate.js";
import { defineEffectKind, Effect, WRITE, WRITE_IF, type Access, type Waitable } from "../kernel/effect.js";
import { guardLive, noteTouched, SimObject, touch } from "../kernel/heap.js";
import { makeNamedOp, makeOp, type Op } from "../kernel/op.js";
import { Sim } from "../kernel/sim.js";
import { current, type Task } from "../kernel/task.js";
import type { WwMutexMisuseReport } from "../report/report.js";
import { checkMightSleep, currentIn } from "../kernel/context.js";
import { heldRefs, type AcquireOptions, type LockClass, type LockdepMap } from "../kernel/lockdep.js";
import { LOCK as LOCK_KIND, LockObject, UNLOCK, type LockOptions } from "./lock-object.js";

/**
 * A ww acquisition attempt with a context: takes the mutex if free, else
 * joins its wait list (and may wound the holder); never blocks. Wait-die and
 * wound-wait read and change the state of other contexts of the class, so
 * every ww step also writes the class.
 */
export const WW_LOCK = defineEffectKind({ name: "ww-lock" });
/** A context's wait on a ww mutex: ends when the mutex is free, when it must back off, or on a signal. */
export const WW_WAIT = defineEffectKind({ name: "ww-wait" });
/** ww_mutex_trylock(). */
export const WW_TRYLOCK = defineEffectKind({ name: "ww-trylock", progress: false });
/** ww_acquire_init(): takes the class's next stamp. */
export const WW_ACQUIRE_INIT = defineEffectKind({ name: "ww-acquire-init" });

/** How a ForeignSimError names ww_acquire_init()'s operand, and a ww_mutex_lock()'s. */
const WW_INIT_NAMES = ["wwClass", null, null, null] as const;
const CTX_NAMES = ["this", "ctx", null, null] as const;

function* acquireInit(this: WwClass, inject: number): Generator<Effect, WwAcquireCtx, unknown> {
  yield this.initEffect;
  touch(this.sim, this, true, "WwAcquireCtx.init");
  return WwAcquireCtx.make(this.sim, this, inject);
}
import type { LockResult } from "./mutex.js";

/** How a class resolves contention between contexts. */
export type WwAlgorithm = "wait-die" | "wound-wait";

/**
 * How a ww lock attempt ended: the kernel's 0, -EALREADY (this context holds
 * it already), -EDEADLK (back off: unlock everything, then `lockSlow`) and
 * -EINTR.
 */
export type WwLockResult = "locked" | "already-held" | "backoff" | "interrupted";

/** Options of a {@link WwClass}. */
export interface WwClassOptions {
  /** `"wait-die"` (DEFINE_WD_CLASS; reservation_ww_class is one) or `"wound-wait"` (DEFINE_WW_CLASS). Required. */
  readonly algorithm: WwAlgorithm;
  /**
   * Default of {@link WwAcquireCtxOptions.injectBackoffAt} for every context
   * of the class (default 0: never inject).
   */
  readonly injectBackoffAt?: number | "explore";
}

/** Options of {@link WwAcquireCtx.init}. */
export interface WwAcquireCtxOptions {
  /**
   * Make the n-th counted attempt of this context back off (the kernel's
   * CONFIG_DEBUG_WW_MUTEX_SLOWPATH, made deterministic). Counted attempts are
   * the `lock`/`lockInterruptible` calls under the context that start with
   * at least one mutex held under it and do not return `"already-held"`;
   * `lockSlow*` and `trylock` never count. The n-th (1-based) returns
   * `"backoff"` without taking the mutex, whatever its state, and sets it as
   * the contending lock, so `lockSlow` on it is correct. Injects once.
   * `"explore"` makes every counted attempt an injected choice (`sim.choose`)
   * that the explorer covers like a scheduling choice, at most
   * {@link EXPLORED_BACKOFFS} times per context so a retry loop ends.
   * Default: the class's value; 0 disables.
   */
  readonly injectBackoffAt?: number | "explore";
}

/** At most this many explored back-offs per context (`injectBackoffAt: "explore"`). */
export const EXPLORED_BACKOFFS = 2;

/** The internal value of `injectBackoffAt: "explore"`. */
const EXPLORE = -1;

/** Options of a {@link WwMutex}: a lock's (`name`, `embeddedIn`, `static`). */
export type WwMutexOptions = LockOptions;

type Problem = WwMutexMisuseReport["problem"];

const PROBLEM_BITS: Record<Problem, number> = {
  "slow-lock-without-backoff": 256,
  "class-mismatch": 512,
  "slow-lock-with-locks-held": 1,
  "slow-lock-wrong-mutex": 2,
  "fini-with-locks-held": 4,
  "used-after-fini": 8,
  "acquire-after-done": 16,
  "unlock-not-held": 32,
  "two-contexts": 64,
  "done-twice": 128,
};

/**
 * The kernel's check each problem stands for: the DEBUG_LOCKS_WARN_ON
 * condition (or lockdep report) that fires, and where. Reports carry it as
 * `check`, so two problems found at one call are told apart by what the
 * kernel tested.
 */
const PROBLEM_CHECKS: Record<Problem, string> = {
  "slow-lock-without-backoff": "!ctx->contending_lock in ww_mutex_lock_slow()",
  "slow-lock-wrong-mutex": "ww_ctx->contending_lock != ww in ww_mutex_lock_acquired()",
  "slow-lock-with-locks-held": "ww_ctx->acquired > 0 after -EDEADLK, in ww_mutex_lock_acquired()",
  "class-mismatch": "ww_ctx->ww_class != ww->ww_class in ww_mutex_lock_acquired()",
  "acquire-after-done": "ww_ctx->done_acquire in ww_mutex_lock_acquired()",
  "done-twice": "ctx->done_acquire in ww_acquire_done()",
  "fini-with-locks-held": "ctx->acquired in ww_acquire_fini()",
  "used-after-fini": "the context is used after ww_acquire_fini() (a freed stack object in the kernel)",
  "unlock-not-held": "the owner is not current in ww_mutex_unlock()",
  "two-contexts": "lockdep: recursive locking of the class's acquire map in ww_acquire_init()",
};

/** `injectBackoffAt`: a count >= 0, or "explore". */
const injection: Rule = (argument, v) => {
  if (v !== "explore") is.count(argument, v);
};

function checkInjection(value: number | "explore" | undefined): number | undefined {
  return value === "explore" ? EXPLORE : value;
}

const CLASS_OPTIONS = is.options<WwClassOptions>({ algorithm: is.oneOf("wait-die", "wound-wait"), injectBackoffAt: injection });
const CTX_OPTIONS = is.options<WwAcquireCtxOptions>({ injectBackoffAt: injection });
const MUTEX_OPTIONS = is.options<WwMutexOptions>({ name: is.string, embeddedIn: is.instanceOf(SimObject), static: is.boolean });


/** A ww class: the stamp counter and lockdep classes shared by its mutexes and contexts. */
export class WwClass {
  readonly algorithm: WwAlgorithm;
  /** The lockdep class of every mutex of the class (`<name>_mutex`). */
  readonly mutexClass: LockClass;
  /** The lockdep class of every acquire context of the class (`<name>_acquire`). */
  readonly acquireClass: LockClass;
  /** @internal */ readonly injectBackoffAt: number;
  /** @internal The last stamp handed out; the first context gets 1. */ stamp = 0;
  /** @internal The step of ww_acquire_init(): it writes the class (its stamp). */ readonly initEffect: Effect;

  /**
   * Mirrors DEFINE_WD_CLASS / DEFINE_WW_CLASS. For `"reservation_ww_class"`
   * the mutex class is lockdep's primed `classes.resv`.
   *
   * @throws ArgumentError naming `sim` (not a Sim), `name` (not a non-empty
   *   string), `options` (missing or not an options object), an unknown
   *   option's key, `algorithm` (missing or not "wait-die"/"wound-wait"), or
   *   `injectBackoffAt` (ArgumentRangeError when negative or not an
   *   integer). Nothing is created then: no stamp, no lockdep class.
   */
  constructor(
    readonly sim: Sim,
    readonly name: string,
    options: WwClassOptions,
  ) {
    arg("sim", is.instanceOf(Sim), sim);
    arg("name", is.nonEmptyString, name);
    // Required, though the type says so: JavaScript callers may leave it out.
    if ((options as WwClassOptions | undefined) === undefined) throw new ArgumentError("options", "a ww class needs options with its algorithm");
    CLASS_OPTIONS("options", options);
    const algorithm = options.algorithm as WwAlgorithm | undefined;
    if (algorithm === undefined) throw new ArgumentError("algorithm", 'is a required option: "wait-die" or "wound-wait"');
    this.algorithm = algorithm;
    this.injectBackoffAt = checkInjection(options.injectBackoffAt) ?? 0;
    // Every ww step writes the class (see WW_LOCK): it needs a footprint key.
    sim.heap.share(this);
    this.initEffect = new Effect(WW_ACQUIRE_INIT, null, WRITE, this);
    this.mutexClass = sim.lockdep.lockClass(`${name}_mutex`, "sleep");
    // Kernel: the context's map is a plain lockdep_init_map() with no wait
    // type; initialising a context never sleeps.
    this.acquireClass = sim.lockdep.lockClass(`${name}_acquire`, "none");
  }

  /** How errors name the class: `WwClass "reservation_ww_class"`. */
  get label(): string {
    return `WwClass "${this.name}"`;
  }
}

/**
 * The Waitable of a context blocked on a ww mutex, one per context (a
 * context waits for one mutex at a time), so a contended wait allocates
 * nothing but its effect.
 */
class CtxWait implements Waitable {
  /** The mutex waited for, while waiting. */ lock: WwMutex | null = null;
  interruptible = false;
  /** A slow-path wait never backs off. */ slow = false;

  constructor(private readonly ctx: WwAcquireCtx) {}

  get label(): string {
    return this.lock === null ? this.ctx.label : this.lock.label;
  }

  // RELIES ON: reading only own data fields of the mutex, which stay quiet
  // after it is freed (the scheduler polls; the task reports on its access).
  canProceed(task: Task): boolean {
    const m = this.lock as WwMutex;
    return m.heldBy === null || (this.interruptible && task.signalPending) || (!this.slow && mustBackOff(m, this.ctx));
  }

  wakers(): readonly Task[] {
    const holder = this.lock?.heldBy ?? null;
    return holder === null ? [] : [holder];
  }
}

/**
 * An acquire context: one transaction taking several mutexes of one class.
 * Its stamp orders it against the others: smaller is older, and older wins.
 */
export class WwAcquireCtx implements LockdepMap {
  /** The class's `<name>_acquire` lockdep class (this context is a lockdep map). */
  readonly lockClass: LockClass;
  /** `WwAcquireCtx "reservation_ww_class" stamp 3`. */
  readonly label: string;
  /** @internal */ readonly waitDie: boolean;
  /** @internal Mutexes held under it. */ nAcquired = 0;
  /** @internal */ isWounded = false;
  /** @internal The mutex of the last back-off, until a mutex is taken under the context. */ contending: WwMutex | null = null;
  /** @internal */ isDone = false;
  /** @internal */ isFinished = false;
  /** @internal Whether the task's lockdep stack holds this context's map. */ mapHeld = false;
  /** @internal PROBLEM_BITS already reported for this context. */ reported = 0;
  /** @internal Counted attempts so far (see WwAcquireCtxOptions.injectBackoffAt). */ attempts = 0;
  /** @internal Back-offs injected so far. */ injected = 0;
  /** @internal */ readonly injectAt: number;
  /** @internal */ readonly wait: CtxWait;
  /** @internal Lockdep options of a mutex taken under it, made once. */ readonly nestOptions: AcquireOptions;
  /** @internal */ readonly nestTrylockOptions: AcquireOptions;

  private constructor(
    readonly sim: Sim,
    readonly wwClass: WwClass,
    /** The task that initialised it, which alone may use it. */
    readonly task: Task,
    readonly stamp: number,
    injectAt: number,
  ) {
    this.lockClass = wwClass.acquireClass;
    this.label = `WwAcquireCtx "${wwClass.name}" stamp ${stamp}`;
    this.waitDie = wwClass.algorithm === "wait-die";
    this.injectAt = injectAt;
    this.wait = new CtxWait(this);
    this.nestOptions = { nest: this };
    this.nestTrylockOptions = { trylock: true, nest: this };
  }

  /**
   * Mirrors ww_acquire_init(): a new context of `wwClass` for the current
   * task, with the class's next stamp; run it with `yield*`:
   * `const ctx = yield* WwAcquireCtx.init(cls)`. The class knows its Sim;
   * the older form `WwAcquireCtx.init(sim, cls, options?)` still works, and
   * then `sim` must be the class's. It is a step of its own, writing the
   * class: which context is older decides who backs off, so the order of
   * two tasks' inits is one the explorer must try both ways. A second live
   * context of the same class in one task is a `two-contexts` report.
   *
   * @throws ArgumentError naming `wwClass` (not a WwClass, or not of `sim`),
   *   `sim` (given and not a Sim), `options` (not an options object), an
   *   unknown option's key, or `injectBackoffAt` (ArgumentRangeError when
   *   negative or not an integer).
   */
  static init(wwClass: WwClass, options?: WwAcquireCtxOptions): Op<WwAcquireCtx>;
  static init(sim: Sim, wwClass: WwClass, options?: WwAcquireCtxOptions): Op<WwAcquireCtx>;
  static init(first: Sim | WwClass, second?: WwClass | WwAcquireCtxOptions, third?: WwAcquireCtxOptions): Op<WwAcquireCtx> {
    let wwClass: WwClass;
    let options: WwAcquireCtxOptions | undefined;
    if (first instanceof Sim) {
      wwClass = arg("wwClass", is.instanceOf(WwClass), second as WwClass);
      if (wwClass.sim !== first) throw new ArgumentError("wwClass", "belongs to another Sim than `sim`");
      options = third;
    } else {
      wwClass = arg("wwClass", is.instanceOf(WwClass), first);
      options = second;
    }
    if (options !== undefined) CTX_OPTIONS("options", options);
    const inject = checkInjection(options?.injectBackoffAt) ?? wwClass.injectBackoffAt;
    // The class is the Sim-owned operand, named as the caller passed it.
    return makeNamedOp("ww_acquire_init", WW_INIT_NAMES, wwClass, acquireInit, inject);
  }

  /** @internal The body of init(), once its step runs. */
  static make(sim: Sim, wwClass: WwClass, inject: number): WwAcquireCtx {
    const task = current();
    const ctx = new WwAcquireCtx(sim, wwClass, task, ++wwClass.stamp, inject);
    let other: LockdepMap | null = null;
    for (let hi = 0; hi < task.held.length; hi++) {
      const h = task.held.at(hi);
      if (h.cls === wwClass.acquireClass) other = h.map;
    }
    if (other === null) {
      sim.lockdep.acquire(task, ctx, "ww_acquire_init");
      // Taken in this step, the init's own: held lists and witnesses name it.
      sim.lockdep.acquired(task, ctx, null, "ww_acquire_init");
      ctx.mapHeld = true;
    } else {
      // Kernel: lockdep reports this as recursive locking of the acquire
      // class. One dedicated report instead, so the map is not taken twice.
      misuse(ctx, "two-contexts", null, `${other.label} is still active in ${task.label}; mixing contexts of one class can deadlock undetected`);
    }
    return ctx;
  }

  /** Mutexes held under the context (the kernel's ctx->acquired). */
  get acquired(): number {
    return this.nAcquired;
  }

  /** Whether an older context wounded it (wound-wait): its next contended wait, holding locks, backs off. */
  get wounded(): boolean {
    return this.isWounded;
  }

  /** The mutex that returned the last `"backoff"`, until a mutex is taken under the context. */
  get contendingLock(): WwMutex | null {
    return this.contending;
  }

  /**
   * Mirrors ww_acquire_done(): the acquire phase is over; taking another
   * mutex under the context is an `acquire-after-done` report, and calling
   * it twice is `done-twice` (the kernel warns on both).
   */
  done(): void {
    // The task first: outside one nothing may change.
    const task = this.mapHeld && !this.isFinished ? currentIn("WwAcquireCtx.done") : null;
    if (this.isFinished) {
      misuse(this, "used-after-fini", null, "ww_acquire_done() after ww_acquire_fini()");
      return;
    }
    // Kernel: ww_acquire_done() asserts the context's map is held.
    if (task !== null) this.sim.lockdep.assertHeld(task, this, this.task);
    if (this.isDone) misuse(this, "done-twice", null, "ww_acquire_done() called twice");
    this.isDone = true;
  }

  /**
   * Mirrors ww_acquire_fini(): end the context. Mutexes still held under it
   * are a `fini-with-locks-held` report; any later use of the context is
   * `used-after-fini`.
   */
  fini(): void {
    // The task first: outside one nothing may change.
    const task = this.mapHeld && !this.isFinished ? currentIn("WwAcquireCtx.fini") : null;
    if (this.isFinished) {
      misuse(this, "used-after-fini", null, "ww_acquire_fini() called twice");
      return;
    }
    if (this.nAcquired > 0) {
      misuse(this, "fini-with-locks-held", null, `${this.nAcquired} ww_mutex lock(s) still held under the context`);
    }
    this.isFinished = true;
    if (task !== null) {
      this.mapHeld = false;
      this.sim.lockdep.release(task, this, this.task);
    }
  }
}

/** A wound/wait mutex: a sleeping lock of one WwClass. */
export class WwMutex extends LockObject {
  /** @internal The context of the current hold (the kernel's ww->ctx). */ heldCtx: WwAcquireCtx | null = null;
  /** @internal Contexts blocked on it, oldest first (the kernel's stamp-ordered wait list). */ readonly waiters: WwAcquireCtx[] = [];
  /** @internal The waitable of an interruptible wait without a context. */ readonly interruptible: Waitable;

  /**
   * Mirrors ww_mutex_init(): `new WwMutex(sim, resvClass, { name: "bo->resv", embeddedIn: bo })`.
   * Its lockdep class is always the class's `<name>_mutex`; `name` names the
   * instance (default: that class name).
   *
   * @throws ArgumentError naming `sim`, `wwClass` (not a WwClass, or of
   *   another Sim), `options` (not an options object), an unknown option's
   *   key, `name`, `embeddedIn` or `static` (wrong type), or
   *   `embeddedIn` (of another Sim).
   */
  constructor(
    sim: Sim,
    readonly wwClass: WwClass,
    options: WwMutexOptions = {},
  ) {
    arg("sim", is.instanceOf(Sim), sim);
    arg("wwClass", is.instanceOf(WwClass), wwClass);
    if (wwClass.sim !== sim) throw new ArgumentError("wwClass", "belongs to another Sim");
    MUTEX_OPTIONS("options", options);
    super(sim, "WwMutex", wwClass.mutexClass.name, "sleep", options);
    this.interruptible = {
      label: this.label,
      canProceed: (t: Task) => this.heldBy === null || t.signalPending,
      wakers: () => this.wakers(),
    };
    const cls: readonly Access[] = [{ object: wwClass, mode: "write" }];
    this.classAccess = cls;
    this.attemptEffect = new Effect(WW_LOCK, this, WRITE, this, null, Infinity, null, cls);
    this.wwTrylockEffect = new Effect(WW_TRYLOCK, this, WRITE, this, null, Infinity, null, cls);
    this.wwUnlockEffect = new Effect(UNLOCK, this, WRITE_IF, this, null, Infinity, this.holdsIt, cls);
  }

  /** @internal Every ww step also writes the class: see WW_LOCK. */ readonly classAccess: readonly Access[];
  /** @internal */ readonly attemptEffect: Effect;
  /** @internal */ readonly wwTrylockEffect: Effect;
  /** @internal */ readonly wwUnlockEffect: Effect;

  /** The context of the current hold, if any (the kernel's ww->ctx, as dma_resv_locking_ctx() reads it). */
  get ctx(): WwAcquireCtx | null {
    return this.heldCtx;
  }

  /**
   * Mirrors ww_mutex_lock(). With a context: `"already-held"` if the context
   * holds it, `"backoff"` if the context must release everything and
   * `lockSlow` this mutex. With null: a plain mutex lock. A context of
   * another ww class is a `class-mismatch` report, and the lock goes on.
   * The same holds for every lock op below.
   *
   * @throws ArgumentError naming `ctx` when it is neither null nor a
   *   WwAcquireCtx of this mutex's Sim (`lockSlow*` take no null); no op is
   *   made then.
   */
  lock(ctx: WwAcquireCtx | null): Op<WwLockResult> {
    return makeNamedOp("ww_mutex_lock", CTX_NAMES, this, wwLock, this.checkCtx(ctx), LOCK);
  }

  /** Mirrors ww_mutex_lock_interruptible(): as `lock`, or `"interrupted"` if a signal ends the wait. */
  lockInterruptible(ctx: WwAcquireCtx | null): Op<WwLockResult> {
    return makeNamedOp("ww_mutex_lock_interruptible", CTX_NAMES, this, wwLock, this.checkCtx(ctx), INTERRUPTIBLE);
  }

  /**
   * Mirrors ww_mutex_lock_slow(): after a back-off on this mutex, with every
   * other mutex of the context released, wait for it; never backs off.
   */
  lockSlow(ctx: WwAcquireCtx): Op<void> {
    return makeNamedOp("ww_mutex_lock_slow", CTX_NAMES, this, wwLock, this.checkCtx(ctx, false), SLOW) as Op<unknown> as Op<void>;
  }

  /** Mirrors ww_mutex_lock_slow_interruptible(). */
  lockSlowInterruptible(ctx: WwAcquireCtx): Op<LockResult> {
    return makeNamedOp("ww_mutex_lock_slow_interruptible", CTX_NAMES, this, wwLock, this.checkCtx(ctx, false), SLOW | INTERRUPTIBLE) as Op<unknown> as Op<LockResult>;
  }

  /** Mirrors ww_mutex_trylock(): take it if free, never sleep, never back off. */
  trylock(ctx: WwAcquireCtx | null): Op<boolean> {
    return makeNamedOp("ww_mutex_trylock", CTX_NAMES, this, wwTrylock, this.checkCtx(ctx));
  }

  /** Mirrors ww_mutex_unlock(). Unlocking a mutex the task does not hold is `unlock-not-held`. */
  unlock(): Op<void> {
    return makeOp("ww_mutex_unlock", this, wwUnlock);
  }

  /** Mirrors lockdep_assert_held() on this exact mutex (dma_resv_assert_held()). */
  assertHeld(): boolean {
    return this.sim.lockdep.assertHeld(currentIn(`${this.constructor.name}.assertHeld`), this, this.heldBy);
  }

  /** Mirrors ww_mutex_is_locked(). A query: no effect. */
  isLocked(): boolean {
    noteTouched(this.sim, this, false);
    return this.heldBy !== null;
  }

  /**
   * The `ctx` argument of a lock op: a WwAcquireCtx of this Sim (or null
   * where the op takes one). A context of another ww class is not refused:
   * as the kernel's debug build warns and goes on (ww_test_diff_class), it
   * is a `class-mismatch` report when the op runs.
   */
  private checkCtx(ctx: WwAcquireCtx | null, nullable = true): WwAcquireCtx | null {
    if (ctx === null && nullable) return null;
    // Not is.instanceOf(): the context's constructor is private.
    if (!(ctx instanceof WwAcquireCtx)) throw new ArgumentError("ctx", `must be ${nullable ? "a WwAcquireCtx or null" : "a WwAcquireCtx"}, got ${describeValue(ctx)}`);
    if (ctx.sim !== this.sim) throw new ArgumentError("ctx", `belongs to another Sim than ${this.label}`);
    return ctx;
  }
}

const LOCK = 0;
const INTERRUPTIBLE = 1;
const SLOW = 2;
const LOCK_OPS = ["ww_mutex_lock", "ww_mutex_lock_interruptible", "ww_mutex_lock_slow", "ww_mutex_lock_slow_interruptible"] as const;

function misuse(ctx: WwAcquireCtx, problem: Problem, lock: WwMutex | null, detail: string): void {
  const sim = ctx.sim;
  const bit = PROBLEM_BITS[problem];
  if (!sim.checks.lockdep || (ctx.reported & bit) !== 0) return;
  ctx.reported |= bit;
  const check = PROBLEM_CHECKS[problem];
  sim.file({ kind: "ww-mutex-misuse", problem, check, ctx: ctx.label, lock: lock === null ? null : lock.label, detail, held: heldRefs(ctx.task) });
}

/**
 * The kernel's __ww_mutex_check_kill() for a context waiting on `m`, less
 * the lock being free: whether it must give up with -EDEADLK now.
 */
function mustBackOff(m: WwMutex, ctx: WwAcquireCtx): boolean {
  // A context holding nothing can be in no cycle: it always waits.
  if (ctx.nAcquired === 0) return false;
  if (!ctx.waitDie) return ctx.isWounded;
  const holder = m.heldCtx;
  if (holder !== null && holder.stamp < ctx.stamp) return true;
  // An older context queued here would take the mutex first, and we would
  // then wait for an older one: die now.
  const first = m.waiters[0];
  return first !== undefined && first.stamp < ctx.stamp;
}

/** Checks at the start of a lock under a context; all report, none refuses. */
function checkLockUse(ctx: WwAcquireCtx, m: WwMutex, op: string, slow: boolean): void {
  const contending = ctx.contending;
  if (contending !== null && contending !== m) {
    misuse(ctx, "slow-lock-wrong-mutex", m, `${op}() after backing off on ${contending.label}, which must be locked first`);
  }
  if ((slow || contending !== null) && ctx.nAcquired > 0) {
    const after = contending === null ? "" : ` after backing off on ${contending.label}`;
    misuse(ctx, "slow-lock-with-locks-held", m, `${op}()${after} with ${ctx.nAcquired} lock(s) still held under the context`);
  }
  if (ctx.isDone) misuse(ctx, "acquire-after-done", m, `${op}() after ww_acquire_done()`);
  // Kernel: warned, then the mutex is taken under the context all the same.
  if (ctx.wwClass !== m.wwClass) {
    misuse(ctx, "class-mismatch", m, `${op}() of a mutex of ww class ${m.wwClass.name} under a context of ww class ${ctx.wwClass.name}`);
  }
}

/** Mirrors ww_mutex_lock_acquired(), plus wound-wait's __ww_mutex_check_waiters() on taking it. */
function take(m: WwMutex, task: Task, ctx: WwAcquireCtx | null, op: string): void {
  m.heldBy = task;
  m.tookNow(task, op);
  if (ctx === null) return;
  m.heldCtx = ctx;
  ctx.nAcquired++;
  ctx.contending = null;
  if (ctx.waitDie) return;
  // We may have overtaken an older context that holds locks: it wounds us.
  for (const w of m.waiters) {
    if (w !== ctx && w.nAcquired > 0 && w.stamp < ctx.stamp) {
      ctx.isWounded = true;
      return;
    }
  }
}

/** Mirrors __ww_mutex_add_waiter(): join the wait list in stamp order; under wound-wait, wound a younger holder. */
function enqueue(m: WwMutex, ctx: WwAcquireCtx): void {
  const waiters = m.waiters;
  let i = waiters.length;
  while (i > 0 && (waiters[i - 1] as WwAcquireCtx).stamp > ctx.stamp) i--;
  waiters.splice(i, 0, ctx);
  const holder = m.heldCtx;
  // Kernel (__ww_mutex_wound): only a waiter that holds locks wounds.
  if (!ctx.waitDie && holder !== null && ctx.nAcquired > 0 && holder.stamp > ctx.stamp) holder.isWounded = true;
}

// A call, so the compiler does not carry an earlier test of `heldBy` across a yield.
function isFree(m: WwMutex): boolean {
  return m.heldBy === null;
}

function dequeue(m: WwMutex, ctx: WwAcquireCtx): void {
  m.waiters.splice(m.waiters.indexOf(ctx), 1);
  ctx.wait.lock = null;
}

function* wwLock(this: WwMutex, ctx: WwAcquireCtx | null, mode: number): Generator<Effect, WwLockResult, unknown> {
  const op = LOCK_OPS[mode] as string;
  const task = current();
  const sim = this.sim;
  const slept = !checkMightSleep(task, op);
  const interruptible = (mode & INTERRUPTIBLE) !== 0;

  if (ctx === null) {
    // Kernel: ww_mutex_lock(lock, NULL) is a plain mutex_lock().
    sim.lockdep.acquire(task, this, op, { sleepReported: slept });
    yield new Effect(LOCK_KIND, this, WRITE_IF, this, interruptible ? this.interruptible : this, Infinity, this, interruptible ? [...this.classAccess, { object: task, mode: "read" }] : this.classAccess);
    touch(this.sim, this, true, "WwMutex.lock");
    guardLive(this, "WwMutex.lock");
    if (this.heldBy !== null) {
      sim.lockdep.release(task, this, this.heldBy);
      return "interrupted";
    }
    take(this, task, null, op);
    return "locked";
  }

  const slow = (mode & SLOW) !== 0;
  if (ctx.isFinished) misuse(ctx, "used-after-fini", this, `${op}() after ww_acquire_fini()`);
  // Kernel: ww_mutex_lock_slow() warns before anything else when nothing backed off.
  if (slow && ctx.contending === null) misuse(ctx, "slow-lock-without-backoff", this, `${op}() with no back-off pending`);
  if (this.heldCtx === ctx) return "already-held";
  checkLockUse(ctx, this, op, slow);
  // Kernel: nobody can wound a context that holds nothing, so a wound from
  // before its last back-off is forgotten here.
  if (ctx.nAcquired === 0) ctx.isWounded = false;
  let inject = false;
  if (!slow && ctx.nAcquired > 0) {
    // An explored back-off is the public choice op: a step of its own (with
    // no target) before the attempt, whose outcome the explorer covers.
    if (ctx.injectAt === EXPLORE) inject = ctx.injected < EXPLORED_BACKOFFS && (yield* sim.choose(2)) === 1;
    else inject = ++ctx.attempts === ctx.injectAt;
  }
  if (inject) ctx.injected++;

  // A finished context no longer holds its map: it was reported above, and
  // lockdep's "nest lock not held" would only say it again.
  const options = ctx.isFinished ? { sleepReported: slept } : slept ? { nest: ctx, sleepReported: true } : ctx.nestOptions;
  sim.lockdep.acquire(task, this, op, options);
  // The attempt is announced first; waiting, if needed, is a second effect,
  // because joining the wait list (and wounding) is visible to other tasks.
  yield this.attemptEffect;
  touch(this.sim, this, true, "WwMutex.lock");
  guardLive(this, "WwMutex.lock");
  if (inject) {
    // Kernel: the slowpath debug option takes the mutex and drops it again
    // on success only; here the n-th attempt backs off whatever the state.
    sim.lockdep.release(task, this, this.heldBy);
    ctx.contending = this;
    sim.note("backoff (injected)");
    return "backoff";
  }
  if (this.heldBy === null) {
    take(this, task, ctx, op);
    return "locked";
  }

  enqueue(this, ctx);
  const wait = ctx.wait;
  wait.lock = this;
  wait.interruptible = interruptible;
  wait.slow = slow;
  // Kernel order in the wait loop: trylock, then signals, then the kill check.
  for (;;) {
    if (isFree(this)) {
      dequeue(this, ctx);
      take(this, task, ctx, op);
      return "locked";
    }
    if (interruptible && task.signalPending) {
      dequeue(this, ctx);
      sim.lockdep.release(task, this, this.heldBy);
      sim.note("interrupted");
      return "interrupted";
    }
    if (!slow && mustBackOff(this, ctx)) {
      dequeue(this, ctx);
      sim.lockdep.release(task, this, this.heldBy);
      ctx.contending = this;
      sim.note("backoff");
      return "backoff";
    }
    yield new Effect(WW_WAIT, this, WRITE, this, wait, Infinity, null, interruptible ? [...this.classAccess, { object: task, mode: "read" }] : this.classAccess);
    touch(this.sim, this, true, "WwMutex.lock");
    guardLive(this, "WwMutex.lock");
  }
}

function* wwTrylock(this: WwMutex, ctx: WwAcquireCtx | null): Generator<Effect, boolean, unknown> {
  if (ctx !== null) {
    if (ctx.isFinished) misuse(ctx, "used-after-fini", this, "ww_mutex_trylock() after ww_acquire_fini()");
    if (ctx.nAcquired === 0) ctx.isWounded = false;
  }
  yield this.wwTrylockEffect;
  touch(this.sim, this, true, "WwMutex.trylock");
  guardLive(this, "WwMutex.trylock");
  if (this.heldBy !== null) return false;
  const task = current();
  // Kernel: the context checks run when a trylock succeeds (ww_mutex_lock_acquired()).
  if (ctx !== null) checkLockUse(ctx, this, "ww_mutex_trylock", false);
  take(this, task, ctx, "ww_mutex_trylock");
  this.sim.lockdep.acquire(task, this, "ww_mutex_trylock", ctx === null || ctx.isFinished ? TRYLOCK : ctx.nestTrylockOptions);
  return true;
}

const TRYLOCK: AcquireOptions = { trylock: true };

function* wwUnlock(this: WwMutex): Generator<Effect, void, unknown> {
  yield this.wwUnlockEffect;
  touch(this.sim, this, true, "WwMutex.unlock");
  guardLive(this, "WwMutex.unlock");
  const task = current();
  const holder = this.heldBy;
  if (holder !== task) {
    // Refused, so the holder's state stays consistent. Lockdep is not asked:
    // its bad-unlock would report the same bug twice.
    if (!this.sim.checks.lockdep) return;
    const held = this.heldCtx;
    this.sim.file({
      kind: "ww-mutex-misuse",
      problem: "unlock-not-held",
      check: PROBLEM_CHECKS["unlock-not-held"],
      ctx: held === null ? "(none)" : held.label,
      lock: this.label,
      detail: holder === null ? "it is not locked" : `it is held by ${holder.label}`,
      held: heldRefs(task),
    });
    return;
  }
  this.sim.lockdep.release(task, this, holder);
  const ctx = this.heldCtx;
  if (ctx !== null) {
    if (ctx.nAcquired > 0) ctx.nAcquired--;
    this.heldCtx = null;
  }
  this.heldBy = null;
  this.acquiredAt = null;
}
