/**
 * Mutex: a sleeping lock.
 *
 * Mirrors: struct mutex — mutex_lock(), mutex_lock_interruptible(),
 *   mutex_lock_killable(), mutex_trylock(), mutex_unlock(),
 *   mutex_is_locked(), mutex_lock_nested(), mutex_lock_nest_lock(),
 *   mutex_init(), lockdep_assert_held().
 * Ownership: usually embedded in the object whose fields it protects.
 * Locking: protects itself. Taking it may sleep: never in atomic context.
 * States: free → held by one task → free.
 * Invariants: only the holder unlocks it; a waiter sleeps (is blocked) until
 *   the holder unlocks, or, in an interruptible wait, until it is signalled.
 */
import { Effect, WRITE_IF, type Waitable } from "../kernel/effect.js";
import { guardLive, noteTouched, touch } from "../kernel/heap.js";
import { makeNamedOp, makeOp, makeStepOp, type Op, type StepBody } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import { current, type Task } from "../kernel/task.js";
import { checkMightSleep, checkSubclass, currentIn } from "../kernel/context.js";
import type { AcquireOptions, LockdepMap } from "../kernel/lockdep.js";
import { checkNestLock, NEST_NAMES, LOCK, LockObject, type LockOptions } from "./lock-object.js";

const SLEPT: AcquireOptions = { sleepReported: true };
const AWAKE: AcquireOptions = { sleepReported: false };
const TRYLOCK: AcquireOptions = { trylock: true };

/** How a sleeping lock attempt ended (the kernel's 0 or -EINTR). */
export type LockResult = "locked" | "interrupted";

/**
 * The waitable of a mutex's interruptible waits: the mutex is free, or a
 * signal is pending. A class rather than a literal of two closures and a
 * label string, as a mutex may be made per explored execution.
 */
class Interruptible implements Waitable {
  constructor(private readonly m: Mutex) {}

  get label(): string {
    return this.m.label;
  }

  canProceed(t: Task): boolean {
    return this.m.heldBy === null || t.signalPending;
  }

  wakers(): readonly Task[] {
    return this.m.wakers();
  }
}

export class Mutex extends LockObject {
  /** @internal The waitable of interruptible waits: a pending signal also wakes them. */
  readonly interruptible: Waitable;

  /**
   * `new Mutex(sim, "vm->update_lock", { embeddedIn: vm })`.
   * @throws ArgumentError naming `sim`, `className` or an option.
   */
  constructor(sim: Sim, className: string, options: LockOptions = {}) {
    super(sim, "Mutex", className, "sleep", options);
    this.interruptible = new Interruptible(this);
  }

  /** @internal */
  override get initName(): string {
    return "mutex_init";
  }

  /**
   * Mirrors mutex_lock() (mutex_lock_nested() with a subclass).
   * @throws ArgumentRangeError naming `subclass` unless an integer in [0, 7].
   */
  lock(subclass = 0): Op<void> {
    if (subclass !== 0) checkSubclass(subclass);
    return makeStepOp(this, MUTEX_LOCK, subclass);
  }

  /**
   * Mirrors mutex_lock_nest_lock(): take this mutex while holding `nest`, an
   * outer lock that serialises every taker of this mutex's class; mutexes
   * of one class taken under the same held nest lock are not recursive
   * locking. Without `nest` held, lockdep files `lock-not-held` with
   * `check: "nest-lock"`, naming `nest` and this mutex as `acquiring` (the
   * kernel's "Nested lock was not taken"), and the mutex is still taken.
   * @throws ArgumentError naming `nest` if it is not a lock.
   */
  lockNestLock(nest: LockdepMap): Op<void> {
    checkNestLock(nest);
    return makeNamedOp("mutex_lock_nest_lock", NEST_NAMES, this, mutexLockNestLock, nest);
  }

  /** Mirrors mutex_lock_interruptible(): `"interrupted"` if a signal ends the wait. */
  lockInterruptible(): Op<LockResult> {
    return makeOp("mutex_lock_interruptible", this, mutexLockInterruptible, "mutex_lock_interruptible");
  }

  /**
   * Mirrors mutex_lock_killable(): `"interrupted"` (-EINTR) if a fatal
   * signal (`task.kill()`) ends the wait. The simulation's only signals are
   * fatal, so it waits as lockInterruptible() does.
   */
  lockKillable(): Op<LockResult> {
    return makeOp("mutex_lock_killable", this, mutexLockInterruptible, "mutex_lock_killable");
  }

  /** Mirrors mutex_trylock(): take it if free, never sleep. */
  trylock(): Op<boolean> {
    return makeStepOp(this, MUTEX_TRYLOCK);
  }

  /** Mirrors mutex_unlock(). */
  unlock(): Op<void> {
    return makeStepOp(this, MUTEX_UNLOCK);
  }

  /** Mirrors lockdep_assert_held() on this exact mutex. */
  assertHeld(): boolean {
    return this.sim.lockdep.assertHeld(currentIn(`${this.constructor.name}.assertHeld`), this, this.heldBy);
  }

  /** Mirrors mutex_is_locked(). A query: no effect. */
  isLocked(): boolean {
    noteTouched(this.sim, this, false);
    return this.heldBy !== null;
  }
}

// lock, trylock and unlock yield one effect each: step ops (kernel/op.ts),
// which cost no generator per call. `before` runs up to the effect, `after`
// once the task is resumed past it.

const MUTEX_LOCK: StepBody<Mutex, number, void> = {
  name: "mutex_lock",
  before(m, subclass) {
    const task = current();
    const slept = !checkMightSleep(task, "mutex_lock");
    // Constant options for the usual subclass 0: no object per lock.
    m.sim.lockdep.acquire(task, m, "mutex_lock", subclass !== 0 ? { subclass, sleepReported: slept } : slept ? SLEPT : AWAKE);
    return m.lockEffect;
  },
  after(m) {
    touch(m.sim, m, true, "Mutex.lock");
    guardLive(m, "Mutex.lock");
    const task = current();
    m.heldBy = task;
    m.tookNow(task, "mutex_lock");
  },
};

function* mutexLockNestLock(this: Mutex, nest: LockdepMap): Generator<Effect, void, unknown> {
  const task = current();
  const slept = !checkMightSleep(task, "mutex_lock_nest_lock");
  this.sim.lockdep.acquire(task, this, "mutex_lock_nest_lock", { nest, sleepReported: slept });
  yield this.lockEffect;
  touch(this.sim, this, true, "Mutex.lock");
  guardLive(this, "Mutex.lock");
  this.heldBy = task;
  this.tookNow(task, "mutex_lock_nest_lock");
}

function* mutexLockInterruptible(this: Mutex, op: string): Generator<Effect, LockResult, unknown> {
  const task = current();
  const slept = !checkMightSleep(task, op);
  this.sim.lockdep.acquire(task, this, op, { sleepReported: slept });
  // The wait also reads the task's own pending signal (kill()).
  yield new Effect(LOCK, this, WRITE_IF, this, this.interruptible, Infinity, this, [{ object: task, mode: "read" }]);
  touch(this.sim, this, true, "Mutex.lockInterruptible");
  guardLive(this, "Mutex.lockInterruptible");
  const killable = op === "mutex_lock_killable";
  if (this.heldBy !== null) {
    // Woken by the signal with the mutex still held elsewhere: -EINTR.
    this.sim.note("interrupted");
    this.sim.lockdep.release(task, this, this.heldBy);
    return "interrupted";
  }
  this.heldBy = task;
  this.tookNow(task, killable ? "mutex_lock_killable" : "mutex_lock_interruptible");
  return "locked";
}

const MUTEX_TRYLOCK: StepBody<Mutex, undefined, boolean> = {
  name: "mutex_trylock",
  before: (m) => m.trylockEffect,
  after(m) {
    touch(m.sim, m, true, "Mutex.trylock");
    guardLive(m, "Mutex.trylock");
    if (m.heldBy !== null) {
      m.sim.note("busy");
      return false;
    }
    m.sim.note("taken");
    const task = current();
    m.heldBy = task;
    m.acquiredAt = m.sim.site("mutex_trylock");
    m.sim.lockdep.acquire(task, m, "mutex_trylock", TRYLOCK);
    return true;
  },
};

const MUTEX_UNLOCK: StepBody<Mutex, undefined, void> = {
  name: "mutex_unlock",
  before: (m) => m.unlockEffect,
  after(m) {
    touch(m.sim, m, true, "Mutex.unlock");
    guardLive(m, "Mutex.unlock");
    const task = current();
    // Unlocking someone else's mutex is reported and refused, so the real
    // holder's state stays consistent.
    if (!m.sim.lockdep.release(task, m, m.heldBy) || m.heldBy !== task) return;
    m.heldBy = null;
    m.acquiredAt = null;
  },
};
