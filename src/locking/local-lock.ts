/**
 * LocalLock: a per-CPU lock that serialises by disabling preemption or irqs.
 *
 * Mirrors: local_lock_t (include/linux/local_lock.h, !PREEMPT_RT) —
 *   local_lock()/local_unlock(), local_lock_irq()/local_unlock_irq(),
 *   local_lock_irqsave()/local_unlock_irqrestore(), local_lock_init(),
 *   lockdep_assert_held().
 * Ownership: one object stands for the per-CPU instances: a simulated task
 *   runs on its own CPU, so each task that takes it takes its CPU's instance.
 * Locking: none of its own: local_lock() is preempt_disable() plus a lockdep
 *   acquisition (wait type LD_WAIT_CONFIG, lock type LD_LOCK_PERCPU);
 *   local_lock_irq() disables irqs instead. It never waits, and its holder
 *   may not sleep (`sleep-in-atomic` with reason `"preempt-disabled"`, or
 *   `"irqs-disabled"`).
 * States: per task: free → held → free.
 * Invariants: lockdep sees every acquisition, so an interrupt taking the
 *   same class that a task holds with irqs enabled is an irq inversion, and
 *   nesting it is recursive locking; taking it under a raw spinlock is
 *   `invalid-wait-context`.
 */
import { defineEffectKind, Effect, WRITE } from "../kernel/effect.js";
import { guardLive, touch } from "../kernel/heap.js";
import { makeOp, type Op } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import { current, type Task } from "../kernel/task.js";
import { currentIn, irqRestore } from "../kernel/context.js";
import { LockObject, type LockOptions } from "./lock-object.js";
import { checkIrqFlags, type IrqFlags } from "./spinlock.js";

/** local_unlock(): touches only this CPU's instance, so commutes with every other CPU's. */
export const LOCAL_UNLOCK = defineEffectKind({ name: "local-unlock", commutesWith: ["self"] });
/** local_lock(): never waits; commutes with other CPUs' acquisitions and releases. */
export const LOCAL_LOCK = defineEffectKind({ name: "local-lock", commutesWith: ["self", LOCAL_UNLOCK] });

/** How the section keeps others off this CPU: preemption off, or irqs off. */
type Mode = "preempt" | "irq" | "irqsave";

export class LocalLock extends LockObject {
  /** @internal The tasks (CPUs) holding their instance, with how many times each (nesting is recursive locking, but each local_lock() still disables preemption or irqs once more). */ readonly holders = new Map<Task, number>();
  /** LD_LOCK_PERCPU: lockdep and might_sleep() tell it from a spinlock. */
  readonly lockType = "percpu";
  /** @internal */ readonly localLockEffect: Effect;
  /** @internal */ readonly localUnlockEffect: Effect;

  /**
   * `new LocalLock(sim, "pcp->lock")`.
   * @throws ArgumentError naming `sim`, `className` or an option.
   */
  constructor(sim: Sim, className: string, options: LockOptions = {}) {
    super(sim, "LocalLock", className, "spin", options);
    this.localLockEffect = new Effect(LOCAL_LOCK, this, WRITE, this);
    this.localUnlockEffect = new Effect(LOCAL_UNLOCK, this, WRITE, this);
  }

  /** @internal */
  override get initName(): string {
    return "local_lock_init";
  }

  /** Mirrors local_lock(): preempt_disable(), then take this CPU's instance. */
  lock(): Op<void> {
    return makeOp("local_lock", this, localLock, "preempt");
  }

  /** Mirrors local_lock_irq(): local_irq_disable(), then take it. */
  lockIrq(): Op<void> {
    return makeOp("local_lock_irq", this, localLock, "irq");
  }

  /** Mirrors local_lock_irqsave(): save and disable irqs, then take it. Returns the saved state. */
  lockIrqsave(): Op<IrqFlags> {
    return makeOp("local_lock_irqsave", this, localLockIrqsave);
  }

  /** Mirrors local_unlock(). */
  unlock(): Op<void> {
    return makeOp("local_unlock", this, localUnlock, "preempt");
  }

  /** Mirrors local_unlock_irq(). */
  unlockIrq(): Op<void> {
    return makeOp("local_unlock_irq", this, localUnlock, "irq");
  }

  /** Mirrors local_unlock_irqrestore(). */
  unlockIrqrestore(flags: IrqFlags): Op<void> {
    checkIrqFlags(flags);
    return makeOp("local_unlock_irqrestore", this, localUnlock, "irqsave", flags);
  }

  /** Mirrors lockdep_assert_held() on this CPU's instance. */
  assertHeld(): boolean {
    const task = currentIn("LocalLock.assertHeld");
    return this.sim.lockdep.assertHeld(task, this, this.holders.has(task) ? task : null);
  }

  /** Whether the current task holds its instance. A query: no effect. */
  isLocked(): boolean {
    return this.holders.has(currentIn("LocalLock.isLocked"));
  }

  /** @internal Any CPU's holder counts at free. */
  protected override holderAtFree(): Task | null {
    return this.holders.keys().next().value ?? null;
  }
}

function* localLock(this: LocalLock, mode: Mode): Generator<Effect, void, unknown> {
  const task = current();
  if (mode === "preempt") task.preemptDisabled++;
  else task.irqsOff++;
  const op = mode === "preempt" ? "local_lock" : `local_lock_${mode}`;
  this.sim.lockdep.acquire(task, this, op);
  yield this.localLockEffect;
  touch(this.sim, this, true, "LocalLock.lock");
  guardLive(this, "LocalLock.lock");
  this.holders.set(task, (this.holders.get(task) ?? 0) + 1);
  this.sim.lockdep.acquired(task, this, null, op);
}

function* localLockIrqsave(this: LocalLock): Generator<Effect, IrqFlags, unknown> {
  const flags: IrqFlags = { irqsOff: current().irqsOff };
  yield* localLock.call(this, "irqsave");
  return flags;
}

function* localUnlock(this: LocalLock, mode: Mode, flags?: IrqFlags): Generator<Effect, void, unknown> {
  yield this.localUnlockEffect;
  touch(this.sim, this, true, "LocalLock.unlock");
  guardLive(this, "LocalLock.unlock");
  const task = current();
  // Not held by this CPU: lockdep reports it (bad-unlock); nothing changes.
  const n = this.holders.get(task);
  if (!this.sim.lockdep.release(task, this, null) || n === undefined) return;
  if (n === 1) this.holders.delete(task);
  else this.holders.set(task, n - 1);
  if (mode === "preempt") {
    if (task.preemptDisabled > 0) task.preemptDisabled--;
  } else if (mode === "irq") {
    if (task.irqsOff > 0) irqRestore(task);
  } else if (flags !== undefined) {
    while (task.irqsOff > flags.irqsOff) irqRestore(task);
    task.irqsOff = Math.max(task.irqsOff, flags.irqsOff);
  }
}
