/**
 * Task: one simulated kernel thread (task_struct), and `current()`.
 *
 * Mirrors: struct task_struct, `current`, cond_resched(), msleep().
 * Ownership: the Sim owns its tasks; a task never ends before its generator
 *   returns or throws, and is never freed (reports keep referring to it).
 * Locking: none; only the scheduler mutates `pending`, and only while no
 *   task body runs.
 * States: runnable (its next effect can proceed) → blocked (it cannot, yet)
 *   → … → done. A new task starts runnable with a `start` effect, so spawn
 *   order never decides who runs first.
 * Invariants: exactly one task is `current()` while simulated code runs, and
 *   none outside; `pending` is null exactly when the task is done.
 */
import { ArgumentError, ArgumentRangeError } from "../errors.js";
import { describeValue, MAX_NANOSECONDS } from "../validate.js";
import { currentOrNull } from "./current.js";
import { defineEffectKind, Effect, EVERYTHING, NEVER, NONE } from "./effect.js";
import { makeOp, makeStepOp, type Op, type StepBody } from "./op.js";
import type { Sim } from "./sim.js";
import { checkMightSleep } from "./context.js";
import { current } from "./current.js";
import { HeldStack } from "./held-stack.js";
import type { LockdepMap } from "./lockdep.js";
import type { QueuedByRef } from "../report/report.js";

/** The execution context a task runs in, as the kernel distinguishes them. */
export type TaskContext = "process" | "softirq" | "hardirq" | "worker" | "reclaim";

export const TASK_CONTEXTS: readonly TaskContext[] = ["process", "softirq", "hardirq", "worker", "reclaim"];

/** A task's observable state. */
export type TaskState = "runnable" | "blocked" | "done";

/**
 * The body of a task: a generator function, or any function returning an
 * Op (`() => useBo(bo)`). It is called when the task first runs, so the ops
 * it creates belong to the new task.
 */
export type TaskBody<T> = () => Iterable<Effect, T, unknown>;

/** Ops remembered per scheduling step for `unstarted-op` reports (a power of two). */
const OP_RING = 16;

// current() lives in current.ts, which every file that needs it imports
// without importing Task's implementation; re-exported here with Task.
export { current };

export class Task {
  /** @internal */ pending: Effect | null;
  /** @internal The body's iterator; a launcher until the task first runs. */
  gen: Iterator<Effect, unknown, unknown>;
  /** @internal The last OP_RING ops created since the task last yielded. */
  opRing: (Op<unknown> | null)[] | null = null;
  /** @internal How many ops were created since the task last yielded. */ opsCreated = 0;
  /** @internal How many of those are not started yet. */ unstartedOps = 0;
  // Execution context (see src/kernel/context.ts). A hardirq task runs with
  // hardirqs off, a softirq task with bottom halves off, from its first step.
  /** @internal Nesting of irq-disabled sections (local_irq_save, spin_lock_irqsave). */ irqsOff: number;
  /** @internal Nesting of bottom-half-disabled sections (spin_lock_bh). */ bhOff: number;
  /** @internal Spinlocks held: preemption is disabled while non-zero. */ preemptCount = 0;
  /** @internal Nesting of preemptDisable() sections and local locks held (preemption is off while non-zero too). */ preemptDisabled = 0;
  /** @internal Nesting of hardirqEnter() sections: the task runs a hardirq section in its own body. */ hardirqEntered = 0;
  /** @internal Nesting of softirqEnter() sections. */ softirqEntered = 0;
  /** @internal Nesting of dma_fence_begin_signalling() sections. */ fenceSignalling = 0;
  /** @internal Nesting of rcu_read_lock() sections (rcu.ts); atomic for the context checks while non-zero. */ rcuReadDepth = 0;
  /** @internal Nesting of non-blockable mmu notifier callbacks (device/mmu-notifier.ts): may not sleep while non-zero. */ mmuNotifierNonblock = 0;
  /** @internal How many outermost RCU read sections this task entered: names its current one for grace periods (rcu.ts). */ rcuSection = 0;
  /** @internal Locks held, oldest first, as lockdep sees them. */ readonly held = new HeldStack();
  /** @internal Released held-lock entries, for lockdep to reuse (a task re-takes its locks many times). */ readonly heldFree = new HeldStack();
  /** @internal The interrupt task running on this task's CPU, if any. */ interruptedBy: Task | null = null;
  /** @internal For an interrupt task: the task it interrupted. */ interrupts: Task | null = null;
  /** @internal A signal is pending (see kill()): interruptible waits end early. */ signalPending = false;
  /** @internal Steps without progress since it last made progress or was unparked (see SPIN_STEPS in scheduler.ts). */ spinSteps = 0;
  /** @internal Steps in a row without progress, whatever happened meanwhile: what a livelock report counts. */ spinRun = 0;
  /** @internal Spun its budget: not run until something it read changes, or nothing else can run. */ parked = false;
  /** @internal The footprint keys its spin read, as [key, alloc, key, alloc, ...]; null until it spins. */ spinReads: number[] | null = null;
  /** @internal The step during which another task spawned this one (0: spawned outside any task). */ spawnedAtStep = 0;
  /** @internal Footprint keys this task made (see Heap.newKey). */ keysMade = 0;
  /**
   * @internal Called with every lock this task asks for (not a trylock)
   * while set: a layer that must know what a task takes (the fences it owes
   * a signal, dma-fence.ts) sets it. Null almost always, so lockdep pays one
   * field test per acquisition.
   */
  lockWatch: ((map: LockdepMap, op: string, read: boolean) => void) | null = null;
  /** @internal In a workqueue worker: where the work item it is running was queued (reports carry it); null otherwise. */ workQueuedBy: QueuedByRef | null = null;
  /** The value the body returned, once done. */
  result: unknown = undefined;
  /** The exception the body threw, if it died. */
  error: unknown = undefined;

  /** @internal Use `Sim.spawn()`. */
  constructor(
    readonly sim: Sim,
    /** Per-simulation id, from 1 in spawn order. */
    readonly id: number,
    readonly name: string,
    readonly context: TaskContext,
    body: TaskBody<unknown>,
    startEffect: Effect,
  ) {
    this.gen = new Launcher(this, body);
    this.pending = startEffect;
    this.irqsOff = context === "hardirq" ? 1 : 0;
    this.bhOff = context === "softirq" ? 1 : 0;
  }

  /** Whether this task runs in interrupt context (a hardirq or softirq handler). */
  get inInterrupt(): boolean {
    return this.context === "hardirq" || this.context === "softirq";
  }

  /**
   * Send the task a fatal signal: its interruptible waits (`lockInterruptible`)
   * end with `"interrupted"`, as they would return -EINTR.
   */
  kill(): void {
    this.signalPending = true;
    // The signal is state the victim's interruptible waits read: the step
    // that sends it (if a task sends it) writes it.
    const sender = currentOrNull();
    if (sender !== null) this.sim.scheduler.strategy.touched?.(sender, this, true);
  }

  get state(): TaskState {
    const e = this.pending;
    if (e === null) return "done";
    if (this.interruptedBy !== null) return "blocked";
    if (e.waitsFor === null || e.waitsFor.canProceed(this) || e.deadline <= this.sim.now) return "runnable";
    return "blocked";
  }

  /** `reader/2`: name and id, as reports print a task. */
  get label(): string {
    return `${this.name}/${this.id}`;
  }

  /** @internal */
  registerOp(op: Op<unknown>): void {
    (this.opRing ??= new Array<Op<unknown> | null>(OP_RING).fill(null))[this.opsCreated++ & (OP_RING - 1)] = op;
    this.unstartedOps++;
  }

  /** @internal */
  opStarted(): void {
    this.unstartedOps--;
  }
}

/** A task's first step: it touches nothing, so it is independent of every other step. */
export const START = defineEffectKind({ name: "start" });
/** cond_resched(): a scheduling point that touches nothing and is not progress. */
export const RESCHED_KIND = defineEffectKind({ name: "resched", progress: false });
/** msleep(): blocks until a deadline; time is shared by every task. */
export const SLEEP = defineEffectKind({ name: "sleep" });

const RESCHED = new Effect(RESCHED_KIND, null, NONE);

/** The longest msleep(): MAX_NANOSECONDS in whole milliseconds (4,503,599,627 ms). */
const MAX_MILLISECONDS = Math.floor(MAX_NANOSECONDS / 1e6);

/**
 * @internal Thrown by a task's first step when its body returned no
 * generator (a number, a promise from an async function...): the scheduler
 * turns it into a `task-misuse` report of the execution, not an exception.
 */
export class NotAGenerator extends Error {
  override name = "NotAGenerator";
  constructor(readonly value: unknown) {
    super("the task body returned no generator");
  }
}

/**
 * Stands in for a task's iterator until its first step, then calls the body
 * and hands over to the body's iterator, so the scheduler's step needs no
 * "has it started?" test.
 */
class Launcher implements Iterator<Effect, unknown, unknown> {
  constructor(
    private readonly task: Task,
    private readonly body: TaskBody<unknown>,
  ) {}

  next(): IteratorResult<Effect, unknown> {
    const task = this.task;
    // A reclaim task (kswapd, a shrinker) runs inside fs_reclaim throughout.
    if (task.context === "reclaim") task.sim.lockdep.acquire(task, task.sim.lockdep.maps.fsReclaim, "reclaim context");
    const iterable = this.body() as unknown;
    // A string is iterable, but a body that returns one is no generator.
    const start = typeof iterable === "object" && iterable !== null ? (iterable as Partial<Iterable<Effect>>)[Symbol.iterator] : undefined;
    if (typeof start !== "function") throw new NotAGenerator(iterable);
    const it = start.call(iterable) as Iterator<Effect, unknown, unknown>;
    this.task.gen = it;
    return it.next();
  }
}

// cond_resched() yields one effect: a step op (op.ts), no generator per call.
const RESCHED_BODY: StepBody<undefined, undefined, void> = {
  name: "cond_resched",
  before: () => {
    // cond_resched() is a rescheduling point, so it runs the might-sleep
    // check (the kernel's __might_resched() in the cond_resched() macro).
    checkMightSleep(current(), "cond_resched");
    return RESCHED;
  },
  after: () => undefined,
};

/**
 * Mirrors cond_resched(): a point where the scheduler may switch tasks, with
 * no other effect. Spin loops must call it (or another op) each iteration.
 * Like the kernel's, it checks that the task may sleep here: in atomic
 * context (a spinlock held, preemption, irqs or bottom halves disabled, an
 * irq context) it files `sleep-in-atomic` with op `cond_resched`, and still
 * yields. A scheduling point inside an atomic section is any other op, such
 * as an `access()`.
 */
export function condResched(): Op<void> {
  return makeStepOp(undefined, RESCHED_BODY);
}

function* sleepBody(this: undefined, ns: number): Generator<Effect, void, unknown> {
  const task = current();
  // Sleeping in atomic context is a bug ("scheduling while atomic").
  checkMightSleep(task, "msleep");
  const sim = task.sim;
  yield new Effect(SLEEP, null, EVERYTHING, null, NEVER, sim.now + ns);
}

/**
 * Mirrors msleep(): block for `ms` milliseconds of simulated time. Simulated
 * time only moves when every task is blocked (see docs/simulation.md), so a
 * sleep never lets another task's busy loop run out of steps.
 *
 * @throws ArgumentError naming `ms` when it is not a number;
 *   ArgumentRangeError naming `ms` when it is not finite, negative, or
 *   longer than MAX_NANOSECONDS (validate.ts) once in nanoseconds.
 */
export function msleep(ms: number): Op<void> {
  if (typeof ms !== "number") throw new ArgumentError("ms", `must be a number of milliseconds, got ${describeValue(ms)}`);
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_MILLISECONDS) {
    throw new ArgumentRangeError("ms", `must be a finite number of milliseconds from 0 to ${MAX_MILLISECONDS}, got ${ms}`);
  }
  return makeOp("msleep", undefined, sleepBody, ms * 1e6);
}
