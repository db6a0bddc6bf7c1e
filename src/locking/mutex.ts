/**
 * Mutex: a sleeping lock.
 *
 * Mirrors: struct mutex — mutex_lock(), mutex_lock_interruptible(),
 *   mutex_trylock(), mutex_unlock(), mutex_is_locked(), mutex_lock_nested(),
 *   lockdep_assert_held().
 * Ownership: usually embedded in the object whose fields it protects.
 * Locking: protects itself. Taking it may sleep: never in atomic context.
 * States: free → held by one task → free.
 * Invariants: only the holder unlocks it; a waiter sleeps (is blocked) until
 *   the holder unlocks, or, in an interruptible wait, until it is signalled.
 */
import { Effect, WRITE_IF, type Waitable } from "../kernel/effect.js";
import { guardLive, touch } from "../kernel/heap.js";
import { makeOp, type Op } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import { current, type Task } from "../kernel/task.js";
import { checkMightSleep } from "../kernel/context.js";
import { LOCK, LockObject, type LockOptions } from "./lock-object.js";

/** How a sleeping lock attempt ended (the kernel's 0 or -EINTR). */
export type LockResult = "locked" | "interrupted";

export class Mutex extends LockObject {
  /** @internal The waitable of interruptible waits: a pending signal also wakes them. */
  readonly interruptible: Waitable;

  /** `new Mutex(sim, "vm->update_lock", { embeddedIn: vm })`. */
  constructor(sim: Sim, className: string, options: LockOptions = {}) {
    super(sim, "Mutex", className, "sleep", options);
    this.interruptible = {
      label: this.label,
      canProceed: (t: Task) => this.heldBy === null || t.signalPending,
      wakers: () => this.wakers(),
    };
  }

  /** Mirrors mutex_lock() (mutex_lock_nested() with a subclass). */
  lock(subclass = 0): Op<void> {
    return makeOp("mutex_lock", this, mutexLock, subclass);
  }

  /** Mirrors mutex_lock_interruptible(): `"interrupted"` if a signal ends the wait. */
  lockInterruptible(): Op<LockResult> {
    return makeOp("mutex_lock_interruptible", this, mutexLockInterruptible);
  }

  /** Mirrors mutex_trylock(): take it if free, never sleep. */
  trylock(): Op<boolean> {
    return makeOp("mutex_trylock", this, mutexTrylock);
  }

  /** Mirrors mutex_unlock(). */
  unlock(): Op<void> {
    return makeOp("mutex_unlock", this, mutexUnlock);
  }

  /** Mirrors lockdep_assert_held() on this exact mutex. */
  assertHeld(): boolean {
    return this.sim.lockdep.assertHeld(current(), this, this.heldBy);
  }

  /** Mirrors mutex_is_locked(). A query: no effect. */
  isLocked(): boolean {
    return this.heldBy !== null;
  }
}

function* mutexLock(this: Mutex, subclass: number): Generator<Effect, void, unknown> {
  const task = current();
  const slept = !checkMightSleep(task, "mutex_lock");
  this.sim.lockdep.acquire(task, this, "mutex_lock", { subclass, sleepReported: slept });
  yield this.lockEffect;
  touch(this.sim, this, true, "Mutex.lock");
  guardLive(this, "Mutex.lock");
  this.heldBy = task;
  this.acquiredAt = this.sim.site("mutex_lock");
  this.sim.lockdep.acquired(task, this, this.acquiredAt);
}

function* mutexLockInterruptible(this: Mutex): Generator<Effect, LockResult, unknown> {
  const task = current();
  const slept = !checkMightSleep(task, "mutex_lock_interruptible");
  this.sim.lockdep.acquire(task, this, "mutex_lock_interruptible", { sleepReported: slept });
  yield new Effect(LOCK, this, WRITE_IF, this, this.interruptible);
  touch(this.sim, this, true, "Mutex.lockInterruptible");
  guardLive(this, "Mutex.lockInterruptible");
  if (this.heldBy !== null) {
    // Woken by the signal with the mutex still held elsewhere: -EINTR.
    this.sim.note("interrupted");
    this.sim.lockdep.release(task, this, this.heldBy);
    return "interrupted";
  }
  this.heldBy = task;
  this.acquiredAt = this.sim.site("mutex_lock_interruptible");
  this.sim.lockdep.acquired(task, this, this.acquiredAt);
  return "locked";
}

function* mutexTrylock(this: Mutex): Generator<Effect, boolean, unknown> {
  yield this.trylockEffect;
  touch(this.sim, this, true, "Mutex.trylock");
  guardLive(this, "Mutex.trylock");
  if (this.heldBy !== null) {
    this.sim.note("busy");
    return false;
  }
  this.sim.note("taken");
  const task = current();
  this.heldBy = task;
  this.acquiredAt = this.sim.site("mutex_trylock");
  this.sim.lockdep.acquire(task, this, "mutex_trylock", { trylock: true });
  return true;
}

function* mutexUnlock(this: Mutex): Generator<Effect, void, unknown> {
  yield this.unlockEffect;
  touch(this.sim, this, true, "Mutex.unlock");
  guardLive(this, "Mutex.unlock");
  const task = current();
  // Unlocking someone else's mutex is reported and refused, so the real
  // holder's state stays consistent.
  if (!this.sim.lockdep.release(task, this, this.heldBy) || this.heldBy !== task) return;
  this.heldBy = null;
  this.acquiredAt = null;
}
