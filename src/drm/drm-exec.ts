/**
 * DrmExec: lock a set of objects' reservation objects, retrying on contention.
 *
 * Mirrors: struct drm_exec — drm_exec_init(), drm_exec_until_all_locked()
 *   with drm_exec_retry_on_contention() and drm_exec_cleanup(),
 *   drm_exec_lock_obj(), drm_exec_prepare_obj(), drm_exec_prepare_array(),
 *   drm_exec_unlock_obj(), drm_exec_fini(), drm_exec_is_contended(),
 *   drm_exec_for_each_locked_object(); flags DRM_EXEC_INTERRUPTIBLE_WAIT and
 *   DRM_EXEC_IGNORE_DUPLICATES.
 * Ownership: a DrmExec belongs to the task that uses it (a stack object in
 *   the kernel; not a heap object). It holds one reference (holder tag
 *   `"drm_exec"`) to each object in `objects()`, and one (tag
 *   `"drm_exec contended"`) to the contended object, which passes to the
 *   prelocked object once that is slow-locked. fini() drops them all.
 * Locking: its fields change only in its own task; each object's
 *   reservation lock is taken under the one acquire context (`ticket`).
 * States: new → looping (in untilAllLocked) → done (the loop returned or
 *   its body threw) → finished (fini). Every op checks the phase when made
 *   and again when it starts.
 * Invariants: every object of `objects()` is locked under `ticket`, once;
 *   `prelocked`, when set, is in `objects()`; after a `"backoff"`,
 *   `contended` is set and every later lock op of the same pass does nothing.
 *
 * The retry loop without goto: see docs/drm-exec.md "The retry loop".
 */
import { ArgumentError, UsageError } from "../errors.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";
import { defineEffectKind, Effect, NONE } from "../kernel/effect.js";
import { GFP_KERNEL, memCharge, memFootprint, memUncharge } from "../kernel/memory.js";
import { makeOp, type Op } from "../kernel/op.js";
import { checkedBody } from "../kernel/checked-body.js";
import { Sim } from "../kernel/sim.js";
import { WwAcquireCtx, WwClass } from "../locking/ww-mutex.js";
import { DmaResv, reservationWwClass } from "../dma-buf/dma-resv.js";

/** What DrmExec works on: anything with a reservation object and counted references (a GEM object). */
export interface DrmExecObject {
  /** Its reservation object. */
  readonly resv: DmaResv;
  /** Take a reference (drm_gem_object_get()), tagged with `holder`. */
  get(holder?: string): Op<void>;
  /** Drop a reference (drm_gem_object_put()) of tag `holder`. */
  put(holder?: string): Op<unknown>;
  /** How reports and errors name it. */
  readonly label: string;
}

/**
 * How a DrmExec op ended, for the kernel's return values: `"ok"` (0),
 * `"backoff"` (-EDEADLK: contention; the loop retries), `"already-held"`
 * (-EALREADY: locked twice without `ignoreDuplicates`), `"interrupted"`
 * (-EINTR, with `interruptibleWait`), `"nomem"` (-ENOMEM).
 */
export type DrmExecResult = "ok" | "backoff" | "already-held" | "interrupted" | "nomem";

/** Options of a {@link DrmExec} (drm_exec_init()'s flags and nr). */
export interface DrmExecOptions {
  /** DRM_EXEC_INTERRUPTIBLE_WAIT: waits for a lock end with `"interrupted"` on a signal. Default false. */
  readonly interruptibleWait?: boolean;
  /** DRM_EXEC_IGNORE_DUPLICATES: locking an object twice is `"ok"`, not `"already-held"`. Default false. */
  readonly ignoreDuplicates?: boolean;
  /** The initial size of the table of locked objects (0, the default: a page of pointers, 512). It grows on demand. */
  readonly nr?: number;
  /** The ww class of the acquire context (default: {@link reservationWwClass}; the kernel always uses that one). */
  readonly wwClass?: WwClass;
}

const EXEC_OPTIONS: Spec<DrmExecOptions> = {
  interruptibleWait: is.boolean,
  ignoreDuplicates: is.boolean,
  nr: is.count,
  wwClass: is.instanceOf(WwClass),
};

/** The holder tag of the reference held for each locked object. */
export const DRM_EXEC_HOLDER = "drm_exec";
/** The holder tag of the reference held for the contended (then prelocked) object. */
export const DRM_EXEC_CONTENDED_HOLDER = "drm_exec contended";

/** Pointers in a page: the kernel's default table size, and its growth step. */
const PAGE_POINTERS = 4096 / 8;
/** sizeof(void *). */
const POINTER_BYTES = 8;
/** The fault-injection site of the object table's allocations. */
export const EXEC_TABLE_SITE = "drm_exec_obj_locked";

type Phase = "new" | "looping" | "done" | "finished";

/** The body of a retry loop: locks objects through the DrmExec; may return a result to end the loop with it. */
// A body that returns nothing is a generator returning void, hence the void.
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type
export type DrmExecBody = () => Iterable<Effect, DrmExecResult | void, unknown>;

function checkObject(argument: string, obj: unknown): DrmExecObject {
  const o = obj as Partial<DrmExecObject> | null;
  if (typeof o !== "object" || o === null || !(o.resv instanceof DmaResv) || typeof o.get !== "function" || typeof o.put !== "function") {
    throw new ArgumentError(argument, `must be an object with a DmaResv \`resv\` and get/put methods (a GEM object), got ${describeValue(obj)}`);
  }
  return o as DrmExecObject;
}

export class DrmExec<T extends DrmExecObject = DrmExecObject> {
  /** DRM_EXEC_INTERRUPTIBLE_WAIT. */ readonly interruptibleWait: boolean;
  /** DRM_EXEC_IGNORE_DUPLICATES. */ readonly ignoreDuplicates: boolean;
  /** The ww class of `ticket`. */ readonly wwClass: WwClass;
  /** @internal */ phase: Phase = "new";
  /** @internal The acquire context, made when the loop starts. */ ctx: WwAcquireCtx | null = null;
  /** @internal The locked objects, in locking order. */ readonly locked: T[] = [];
  /** @internal The table's size (max_objects): where it would grow. */ maxObjects: number;
  /** @internal Bytes of the object table charged to memory (0 until the first object is locked). */ tableBytes = 0;
  /** @internal */ contendedObj: T | null = null;
  /** @internal */ prelockedObj: T | null = null;
  /** @internal The failure that ended the current pass, or null: a pass with one does nothing more. */ failure: DrmExecResult | null = null;
  /** @internal The first `"already-held"` of the pass (which does not end it). */ firstResult: DrmExecResult | null = null;
  /** @internal Passes of the loop so far. */ passCount = 0;

  /**
   * Mirrors drm_exec_init(): `new DrmExec(sim, { interruptibleWait: true })`.
   * The acquire context is made when the loop starts.
   *
   * @throws ArgumentError naming `sim` (not a Sim), `options` (not an
   *   options object), an unknown option's key, `interruptibleWait` or
   *   `ignoreDuplicates` (not a boolean), `wwClass` (not a WwClass, or of
   *   another Sim), `nr` (not a number; ArgumentRangeError when not an
   *   integer >= 0).
   */
  constructor(
    readonly sim: Sim,
    options: DrmExecOptions = {},
  ) {
    arg("sim", is.instanceOf(Sim), sim);
    checkOptions("options", options, EXEC_OPTIONS);
    if (options.wwClass !== undefined && options.wwClass.sim !== sim) throw new ArgumentError("wwClass", `${options.wwClass.label} belongs to another Sim`);
    this.interruptibleWait = options.interruptibleWait ?? false;
    this.ignoreDuplicates = options.ignoreDuplicates ?? false;
    this.wwClass = options.wwClass ?? reservationWwClass(sim);
    this.maxObjects = options.nr === undefined || options.nr === 0 ? PAGE_POINTERS : options.nr;
  }

  /** The objects locked, in locking order (drm_exec_for_each_locked_object()). A snapshot. */
  objects(): readonly T[] {
    return this.locked.slice();
  }

  /** How many objects are locked (num_objects). */
  get numObjects(): number {
    return this.locked.length;
  }

  /** The object of the last back-off, until it is slow-locked (the kernel's `contended`). */
  get contended(): T | null {
    return this.contendedObj;
  }

  /** Mirrors drm_exec_is_contended(): whether the current pass backed off (and the loop will run it again). */
  get isContended(): boolean {
    return this.failure === "backoff";
  }

  /** The object slow-locked after a back-off, until the body locks it again (the kernel's `prelocked`). */
  get prelocked(): T | null {
    return this.prelockedObj;
  }

  /** The acquire context (the kernel's `ticket`), once the loop has started. */
  get ticket(): WwAcquireCtx | null {
    return this.ctx;
  }

  /** How many times the loop ran its body (1 without contention). */
  get passes(): number {
    return this.passCount;
  }

  /**
   * Mirrors drm_exec_until_all_locked() with drm_exec_retry_on_contention():
   * run `body` until it completes a pass without contention.
   *
   * ```ts
   * const r = yield* exec.untilAllLocked(function* () {
   *   yield* exec.prepareObj(a, 1);
   *   yield* exec.prepareObj(b, 1);
   * });
   * ```
   *
   * On a `"backoff"` in a pass, every later lock op of that pass returns
   * `"backoff"` and does nothing, so the body runs to its end (or returns
   * early, which is the kernel's goto); then every lock is dropped and the
   * body runs again, and its first lock op slow-locks the contended object
   * first. Another failure (`"interrupted"`, `"nomem"`) also ends the pass:
   * later lock ops return it and do nothing, and the loop returns it. The
   * result: what the body returned, if it returned a result; else the
   * pass's first failure (`"already-held"` included); else `"ok"`. On
   * `"ok"` the acquire phase is over (ww_acquire_done()). The locks stay
   * held whatever the result, until `unlockObj` or `fini`.
   *
   * @throws ArgumentError naming `body` (not a function); UsageError when
   *   the DrmExec already ran a loop or was finished (checked again when the
   *   op starts). Nothing changes then. Into the running task: a UsageError
   *   naming the body when it is no generator function (before anything
   *   changes), returns something that is neither nothing nor a
   *   DrmExecResult, or yields something that is no effect; the loop then
   *   ends without ww_acquire_done(), its locks held until `fini`, as when
   *   the body throws.
   */
  untilAllLocked(body: DrmExecBody): Op<DrmExecResult> {
    arg("body", is.function, body);
    this.checkLoopable();
    return makeOp("drm_exec_until_all_locked", this, untilAllLocked, body);
  }

  /**
   * Mirrors drm_exec_lock_obj(): lock `obj`'s reservation object under the
   * ticket and take a reference to it. `"backoff"` on contention (the
   * object becomes `contended`, with a reference), `"already-held"` when
   * it is locked already (`"ok"` with `ignoreDuplicates`), `"interrupted"`
   * with `interruptibleWait`. The contended object of the last pass is
   * slow-locked first, whatever `obj` is.
   *
   * @throws ArgumentError naming `obj` (no DmaResv `resv` or no get/put);
   *   UsageError before the loop started or after fini.
   */
  lockObj(obj: T): Op<DrmExecResult> {
    checkObject("obj", obj);
    this.checkUsable("lockObj");
    return makeOp("drm_exec_lock_obj", this, lockObj, obj);
  }

  /**
   * Mirrors drm_exec_prepare_obj(): lockObj, then reserve `numFences`
   * fence slots; if the reservation fails, `obj` is unlocked again and the
   * result is `"nomem"`.
   *
   * @throws ArgumentError naming `obj` or `numFences` (ArgumentRangeError
   *   when not an integer >= 0); UsageError before the loop or after fini.
   */
  prepareObj(obj: T, numFences: number): Op<DrmExecResult> {
    checkObject("obj", obj);
    arg("numFences", is.count, numFences);
    this.checkUsable("prepareObj");
    return makeOp("drm_exec_prepare_obj", this, prepareObj, obj, numFences);
  }

  /**
   * Mirrors drm_exec_prepare_array(): prepareObj on each object in order,
   * stopping at the first result that is not `"ok"`, which it returns.
   *
   * @throws ArgumentError naming `objs` (not an array), `objs[i]` (an
   *   element that is no DrmExecObject) or `numFences`; UsageError before
   *   the loop or after fini.
   */
  prepareArray(objs: readonly T[], numFences: number): Op<DrmExecResult> {
    if (!Array.isArray(objs)) throw new ArgumentError("objs", `must be an array of objects, got ${describeValue(objs)}`);
    objs.forEach((o, i) => checkObject(`objs[${i}]`, o));
    arg("numFences", is.count, numFences);
    this.checkUsable("prepareArray");
    return makeOp("drm_exec_prepare_array", this, prepareArray, objs.slice(), numFences);
  }

  /**
   * Mirrors drm_exec_unlock_obj(): unlock `obj` and drop its reference, if
   * it is in `objects()` (searching from the most recently locked); else
   * nothing.
   *
   * @throws ArgumentError naming `obj`; UsageError after fini.
   */
  unlockObj(obj: T): Op<void> {
    checkObject("obj", obj);
    this.checkNotFinished("unlockObj");
    return makeOp("drm_exec_unlock_obj", this, unlockObj, obj);
  }

  /**
   * Mirrors drm_exec_fini(): unlock every object (last locked first), drop
   * every reference, including the contended object's, and end the acquire
   * context (ww_acquire_fini()).
   *
   * @throws UsageError when called twice. Nothing changes then.
   */
  fini(): Op<void> {
    this.checkFiniOnce();
    return makeOp("drm_exec_fini", this, fini);
  }

  // The phase checks run twice: when the op is made (so a refused call
  // makes no op) and again when it starts, so an op made earlier and
  // started after the phase moved on (a second fini(), a lockObj() started
  // after fini()) is refused too and changes nothing.

  /** @internal UsageError unless the DrmExec is in or after its loop and not finished. */
  checkUsable(fn: string): void {
    if (this.phase === "new") throw new UsageError(`DrmExec.${fn}() before untilAllLocked(): the acquire context does not exist yet`);
    this.checkNotFinished(fn);
  }

  /** @internal UsageError once the DrmExec was finished. */
  checkNotFinished(fn: string): void {
    if (this.phase === "finished") throw new UsageError(`DrmExec.${fn}(): the DrmExec was finished`);
  }

  /** @internal UsageError unless the DrmExec has not started a loop yet. */
  checkLoopable(): void {
    if (this.phase === "new") return;
    const why = this.phase === "finished" ? "the DrmExec was finished" : this.phase === "looping" ? "the DrmExec is in its retry loop" : "the DrmExec already ran its retry loop";
    throw new UsageError(`DrmExec.untilAllLocked(): ${why}; make a new DrmExec for another loop`);
  }

  /** @internal UsageError on a second fini(). */
  checkFiniOnce(): void {
    if (this.phase === "finished") throw new UsageError("DrmExec.fini() called twice");
  }

  /** @internal End the pass with `r` (a failure of a lock op), inside the loop; return it. */
  fail(r: DrmExecResult): DrmExecResult {
    if (this.phase === "looping") this.failure ??= r;
    return r;
  }

  /** @internal Mirrors drm_exec_obj_locked(): record a locked object and take its reference. */
  *objLocked(obj: T): Generator<Effect, DrmExecResult, unknown> {
    // The table: drm_exec_init()'s kvmalloc_array(), charged here when the
    // first object is locked, and drm_exec_obj_locked()'s kvrealloc() by a
    // page of pointers when full. Both GFP_KERNEL; a failure is -ENOMEM
    // with nothing changed.
    const grow = this.tableBytes === 0 ? this.maxObjects * POINTER_BYTES : this.locked.length === this.maxObjects ? PAGE_POINTERS * POINTER_BYTES : 0;
    if (grow > 0) {
      if (!(yield* memCharge(grow, GFP_KERNEL, EXEC_TABLE_SITE))) return "nomem";
      if (this.tableBytes > 0) this.maxObjects += PAGE_POINTERS;
      this.tableBytes += grow;
    }
    yield* obj.get(DRM_EXEC_HOLDER);
    this.locked.push(obj);
    return "ok";
  }

  /** @internal Mirrors drm_exec_lock_contended(): slow-lock the contended object first. */
  *lockContended(): Generator<Effect, DrmExecResult, unknown> {
    const obj = this.contendedObj;
    if (obj === null) return "ok";
    const ctx = this.ctx as WwAcquireCtx;
    // ORDER: cleared first, as the kernel does, so an error below leaves no contention behind.
    this.contendedObj = null;
    if (this.interruptibleWait) {
      if ((yield* obj.resv.lockSlowInterruptible(ctx)) !== "locked") {
        yield* obj.put(DRM_EXEC_CONTENDED_HOLDER);
        return "interrupted";
      }
    } else {
      yield* obj.resv.lockSlow(ctx);
    }
    const r = yield* this.objLocked(obj);
    if (r !== "ok") {
      yield* obj.resv.unlock();
      yield* obj.put(DRM_EXEC_CONTENDED_HOLDER);
      return r;
    }
    // The contended reference now keeps the prelocked object.
    this.prelockedObj = obj;
    return "ok";
  }

  /** @internal Mirrors drm_exec_unlock_all(): unlock in reverse order, drop the references and the prelocked one. */
  *unlockAll(): Generator<Effect, void, unknown> {
    const locked = this.locked;
    while (locked.length > 0) {
      const obj = locked[locked.length - 1] as T;
      yield* obj.resv.unlock();
      locked.pop();
      yield* obj.put(DRM_EXEC_HOLDER);
    }
    const pre = this.prelockedObj;
    if (pre !== null) {
      this.prelockedObj = null;
      yield* pre.put(DRM_EXEC_CONTENDED_HOLDER);
    }
  }

  /** @internal Start a pass: no failure yet. */
  beginPass(): void {
    this.failure = null;
    this.firstResult = null;
    this.passCount++;
  }

  /** @internal The loop ended: lock ops after it act again (and report as the kernel's would). */
  endLoop(ok: boolean): void {
    this.phase = "done";
    this.failure = null;
    this.firstResult = null;
    if (ok) (this.ctx as WwAcquireCtx).done();
  }

  /** @internal Remove `obj` from the table (the newest entry of it); whether it was there. */
  forget(obj: T): boolean {
    const i = this.locked.lastIndexOf(obj);
    if (i < 0) return false;
    this.locked.splice(i, 1);
    return true;
  }
}

function finished(exec: DrmExec): boolean {
  return exec.phase === "finished";
}

function looping(exec: DrmExec): boolean {
  return exec.phase === "looping";
}

/** The results a loop's body may return, besides nothing. */
const BODY_RESULTS: ReadonlySet<unknown> = new Set<DrmExecResult>(["ok", "backoff", "already-held", "interrupted", "nomem"]);

/** Call the loop's body; a UsageError (before anything of the pass runs) when it is no generator function. */
function startBody(body: DrmExecBody): Iterable<Effect, unknown, unknown> {
  const iter = body.call(undefined) as unknown;
  const start = typeof iter === "object" && iter !== null ? (iter as Partial<Iterable<Effect>>)[Symbol.iterator] : undefined;
  if (typeof start !== "function") {
    throw new UsageError(`DrmExec.untilAllLocked(): the body returned ${describeValue(iter)}, not a generator: write it as function* () { ... }`);
  }
  // Take the iterator now: a body written as `() => someOp(...)` returns an
  // Op, which counts as unstarted (an `unstarted-op` report) if the loop
  // yielded before starting it. For a generator this is the generator itself.
  const started = (iter as Iterable<Effect, unknown, unknown>)[Symbol.iterator]();
  return { [Symbol.iterator]: () => started };
}

function* untilAllLocked<T extends DrmExecObject>(this: DrmExec<T>, body: DrmExecBody): Generator<Effect, DrmExecResult, unknown> {
  this.checkLoopable();
  // The first pass's body is made before anything changes, so a body that
  // is no generator function leaves the DrmExec new and nothing taken.
  let iter: Iterable<Effect, unknown, unknown> | null = startBody(body);
  this.phase = "looping";
  try {
    // Kernel: the first drm_exec_cleanup() initialises the ticket.
    this.ctx = yield* WwAcquireCtx.init(this.wwClass);
    for (;;) {
      this.beginPass();
      const returned = yield* checkedBody(iter ?? startBody(body), "the body of DrmExec.untilAllLocked()");
      iter = null;
      if (returned !== undefined && !BODY_RESULTS.has(returned)) {
        throw new UsageError(`DrmExec.untilAllLocked(): the body returned ${describeValue(returned)}: return nothing or a DrmExecResult ("ok", "backoff", "already-held", "interrupted", "nomem")`);
      }
      const result = (returned as DrmExecResult | undefined) ?? this.failure ?? this.firstResult ?? "ok";
      // A call, so the compiler does not carry the assignment above across the yields.
      if (finished(this)) return result; // fini() inside the body
      if (!this.isContended) {
        this.endLoop(result === "ok");
        return result;
      }
      // drm_exec_cleanup() on contention: drop everything, keep `contended`;
      // the next pass's first lock op slow-locks it.
      yield* this.unlockAll();
    }
  } finally {
    // The body threw (or was bad): the loop is over, without ww_acquire_done();
    // the locks taken stay held until fini(), as after any failed loop.
    if (looping(this)) this.endLoop(false);
  }
}

function* lockObj<T extends DrmExecObject>(this: DrmExec<T>, obj: T): Generator<Effect, DrmExecResult, unknown> {
  this.checkUsable("lockObj");
  const failed = this.failure;
  if (failed !== null) return failed;
  const pre = yield* this.lockContended();
  if (pre !== "ok") return this.fail(pre);
  if (this.prelockedObj === obj) {
    // Locked first, on the contended path: the contended reference goes.
    this.prelockedObj = null;
    yield* obj.put(DRM_EXEC_CONTENDED_HOLDER);
    return "ok";
  }
  const ctx = this.ctx as WwAcquireCtx;
  const r = this.interruptibleWait ? yield* obj.resv.lockInterruptible(ctx) : yield* obj.resv.lock(ctx);
  switch (r) {
    case "locked":
      break;
    case "backoff": {
      yield* obj.get(DRM_EXEC_CONTENDED_HOLDER);
      this.contendedObj = obj;
      return this.fail("backoff");
    }
    case "already-held":
      if (this.ignoreDuplicates) return "ok";
      if (this.phase === "looping") this.firstResult ??= "already-held";
      return "already-held";
    case "interrupted":
      return this.fail("interrupted");
  }
  const t = yield* this.objLocked(obj);
  if (t !== "ok") {
    yield* obj.resv.unlock();
    return this.fail(t);
  }
  return "ok";
}

function* prepareObj<T extends DrmExecObject>(this: DrmExec<T>, obj: T, numFences: number): Generator<Effect, DrmExecResult, unknown> {
  this.checkUsable("prepareObj");
  const r = yield* lockObj.call(this, obj);
  if (r !== "ok") return r;
  if ((yield* obj.resv.reserveFences(numFences)) !== "ok") {
    yield* unlockObj.call(this, obj);
    return this.fail("nomem");
  }
  return "ok";
}

function* prepareArray<T extends DrmExecObject>(this: DrmExec<T>, objs: readonly T[], numFences: number): Generator<Effect, DrmExecResult, unknown> {
  this.checkUsable("prepareArray");
  for (const obj of objs) {
    const r = yield* prepareObj.call(this, obj, numFences);
    if (r !== "ok") return r;
  }
  return "ok";
}

function* unlockObj<T extends DrmExecObject>(this: DrmExec<T>, obj: T): Generator<Effect, void, unknown> {
  this.checkNotFinished("unlockObj");
  if (!this.forget(obj)) return;
  yield* obj.resv.unlock();
  yield* obj.put(DRM_EXEC_HOLDER);
  if (this.prelockedObj === obj) {
    // Kernel: drm_exec_unlock_obj() leaves `prelocked` set, and a later
    // drm_exec_lock_obj() of it then returns 0 without locking it. Here
    // unlocking the prelocked object also drops its contended reference.
    this.prelockedObj = null;
    yield* obj.put(DRM_EXEC_CONTENDED_HOLDER);
  }
}

function* fini<T extends DrmExecObject>(this: DrmExec<T>): Generator<Effect, void, unknown> {
  this.checkFiniOnce();
  yield* this.unlockAll();
  this.phase = "finished";
  const contended = this.contendedObj;
  this.contendedObj = null;
  if (contended !== null) yield* contended.put(DRM_EXEC_CONTENDED_HOLDER);
  if (this.ctx !== null) this.ctx.fini();
  const bytes = this.tableBytes;
  if (bytes > 0) {
    // kvfree() of the table.
    const mem = memFootprint(this.sim);
    if (mem !== null) yield new Effect(DRM_EXEC_FREE_TABLE, null, NONE, null, null, Infinity, null, [mem]);
    this.tableBytes = 0;
    memUncharge(this.sim, bytes);
  }
}

/** drm_exec_fini()'s kvfree() of the object table: gives its bytes back to the memory state. */
export const DRM_EXEC_FREE_TABLE = defineEffectKind({ name: "drm-exec-free-table" });
