/**
 * Workqueues and work items: deferred work run by worker tasks.
 *
 * Mirrors: struct work_struct and struct workqueue_struct — INIT_WORK(),
 *   queue_work(), work_pending(), flush_work(), cancel_work_sync(),
 *   alloc_workqueue() / alloc_ordered_workqueue() (max_active),
 *   flush_workqueue(), drain_workqueue() + destroy_workqueue(), system_wq,
 *   and process_one_work()'s lockdep annotations.
 * Ownership: the user owns a Work (usually embedded in the object it works
 *   on) and a Workqueue (freed by destroy()). A queued work holds no
 *   reference: freeing it while pending or running is the user's bug, and
 *   a worker touching it then is a use-after-free report. Workers never
 *   touch a work after its function returned (it may free itself).
 * Locking: every field of a Work and of a Workqueue is changed in one step
 *   (an effect) that declares it, as the kernel's pool->lock serialises them.
 * States: a Work is idle → pending (queued, on a worklist or claimed by a
 *   worker) → running (its function runs in a worker) → idle, and may be
 *   pending again while it runs. A Workqueue is live → draining (destroy()
 *   began) → freed.
 * Invariants: a work is pending at most once (queueWork() returns
 *   "already-pending"); a work never runs on two workers of one workqueue at
 *   once; at most `maxActive` workers of a workqueue exist, each spawned when
 *   work is queued and exiting when it finds nothing left to run (no task
 *   blocks forever waiting for work).
 */
import { ArgumentError, ArgumentRangeError, UsageError } from "../errors.js";
import type { QueuedByRef } from "../report/report.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";
import { checkedBody } from "./checked-body.js";
import { checkMightSleep } from "./context.js";
import { defineEffectKind, Effect, READ, WRITE, WRITE_ALL, WRITE_IF, type Waitable } from "./effect.js";
import { FREE, guardLive, siteRef, SimObject, touch, type Site, LIBRARY_CLASS } from "./heap.js";
import { heldRef, type HeldLock, type LockClass, type LockdepMap } from "./lockdep.js";
import { makeNamedOp, type Op } from "./op.js";
import { Sim } from "./sim.js";
import { currentOrNull } from "./current.js";
import { current, type Task } from "./task.js";

/** The maximum of `maxActive`, as the kernel's WQ_MAX_ACTIVE. */
export const WQ_MAX_ACTIVE = 512;
/**
 * The default `maxActive` of an unordered workqueue. The kernel's default
 * (WQ_DFL_ACTIVE) is 256 per CPU; the simulation keeps it small, since
 * every concurrent worker multiplies the interleavings to explore.
 */
export const WQ_DFL_ACTIVE = 4;

/**
 * A work item's function: a generator function run in a worker task, given
 * its work. One that throws, returns no generator or yields anything but
 * effects is a `task-exception` report of its worker (naming the queuing
 * site); the instance counts as finished and the queue goes on.
 */
export type WorkFn = (work: Work) => Iterable<Effect, void, unknown>;

/** Options for a Work. */
export interface WorkOptions {
  /**
   * The lockdep class of the work's map (default `(work_completion)<name>`).
   * The kernel gives every INIT_WORK() call site its own static key, so all
   * works initialised there share one class: give works made at one site
   * the same name, or the same `lockClass`.
   */
  readonly lockClass?: string;
  /** The object this work is embedded in; it lives and dies with it. */
  readonly embeddedIn?: SimObject;
  /** A statically allocated work (DECLARE_WORK): never freed, never a leak. Default false. */
  readonly static?: boolean;
}

const WORK_OPTIONS: Spec<WorkOptions> = { lockClass: is.nonEmptyString, embeddedIn: is.instanceOf(SimObject), static: is.boolean };

/** Options for a Workqueue. */
export interface WorkqueueOptions {
  /**
   * alloc_ordered_workqueue(): run one work at a time, in queue order
   * (maxActive 1). Default false.
   */
  readonly ordered?: boolean;
  /** How many works may run at once, 1 to WQ_MAX_ACTIVE (default WQ_DFL_ACTIVE, 4; 1 when ordered). */
  readonly maxActive?: number;
  /** A statically allocated workqueue (as system_wq): never freed, never destroyed. Default false. */
  readonly static?: boolean;
}

const WORKQUEUE_OPTIONS: Spec<WorkqueueOptions> = { ordered: is.boolean, maxActive: is.positiveInteger, static: is.boolean };

/** What queueWork() did: the kernel's queue_work() returning true ("queued") or false ("already-pending"). */
export type QueueWorkResult = "queued" | "already-pending";

/**
 * A work item: a function to run later in a worker task. Mirrors struct
 * work_struct and INIT_WORK(). It is its own lockdep map (the kernel's
 * work->lockdep_map): a worker holds it while the function runs, and
 * flushWork() takes it for a moment before waiting.
 */
export class Work extends SimObject implements LockdepMap {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  readonly lockClass: LockClass;
  /** @internal */ readonly fn: WorkFn;
  /** @internal The workqueue it is pending on (the PENDING bit), or null. */ pendingOn: Workqueue | null = null;
  /** @internal The workqueue whose worker runs it now, or null. */ runningOn: Workqueue | null = null;
  /** @internal cancelWorkSync() calls in progress: they hold the PENDING bit, so a queue attempt fails. */ canceling = 0;
  /** @internal How many times it was queued (its instances, numbered from 1). */ queuedSeq = 0;
  /** @internal The last instance that finished running. */ doneSeq = 0;
  /** @internal Where it was last queued. */ queuedSite: Site | null = null;
  /** @internal The workqueue it was last queued on. */ lastWq: Workqueue | null = null;

  /**
   * Mirrors INIT_WORK(): `new Work(sim, "free_bo", function* (work) { ... })`.
   * @throws ArgumentError naming `sim`, `name` (not a non-empty string),
   *   `fn` (not a function), `options`, an unknown option, `lockClass`,
   *   `embeddedIn` or `static`. Nothing is made then.
   */
  constructor(sim: Sim, name: string, fn: WorkFn, options: WorkOptions = {}) {
    arg("sim", is.instanceOf(Sim), sim);
    arg("name", is.nonEmptyString, name);
    arg("fn", is.function, fn);
    checkOptions("options", options, WORK_OPTIONS);
    const { embeddedIn, static: isStatic } = options;
    super(sim, "Work", { name, ...(embeddedIn === undefined ? {} : { embeddedIn }), ...(isStatic === undefined ? {} : { static: isStatic }) });
    this.fn = fn;
    this.lockClass = sim.lockdep.lockClass(options.lockClass ?? `(work_completion)${name}`, "none");
  }

  /** Mirrors work_pending(): whether it is queued and has not started yet. A query. */
  isPending(): boolean {
    return this.pendingOn !== null || this.canceling > 0;
  }

  /** Whether a worker runs its function now. A query. */
  isRunning(): boolean {
    return this.runningOn !== null;
  }
}

/** One pending instance on a worklist: the work and the workqueue's queue number. */
interface Entry {
  readonly work: Work;
  readonly seq: number;
}

/** @internal One worker task of a workqueue and the work it claimed (null: not picked yet). */
interface Worker {
  readonly task: Task;
  claim: Entry | null;
}

/**
 * A workqueue: runs queued works in worker tasks, at most `maxActive` at
 * once (one at a time, in queue order, when ordered). Mirrors struct
 * workqueue_struct (alloc_workqueue(), alloc_ordered_workqueue()). It is its
 * own lockdep map (the kernel's wq->lockdep_map, class
 * `(wq_completion)<name>`).
 */
export class Workqueue extends SimObject implements LockdepMap {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  readonly lockClass: LockClass;
  readonly ordered: boolean;
  readonly maxActive: number;
  /** @internal Pending instances, in queue order. */ readonly worklist: Entry[] = [];
  /** @internal Works claimed or running on a worker of this queue, with their instance's queue number. */ readonly executing = new Map<Work, number>();
  /** @internal Live workers, by task. */ readonly workers = new Map<Task, Worker>();
  /** @internal Instances queued so far (the queue numbers). */ seq = 0;
  /** @internal Where destroy() began draining it, or null. */ drainingSite: Site | null = null;

  /**
   * Mirrors alloc_workqueue(name, 0, maxActive), or
   * alloc_ordered_workqueue(name) with `{ ordered: true }`.
   * @throws ArgumentError naming `sim`, `name`, `options`, an unknown option,
   *   `ordered`, `maxActive` (not a number; with `ordered`, anything but 1)
   *   or `static`; ArgumentRangeError naming `maxActive` outside 1 to
   *   WQ_MAX_ACTIVE. Nothing is made then.
   */
  constructor(sim: Sim, name: string, options: WorkqueueOptions = {}) {
    arg("sim", is.instanceOf(Sim), sim);
    arg("name", is.nonEmptyString, name);
    checkOptions("options", options, WORKQUEUE_OPTIONS);
    const ordered = options.ordered ?? false;
    const maxActive = options.maxActive ?? (ordered ? 1 : WQ_DFL_ACTIVE);
    if (maxActive > WQ_MAX_ACTIVE) throw new ArgumentRangeError("maxActive", `must be at most ${WQ_MAX_ACTIVE} (WQ_MAX_ACTIVE), got ${maxActive}`);
    if (ordered && maxActive !== 1) throw new ArgumentError("maxActive", `an ordered workqueue runs one work at a time: maxActive must be 1 or absent, got ${maxActive}`);
    super(sim, "Workqueue", { name, ...(options.static === undefined ? {} : { static: options.static }) });
    this.ordered = ordered;
    this.maxActive = maxActive;
    this.lockClass = sim.lockdep.lockClass(`(wq_completion)${name}`, "none");
  }

  /**
   * Mirrors queue_work(): queue `work` unless it is already pending.
   * Returns "queued", or "already-pending" (the kernel's false: pending
   * here or elsewhere, or being cancelled). A work that is running may be
   * queued again. Never sleeps; any context. The site is recorded: reports
   * filed while this instance runs name it (`queuedBy`). While destroy()
   * drains this queue, a queue attempt from outside its own works is a
   * `workqueue-misuse` report and the work stays pending, never run (the
   * kernel's WARN_ONCE); on a destroyed queue it is a use-after-free.
   * @throws ArgumentError naming `work` when it is not a Work.
   */
  queueWork(work: Work): Op<QueueWorkResult> {
    arg("work", is.instanceOf(Work), work);
    return makeNamedOp("queue_work", ["this", "work", null, null], this, queueWorkBody, work);
  }

  /**
   * Mirrors flush_workqueue(): wait until every work queued on it before
   * the call has finished. Takes and drops the queue's lockdep map first
   * (flushing from one of its own works, or under a lock its works take, is
   * a lockdep report). Sleeps: calls the might-sleep check first.
   */
  flushWorkqueue(): Op<void> {
    return makeNamedOp("flush_workqueue", ["this", null, null, null], this, flushWorkqueueBody);
  }

  /**
   * Mirrors destroy_workqueue(): drain it (wait until no work is pending or
   * running, its own works may still queue more meanwhile), then free it.
   * Using it afterwards is a use-after-free report. Sleeps.
   * @throws UsageError for a static workqueue (system_wq).
   */
  destroy(): Op<void> {
    if (this.isStatic) throw new UsageError(`${this.label} is static (as system_wq): it cannot be destroyed`);
    return makeNamedOp("destroy_workqueue", ["this", null, null, null], this, destroyBody);
  }
}

/** Per-Sim state: the worker name counter and system_wq. */
interface WqState {
  workers: number;
  system: Workqueue | null;
}
const states = new WeakMap<Sim, WqState>();

function stateOf(sim: Sim): WqState {
  let s = states.get(sim);
  if (s === undefined) {
    s = { workers: 0, system: null };
    states.set(sim, s);
  }
  return s;
}

/**
 * Mirrors system_wq (schedule_work() queues on it): an unordered, static
 * workqueue named "events", made for `sim` on first use. Call it once in the
 * scenario's setup when exploring, so it is made the same way in every
 * execution.
 * @throws ArgumentError naming `sim` when it is not a Sim.
 */
export function systemWq(sim: Sim): Workqueue {
  arg("sim", is.instanceOf(Sim), sim);
  const s = stateOf(sim);
  return (s.system ??= new Workqueue(sim, "events", { static: true }));
}

/**
 * Mirrors flush_work(): wait until the last queued instance of `work` has
 * finished. Returns true if it waited, false if the work was idle. First
 * (before looking, so even a run where the work is idle teaches lockdep the
 * order) it takes and drops the work's lockdep map: flushing a work while
 * holding a lock its function takes is a lock-order report whether or not
 * the work ran. When the work is busy on a queue with maxActive 1, it takes
 * and drops that queue's map too (flushing a work from another work of an
 * ordered queue deadlocks). Sleeps: calls the might-sleep check first.
 * @throws ArgumentError naming `work` when it is not a Work.
 */
export function flushWork(work: Work): Op<boolean> {
  arg("work", is.instanceOf(Work), work);
  return makeNamedOp("flush_work", [null, "work", null, null], undefined, flushWorkBody, work);
}

/**
 * Mirrors cancel_work_sync(): take `work` off its queue if it is pending,
 * then wait for a running instance to finish; while it runs, queue attempts
 * fail ("already-pending"). Returns whether it was pending. When it has to
 * wait, it takes and drops the work's lockdep map first. Sleeps.
 * @throws ArgumentError naming `work` when it is not a Work.
 */
export function cancelWorkSync(work: Work): Op<boolean> {
  arg("work", is.instanceOf(Work), work);
  return makeNamedOp("cancel_work_sync", [null, "work", null, null], undefined, cancelWorkSyncBody, work);
}

/** queue_work(): writes the work (its PENDING bit) and the queue (its worklist). */
export const QUEUE_WORK = defineEffectKind({ name: "queue-work" });
/** A new worker looks for a work to run: writes its queue. */
export const WORKER_PICK = defineEffectKind({ name: "worker-pick" });
/** A worker starts the work it claimed (clears PENDING): writes the work and its queue. */
export const WORK_START = defineEffectKind({ name: "work-start" });
/** A work's function returned: writes the work (without touching it if freed) and its queue; the worker picks the next. */
export const WORK_DONE = defineEffectKind({ name: "work-done" });
/** flush_work() looks at the work: reads it. */
export const FLUSH_WORK = defineEffectKind({ name: "flush-work" });
/** flush_work() waits for the instance to finish: reads the work. */
export const FLUSH_WORK_WAIT = defineEffectKind({ name: "flush-work-wait" });
/** cancel_work_sync() grabs the PENDING bit: writes the work and the queue it is pending on. */
export const CANCEL_WORK = defineEffectKind({ name: "cancel-work" });
/** cancel_work_sync() waits for the running instance, then lets go of PENDING: writes the work. */
export const CANCEL_WORK_WAIT = defineEffectKind({ name: "cancel-work-wait" });
/** flush_workqueue() looks at the queue: reads it. */
export const FLUSH_WORKQUEUE = defineEffectKind({ name: "flush-workqueue" });
/** flush_workqueue() waits: reads the queue. */
export const FLUSH_WORKQUEUE_WAIT = defineEffectKind({ name: "flush-workqueue-wait" });
/** destroy_workqueue() marks it draining: writes it. */
export const DRAIN_WORKQUEUE = defineEffectKind({ name: "drain-workqueue" });
/** destroy_workqueue() waits until it is empty: reads it. */
export const DRAIN_WORKQUEUE_WAIT = defineEffectKind({ name: "drain-workqueue-wait" });

/** A flush_work() waiter: the instance it waits for has finished, or the work is idle (cancelled). */
class FlushWaiter implements Waitable {
  constructor(
    private readonly work: Work,
    private readonly target: number,
  ) {}

  get label(): string {
    return this.work.label;
  }

  canProceed(): boolean {
    const w = this.work;
    return w.doneSeq >= this.target || (w.pendingOn === null && w.runningOn === null);
  }

  wakers(): readonly Task[] | null {
    return runners(this.work);
  }
}

/** A cancel_work_sync() waiter: no instance runs. */
class CancelWaiter implements Waitable {
  constructor(private readonly work: Work) {}

  get label(): string {
    return this.work.label;
  }

  canProceed(): boolean {
    return this.work.runningOn === null;
  }

  wakers(): readonly Task[] | null {
    return runners(this.work);
  }
}

/** A flush_workqueue() waiter: nothing queued up to `target` is pending or running. */
class WorkqueueFlushWaiter implements Waitable {
  constructor(
    private readonly wq: Workqueue,
    private readonly target: number,
  ) {}

  get label(): string {
    return this.wq.label;
  }

  canProceed(): boolean {
    return !busyUpTo(this.wq, this.target);
  }

  wakers(): null {
    return null;
  }
}

/** A drain waiter: nothing pending, running, or about to look for work. */
class DrainWaiter implements Waitable {
  constructor(private readonly wq: Workqueue) {}

  get label(): string {
    return this.wq.label;
  }

  canProceed(): boolean {
    return this.wq.worklist.length === 0 && this.wq.workers.size === 0;
  }

  wakers(): null {
    return null;
  }
}

/** The worker running `work`, if any: what a flush or cancel waits for. */
function runners(work: Work): readonly Task[] | null {
  const wq = work.runningOn ?? work.pendingOn;
  if (wq === null) return null;
  for (const w of wq.workers.values()) if (w.claim?.work === work) return [w.task];
  return null;
}

/** Whether an instance queued on `wq` with a queue number up to `target` is pending or running. */
function busyUpTo(wq: Workqueue, target: number): boolean {
  for (const e of wq.worklist) if (e.seq <= target) return true;
  for (const seq of wq.executing.values()) if (seq <= target) return true;
  return false;
}

/** Acquire and release a lockdep map at once: the kernel's touch_work_lockdep_map() / touch_wq_lockdep_map(). */
function touchMap(task: Task, map: LockdepMap, op: string): void {
  const lockdep = task.sim.lockdep;
  lockdep.acquire(task, map, op);
  lockdep.release(task, map, null);
}

function* queueWorkBody(this: Workqueue, work: Work): Generator<Effect, QueueWorkResult, unknown> {
  yield new Effect(QUEUE_WORK, work, WRITE, work, null, Infinity, null, [{ object: this, mode: "write" }]);
  const sim = this.sim;
  touch(sim, work, true, "queue_work");
  touch(sim, this, true, "queue_work");
  // A freed queue or work: the use-after-free is the report; nothing is queued.
  if (!guardLive(this, "Workqueue.queueWork") || !guardLive(work, "Work.queueWork")) return "queued";
  if (work.pendingOn !== null || work.canceling > 0) {
    sim.note("already pending");
    return "already-pending";
  }
  const task = current();
  work.pendingOn = this;
  work.queuedSeq++;
  work.queuedSite = sim.site("queue_work");
  work.lastWq = this;
  if (this.drainingSite !== null && !this.workers.has(task)) {
    // As __queue_work(): the PENDING bit stays set, the work is not queued.
    sim.note("draining");
    sim.file({
      kind: "workqueue-misuse",
      problem: "queue-while-draining",
      work: work.label,
      workqueue: this.label,
      queued: siteRef(work.queuedSite),
      draining: siteRef(this.drainingSite),
    });
    return "queued";
  }
  this.worklist.push({ work, seq: ++this.seq });
  // A new worker when every existing one is busy with a claimed work and there is room.
  let idle = 0;
  for (const w of this.workers.values()) if (w.claim === null) idle++;
  if (this.workers.size < this.maxActive && idle < this.worklist.length) spawnWorker(this);
  return "queued";
}

/** Start a worker task for `wq`: it runs works until it finds none it may run, then exits. */
function spawnWorker(wq: Workqueue): void {
  const sim = wq.sim;
  const n = ++stateOf(sim).workers;
  // The Worker needs its task, and the task's body its Worker: the body reads it once it runs.
  const holder: { worker: Worker | null } = { worker: null };
  // Whether a queueWork spawns depends on the schedule: the new task's footprint
  // key must not count as one the caller made, or the caller's later objects
  // would be named differently from one execution to the next (as callRcu).
  const caller = currentOrNull();
  const made = caller?.keysMade ?? 0;
  const task = sim.spawn(`kworker/u:${n}`, "worker", () => workerBody(wq, holder.worker as Worker));
  if (caller !== null) caller.keysMade = made;
  const worker: Worker = { task, claim: null };
  holder.worker = worker;
  wq.workers.set(task, worker);
}

/**
 * Claim the first pending work of `wq` that no other worker of it runs (the
 * kernel never runs one work on two workers at once), or, with none, leave
 * the queue. Runs in a step that writes `wq`.
 */
function pick(wq: Workqueue, worker: Worker): Entry | null {
  const list = wq.worklist;
  for (let i = 0; i < list.length; i++) {
    const e = list[i] as Entry;
    if (wq.executing.has(e.work)) continue;
    list.splice(i, 1);
    wq.executing.set(e.work, e.seq);
    worker.claim = e;
    return e;
  }
  worker.claim = null;
  wq.workers.delete(worker.task);
  return null;
}

function* workerBody(wq: Workqueue, worker: Worker): Generator<Effect, void, unknown> {
  const sim = wq.sim;
  const task = worker.task;
  yield new Effect(WORKER_PICK, wq, WRITE);
  touch(sim, wq, true, "worker_thread");
  let claim = pick(wq, worker);
  while (claim !== null) {
    const work = claim.work;
    yield new Effect(WORK_START, work, WRITE, work, null, Infinity, null, [{ object: wq, mode: "write" }]);
    touch(sim, work, true, "process_one_work");
    touch(sim, wq, true, "process_one_work");
    if (worker.claim === null) {
      // cancel_work_sync() took it back before it started.
      claim = pick(wq, worker);
      continue;
    }
    if (!guardLive(work, "process_one_work")) {
      // Freed while pending: the use-after-free is reported; it cannot run.
      wq.executing.delete(work);
      claim = pick(wq, worker);
      continue;
    }
    // As process_one_work(): PENDING is cleared before the function runs, so it may be queued again meanwhile.
    const instance = work.queuedSeq;
    work.pendingOn = null;
    work.runningOn = wq;
    const queued = work.queuedSite;
    task.workQueuedBy = queued === null ? null : ({ ...siteRef(queued), work: work.label, workqueue: wq.label } satisfies QueuedByRef);
    const lockdep = sim.lockdep;
    lockdep.acquire(task, wq, "process_one_work");
    lockdep.acquire(task, work, "process_one_work");
    // A function that throws (or is no generator) is the driver's bug: the
    // worker dies with a task-exception report naming the queuing site, but
    // first it finishes the instance (so flushes and destroy() do not wait
    // forever) and hands the rest of the queue to a new worker.
    let failed: { readonly error: unknown } | null = null;
    try {
      const body = work.fn.call(undefined, work) as unknown;
      const start = typeof body === "object" && body !== null ? (body as Partial<Iterable<Effect>>)[Symbol.iterator] : undefined;
      if (typeof start !== "function") throw new UsageError(`the function of ${work.label} returned ${describeValue(body)}, not a generator: write it as function* (work) { ... }`);
      yield* checkedBody(body as Iterable<Effect, void, unknown>, `the function of ${work.label}`);
    } catch (error) {
      // In throw mode the run ends with this error: nothing left to tidy.
      if (sim.onReport === "throw" || sim.stopped) throw error;
      failed = { error };
    }
    if (failed === null) checkLeaks(task, wq, work);
    // The work may have freed itself: from here on only its fields are written, nothing of it is called.
    lockdep.release(task, work, null);
    lockdep.release(task, wq, null);
    if (failed === null) task.workQueuedBy = null;
    yield new Effect(WORK_DONE, work, WRITE, work, null, Infinity, null, [{ object: wq, mode: "write" }]);
    touch(sim, wq, true, "process_one_work");
    if (work.runningOn === wq) work.runningOn = null;
    if (work.doneSeq < instance) work.doneSeq = instance;
    wq.executing.delete(work);
    if (failed !== null) {
      worker.claim = null;
      wq.workers.delete(task);
      if (wq.worklist.length > 0) spawnWorker(wq);
      throw failed.error;
    }
    claim = pick(wq, worker);
  }
}

/**
 * As process_one_work() after the function returned: a lock still held
 * (beyond the two maps the worker took to run it), an open RCU read
 * section, irqs or preemption off, or an open fence-signalling section is a
 * `workqueue-misuse` report (problem "leaked-lock"). Nothing is undone, as
 * in the kernel. Looks only at the worker task, not at the work (which may
 * have freed itself).
 */
function checkLeaks(task: Task, wq: Workqueue, work: Work): void {
  const leaked: HeldLock[] = [];
  for (const h of task.held) if (h.map !== wq && h.map !== work) leaked.push(h);
  const atomic = task.irqsOff > 0 || task.preemptCount > 0 || task.fenceSignalling > 0;
  if (leaked.length === 0 && task.rcuReadDepth === 0 && !atomic) return;
  const queued = task.workQueuedBy;
  task.sim.file({
    kind: "workqueue-misuse",
    problem: "leaked-lock",
    work: work.label,
    workqueue: wq.label,
    queued: queued === null ? null : { task: queued.task, step: queued.step, op: queued.op, ...(queued.stack === undefined ? {} : { stack: queued.stack }) },
    held: leaked.map(heldRef),
    rcuDepth: task.rcuReadDepth,
    atomic,
  });
}

function* flushWorkBody(this: undefined, work: Work): Generator<Effect, boolean, unknown> {
  const task = current();
  checkMightSleep(task, "flush_work");
  // Before looking: the order is learned even when there is nothing to wait for.
  touchMap(task, work, "flush_work");
  yield new Effect(FLUSH_WORK, work, READ);
  const sim = work.sim;
  touch(sim, work, false, "flush_work");
  if (!guardLive(work, "flush_work")) return false;
  const wq = work.pendingOn ?? work.runningOn;
  if (wq === null) {
    sim.note("idle");
    return false;
  }
  // As start_flush_work(): flushing from a work of a one-at-a-time queue deadlocks.
  if (wq.maxActive === 1) touchMap(task, wq, "flush_work");
  yield new Effect(FLUSH_WORK_WAIT, work, READ, work, new FlushWaiter(work, work.queuedSeq));
  touch(sim, work, false, "flush_work");
  return true;
}

function* cancelWorkSyncBody(this: undefined, work: Work): Generator<Effect, boolean, unknown> {
  const task = current();
  checkMightSleep(task, "cancel_work_sync");
  const sim = work.sim;
  // Grab PENDING: the step writes the queue the work is pending on, known
  // only when the step runs; if that changed since it was announced, again.
  let wq = work.pendingOn;
  for (;;) {
    yield new Effect(CANCEL_WORK, work, WRITE, work, null, Infinity, null, wq === null ? null : [{ object: wq, mode: "write" }]);
    touch(sim, work, true, "cancel_work_sync");
    if (!guardLive(work, "cancel_work_sync")) return false;
    if (work.pendingOn === wq) break;
    wq = work.pendingOn;
  }
  const wasPending = wq !== null;
  if (wq !== null) {
    touch(sim, wq, true, "cancel_work_sync");
    const i = wq.worklist.findIndex((e) => e.work === work);
    if (i >= 0) {
      wq.worklist.splice(i, 1);
    } else {
      // Claimed by a worker that has not started it: take it back.
      for (const w of wq.workers.values()) {
        if (w.claim?.work === work) {
          w.claim = null;
          wq.executing.delete(work);
        }
      }
    }
    work.pendingOn = null;
    sim.note("was pending");
  }
  if (work.runningOn === null) return wasPending;
  // Hold PENDING while the running instance finishes, so it cannot be queued again.
  work.canceling++;
  touchMap(task, work, "cancel_work_sync");
  yield new Effect(CANCEL_WORK_WAIT, work, WRITE_IF, work, new CancelWaiter(work));
  touch(sim, work, true, "cancel_work_sync");
  work.canceling--;
  return wasPending;
}

function* flushWorkqueueBody(this: Workqueue): Generator<Effect, void, unknown> {
  const task = current();
  checkMightSleep(task, "flush_workqueue");
  touchMap(task, this, "flush_workqueue");
  yield new Effect(FLUSH_WORKQUEUE, this, READ);
  touch(this.sim, this, false, "flush_workqueue");
  if (!guardLive(this, "flush_workqueue")) return;
  const target = this.seq;
  if (!busyUpTo(this, target)) {
    this.sim.note("idle");
    return;
  }
  yield new Effect(FLUSH_WORKQUEUE_WAIT, this, READ, this, new WorkqueueFlushWaiter(this, target));
  touch(this.sim, this, false, "flush_workqueue");
}

function* destroyBody(this: Workqueue): Generator<Effect, void, unknown> {
  const task = current();
  checkMightSleep(task, "destroy_workqueue");
  yield new Effect(DRAIN_WORKQUEUE, this, WRITE);
  const sim = this.sim;
  touch(sim, this, true, "destroy_workqueue");
  if (!guardLive(this, "destroy_workqueue")) return;
  this.drainingSite ??= sim.site("destroy_workqueue");
  // drain_workqueue() flushes it, as flush_workqueue() does.
  touchMap(task, this, "destroy_workqueue");
  yield new Effect(DRAIN_WORKQUEUE_WAIT, this, READ, this, new DrainWaiter(this));
  touch(sim, this, false, "destroy_workqueue");
  yield new Effect(FREE, this, WRITE_ALL);
  touch(sim, this, true, "destroy_workqueue");
  sim.heap.free(this, "destroy_workqueue");
}
