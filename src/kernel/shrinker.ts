/**
 * Shrinker: a driver's callbacks that give memory back under pressure.
 *
 * Mirrors: struct shrinker and struct shrink_control (include/linux/shrinker.h),
 *   shrinker_alloc()/shrinker_register()/shrinker_free(), and the loop of
 *   mm/shrinker.c's shrink_slab()/do_shrink_slab(): count, compute how many
 *   to scan, scan in batches until done or SHRINK_STOP.
 * Ownership: the Sim's list of registered shrinkers (one per Sim, in
 *   registration order) refers to each registered Shrinker; nothing counts
 *   references to it. A Shrinker is not a SimObject: it is never freed.
 * Locking: the list changes only outside running tasks (register() and
 *   unregister() refuse to run inside one), so reclaim never sees it change
 *   under it; the kernel's shrinker_rwsem/SRCU is not needed.
 * States: unregistered ⇄ registered.
 * Invariants: the callbacks run only in reclaim (direct reclaim in an
 *   allocating task, or kswapd), with PF_MEMALLOC set, so their own
 *   allocations never recurse into reclaim (see memory.ts).
 */
import { ArgumentError, UsageError } from "../errors.js";
import { checkOptions, describeValue, is, type Spec } from "../validate.js";
import { checkedBody } from "./checked-body.js";
import { currentOrNull } from "./current.js";
import type { Effect } from "./effect.js";
import { Heap } from "./heap.js";
import type { Gfp } from "./memory.js";
import type { Sim } from "./sim.js";

/** Mirrors SHRINK_STOP: scanObjects() returns it when it cannot make progress now (a lock it must not wait for is busy). */
export const SHRINK_STOP = -1;
/** Mirrors SHRINK_EMPTY: countObjects() returns it when the shrinker has no objects at all. */
export const SHRINK_EMPTY = -2;
/** Mirrors DEFAULT_SEEKS: the cost of recreating an object, relative to others (default 2). */
export const DEFAULT_SEEKS = 2;
/** Mirrors SHRINK_BATCH: objects per scanObjects() call when the shrinker gives no batch (128). */
export const SHRINK_BATCH = 128;

/** Mirrors struct shrink_control: what one call of a shrinker's callback is asked. */
export interface ShrinkControl {
  /** The allocation's GFP kind (after memallocNofsSave()): a shrinker that needs fs may return SHRINK_STOP under GFP_NOFS. */
  readonly gfp: Gfp;
  /** For scanObjects(): how many objects to scan (at most the batch). */
  nrToScan: number;
  /** For scanObjects(): how many it did scan (preset to nrToScan; a shrinker may lower or raise it). */
  nrScanned: number;
}

/** A callback result: a number now, or an op (a generator) that yields effects and returns it. */
export type ShrinkResult = number | Iterable<Effect, number, unknown>;

/** The callbacks and tuning of a Shrinker. */
export interface ShrinkerSpec {
  /** Mirrors count_objects(): how many objects could be freed now (0 or SHRINK_EMPTY: nothing to do). */
  readonly countObjects: (sc: ShrinkControl) => ShrinkResult;
  /** Mirrors scan_objects(): free up to sc.nrToScan objects; return how many were freed, or SHRINK_STOP. */
  readonly scanObjects: (sc: ShrinkControl) => ShrinkResult;
  /** Mirrors shrinker->seeks (default DEFAULT_SEEKS, 2): higher scans less; 0 scans half of what is freeable. */
  readonly seeks?: number;
  /** Mirrors shrinker->batch (default SHRINK_BATCH, 128): objects per scanObjects() call. */
  readonly batch?: number;
}

const SHRINKER_SPEC: Spec<ShrinkerSpec> = {
  countObjects: is.function,
  scanObjects: is.function,
  seeks: is.count,
  batch: is.positiveInteger,
};

/** The registered shrinkers of each Sim, in registration order. */
const registered = new WeakMap<Sim, Shrinker[]>();

/** @internal The shrinkers registered in `sim`, in registration order (do not change the array). */
export function shrinkersOf(sim: Sim): readonly Shrinker[] {
  return registered.get(sim) ?? NONE;
}
const NONE: readonly Shrinker[] = [];

/**
 * A shrinker: callbacks the simulated memory reclaim runs, in the
 * allocating task (direct reclaim) or in kswapd, when an allocation finds
 * the Sim over its memory limit (see configureMemory() in memory.ts).
 * Callbacks may be plain functions returning a number or generator
 * functions (they may take locks: in reclaim, only trylocks are safe
 * against the reservation lock; see docs/memory.md).
 */
export class Shrinker {
  readonly sim: Sim;
  readonly name: string;
  /** @internal */ readonly spec: ShrinkerSpec;
  readonly seeks: number;
  readonly batch: number;

  /**
   * Mirrors shrinker_alloc() (the shrinker is made unregistered).
   * @throws ArgumentError naming `sim` (not a Sim), `name` (not a non-empty
   *   string), `spec` (not an object), a key of it (unknown, listing the
   *   known ones; `countObjects`/`scanObjects` not functions; `seeks` not an
   *   integer >= 0; `batch` not a positive integer).
   */
  constructor(sim: Sim, name: string, spec: ShrinkerSpec) {
    if (typeof sim !== "object" || (sim as Sim | null) === null || !((sim as { heap?: unknown }).heap instanceof Heap)) {
      throw new ArgumentError("sim", `must be a Sim, got ${describeValue(sim)}`);
    }
    if (typeof name !== "string" || name === "") throw new ArgumentError("name", `must be a non-empty string, got ${describeValue(name)}`);
    if ((spec as ShrinkerSpec | undefined) === undefined) throw new ArgumentError("spec", "must be an object { countObjects, scanObjects, seeks?, batch? }, got undefined");
    checkOptions("spec", spec, SHRINKER_SPEC);
    const given = spec as Partial<ShrinkerSpec>;
    if (given.countObjects === undefined) throw new ArgumentError("spec.countObjects", "must be a function");
    if (given.scanObjects === undefined) throw new ArgumentError("spec.scanObjects", "must be a function");
    this.sim = sim;
    this.name = name;
    this.spec = spec;
    this.seeks = spec.seeks ?? DEFAULT_SEEKS;
    this.batch = spec.batch ?? SHRINK_BATCH;
  }

  /** Whether it is registered (reclaim runs it). */
  get isRegistered(): boolean {
    return shrinkersOf(this.sim).includes(this);
  }

  /**
   * Mirrors shrinker_register(): from now on reclaim runs it, after the
   * shrinkers registered before it.
   * @throws UsageError when already registered, or when called inside a
   *   running task (register at setup, outside any task).
   */
  register(): void {
    this.outsideTasks("register");
    if (this.isRegistered) throw new UsageError(`Shrinker "${this.name}" is already registered`);
    let list = registered.get(this.sim);
    if (list === undefined) registered.set(this.sim, (list = []));
    list.push(this);
  }

  /**
   * Mirrors shrinker_free() of a registered shrinker: reclaim no longer runs it.
   * @throws UsageError when not registered, or inside a running task.
   */
  unregister(): void {
    this.outsideTasks("unregister");
    const list = registered.get(this.sim);
    const i = list === undefined ? -1 : list.indexOf(this);
    if (list === undefined || i < 0) throw new UsageError(`Shrinker "${this.name}" is not registered`);
    list.splice(i, 1);
  }

  private outsideTasks(what: string): void {
    if (currentOrNull() !== null) {
      throw new UsageError(`Shrinker.${what}() inside a running task: register and unregister shrinkers outside tasks (at setup, or between runs), so reclaim never sees the list change`);
    }
  }
}

/** Run a callback: a number as is, an iterable with yield*. */
function* call(shrinker: Shrinker, which: "countObjects" | "scanObjects", sc: ShrinkControl): Generator<Effect, number, unknown> {
  const r = shrinker.spec[which](sc) as unknown;
  let n: unknown = r;
  if (typeof r === "object" && r !== null && typeof (r as Partial<Iterable<Effect>>)[Symbol.iterator] === "function") {
    n = yield* checkedBody(r as Iterable<Effect, unknown, unknown>, `Shrinker "${shrinker.name}": ${which}()`);
  }
  const ok = typeof n === "number" && Number.isSafeInteger(n) && (n >= 0 || n === (which === "countObjects" ? SHRINK_EMPTY : SHRINK_STOP));
  if (!ok) {
    const allowed = which === "countObjects" ? "an integer >= 0 or SHRINK_EMPTY" : "an integer >= 0 or SHRINK_STOP";
    throw new UsageError(`Shrinker "${shrinker.name}": ${which}() must return ${allowed}, got ${describeValue(n)}`);
  }
  return n as number;
}

/**
 * @internal Mirrors do_shrink_slab() at `priority` (0 is the most
 * aggressive, DEF_PRIORITY 12 the least): count, then scan in batches.
 * Returns the number of objects the shrinker said it freed.
 */
export function* doShrinkSlab(shrinker: Shrinker, gfp: Gfp, priority: number): Generator<Effect, number, unknown> {
  const sc: ShrinkControl = { gfp, nrToScan: 0, nrScanned: 0 };
  const freeable = yield* call(shrinker, "countObjects", sc);
  if (freeable === 0 || freeable === SHRINK_EMPTY) return 0;
  // How much of it to scan: the kernel's delta, without the work deferred
  // from earlier calls (nr_deferred), capped at twice what is freeable.
  const delta = shrinker.seeks === 0 ? Math.floor(freeable / 2) : Math.floor((Math.floor(freeable / 2 ** priority) * 4) / shrinker.seeks);
  let total = Math.min(delta, 2 * freeable);
  const batch = shrinker.batch;
  let freed = 0;
  while (total >= batch || total >= freeable) {
    const nr = Math.min(batch, total);
    sc.nrToScan = nr;
    sc.nrScanned = nr;
    const ret = yield* call(shrinker, "scanObjects", sc);
    if (ret === SHRINK_STOP) break;
    freed += ret;
    // A shrinker that scanned nothing must not spin here.
    const scanned = Number.isSafeInteger(sc.nrScanned) && sc.nrScanned > 0 ? sc.nrScanned : nr;
    total -= scanned;
  }
  return freed;
}

/**
 * @internal Mirrors shrink_slab(): every registered shrinker of `sim`, in
 * registration order, at `priority`. Returns the objects freed in total.
 */
export function* shrinkSlab(sim: Sim, gfp: Gfp, priority: number): Generator<Effect, number, unknown> {
  // A copy: the list cannot change while tasks run, but a copy costs little and keeps the loop obviously safe.
  const list = shrinkersOf(sim).slice();
  let freed = 0;
  for (const s of list) freed += yield* doShrinkSlab(s, gfp, priority);
  return freed;
}
