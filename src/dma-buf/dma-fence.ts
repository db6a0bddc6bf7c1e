/**
 * DmaFence: a one-shot completion event other drivers can wait for.
 *
 * Mirrors: struct dma_fence — dma_fence_init(), dma_fence_get()/put()/
 *   get_rcu(), dma_fence_signal(), dma_fence_is_signaled(),
 *   dma_fence_add_callback()/remove_callback(), dma_fence_wait()/
 *   wait_timeout(), dma_fence_set_error(), dma_fence_get_status(),
 *   dma_fence_is_later(), dma_fence_release().
 * Ownership: refcounted (`refcount`); the creator holds the first reference.
 *   The last put releases it: pending callbacks are a report, then the
 *   fence is freed (kfreeRcu, or `ops.release` for a fence embedded in a job).
 * Locking: every operation is one atomic step (the kernel's fence->lock is
 *   held inside it); callbacks run in the signalling task with irqs off, as
 *   under fence->lock. The checker state (who waits, who signals, what the
 *   signaller takes) is an observer, like lockdep's graph: in no footprint.
 * States: unsignalled → signalled (final). `error` may be set only before.
 * Invariants: a context's fences signal in seqno order; a published fence
 *   (waited for, given a callback, or added to a resv) is signalled before
 *   teardown; nobody waits for a fence under a lock its signaller takes
 *   before signalling. Each broken rule is a report (fence-kinds.ts).
 *
 * The signaller is the task that made the fence (or the `signaller` option,
 * or a task that called claimSignalling()). While the fence is unsignalled,
 * every lock that task asks for is recorded against the fence (Task.lockWatch);
 * every wait records the locks the waiter holds. A lock in both is a
 * `fence-wait-deadlock` report, whichever fact came first.
 */
import { ArgumentError, ArgumentRangeError, UsageError } from "../errors.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";
import { defineEffectKind, Effect, READ, WRITE, type Access, type Waitable } from "../kernel/effect.js";
import { guardLive, noteTouched, objectRef, siteRef, SimObject, touch, type Site, LIBRARY_CLASS } from "../kernel/heap.js";
import { Kref, type Release } from "../kernel/kref.js";
import { makeOp, type Op } from "../kernel/op.js";
import { checkedBody } from "../kernel/checked-body.js";
import { checkMightSleep, dmaFenceBeginSignalling, dmaFenceEndSignalling, dmaFenceMightWait, irqRestore } from "../kernel/context.js";
import { currentOrNull } from "../kernel/current.js";
import { current, Task } from "../kernel/task.js";
import { heldRef, type HeldLock, type LockdepMap } from "../kernel/lockdep.js";
import { registerTeardownCheck } from "../kernel/teardown.js";
import { kfreeRcu } from "../kernel/rcu.js";
import type { Sim } from "../kernel/sim.js";
import type { FenceRef, FenceWaiterRef } from "../report/fence-kinds.js";
import type { ReportBody } from "../report/report.js";
import { FenceContext } from "./fence-context.js";

/** The largest errno (the kernel's MAX_ERRNO). */
const MAX_ERRNO = 4095;
/** -EDEADLK: the error dma_fence_release() gives a fence released with callbacks pending. */
const EDEADLK = -35;

/**
 * A fence callback: run once, in the signalling task, when the fence is
 * signalled (in the order they were added), with irqs off as under the
 * kernel's fence->lock. A generator may yield ops (they must not sleep).
 * One that throws, returns anything else or yields anything but effects is
 * a `task-exception` report of the signalling task (whose irq state and
 * signalling section are restored first); the fence stays signalled.
 */
export type DmaFenceCallback = (fence: DmaFence) => Iterable<Effect, void, unknown> | undefined;

/** What a driver supplies for its fences (struct dma_fence_ops, the parts the simulation uses). */
export interface DmaFenceOps {
  /** get_driver_name(): for reports (default "gpuvm-sim"). */
  readonly driverName?: string;
  /**
   * release(): free the fence when its last reference goes (default: kfreeRcu
   * it). Required for a fence embedded in another object (free the
   * container); a static fence is never freed.
   */
  readonly release?: Release<DmaFence>;
}

/** Options for a new DmaFence. */
export interface DmaFenceOptions {
  /** The seqno on its context (default: the context's next one). A safe integer >= 0. */
  readonly seqno?: number;
  /** A name for reports. */
  readonly name?: string;
  readonly ops?: DmaFenceOps;
  /** The holder tag of the creator's reference (default untagged). */
  readonly holder?: string;
  /** The task that will signal it (default: the task creating it; none when made outside a task). */
  readonly signaller?: Task;
  /** Embed it in another object (a job): it lives and dies with it; needs `ops.release`. */
  readonly embeddedIn?: SimObject;
  /** A statically allocated fence (the kernel's stub fence): never freed. */
  readonly static?: boolean;
}

const OPS_SPEC: Spec<DmaFenceOps> = { driverName: is.string, release: is.function };
const FENCE_OPTIONS: Spec<DmaFenceOptions> = {
  seqno: is.count,
  name: is.string,
  ops: is.options(OPS_SPEC),
  holder: is.string,
  signaller: is.instanceOf(Task),
  embeddedIn: is.instanceOf(SimObject),
  static: is.boolean,
};

/** How a wait ended: the kernel's 0 (or remaining time), -ERESTARTSYS. */
export type DmaFenceWaitResult = "signalled" | "interrupted";
/** How a timed wait ended: remaining time > 0, 0 (timed out), -ERESTARTSYS. */
export type DmaFenceWaitTimeoutResult = "signalled" | "timed-out" | "interrupted";

/** dma_fence_signal(): writes the fence and its context's last-signalled record. */
export const FENCE_SIGNAL = defineEffectKind({ name: "fence-signal" });
/** dma_fence_wait(): reads whether the fence is signalled (and, when interruptible, the task's pending signal). */
export const FENCE_WAIT = defineEffectKind({ name: "fence-wait" });
/** dma_fence_add_callback(). */
export const FENCE_ADD_CALLBACK = defineEffectKind({ name: "fence-add-callback" });
/** dma_fence_remove_callback(). */
export const FENCE_REMOVE_CALLBACK = defineEffectKind({ name: "fence-remove-callback" });
/** dma_fence_set_error(). */
export const FENCE_SET_ERROR = defineEffectKind({ name: "fence-set-error" });
/** claimSignalling(): the task becomes the fence's signaller. */
export const FENCE_CLAIM = defineEffectKind({ name: "fence-claim-signalling" });

interface PendingCallback {
  readonly fn: DmaFenceCallback;
  readonly site: Site;
}

/** A wait as the deadlock check keeps it: the waiter and the real locks it held. */
interface WaitFact {
  readonly task: Task;
  readonly site: Site;
  readonly held: readonly { readonly map: LockdepMap; readonly read: boolean; readonly ref: ReturnType<typeof heldRef> }[];
}

/** A lock the signaller asked for while the fence was unsignalled. */
interface TakeFact {
  readonly task: Task;
  readonly read: boolean;
  readonly site: Site;
}

/** Per Sim: the fences published and not signalled yet, for the teardown check. */
const publishedBySim = new WeakMap<Sim, Set<DmaFence>>();
/** Per task: the unsignalled fences it owes a signal. */
const owedByTask = new WeakMap<Task, Set<DmaFence>>();

/** The waitable of a plain wait: the fence is signalled. */
class Signalled implements Waitable {
  constructor(protected readonly f: DmaFence) {}
  get label(): string {
    return this.f.label;
  }
  canProceed(_t: Task): boolean {
    return this.f.signalSite !== null;
  }
  wakers(): readonly Task[] | null {
    return this.f.wakers();
  }
}

/** The waitable of an interruptible wait: signalled, or a signal is pending for the waiter. */
class SignalledOrInterrupted extends Signalled {
  override canProceed(t: Task): boolean {
    return this.f.signalSite !== null || t.signalPending;
  }
}

export class DmaFence extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  /** The fence context number. Readable after free, like an id. */
  readonly context: number;
  /** The seqno within the context. Readable after free. */
  readonly seqno: number;
  /** The counted references; the creator holds the first. */
  readonly refcount: Kref<DmaFence>;
  /** @internal */ readonly fenceContext: FenceContext;
  /** @internal */ readonly ops: DmaFenceOps;
  /** @internal Where it was signalled; null while unsignalled. */ signalSite: Site | null = null;
  /** @internal */ errorValue = 0;
  /** @internal */ timestampNs = 0;
  /** @internal Callbacks not run yet, oldest first (null: none yet). */ callbacks: PendingCallback[] | null = null;
  /** @internal The task owing the signal, or null. */ signaller: Task | null = null;
  /** @internal How it was published, in order first seen; null until then. */ publishedHow: string[] | null = null;
  /** @internal Waiters and callback adders, oldest first (null: none yet). */ waiterLog: { how: "wait" | "callback"; site: Site }[] | null = null;
  /** @internal Waits seen, for the deadlock check. */ waitFacts: WaitFact[] | null = null;
  /** @internal Locks the signaller asked for while unsignalled, first time each. */ takeFacts: Map<LockdepMap, TakeFact> | null = null;
  /** @internal Tasks blocked in a wait on it now (null: none yet). */ waiting: Task[] | null = null;
  /** @internal What the deadlock check already filed: `lock id:waiter id`. */ private filed: Set<string> | null = null;
  // Made on first use: most fences are signalled once and never waited for.
  /** @internal */ private plainWait: Waitable | null = null;
  /** @internal */ private intrWait: Waitable | null = null;
  /** @internal */ private signalStep: Effect | null = null;

  /**
   * Mirrors dma_fence_init(): a fence on `context` with a seqno (the
   * context's next one unless given), its refcount at one, held by the
   * creator, who is its signaller unless `options.signaller` names another.
   *
   * @throws ArgumentError naming `context` when it is not a FenceContext,
   *   `options` (not an object) or the option at fault (unknown key, wrong
   *   type; `ops.release` missing for an embedded fence; `signaller`
   *   of another Sim); ArgumentRangeError naming `seqno` when not a
   *   safe integer >= 0. Nothing is allocated and the context's seqno is not
   *   used up then.
   */
  constructor(context: FenceContext, options: DmaFenceOptions = {}) {
    if (!(context instanceof FenceContext)) throw new ArgumentError("context", `must be a FenceContext, got ${describeValue(context)}`);
    checkOptions("options", options, FENCE_OPTIONS);
    const ops = options.ops ?? {};
    if (options.embeddedIn !== undefined && ops.release === undefined) {
      throw new ArgumentError("ops.release", "an embedded fence needs a release op that frees its container");
    }
    const signaller = options.signaller ?? currentOrNull();
    if (signaller !== null && signaller.sim !== context.sim) {
      throw new ArgumentError("signaller", `${signaller.label} is a task of ${signaller.sim.label}, not of ${context.sim.label}`);
    }
    const objectOptions = {
      ...(options.name === undefined ? {} : { name: options.name }),
      ...(options.embeddedIn === undefined ? {} : { embeddedIn: options.embeddedIn }),
      ...(options.static === undefined ? {} : { static: options.static }),
    };
    // The SimObject constructor checks the rest (a container of another Sim) before anything is allocated.
    super(context.sim, "DmaFence", objectOptions);
    const seqno = options.seqno ?? context.nextSeqno();
    if (options.seqno !== undefined) context.sawSeqno(seqno);
    this.fenceContext = context;
    this.context = context.context;
    this.seqno = seqno;
    this.ops = ops;
    this.refcount = new Kref<DmaFence>(this, options.holder === undefined ? {} : { holder: options.holder });
    if (signaller !== null) owe(signaller, this);
  }

  /** @internal The waitable of a wait: signalled (or, with `intr`, a signal pending for the waiter). */
  waitable(intr: boolean): Waitable {
    if (intr) return (this.intrWait ??= new SignalledOrInterrupted(this));
    return (this.plainWait ??= new Signalled(this));
  }

  /** @internal The signal step's effect: the fence and its context's last-signalled record, written. */
  get signalEffect(): Effect {
    return (this.signalStep ??= new Effect(FENCE_SIGNAL, this, WRITE, this, null, Infinity, null, [{ object: this.fenceContext, mode: "write" }]));
  }

  /** dma_fence_get_status()'s error: 0, or the negative errno set with setError(). */
  get error(): number {
    noteTouched(this.sim, this, false);
    return this.errorValue;
  }

  /** The simulated time (ns) of the signal; 0 while unsignalled. */
  get timestamp(): number {
    return this.timestampNs;
  }

  /** The task that owes the signal (creator or claimer), or null. A query. */
  get signallerTask(): Task | null {
    return this.signaller;
  }

  /** Waitable-style: the task that could signal it, or null when unknown. @internal */
  wakers(): readonly Task[] | null {
    return this.signaller === null ? null : [this.signaller];
  }

  /** Mirrors dma_fence_is_signaled(). A query: no effect. */
  isSignaled(): boolean {
    noteTouched(this.sim, this, false);
    return this.signalSite !== null;
  }

  /** Mirrors dma_fence_get_status(): 0 unsignalled, 1 signalled, or the (negative) error once signalled. A query. */
  getStatus(): number {
    noteTouched(this.sim, this, false);
    if (this.signalSite === null) return 0;
    return this.errorValue < 0 ? this.errorValue : 1;
  }

  /** Mirrors dma_fence_get(): take a reference (the caller holds one). */
  get(holder?: string): Op<void> {
    return this.refcount.get(holder);
  }

  /**
   * Mirrors dma_fence_put(): drop a reference; the last one releases the
   * fence (see the file header). Returns whether it did.
   */
  put(holder?: string): Op<boolean> {
    return this.refcount.put(releaseFence, holder);
  }

  /**
   * Mirrors dma_fence_get_rcu(): take a reference unless the count already
   * reached zero (the fence is being released). Returns whether it did.
   */
  getRcu(holder?: string): Op<boolean> {
    return this.refcount.getUnlessZero(holder);
  }

  /**
   * Mirrors dma_fence_signal(): mark it signalled, then run its callbacks in
   * the order they were added, inside a signalling section
   * (dma_fence_begin_signalling()). A second signal is `"already-signalled"`
   * (the kernel's -EINVAL) and changes nothing. Files
   * `fence-signal-out-of-order` when a later fence of the same context was
   * signalled before.
   */
  signal(): Op<"signalled" | "already-signalled"> {
    return makeOp("dma_fence_signal", this, signalBody);
  }

  /**
   * Mirrors dma_fence_wait(): sleep until signalled. With `intr`, a pending
   * signal (`task.kill()`) ends the wait: `"interrupted"` (-ERESTARTSYS).
   * Calls might_sleep() and the fence-wait annotation first, even when the
   * fence is already signalled.
   * @throws ArgumentError naming `intr` unless a boolean.
   */
  wait(intr: boolean): Op<DmaFenceWaitResult> {
    arg("intr", is.boolean, intr);
    return makeOp("dma_fence_wait", this, waitBody, intr, Infinity) as Op<unknown> as Op<DmaFenceWaitResult>;
  }

  /**
   * Mirrors dma_fence_wait_timeout(): as wait(), for at most `timeoutNs` of
   * simulated time. `"timed-out"` stands for the kernel's 0, `"signalled"`
   * for a positive remaining time.
   * @throws ArgumentError naming `intr` unless a boolean, `timeoutNs` unless
   *   a number; ArgumentRangeError naming `timeoutNs` unless finite
   *   nanoseconds in [0, MAX_NANOSECONDS].
   */
  waitTimeout(intr: boolean, timeoutNs: number): Op<DmaFenceWaitTimeoutResult> {
    arg("intr", is.boolean, intr);
    arg("timeoutNs", is.nanoseconds, timeoutNs);
    return makeOp("dma_fence_wait_timeout", this, waitBody, intr, timeoutNs);
  }

  /**
   * Mirrors dma_fence_add_callback(): run `fn` when the fence is signalled.
   * `"already-signalled"` (-ENOENT) when it is too late: `fn` will not run.
   * The same function may be added twice; each runs.
   * @throws ArgumentError naming `fn` unless a function.
   */
  addCallback(fn: DmaFenceCallback): Op<"added" | "already-signalled"> {
    arg("fn", is.function, fn);
    return makeOp("dma_fence_add_callback", this, addCallbackBody, fn);
  }

  /**
   * Mirrors dma_fence_remove_callback(): remove the oldest pending
   * registration of `fn`. Returns whether one was pending (false: it ran
   * already, or was never added).
   * @throws ArgumentError naming `fn` unless a function.
   */
  removeCallback(fn: DmaFenceCallback): Op<boolean> {
    arg("fn", is.function, fn);
    return makeOp("dma_fence_remove_callback", this, removeCallbackBody, fn);
  }

  /**
   * Mirrors dma_fence_set_error(): record why the fence will be signalled.
   * On a fence already signalled it files `fence-set-error-after-signal`
   * (and, as the kernel's code does, still sets it).
   * @throws ArgumentError naming `errno` unless a number; ArgumentRangeError
   *   unless an integer in [-4095, -1] (the kernel WARNs and sets it anyway).
   */
  setError(errno: number): Op<void> {
    arg("errno", is.safeInteger, errno);
    if (errno >= 0 || errno < -MAX_ERRNO) throw new ArgumentRangeError("errno", `must be a negative errno in [-${MAX_ERRNO}, -1], got ${errno}`);
    return makeOp("dma_fence_set_error", this, setErrorBody, errno);
  }

  /**
   * Make the running task the fence's signaller (a scheduler or a worker
   * that takes over a job's fence from the task that made it): the deadlock
   * check and deadlock cycles name it from now on, and the locks the
   * previous signaller took are forgotten (they are not on the path to the
   * signal any more).
   */
  claimSignalling(): Op<void> {
    return makeOp("dma_fence_claim_signalling", this, claimBody);
  }

  /**
   * Mirrors dma_fence_is_later(): whether `a` is later than `b`, two fences
   * of one context. A query.
   * @throws ArgumentError naming `a` or `b` unless a DmaFence, `b` when the
   *   contexts differ (the kernel WARNs and says false).
   */
  static isLater(a: DmaFence, b: DmaFence): boolean {
    arg("a", is.instanceOf(DmaFence), a);
    arg("b", is.instanceOf(DmaFence), b);
    if (a.context !== b.context) throw new ArgumentError("b", `must be a fence of the same context as a (${a.context}), got context ${b.context}`);
    return a.seqno > b.seqno;
  }

  /**
   * @internal For the reservation object: the fence is published (`how`,
   * such as "resv"): from now on, never signalling it is a report.
   */
  markPublished(how: string): void {
    if (this.signalSite !== null) return;
    const list = (this.publishedHow ??= []);
    if (!list.includes(how)) list.push(how);
    let set = publishedBySim.get(this.sim);
    if (set === undefined) {
      set = new Set();
      publishedBySim.set(this.sim, set);
    }
    set.add(this);
  }

  /**
   * @internal For a fence no one task signals (a fence array, signalled by
   * whichever task signals its last member): forget the signaller, so the
   * creator's locks are not watched for it.
   */
  dropSignaller(): void {
    settle(this);
    this.signaller = null;
    this.takeFacts = null;
  }

  /** @internal Record a lock `task` asks for while owing this fence, and check it against the waits seen. */
  signallerTakes(task: Task, map: LockdepMap, op: string, read: boolean): void {
    if (!(map instanceof SimObject)) return; // a lock map (fs_reclaim, dma_fence_map): lockdep's business
    const facts = (this.takeFacts ??= new Map());
    if (facts.has(map)) return;
    const site = this.sim.site(op);
    facts.set(map, { task, read, site });
    if (this.waitFacts === null) return;
    for (const w of this.waitFacts) {
      if (w.task === task) continue;
      for (const h of w.held) {
        if (h.map !== map || (h.read && read)) continue;
        // The waiter is in its wait now and holds the lock: this run deadlocks here.
        this.fileDeadlock(map, w.task, h.ref, w.site, task, site, this.waiting?.includes(w.task) === true);
      }
    }
  }

  /** @internal Record a wait by `task`, holding what it holds, and check it against the signaller's takes. */
  waitSeen(task: Task, site: Site): void {
    const held: WaitFact["held"][number][] = [];
    for (let i = 0; i < task.held.length; i++) {
      const h: HeldLock = task.held.at(i);
      if (h.map instanceof SimObject) held.push({ map: h.map, read: h.read, ref: heldRef(h) });
      if (h.extra !== null) for (const x of h.extra) if (x.map instanceof SimObject) held.push({ map: x.map, read: h.read, ref: { ...heldRef(h), lock: x.map.label, acquired: siteRef(x.site) } });
    }
    if (held.length === 0) return;
    (this.waitFacts ??= []).push({ task, site, held });
    if (this.takeFacts === null) return;
    for (const h of held) {
      const t = this.takeFacts.get(h.map);
      if (t === undefined || t.task === task || (h.read && t.read)) continue;
      const s = t.task.pending;
      const blockedOnIt = s !== null && (s.target as object | null) === (h.map as object) && t.task.state === "blocked";
      this.fileDeadlock(h.map, task, h.ref, site, t.task, t.site, blockedOnIt);
    }
  }

  private fileDeadlock(map: LockdepMap, waiter: Task, holds: ReturnType<typeof heldRef>, wait: Site, signaller: Task, takes: Site, actual: boolean): void {
    const key = `${(map as unknown as SimObject).id}:${waiter.id}`;
    const filed = (this.filed ??= new Set());
    if (filed.has(key) || !this.sim.checks.lockdep) return;
    filed.add(key);
    this.sim.file({
      kind: "fence-wait-deadlock",
      fence: fenceRef(this),
      lock: map.label,
      lockClass: map.lockClass.name,
      waiter: { task: waiter.label, holds, wait: siteRef(wait) },
      signaller: { task: signaller.label, takes: siteRef(takes) },
      actual,
    });
  }
}

/** The fence as fence reports name it: data fields only, so it reads a freed fence quietly. */
function fenceRef(f: DmaFence): FenceRef {
  return { object: objectRef(f), context: f.context, seqno: f.seqno, timeline: f.fenceContext.name };
}

/** `task` owes `fence` a signal: watch the locks it asks for until it signals. */
function owe(task: Task, fence: DmaFence): void {
  fence.signaller = task;
  let set = owedByTask.get(task);
  if (set === undefined) {
    set = new Set();
    owedByTask.set(task, set);
  }
  set.add(fence);
  task.lockWatch ??= (map, op, read) => {
    const owed = owedByTask.get(task);
    if (owed !== undefined) for (const f of owed) f.signallerTakes(task, map, op, read);
  };
}

/** `fence` no longer needs its signaller's locks watched (signalled, or handed over). */
function settle(fence: DmaFence): void {
  const task = fence.signaller;
  if (task === null) return;
  const set = owedByTask.get(task);
  if (set === undefined) return;
  set.delete(fence);
  if (set.size === 0) task.lockWatch = null;
}

function* signalBody(this: DmaFence): Generator<Effect, "signalled" | "already-signalled", unknown> {
  yield this.signalEffect;
  return yield* signalNow(this, "DmaFence.signal");
}

/** The signal itself, once the task's step has declared it (a signal or a release). */
function* signalNow(f: DmaFence, access: string): Generator<Effect, "signalled" | "already-signalled", unknown> {
  const sim = f.sim;
  touch(sim, f, true, access);
  touch(sim, f.fenceContext, true, access);
  guardLive(f, access);
  if (f.signalSite !== null) {
    sim.note("already signalled");
    return "already-signalled";
  }
  const task = current();
  const cookie = dmaFenceBeginSignalling();
  const site = sim.site("dma_fence_signal");
  const ctx = f.fenceContext;
  const last = ctx.lastSignalled;
  if (last !== null && last.seqno > f.seqno) {
    const later = last.fence as DmaFence;
    sim.file({
      kind: "fence-signal-out-of-order",
      fence: fenceRef(f),
      signal: siteRef(site),
      later: fenceRef(later),
      laterSignalled: siteRef(last.site as Site),
    });
  } else {
    ctx.lastSignalled = { seqno: f.seqno, fence: f, site };
  }
  // ORDER: signalled first, then the callbacks, from a list taken off the
  // fence, as dma_fence_signal_timestamp_locked() does.
  f.signalSite = site;
  f.timestampNs = sim.now;
  settle(f);
  publishedBySim.get(sim)?.delete(f);
  const cbs = f.callbacks;
  f.callbacks = null;
  // A callback that throws (or returns or yields garbage) is the driver's
  // bug: it ends this task with a task-exception report, but the task's
  // irq state and signalling section are put back first, so the report is
  // not followed by bogus context reports.
  try {
    if (cbs !== null && cbs.length > 0) {
      // The kernel runs them under fence->lock, taken with spin_lock_irqsave().
      task.irqsOff++;
      try {
        for (const cb of cbs) yield* runDriverFn(cb.fn(f), "a callback of", f);
      } finally {
        irqRestore(task);
      }
    }
  } finally {
    dmaFenceEndSignalling(cookie);
  }
  return "signalled";
}

/** What a driver function returned: nothing, or an op or generator run here (checked: it may yield only effects). */
function runDriverFn(r: unknown, what: string, f: DmaFence): Generator<Effect, void, unknown> | readonly [] {
  if (r === undefined) return [];
  const start = typeof r === "object" && r !== null ? (r as Partial<Iterable<Effect>>)[Symbol.iterator] : undefined;
  if (typeof start !== "function") throw new UsageError(`${what} ${f.label} returned ${describeValue(r)}: return nothing, an op or a generator`);
  return checkedBody(r as Iterable<Effect, void, unknown>, `${what} ${f.label}`);
}

function* waitBody(this: DmaFence, intr: boolean, timeoutNs: number): Generator<Effect, DmaFenceWaitTimeoutResult, unknown> {
  const task = current();
  const op = timeoutNs === Infinity ? "dma_fence_wait" : "dma_fence_wait_timeout";
  // As dma_fence_wait_timeout(): might_sleep(), then the fence-map annotation, before looking at the fence.
  checkMightSleep(task, op);
  dmaFenceMightWait();
  const sim = this.sim;
  const site = sim.site(op);
  this.markPublished("wait");
  (this.waiterLog ??= []).push({ how: "wait", site });
  this.waitSeen(task, site);
  const also: readonly Access[] | null = intr ? [{ object: task, mode: "read" }] : null;
  const waitsFor = this.waitable(intr);
  const waiting = (this.waiting ??= []);
  waiting.push(task);
  if (this.signaller === task && this.signalSite === null) {
    // Waiting for a fence it owes itself: a deadlock unless another task
    // signals it, in which case the simulation has the wrong signaller and
    // its wait edges are wrong too. Say so where a deadlock report shows it.
    sim.note(`${this.label} is owed by this task itself: if another task signals it, call claimSignalling() there or make the fence with { signaller }`);
  }
  const proceeded = yield new Effect(FENCE_WAIT, this, READ, this, waitsFor, timeoutNs === Infinity ? Infinity : sim.now + timeoutNs, null, also);
  const i = waiting.indexOf(task);
  if (i >= 0) waiting.splice(i, 1);
  touch(sim, this, false, "DmaFence.wait");
  guardLive(this, "DmaFence.wait");
  if (this.signalSite !== null) return "signalled";
  if (proceeded !== true) {
    sim.note("timed out");
    return "timed-out";
  }
  sim.note("interrupted");
  return "interrupted";
}

function* addCallbackBody(this: DmaFence, fn: DmaFenceCallback): Generator<Effect, "added" | "already-signalled", unknown> {
  yield new Effect(FENCE_ADD_CALLBACK, this, WRITE);
  const sim = this.sim;
  touch(sim, this, true, "DmaFence.addCallback");
  guardLive(this, "DmaFence.addCallback");
  if (this.signalSite !== null) {
    sim.note("already signalled");
    return "already-signalled";
  }
  const site = sim.site("dma_fence_add_callback");
  this.markPublished("callback");
  (this.waiterLog ??= []).push({ how: "callback", site });
  (this.callbacks ??= []).push({ fn, site });
  return "added";
}

function* removeCallbackBody(this: DmaFence, fn: DmaFenceCallback): Generator<Effect, boolean, unknown> {
  yield new Effect(FENCE_REMOVE_CALLBACK, this, WRITE);
  touch(this.sim, this, true, "DmaFence.removeCallback");
  guardLive(this, "DmaFence.removeCallback");
  const i = this.callbacks === null ? -1 : this.callbacks.findIndex((c) => c.fn === fn);
  if (i < 0 || this.callbacks === null) {
    this.sim.note("not pending");
    return false;
  }
  this.callbacks.splice(i, 1);
  return true;
}

function* setErrorBody(this: DmaFence, errno: number): Generator<Effect, void, unknown> {
  yield new Effect(FENCE_SET_ERROR, this, WRITE);
  const sim = this.sim;
  touch(sim, this, true, "DmaFence.setError");
  guardLive(this, "DmaFence.setError");
  if (this.signalSite !== null) {
    sim.file({ kind: "fence-set-error-after-signal", fence: fenceRef(this), error: errno, setError: siteRef(sim.site("dma_fence_set_error")), signalled: siteRef(this.signalSite) });
  }
  this.errorValue = errno;
}

function* claimBody(this: DmaFence): Generator<Effect, void, unknown> {
  yield new Effect(FENCE_CLAIM, this, WRITE);
  touch(this.sim, this, true, "DmaFence.claimSignalling");
  guardLive(this, "DmaFence.claimSignalling");
  const task = current();
  if (this.signaller === task) return;
  settle(this);
  this.signaller = null;
  // What the previous owner took is no longer on the path to the signal (a
  // submit ioctl that made the fence under a resv lock and handed it to a
  // scheduler): forget it.
  this.takeFacts = null;
  if (this.signalSite === null) owe(task, this);
  else this.signaller = task;
}

/**
 * Mirrors dma_fence_release(): the last reference went. Callbacks still
 * pending on an unsignalled fence are a report; the fence is then signalled
 * with -EDEADLK, so they run. Then ops.release, or dma_fence_free(): a
 * kfreeRcu, so a reader that found the fence under rcuReadLock() (getRcu,
 * the unlocked resv iteration) may still look at it until it leaves.
 *
 * RELIES ON: the count is zero, so no other task may touch the fence; the
 * checks below need no step of their own before the signal's.
 */
function* releaseFence(f: DmaFence): Generator<Effect, void, unknown> {
  const sim = f.sim;
  if (f.signalSite === null && f.callbacks !== null && f.callbacks.length > 0) {
    sim.file({
      kind: "fence-released-with-callbacks",
      fence: fenceRef(f),
      callbacks: f.callbacks.map((c) => siteRef(c.site)),
      released: siteRef(sim.site("dma_fence_release")),
      refHistory: sim.refHistory(f),
      refHistoryDropped: sim.refHistoryDropped(f),
    });
    f.errorValue = EDEADLK;
    yield f.signalEffect;
    yield* signalNow(f, "dma_fence_release");
  }
  // A fence freed unsignalled owes nothing any more (a published one is still reported at teardown).
  if (f.signalSite === null) settle(f);
  const release = f.ops.release;
  if (release !== undefined) {
    yield* runDriverFn(release(f), "the release op of", f);
    return;
  }
  if (f.isStatic) return;
  yield* kfreeRcu(f);
}

/** The `unsignalled-fences` teardown check: every published fence never signalled. */
function unsignalledFences(sim: Sim): readonly ReportBody[] {
  const set = publishedBySim.get(sim);
  if (set === undefined || set.size === 0) return [];
  const out: ReportBody[] = [];
  for (const f of set) {
    const waiters: FenceWaiterRef[] = (f.waiterLog ?? []).map((w) => ({ how: w.how, site: siteRef(w.site) }));
    out.push({
      kind: "fence-never-signalled",
      fence: fenceRef(f),
      created: siteRef(f.allocSite),
      signaller: f.signaller === null ? null : f.signaller.label,
      published: [...(f.publishedHow ?? [])],
      waiters,
      freed: f.isFreed,
    });
  }
  return out;
}

registerTeardownCheck({ name: "unsignalled-fences", run: unsignalledFences });
