/**
 * Execution contexts: what a task may do where it is.
 *
 * Mirrors: might_sleep() and its "BUG: sleeping function called from invalid
 *   context", local_irq_save()/restore(), local_bh_disable()/enable(),
 *   fs_reclaim_acquire()/release(), dma_fence_begin/end_signalling(),
 *   __dma_fence_might_wait(), lock_map_acquire()/release().
 * Ownership: the state lives on the Task (irqsOff, bhOff, preemptCount,
 *   fenceSignalling, held); only the task itself changes it.
 * Locking: none; these act on current().
 * Invariants: a task is atomic while it holds a spinlock, has irqs or bottom
 *   halves disabled, or runs a hardirq or softirq handler; anything that may
 *   sleep calls mightSleep() first, which reports sleeping there.
 *
 * None of these is an effect: they change only the calling task's own state,
 * which no other task can observe.
 */
import { UsageError } from "../errors.js";
import { current } from "./current.js";
import type { Task } from "./task.js";
import { heldRef, heldRefs, type LockdepMap } from "./lockdep.js";

/**
 * Mirrors might_sleep(): called first by every operation that can sleep.
 * Files `sleep-in-atomic` naming what makes the context atomic: a held
 * spinlock, disabled irqs or bottom halves, or an interrupt handler.
 * Returns false if it reported.
 */
export function mightSleep(op = "might_sleep"): boolean {
  return checkMightSleep(current(), op);
}

/** @internal */
export function checkMightSleep(task: Task, op: string): boolean {
  if (task.preemptCount === 0 && task.irqsOff === 0 && task.bhOff === 0 && !task.inInterrupt) return true;
  if (!task.sim.checks.context) return true;
  let spin = null;
  for (let i = task.held.length - 1; i >= 0 && spin === null; i--) {
    const h = task.held.at(i);
    if (h.cls.waitType === "spin") spin = h;
  }
  const reason =
    task.context === "hardirq"
      ? "hardirq"
      : task.context === "softirq"
        ? "softirq"
        : spin !== null
          ? "spinlock"
          : task.irqsOff > 0
            ? "irqs-disabled"
            : "bh-disabled";
  task.sim.file({ kind: "sleep-in-atomic", op, reason, lock: spin === null ? null : heldRef(spin), held: heldRefs(task) });
  return false;
}

/** Mirrors local_irq_save(): disable hardirqs on this task's CPU (nests). */
export function localIrqSave(): void {
  current().irqsOff++;
}

/** Mirrors local_irq_restore() after local_irq_save(). */
export function localIrqRestore(): void {
  const task = current();
  if (task.irqsOff === 0 || (task.context === "hardirq" && task.irqsOff === 1)) {
    throw new UsageError(`localIrqRestore() in ${task.label} without a matching localIrqSave()`);
  }
  irqRestore(task);
}

/** @internal Leave one irq-disabled section; lockdep marks held locks if irqs are now on. */
export function irqRestore(task: Task): void {
  task.irqsOff--;
  if (task.irqsOff === 0) task.sim.lockdep.irqsEnabled(task);
}

/** Mirrors local_bh_disable(): disable bottom halves (softirqs) on this task's CPU (nests). */
export function localBhDisable(): void {
  current().bhOff++;
}

/** Mirrors local_bh_enable(). */
export function localBhEnable(): void {
  const task = current();
  if (task.bhOff === 0 || (task.context === "softirq" && task.bhOff === 1)) {
    throw new UsageError(`localBhEnable() in ${task.label} without a matching localBhDisable()`);
  }
  bhRestore(task);
}

/** @internal */
export function bhRestore(task: Task): void {
  task.bhOff--;
  if (task.bhOff === 0) task.sim.lockdep.irqsEnabled(task);
}

/**
 * Mirrors lock_map_acquire(): take a pseudo-lock (a lockdep map that stands
 * for a wait or a context, not a real lock).
 */
export function lockMapAcquire(map: LockdepMap, options: { readonly read?: boolean } = {}): void {
  const task = current();
  task.sim.lockdep.acquire(task, map, "lock_map_acquire", options.read === true ? { read: true } : {});
}

/** Mirrors lock_map_release(). */
export function lockMapRelease(map: LockdepMap): void {
  const task = current();
  task.sim.lockdep.release(task, map, null);
}

/**
 * Mirrors fs_reclaim_acquire(): enter a section that may recurse into memory
 * reclaim (a sleeping allocation does this around its attempt; a shrinker or
 * reclaim-context task runs inside it).
 */
export function fsReclaimAcquire(): void {
  const task = current();
  task.sim.lockdep.acquire(task, task.sim.lockdep.maps.fsReclaim, "fs_reclaim_acquire");
}

/** Mirrors fs_reclaim_release(). */
export function fsReclaimRelease(): void {
  const task = current();
  task.sim.lockdep.release(task, task.sim.lockdep.maps.fsReclaim, null);
}

/**
 * Mirrors dma_fence_begin_signalling(): start a section on the path that
 * signals a fence. Anything in it that waits for a fence (directly or through
 * a lock whose holders do) is a lock-order cycle through `dma_fence_map`.
 * Returns the cookie for dmaFenceEndSignalling().
 */
export function dmaFenceBeginSignalling(): boolean {
  const task = current();
  // Already inside one: the kernel nests by not re-acquiring.
  if (task.fenceSignalling > 0) {
    task.fenceSignalling++;
    return true;
  }
  task.fenceSignalling++;
  task.sim.lockdep.acquire(task, task.sim.lockdep.maps.dmaFence, "dma_fence_begin_signalling", { read: true });
  return false;
}

/** Mirrors dma_fence_end_signalling(cookie). */
export function dmaFenceEndSignalling(cookie: boolean): void {
  const task = current();
  if (task.fenceSignalling === 0) throw new UsageError(`dmaFenceEndSignalling() in ${task.label} outside a signalling section`);
  task.fenceSignalling--;
  if (!cookie) task.sim.lockdep.release(task, task.sim.lockdep.maps.dmaFence, null);
}

/**
 * Mirrors __dma_fence_might_wait(): tell lockdep this task may wait for a
 * fence here, without waiting. Fence waits call it.
 */
export function dmaFenceMightWait(): void {
  const task = current();
  const lockdep = task.sim.lockdep;
  const map = lockdep.maps.dmaFence;
  // As the kernel does: inside a signalling section, drop the section's
  // shared hold, take the map exclusively for the wait, then re-enter.
  const inSection = lockdep.holds(task, map);
  if (inSection) lockdep.release(task, map, null);
  lockdep.acquire(task, map, "dma_fence_might_wait");
  lockdep.release(task, map, null);
  if (inSection) lockdep.acquire(task, map, "dma_fence_begin_signalling", { read: true });
}
