/**
 * RCU: read-side critical sections, grace periods, call_rcu() / kfree_rcu(),
 * and RCU-protected pointers.
 *
 * Mirrors: rcu_read_lock(), rcu_read_unlock(), rcu_read_lock_held(),
 *   synchronize_rcu(), call_rcu(), kfree_rcu(), rcu_assign_pointer(),
 *   rcu_dereference(), rcu_dereference_check(), rcu_dereference_protected(),
 *   rcu_access_pointer(), rcu_lock_map (include/linux/rcupdate.h,
 *   kernel/rcu/update.c, kernel/rcu/tree.c). The model is a
 *   CONFIG_PREEMPT_RCU=n kernel with CONFIG_PROVE_RCU: a read section
 *   disables preemption, so sleeping in it is `sleep-in-atomic` (reason
 *   `"rcu-read-lock"`).
 * Ownership: one RcuState per Sim (static, never freed), made on first use.
 *   Queued callbacks hold no reference to their object: the caller gave up
 *   its last one, as with call_rcu().
 * Locking: none; each operation is one step on the RcuState. Its readers
 *   set and callback queue are written by rcuReadLock/Unlock (outermost
 *   only), callRcu and the grace-period task; synchronizeRcu reads them.
 * States: a task is outside or inside a read section (rcuReadDepth > 0);
 *   a callback is queued, then run by the `rcu_gp` task once every reader
 *   that was inside its section when the callback was queued has left it.
 * Invariants: a callback never runs, and synchronizeRcu never returns,
 *   while a reader that was in a section at the call is still in that same
 *   section. No task waits forever for want of work: the `rcu_gp` task is
 *   spawned when a callback is queued and none is running, and exits when
 *   the queue is empty.
 */
import { ArgumentError, UsageError } from "../errors.js";
import { arg, describeValue, is, isInstance } from "../validate.js";
import { defineEffectKind, Effect, NONE, READ, WRITE, type Waitable } from "./effect.js";
import { guardLive, kfree, SimObject, touch, type SimObjectOptions, LIBRARY_CLASS } from "./heap.js";
import { makeNamedOp, makeOp, makeStepOp, type Op, type StepBody } from "./op.js";
import type { Sim } from "./sim.js";
import { checkedBody } from "./checked-body.js";
import { checkMightSleep, currentIn, softirqEnter, softirqExit } from "./context.js";
import { current, setCurrent } from "./current.js";
import { heldRefs, LockClass, type LockdepMap } from "./lockdep.js";
import type { Task } from "./task.js";
import type { SuspiciousRcuProblem } from "../report/rcu-kinds.js";

/** What call_rcu() runs after a grace period: nothing, or an op's effects (`(obj) => kfree(obj)`). */
export type RcuCallback<T extends SimObject = SimObject> = (obj: T) => Iterable<Effect, void, unknown> | void;

/** One reader in one section: the section is over once the task's section count moved on, or its depth is 0. */
interface ReaderSnapshot {
  readonly task: Task;
  readonly section: number;
}

/** One queued callback and the readers its grace period must wait for. */
interface QueuedCallback {
  readonly obj: SimObject;
  readonly fn: RcuCallback;
  readonly readers: readonly ReaderSnapshot[];
  readonly op: string;
}

/** Whether every reader of `snapshot` has left the section it was in. */
function readersGone(snapshot: readonly ReaderSnapshot[]): boolean {
  for (const r of snapshot) if (inSection(r)) return false;
  return true;
}

function inSection(r: ReaderSnapshot): boolean {
  const t = r.task;
  // A task that ended inside its section (lock-held-at-exit reports it) holds up no grace period.
  return t.rcuReadDepth > 0 && t.rcuSection === r.section && t.pending !== null;
}

function stillReading(snapshot: readonly ReaderSnapshot[]): Task[] {
  return snapshot.filter(inSection).map((r) => r.task);
}

/**
 * @internal The per-Sim RCU state (the kernel's `rcu_state`): the tasks in
 * a read section and the callbacks waiting for a grace period. A step that
 * enters or leaves an outermost read section writes it; a grace period
 * reads it.
 */
export class RcuState extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  /** @internal Tasks inside a read section. */ readonly readers = new Set<Task>();
  /** @internal Callbacks not yet run, oldest first. */ readonly callbacks: QueuedCallback[] = [];
  /** @internal The running grace-period task, or null. */ gpTask: Task | null = null;
  /** @internal */ readonly lockEffect: Effect;
  /** @internal */ readonly unlockEffect: Effect;
  /** @internal What the grace-period task waits for: the head callback's readers gone (or no callback left). */
  readonly headGp: Waitable;

  /** @internal Use {@link rcuState}. */
  constructor(sim: Sim) {
    super(sim, "RcuState", { name: "rcu_state", static: true });
    this.lockEffect = new Effect(RCU_READ_LOCK, this, WRITE);
    this.unlockEffect = new Effect(RCU_READ_UNLOCK, this, WRITE);
    const callbacks = this.callbacks;
    this.headGp = {
      label: "rcu grace period (call_rcu)",
      canProceed: () => callbacks.length === 0 || readersGone((callbacks[0] as QueuedCallback).readers),
      wakers: () => (callbacks.length === 0 ? [] : stillReading((callbacks[0] as QueuedCallback).readers)),
    };
  }

  /** @internal The tasks in a read section now, each with its section. */
  snapshot(): ReaderSnapshot[] {
    const out: ReaderSnapshot[] = [];
    for (const t of this.readers) out.push({ task: t, section: t.rcuSection });
    return out;
  }
}

const states = new WeakMap<Sim, RcuState>();

/**
 * @internal The Sim's RCU state, made on first use. It is made as if by the
 * scenario's setup (outside any task), so its footprint key is the same in
 * every execution whichever task happens to use RCU first.
 */
export function rcuState(sim: Sim): RcuState {
  let s = states.get(sim);
  if (s === undefined) {
    const outer = setCurrent(null);
    try {
      s = new RcuState(sim);
    } finally {
      setCurrent(outer);
    }
    states.set(sim, s);
  }
  return s;
}

/** rcu_read_lock(): entering an outermost section adds the task to the readers; two tasks' entries and exits commute. */
export const RCU_READ_LOCK = defineEffectKind({ name: "rcu-read-lock", commutesWith: ["self"] });
/** rcu_read_unlock(). */
export const RCU_READ_UNLOCK = defineEffectKind({ name: "rcu-read-unlock", commutesWith: ["self", RCU_READ_LOCK] });
/** synchronize_rcu()'s start: it notes the readers it must wait for (a read). */
export const SYNCHRONIZE_RCU = defineEffectKind({ name: "synchronize-rcu" });
/** synchronize_rcu()'s wait for those readers to leave (a read; blocks). */
export const RCU_GP_WAIT = defineEffectKind({ name: "rcu-gp-wait" });
/** call_rcu(): queue a callback behind the readers in a section now. */
export const CALL_RCU = defineEffectKind({ name: "call-rcu" });
/** The grace-period task: wait for the oldest callback's readers, then take it off the queue (or exit when none is left). */
export const RCU_GP_CALLBACK = defineEffectKind({ name: "rcu-gp-callback" });
/** An RcuPointer read (rcu_dereference and friends). */
export const RCU_DEREFERENCE = defineEffectKind({ name: "rcu-dereference" });
/** An RcuPointer write (rcu_assign_pointer). */
export const RCU_ASSIGN_POINTER = defineEffectKind({ name: "rcu-assign-pointer" });

/** A nested rcu_read_lock/unlock changes only its own task's depth: it touches nothing shared. */
const NESTED_LOCK = new Effect(RCU_READ_LOCK, null, NONE);
const NESTED_UNLOCK = new Effect(RCU_READ_UNLOCK, null, NONE);

function suspicious(task: Task, problem: SuspiciousRcuProblem, op: string, message: string, pointer: string | null = null, condition: string | null = null): void {
  const sim = task.sim;
  if (!sim.checks.lockdep) return;
  sim.file({ kind: "suspicious-rcu-usage", problem, op, message, pointer, rcuDepth: task.rcuReadDepth, condition, held: heldRefs(task) });
}

const READ_LOCK_BODY: StepBody<undefined, undefined, void> = {
  name: "rcu_read_lock",
  before: () => {
    const task = current();
    return task.rcuReadDepth === 0 ? rcuState(task.sim).lockEffect : NESTED_LOCK;
  },
  after: () => {
    const task = current();
    const sim = task.sim;
    if (task.rcuReadDepth === 0) {
      const state = rcuState(sim);
      touch(sim, state, true, "rcu_read_lock");
      task.rcuSection++;
      state.readers.add(task);
    }
    task.rcuReadDepth++;
    // As rcu_lock_acquire(): a recursive read of rcu_lock_map, so lockdep sees the section.
    sim.lockdep.acquire(task, sim.lockdep.maps.rcuLock, "rcu_read_lock", { recursive: true });
  },
};

const READ_UNLOCK_BODY: StepBody<undefined, undefined, void> = {
  name: "rcu_read_unlock",
  before: () => {
    const task = current();
    return task.rcuReadDepth === 1 ? rcuState(task.sim).unlockEffect : NESTED_UNLOCK;
  },
  after: () => {
    const task = current();
    const sim = task.sim;
    if (task.rcuReadDepth === 0) {
      suspicious(task, "unbalanced-unlock", "rcu_read_unlock", "rcu_read_unlock() without a matching rcu_read_lock()");
      return;
    }
    sim.lockdep.release(task, sim.lockdep.maps.rcuLock, null);
    task.rcuReadDepth--;
    if (task.rcuReadDepth === 0) {
      const state = rcuState(sim);
      touch(sim, state, true, "rcu_read_unlock");
      state.readers.delete(task);
    }
  },
};

/**
 * Mirrors rcu_read_lock(): enter an RCU read-side critical section (nests).
 * Until the matching rcuReadUnlock() the task is atomic for the context
 * checks (sleeping is `sleep-in-atomic`, reason `"rcu-read-lock"`), holds
 * lockdep's `rcu_read_lock` map (a recursive read), and holds up every
 * grace period that starts meanwhile. One step.
 */
export function rcuReadLock(): Op<void> {
  return makeStepOp(undefined, READ_LOCK_BODY);
}

/**
 * Mirrors rcu_read_unlock(): leave the innermost read section. Without one
 * open it files `suspicious-rcu-usage` (problem `"unbalanced-unlock"`) and
 * changes nothing. One step.
 */
export function rcuReadUnlock(): Op<void> {
  return makeStepOp(undefined, READ_UNLOCK_BODY);
}

/**
 * Mirrors rcu_read_lock_held(): whether the current task is inside a read
 * section. A query.
 * @throws UsageError outside a simulated task.
 */
export function rcuReadLockHeld(): boolean {
  return currentIn("rcuReadLockHeld").rcuReadDepth > 0;
}

/** Waits until the readers of one synchronize_rcu() call have left. */
class GracePeriod implements Waitable {
  readonly label = "rcu grace period (synchronize_rcu)";
  constructor(private readonly readers: readonly ReaderSnapshot[]) {}
  canProceed(): boolean {
    return readersGone(this.readers);
  }
  wakers(): readonly Task[] {
    return stillReading(this.readers);
  }
}

function* synchronizeBody(this: undefined): Generator<Effect, void, unknown> {
  const task = current();
  const sim = task.sim;
  // As synchronize_rcu()'s RCU_LOCKDEP_WARN, before it may sleep.
  if (task.rcuReadDepth > 0) {
    suspicious(task, "synchronize-in-read-section", "synchronize_rcu", "Illegal synchronize_rcu() in RCU read-side critical section");
  }
  checkMightSleep(task, "synchronize_rcu");
  const state = rcuState(sim);
  yield new Effect(SYNCHRONIZE_RCU, state, READ);
  touch(sim, state, false, "synchronize_rcu");
  // Only the readers in a section now: one that enters later does not hold this grace period up.
  // A caller inside a section is among them, and so waits for itself: the deadlock the kernel would have.
  const readers = state.snapshot();
  if (readers.length === 0) return;
  yield new Effect(RCU_GP_WAIT, state, READ, state, new GracePeriod(readers));
  touch(sim, state, false, "synchronize_rcu");
}

/**
 * Mirrors synchronize_rcu(): sleep until every task that was inside a read
 * section when it was called has left that section; readers that enter
 * later do not hold it up. May sleep (`mightSleep`). Called inside a read
 * section it files `suspicious-rcu-usage` (problem
 * `"synchronize-in-read-section"`) and `sleep-in-atomic`, and then waits for
 * itself: a deadlock unless the run ends otherwise.
 */
export function synchronizeRcu(): Op<void> {
  return makeOp("synchronize_rcu", undefined, synchronizeBody);
}

function* callRcuBody(this: undefined, obj: SimObject, fn: RcuCallback, op: string): Generator<Effect, void, unknown> {
  const sim = obj.sim;
  const state = rcuState(sim);
  // The kernel writes the object's rcu_head: queueing a freed object is a use-after-free.
  yield new Effect(CALL_RCU, state, WRITE, state, null, Infinity, null, [{ object: obj, mode: "write" }]);
  touch(sim, state, true, op);
  touch(sim, obj, true, op);
  if (!guardLive(obj, op)) return;
  state.callbacks.push({ obj, fn, readers: state.snapshot(), op });
  if (state.gpTask === null) {
    // Whether this call spawns the task depends on the schedule; the caller's
    // later objects must be named alike either way, so the spawn's footprint
    // key (the new task's) does not count as one the caller made. It may then
    // share a key with a later object of the caller: a false dependency at most.
    const caller = current();
    const made = caller.keysMade;
    state.gpTask = sim.spawn("rcu_gp", "process", () => gpBody(state));
    caller.keysMade = made;
  }
}

/**
 * The grace-period task: for the oldest callback, wait until the readers
 * it must outlast have left, take it off the queue and run it in softirq
 * context (as RCU_SOFTIRQ runs callbacks); exit when the queue is empty.
 * The explorer decides when each wait ends, so every placement of each
 * callback among the other tasks' steps is explored.
 */
function* gpBody(state: RcuState): Generator<Effect, void, unknown> {
  const sim = state.sim;
  for (;;) {
    yield new Effect(RCU_GP_CALLBACK, state, WRITE, state, state.headGp);
    touch(sim, state, true, "rcu_gp");
    const cb = state.callbacks.shift();
    if (cb === undefined) {
      // INVARIANT: cleared in the same step that saw the queue empty, so the next callRcu spawns a new task.
      state.gpTask = null;
      return;
    }
    // A callback that throws, or returns something that is neither nothing
    // nor an op or generator, is the driver's bug: this task dies with a
    // task-exception report, but first hands the queue to a new rcu_gp task,
    // so the callbacks queued after it still run.
    let failed: { readonly error: unknown } | null = null;
    softirqEnter();
    try {
      const r = cb.fn(cb.obj) as unknown;
      if (r !== undefined) {
        const start = typeof r === "object" && r !== null ? (r as Partial<Iterable<Effect>>)[Symbol.iterator] : undefined;
        if (typeof start !== "function") {
          throw new UsageError(`the ${cb.op} callback of ${cb.obj.label} returned ${describeValue(r)}: return nothing, an op or a generator`);
        }
        yield* checkedBody(r as Iterable<Effect, void, unknown>, `the ${cb.op} callback of ${cb.obj.label}`);
      }
    } catch (error) {
      // In throw mode the run ends with this error: nothing left to tidy.
      if (sim.onReport === "throw" || sim.stopped) throw error;
      failed = { error };
    } finally {
      softirqExit();
    }
    if (failed !== null) {
      yield new Effect(RCU_GP_CALLBACK, state, WRITE);
      touch(sim, state, true, "rcu_gp");
      state.gpTask = state.callbacks.length === 0 ? null : sim.spawn("rcu_gp", "process", () => gpBody(state));
      throw failed.error;
    }
  }
}

/** callRcu's and kfreeRcu's object: a SimObject (the op's own check names a foreign Sim when it starts). */
function checkRcuObject(obj: unknown): asserts obj is SimObject {
  if (!isInstance(obj, SimObject)) throw new ArgumentError("obj", `must be a SimObject, got ${describeValue(obj)}`);
}

/**
 * Mirrors call_rcu(): queue `fn(obj)` to run after a grace period that
 * starts after this call, that is once every task now inside a read
 * section has left it. `fn` runs in the `rcu_gp` task (spawned on demand,
 * it exits when no callback is left) in softirq context; it may return an
 * op or generator (`(o) => kfree(o)`), which is run there. One step.
 * A callback that throws, returns anything else or yields anything but
 * effects is a `task-exception` report of that `rcu_gp` task; the
 * callbacks queued after it still run.
 *
 * @throws ArgumentError naming `obj` when it is not a SimObject, `fn` when
 *   it is not a function. Nothing is queued then.
 */
export function callRcu<T extends SimObject>(obj: T, fn: RcuCallback<T>): Op<void> {
  checkRcuObject(obj);
  arg("fn", is.function, fn);
  return makeNamedOp("call_rcu", [null, "obj", null, null], undefined, callRcuBody, obj as SimObject, fn as RcuCallback, "call_rcu");
}

const kfreeCallback: RcuCallback = (obj) => kfree(obj);

/**
 * Mirrors kfree_rcu(): free `obj` with kfree() after a grace period, so a
 * reader that found it under rcuReadLock() may still use it until its
 * rcuReadUnlock(). The free is the heap's (a second free is `double-free`,
 * a use after it `use-after-free`). One step now; the free is the `rcu_gp`
 * task's.
 *
 * @throws ArgumentError naming `obj` when it is not a SimObject, is
 *   embedded in another (free its container) or is static. Nothing is
 *   queued then.
 */
export function kfreeRcu(obj: SimObject): Op<void> {
  checkRcuObject(obj);
  if (obj.life.owner !== obj) throw new ArgumentError("obj", `${obj.label} is embedded; free its container`);
  if (obj.isStatic) throw new ArgumentError("obj", `${obj.label} is statically allocated`);
  return makeNamedOp("kfree_rcu", [null, "obj", null, null], undefined, callRcuBody, obj, kfreeCallback, "kfree_rcu");
}

/**
 * The condition of rcu_dereference_check() / _protected(): a lock (held by
 * the current task, on the exact instance) or a boolean the caller computed.
 */
export type RcuCondition = LockdepMap | boolean;

function checkCondition(cond: unknown): asserts cond is RcuCondition {
  if (typeof cond === "boolean") return;
  if (typeof cond !== "object" || cond === null || !isInstance((cond as { lockClass?: unknown }).lockClass, LockClass)) {
    throw new ArgumentError("cond", `must be a lock (a lockdep map: a Mutex, SpinLock, ...) or a boolean, got ${describeValue(cond)}`);
  }
}

function conditionHolds(task: Task, cond: RcuCondition): boolean {
  return typeof cond === "boolean" ? cond : task.sim.lockdep.holds(task, cond);
}

/** How an RcuPointer is read: which check runs. */
type DerefHow = "plain" | "check" | "protected" | "access";

const DEREF_OPS: Readonly<Record<DerefHow, string>> = {
  plain: "rcu_dereference",
  check: "rcu_dereference_check",
  protected: "rcu_dereference_protected",
  access: "rcu_access_pointer",
};

/**
 * An RCU-protected pointer (a `T __rcu *` field or global): published with
 * rcuAssignPointer(), read with rcuDereference() inside a read section (or
 * rcuDereferenceCheck() / rcuDereferenceProtected() under the lock that
 * protects its updates). Each read and write is one step on the pointer.
 * The pointed-to object is not touched by the read: using it afterwards is
 * (a freed one is `use-after-free`).
 */
export class RcuPointer<T> extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  /** @internal */ value: T | null;

  /**
   * @param initial What it points to at first (default null), as a static initialiser would set it.
   * @throws as SimObject's constructor: ArgumentError naming `sim`, `options` or the option.
   */
  constructor(sim: Sim, initial: T | null = null, options: SimObjectOptions = {}) {
    super(sim, "RcuPointer", options);
    this.value = initial;
    rcuState(sim);
  }

  /** Mirrors rcu_assign_pointer(): publish `value` (null unpublishes). One step, a write of the pointer. */
  rcuAssignPointer(value: T | null): Op<void> {
    return makeNamedOp("rcu_assign_pointer", ["this", null, null, null], this, assignBody, value);
  }

  /**
   * Mirrors rcu_dereference(): read the pointer. Outside a read section it
   * files `suspicious-rcu-usage` (problem
   * `"dereference-outside-read-section"`) and still returns the value. One
   * step, a read of the pointer.
   */
  rcuDereference(): Op<T | null> {
    return makeNamedOp<RcuPointer<T>, T | null, DerefHow, RcuCondition>("rcu_dereference", ["this", null, null, null], this, derefBody, "plain", false);
  }

  /**
   * Mirrors rcu_dereference_check(p, c): as rcuDereference(), but also fine
   * outside a read section when `cond` holds: a lock the current task holds
   * (lockdep_is_held()), or `true`.
   * @throws ArgumentError naming `cond` when it is neither a lock nor a boolean.
   */
  rcuDereferenceCheck(cond: RcuCondition): Op<T | null> {
    checkCondition(cond);
    return makeNamedOp<RcuPointer<T>, T | null, DerefHow, RcuCondition>("rcu_dereference_check", ["this", null, null, null], this, derefBody, "check", cond);
  }

  /**
   * Mirrors rcu_dereference_protected(p, c): the update side's read, under
   * the lock that serialises updates; a read section does not count. When
   * `cond` does not hold it files `suspicious-rcu-usage` (problem
   * `"dereference-unprotected"`).
   * @throws ArgumentError naming `cond` when it is neither a lock nor a boolean.
   */
  rcuDereferenceProtected(cond: RcuCondition): Op<T | null> {
    checkCondition(cond);
    return makeNamedOp<RcuPointer<T>, T | null, DerefHow, RcuCondition>("rcu_dereference_protected", ["this", null, null, null], this, derefBody, "protected", cond);
  }

  /**
   * Mirrors rcu_access_pointer(): read the pointer's value without the
   * right to dereference it (to compare it with null, say). No check.
   */
  rcuAccessPointer(): Op<T | null> {
    return makeNamedOp<RcuPointer<T>, T | null, DerefHow, RcuCondition>("rcu_access_pointer", ["this", null, null, null], this, derefBody, "access", true);
  }
}

function* assignBody<T>(this: RcuPointer<T>, value: T | null): Generator<Effect, void, unknown> {
  yield new Effect(RCU_ASSIGN_POINTER, this, WRITE);
  touch(this.sim, this, true, "rcu_assign_pointer");
  if (guardLive(this, "RcuPointer.rcuAssignPointer")) this.value = value;
}

function* derefBody<T>(this: RcuPointer<T>, how: DerefHow, cond: RcuCondition): Generator<Effect, T | null, unknown> {
  yield new Effect(RCU_DEREFERENCE, this, READ);
  const task = current();
  const op = DEREF_OPS[how];
  touch(this.sim, this, false, op);
  if (how !== "access") {
    const inSection = task.rcuReadDepth > 0;
    const ok = how === "protected" ? conditionHolds(task, cond) : inSection || conditionHolds(task, cond);
    if (!ok) {
      const condition = typeof cond === "boolean" ? null : cond.label;
      if (how === "protected") suspicious(task, "dereference-unprotected", op, "suspicious rcu_dereference_protected() usage!", this.label, condition);
      else suspicious(task, "dereference-outside-read-section", op, "suspicious rcu_dereference_check() usage!", this.label, condition);
    }
  }
  if (!guardLive(this, `RcuPointer.${how === "access" ? "rcuAccessPointer" : "rcuDereference"}`)) return null;
  return this.value;
}
