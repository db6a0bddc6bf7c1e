/**
 * SpinLock: a lock whose waiters spin, in atomic context; RawSpinLock: the
 * same, of the raw kind.
 *
 * Mirrors: spinlock_t — spin_lock(), spin_trylock(), spin_unlock(),
 *   spin_lock_irqsave()/spin_unlock_irqrestore(), spin_lock_bh()/
 *   spin_unlock_bh(), spin_lock_nested(), spin_lock_nest_lock(),
 *   spin_lock_init(), lockdep_assert_held(); and raw_spinlock_t with the
 *   raw_spin_*() twins. A spinlock_t is wait type LD_WAIT_CONFIG (it sleeps
 *   on PREEMPT_RT), a raw_spinlock_t LD_WAIT_SPIN: a spinlock_t taken under
 *   a raw one is `invalid-wait-context`.
 * Ownership: usually embedded in the object whose fields it protects.
 * Locking: protects itself; its holder is atomic (preemption off) from the
 *   moment it starts spinning until it unlocks, so nothing may sleep inside.
 * States: free → held by one task → free.
 * Invariants: `heldBy` holds it exactly once; a waiter is blocked, not
 *   spinning, in the simulation (the scheduler runs others), but keeps its
 *   atomic context while it waits, as a spinning CPU does.
 */
import { Effect } from "../kernel/effect.js";
import { guardLive, noteTouched, touch } from "../kernel/heap.js";
import { makeNamedOp, makeOp, makeStepOp, type Op, type StepBody } from "../kernel/op.js";
import type { AcquireOptions, LockdepMap } from "../kernel/lockdep.js";
import type { Sim } from "../kernel/sim.js";
import { current } from "../kernel/task.js";
import { ArgumentError, ArgumentRangeError } from "../errors.js";
import { describeValue } from "../validate.js";
import { bhRestore, checkSubclass, currentIn, irqRestore } from "../kernel/context.js";
import { checkNestLock, NEST_NAMES, LockObject, type LockOptions } from "./lock-object.js";

/** The irq state saved by lockIrqsave(), for unlockIrqrestore(). */
export interface IrqFlags {
  /** @internal The task's irq-disable nesting before the save. */
  readonly irqsOff: number;
}

/** The deepest irq-disable nesting a saved state may hold. */
const MAX_IRQ_NESTING = 0xffff;

/**
 * @internal Check the `flags` of an *_irqrestore(): what an *_irqsave()
 * returned (an object whose nesting depth is a small count), before anything
 * changes. A made-up value could otherwise loop or corrupt the task's state.
 *
 * @throws ArgumentError naming `flags` when it is not such an object;
 *   ArgumentRangeError naming `flags.irqsOff` when the depth is out of range.
 */
export function checkIrqFlags(flags: unknown): asserts flags is IrqFlags {
  if (typeof flags !== "object" || flags === null) {
    throw new ArgumentError("flags", `must be the IrqFlags an *_irqsave() returned, got ${describeValue(flags)}`);
  }
  const depth = (flags as { irqsOff?: unknown }).irqsOff;
  if (typeof depth !== "number") throw new ArgumentError("flags.irqsOff", `must be a number, got ${describeValue(depth)}`);
  if (!Number.isSafeInteger(depth) || depth < 0 || depth > MAX_IRQ_NESTING) {
    throw new ArgumentRangeError("flags.irqsOff", `must be an integer from 0 to ${MAX_IRQ_NESTING}, got ${depth}`);
  }
}

export class SpinLock extends LockObject {
  /**
   * `new SpinLock(sim, "vm->list_lock", { embeddedIn: vm })`.
   * @throws ArgumentError naming `sim`, `className` or an option.
   */
  constructor(sim: Sim, className: string, options: LockOptions = {}) {
    // RawSpinLock and its subclasses are raw: the class decides the wait type.
    const raw = new.target === RawSpinLock || new.target.prototype instanceof RawSpinLock;
    super(sim, raw ? "RawSpinLock" : "SpinLock", className, raw ? "raw-spin" : "spin", options);
  }

  /** @internal */
  override get initName(): string {
    return "spin_lock_init";
  }

  /**
   * Mirrors spin_lock(). `subclass` is spin_lock_nested()'s annotation.
   * @throws ArgumentRangeError naming `subclass` unless an integer in [0, 7].
   */
  lock(subclass = 0): Op<void> {
    if (subclass !== 0) checkSubclass(subclass);
    return makeStepOp(this, SPIN_LOCK, subclass);
  }

  /**
   * Mirrors spin_lock_nest_lock(): take this lock while holding `nest`, an
   * outer lock that serialises every taker of this lock's class. Locks of
   * one class taken under the same held nest lock are not recursive
   * locking (lockdep merges them); without `nest` held, lockdep files
   * `lock-not-held` with `check: "nest-lock"`, naming `nest` and this lock
   * as `acquiring` (the kernel's "Nested lock was not taken"), and the lock
   * is still taken.
   * @throws ArgumentError naming `nest` if it is not a lock.
   */
  lockNestLock(nest: LockdepMap): Op<void> {
    checkNestLock(nest);
    return makeNamedOp("spin_lock_nest_lock", NEST_NAMES, this, spinLockNestLock, nest);
  }

  /** Mirrors spin_lock_irqsave(): disable irqs, then lock. Returns the saved state. */
  lockIrqsave(): Op<IrqFlags> {
    return makeOp("spin_lock_irqsave", this, spinLockIrqsave);
  }

  /** Mirrors spin_lock_bh(): disable bottom halves, then lock. */
  lockBh(): Op<void> {
    return makeOp("spin_lock_bh", this, spinLockBh);
  }

  /** Mirrors spin_trylock(): take it if free, never wait. */
  trylock(): Op<boolean> {
    return makeOp("spin_trylock", this, spinTrylock);
  }

  /** Mirrors spin_unlock(). */
  unlock(): Op<void> {
    return makeStepOp(this, SPIN_UNLOCK);
  }

  /** Mirrors spin_unlock_irqrestore(): unlock, then restore the saved irq state. */
  unlockIrqrestore(flags: IrqFlags): Op<void> {
    checkIrqFlags(flags);
    return makeOp("spin_unlock_irqrestore", this, spinUnlockIrqrestore, flags);
  }

  /** Mirrors spin_unlock_bh(). */
  unlockBh(): Op<void> {
    return makeOp("spin_unlock_bh", this, spinUnlockBh);
  }

  /** Mirrors lockdep_assert_held() on this exact lock: files `lock-not-held` unless the current task holds it. */
  assertHeld(): boolean {
    return this.sim.lockdep.assertHeld(currentIn(`${this.constructor.name}.assertHeld`), this, this.heldBy);
  }

  /** Mirrors spin_is_locked(). A query: no effect. */
  isLocked(): boolean {
    noteTouched(this.sim, this, false);
    return this.heldBy !== null;
  }
}

function* spinLock(this: SpinLock, op: string, subclass: number, nest: LockdepMap | null = null): Generator<Effect, void, unknown> {
  const task = current();
  // Preemption goes off before spinning: a waiter is atomic too.
  task.preemptCount++;
  this.sim.lockdep.acquire(task, this, op, nest === null ? { subclass } : { nest });
  yield this.lockEffect;
  touch(this.sim, this, true, "SpinLock.lock");
  guardLive(this, "SpinLock.lock");
  this.heldBy = task;
  this.tookNow(task, op);
}

// spin_lock() and spin_unlock() yield one effect each: step ops
// (kernel/op.ts), which cost no generator per call; the same halves as
// spinLock() and spinUnlock().
const SPIN_LOCK: StepBody<SpinLock, number, void> = {
  name: "spin_lock",
  before(l, subclass) {
    const task = current();
    task.preemptCount++;
    l.sim.lockdep.acquire(task, l, "spin_lock", subclass === 0 ? NO_OPTIONS : { subclass });
    return l.lockEffect;
  },
  after(l) {
    touch(l.sim, l, true, "SpinLock.lock");
    guardLive(l, "SpinLock.lock");
    const task = current();
    l.heldBy = task;
    l.tookNow(task, "spin_lock");
  },
};

const SPIN_UNLOCK: StepBody<SpinLock, undefined, void> = {
  name: "spin_unlock",
  before: (l) => l.unlockEffect,
  after(l) {
    release(l);
  },
};

const NO_OPTIONS: AcquireOptions = {};

function* spinLockNestLock(this: SpinLock, nest: LockdepMap): Generator<Effect, void, unknown> {
  yield* spinLock.call(this, "spin_lock_nest_lock", 0, nest);
}

function* spinLockIrqsave(this: SpinLock): Generator<Effect, IrqFlags, unknown> {
  const task = current();
  const flags: IrqFlags = { irqsOff: task.irqsOff };
  task.irqsOff++;
  yield* spinLock.call(this, "spin_lock_irqsave", 0);
  return flags;
}

function* spinLockBh(this: SpinLock): Generator<Effect, void, unknown> {
  current().bhOff++;
  yield* spinLock.call(this, "spin_lock_bh", 0);
}

function* spinTrylock(this: SpinLock): Generator<Effect, boolean, unknown> {
  yield this.trylockEffect;
  touch(this.sim, this, true, "SpinLock.trylock");
  guardLive(this, "SpinLock.trylock");
  if (this.heldBy !== null) {
    this.sim.note("busy");
    return false;
  }
  this.sim.note("taken");
  const task = current();
  task.preemptCount++;
  this.heldBy = task;
  this.acquiredAt = this.sim.site("spin_trylock");
  this.sim.lockdep.acquire(task, this, "spin_trylock", { trylock: true });
  return true;
}

/** @internal The release half shared by every unlock; false if the task did not hold it. */
function release(lock: SpinLock): boolean {
  const task = current();
  touch(lock.sim, lock, true, "SpinLock.unlock");
  guardLive(lock, "SpinLock.unlock");
  if (!lock.sim.lockdep.release(task, lock, lock.heldBy) || lock.heldBy !== task) return false;
  lock.heldBy = null;
  lock.acquiredAt = null;
  task.preemptCount--;
  return true;
}

function* spinUnlockIrqrestore(this: SpinLock, flags: IrqFlags): Generator<Effect, void, unknown> {
  yield this.unlockEffect;
  release(this);
  const task = current();
  // Restore exactly what was saved, as local_irq_restore() does.
  while (task.irqsOff > flags.irqsOff) irqRestore(task);
  task.irqsOff = Math.max(task.irqsOff, flags.irqsOff);
}

function* spinUnlockBh(this: SpinLock): Generator<Effect, void, unknown> {
  yield this.unlockEffect;
  release(this);
  const task = current();
  if (task.bhOff > 0) bhRestore(task);
}

/**
 * RawSpinLock: raw_spinlock_t, a spinlock that spins even on PREEMPT_RT
 * (wait type LD_WAIT_SPIN). Same operations as SpinLock (raw_spin_lock(),
 * raw_spin_lock_irqsave(), ...). Under it only other raw spinlocks may be
 * taken: a SpinLock, RwLock or LocalLock is `invalid-wait-context`, as with
 * CONFIG_PROVE_RAW_LOCK_NESTING, and so is anything that sleeps.
 */
export class RawSpinLock extends SpinLock {
  /** `new RawSpinLock(sim, "rq->__lock")`. @throws ArgumentError naming `sim`, `className` or an option. */
  constructor(sim: Sim, className: string, options: LockOptions = {}) {
    super(sim, className, options);
  }

  /** @internal */
  override get initName(): string {
    return "raw_spin_lock_init";
  }
}
