/**
 * Execution contexts: what a task may do where it is.
 *
 * Mirrors: might_sleep() and its "BUG: sleeping function called from invalid
 *   context", local_irq_save()/restore(), local_bh_disable()/enable(),
 *   preempt_disable()/preempt_enable(), the hardirq and softirq entry and
 *   exit lockdep sees (lockdep_hardirq_enter(), lockdep_softirq_enter(), as
 *   lib/locking-selftest.c's HARDIRQ_ENTER()/SOFTIRQ_ENTER() use them),
 *   lockdep_set_subclass(),
 *   fs_reclaim_acquire()/release(), dma_fence_begin/end_signalling(),
 *   __dma_fence_might_wait(), lock_map_acquire()/release().
 * Ownership: the state lives on the Task (irqsOff, bhOff, preemptCount,
 *   preemptDisabled, hardirqEntered, softirqEntered, fenceSignalling, held);
 *   only the task itself changes it.
 * Locking: none; these act on current().
 * Invariants: a task is atomic while it holds a spinlock, has preemption,
 *   irqs or bottom halves disabled, or runs a hardirq or softirq handler (or
 *   section); anything that may sleep calls mightSleep() first, which
 *   reports sleeping there.
 *
 * None of these is an effect: they change only the calling task's own state,
 * which no other task can observe.
 */
import { ArgumentError, ArgumentRangeError, ForeignSimError, UsageError } from "../errors.js";
import { arg, checkOptions, describeValue, is, isInstance } from "../validate.js";
import { currentOrNull } from "./current.js";
import type { Task } from "./task.js";
import { heldRef, heldRefs, LockClass, spins, type HeldLock, type LockdepMap } from "./lockdep.js";

/**
 * @internal The running task, for the public function `fn` (a non-op: it
 * acts at once on the current task).
 * @throws UsageError naming `fn` when called outside a simulated task.
 */
export function currentIn(fn: string): Task {
  const task = currentOrNull();
  if (task === null) throw new UsageError(`${fn}() called outside a simulated task`);
  return task;
}

/**
 * Mirrors might_sleep(): called first by every operation that can sleep.
 * Files `sleep-in-atomic` naming what makes the context atomic: a held
 * spinlock, disabled irqs or bottom halves, an interrupt handler, or an RCU
 * read-side critical section (reason `"rcu-read-lock"`: the model is a
 * CONFIG_PREEMPT_RCU=n kernel, where rcu_read_lock() disables preemption),
 * or a non-blockable mmu notifier callback (reason `"mmu-notifier-nonblock"`:
 * the kernel does not check it, but the callback may only trylock there).
 * Returns false if it reported.
 * @throws ArgumentError naming `op` unless a non-empty string.
 */
export function mightSleep(op = "might_sleep"): boolean {
  arg("op", is.nonEmptyString, op);
  return checkMightSleep(currentIn("mightSleep"), op);
}

/** @internal */
export function checkMightSleep(task: Task, op: string): boolean {
  const hardirq = task.context === "hardirq" || task.hardirqEntered > 0;
  const softirq = task.context === "softirq" || task.softirqEntered > 0;
  if (task.preemptCount === 0 && task.preemptDisabled === 0 && task.irqsOff === 0 && task.bhOff === 0 && task.rcuReadDepth === 0 && task.mmuNotifierNonblock === 0 && !hardirq && !softirq) return true;
  if (!task.sim.checks.context) return true;
  // The innermost spinning lock held, else the innermost local lock.
  let spin: HeldLock | null = null;
  let percpu: HeldLock | null = null;
  for (let i = task.held.length - 1; i >= 0 && spin === null; i--) {
    const h = task.held.at(i);
    if (h.map.lockType === "percpu") percpu ??= h;
    else if (spins(h.cls.waitType)) spin = h;
  }
  const reason = hardirq
    ? "hardirq"
    : softirq
      ? "softirq"
      : spin !== null
        ? "spinlock"
        : task.irqsOff > 0
          ? "irqs-disabled"
          : task.bhOff > 0
            ? "bh-disabled"
            : task.rcuReadDepth > 0 && task.preemptDisabled === 0 && task.preemptCount === 0
              ? "rcu-read-lock"
              : task.preemptDisabled === 0 && task.preemptCount === 0
                ? "mmu-notifier-nonblock"
                : "preempt-disabled";
  const lock = spin ?? (reason === "preempt-disabled" ? percpu : null);
  task.sim.file({ kind: "sleep-in-atomic", op, reason, lock: lock === null ? null : heldRef(lock), held: heldRefs(task) });
  return false;
}

/**
 * Mirrors preempt_disable(): preemption off on this task's CPU (nests).
 * Sleeping until the matching preemptEnable() is `sleep-in-atomic` with
 * reason `"preempt-disabled"`.
 */
export function preemptDisable(): void {
  currentIn("preemptDisable").preemptDisabled++;
}

/**
 * Mirrors preempt_enable(). Without a matching preemptDisable() it files
 * `bad-preempt-enable` (the kernel's preempt_count underflow warning) and
 * changes nothing. Returns false if it reported.
 */
export function preemptEnable(): boolean {
  const task = currentIn("preemptEnable");
  if (task.preemptDisabled > 0) {
    task.preemptDisabled--;
    return true;
  }
  if (task.sim.checks.context) task.sim.file({ kind: "bad-preempt-enable", op: "preempt_enable", held: heldRefs(task) });
  return false;
}

/** Mirrors preempt_count() != 0 as in_atomic() sees it, for tests: spinlocks, local locks and preemptDisable() sections. A query. */
export function preemptCount(): number {
  const task = currentIn("preemptCount");
  return task.preemptCount + task.preemptDisabled;
}

/**
 * Mirrors HARDIRQ_ENTER() of lib/locking-selftest.c: local_irq_disable(),
 * then irq entry as lockdep sees it (lockdep_hardirq_enter(), the handler
 * treated as threadable). Until hardirqExit() the task is in hardirq
 * context: locks it takes are marked used in hardirq (which feeds the
 * irq-inversion check), are checked as hardirq acquisitions for wait
 * context and recursion, and sleeping is `sleep-in-atomic` with reason
 * `"hardirq"`. Nests. Not a scheduling point, as local_irq_save().
 */
export function hardirqEnter(): void {
  const task = currentIn("hardirqEnter");
  task.irqsOff++;
  task.hardirqEntered++;
}

/**
 * Mirrors HARDIRQ_EXIT(): irq exit, then local_irq_enable() (so locks still
 * held become held with irqs enabled, as mark_held_locks() does).
 * @throws UsageError without a matching hardirqEnter() (nothing changes).
 */
export function hardirqExit(): void {
  const task = currentIn("hardirqExit");
  if (task.hardirqEntered === 0) throw new UsageError(`hardirqExit() in ${task.label} without a matching hardirqEnter()`);
  task.hardirqEntered--;
  irqRestore(task);
}

/**
 * Mirrors SOFTIRQ_ENTER() as a softirq runs: bottom halves disabled, then
 * softirq entry as lockdep sees it (lockdep_softirq_enter()). Irqs stay as
 * they were (a softirq runs with them on). Until softirqExit() locks are
 * marked used in softirq, and sleeping is `sleep-in-atomic` with reason
 * `"softirq"`. Nests.
 */
export function softirqEnter(): void {
  const task = currentIn("softirqEnter");
  task.bhOff++;
  task.softirqEntered++;
}

/**
 * Mirrors SOFTIRQ_EXIT(): softirq exit, then local_bh_enable().
 * @throws UsageError without a matching softirqEnter() (nothing changes).
 */
export function softirqExit(): void {
  const task = currentIn("softirqExit");
  if (task.softirqEntered === 0) throw new UsageError(`softirqExit() in ${task.label} without a matching softirqEnter()`);
  task.softirqEntered--;
  bhRestore(task);
}

/**
 * @internal Check a nesting annotation: an integer in [0, 7] (MAX_LOCKDEP_SUBCLASSES).
 * @throws ArgumentError or ArgumentRangeError naming `subclass`.
 */
export function checkSubclass(subclass: unknown): void {
  arg("subclass", is.count, subclass);
  if ((subclass as number) > 7) throw new ArgumentRangeError("subclass", `must be an integer in [0, 7], got ${subclass as number}`);
}

/**
 * Mirrors lockdep_set_subclass(): from now on, acquisitions of `lock`
 * without a nesting annotation (`lock()`, not `lock(n)`) use subclass
 * `subclass` of its class, as if annotated. `lock(n)` with n > 0 still
 * means subclass n. Not a scheduling point.
 * @throws ArgumentError naming `lock` if it is not a lock;
 *   ArgumentRangeError naming `subclass` unless an integer in [0, 7].
 */
export function lockdepSetSubclass(lock: LockdepMap & { defaultSubclass?: number }, subclass: number): void {
  if (typeof lock !== "object" || (lock as object | null) === null || !(lock.lockClass instanceof LockClass)) {
    throw new ArgumentError("lock", "must be a lock (a SpinLock, Mutex, RwLock, ...)");
  }
  checkSubclass(subclass);
  (lock as { defaultSubclass?: number }).defaultSubclass = subclass;
}

/** Mirrors local_irq_save(): disable hardirqs on this task's CPU (nests). */
export function localIrqSave(): void {
  currentIn("localIrqSave").irqsOff++;
}

/** Mirrors local_irq_restore() after local_irq_save(). */
export function localIrqRestore(): void {
  const task = currentIn("localIrqRestore");
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
  currentIn("localBhDisable").bhOff++;
}

/** Mirrors local_bh_enable(). */
export function localBhEnable(): void {
  const task = currentIn("localBhEnable");
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
  checkMapShape(map);
  checkOptions("options", options, { read: is.boolean });
  const task = currentIn("lockMapAcquire");
  checkMapOwner(task, map, "lock_map_acquire");
  task.sim.lockdep.acquire(task, map, "lock_map_acquire", options.read === true ? { read: true } : {});
}

/**
 * Mirrors lock_map_release(). Releasing a map the task does not hold is a
 * `bad-unlock` report.
 *
 * @throws ArgumentError naming `map` when it is not a lockdep map, or is one
 *   of another Lockdep than the task's Sim's; ForeignSimError when it is a
 *   lock of another Sim; UsageError outside a task.
 */
export function lockMapRelease(map: LockdepMap): void {
  checkMapShape(map);
  const task = currentIn("lockMapRelease");
  checkMapOwner(task, map, "lock_map_release");
  task.sim.lockdep.release(task, map, null);
}

/** `map` is a lockdep map: something with a LockClass (sim.lockdep.maps.*, or a lock). */
function checkMapShape(map: unknown): asserts map is LockdepMap {
  if (typeof map !== "object" || map === null || !isInstance((map as { lockClass?: unknown }).lockClass, LockClass)) {
    throw new ArgumentError("map", `must be a lockdep map (sim.lockdep.maps.*, or a lock), got ${describeValue(map)}`);
  }
}

/** `map` is of `task`'s Sim: a lock of that Sim, or a map of its Lockdep. */
function checkMapOwner(task: Task, map: LockdepMap, op: string): void {
  const owner = (map as { sim?: unknown }).sim;
  if (owner !== undefined && owner !== task.sim) {
    throw new ForeignSimError("map", op, map.label, (owner as { label?: string }).label ?? "another Sim", `${task.sim.label} (task ${task.label})`);
  }
  if (!task.sim.lockdep.owns(map.lockClass)) {
    throw new ArgumentError("map", `${map.label} is a map of another Lockdep than the one ${task.sim.label} checks against (its option lockdep)`);
  }
}

/**
 * Mirrors fs_reclaim_acquire(): enter a section that may recurse into memory
 * reclaim (a sleeping allocation does this around its attempt; a shrinker or
 * reclaim-context task runs inside it).
 */
export function fsReclaimAcquire(): void {
  const task = currentIn("fsReclaimAcquire");
  task.sim.lockdep.acquire(task, task.sim.lockdep.maps.fsReclaim, "fs_reclaim_acquire");
}

/** Mirrors fs_reclaim_release(). */
export function fsReclaimRelease(): void {
  const task = currentIn("fsReclaimRelease");
  task.sim.lockdep.release(task, task.sim.lockdep.maps.fsReclaim, null);
}

/**
 * Mirrors dma_fence_begin_signalling(): start a section on the path that
 * signals a fence. Anything in it that waits for a fence (directly or through
 * a lock whose holders do) is a lock-order cycle through `dma_fence_map`.
 * Returns the cookie for dmaFenceEndSignalling().
 */
export function dmaFenceBeginSignalling(): boolean {
  const task = currentIn("dmaFenceBeginSignalling");
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
  if (typeof cookie !== "boolean") throw new ArgumentError("cookie", `must be what dmaFenceBeginSignalling() returned (true or false), got ${describeValue(cookie)}`);
  const task = currentIn("dmaFenceEndSignalling");
  if (task.fenceSignalling === 0) throw new UsageError(`dmaFenceEndSignalling() in ${task.label} outside a signalling section`);
  task.fenceSignalling--;
  if (!cookie) task.sim.lockdep.release(task, task.sim.lockdep.maps.dmaFence, null);
}

/**
 * Mirrors __dma_fence_might_wait(): tell lockdep this task may wait for a
 * fence here, without waiting. Fence waits call it.
 */
export function dmaFenceMightWait(): void {
  const task = currentIn("dmaFenceMightWait");
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
