/**
 * Memory: kmalloc with GFP kinds, a per-Sim memory limit, direct reclaim,
 * kswapd, fault injection.
 *
 * Mirrors: kmalloc()/kfree() with GFP_KERNEL, GFP_NOFS, GFP_NOWAIT,
 *   GFP_ATOMIC (include/linux/gfp_types.h); might_alloc() and
 *   fs_reclaim_acquire() (mm/page_alloc.c: __need_reclaim()); the slow
 *   path's kswapd wake-up and direct reclaim (__perform_reclaim(): inside
 *   fs_reclaim, with PF_MEMALLOC); memalloc_nofs_save()/restore() and
 *   current_gfp_context() (include/linux/sched/mm.h); should_failslab()
 *   and fail_nth (mm/failslab.c, lib/fault-inject.c).
 * Ownership: one MemoryState per Sim (made on first use) counts the bytes
 *   charged by live allocations; each charged object's Lifetime carries
 *   its charge, which kfree() gives back (heap.ts).
 * Locking: the state is shared by every task: each step that reads or
 *   changes it declares it (the `kmalloc` and `kswapd` effects, and the
 *   kfree of a charged object), whenever its usage can be observed (a
 *   limit, fail-nth or explored faults is set; see observable()).
 * States: a Sim without configureMemory() has no limit and no faults:
 *   every allocation succeeds. kswapd: idle ⇄ running (a task "kswapd0",
 *   spawned when usage passes the watermark, that exits once below it).
 * Invariants: `usage` is the sum of the bytes of live charged allocations
 *   and memCharge()s not yet given back; a failed allocation charges
 *   nothing and makes no object.
 */
import { ArgumentError, UsageError } from "../errors.js";
import { arg, checkOptions, describeValue, is, type Rule, type Spec } from "../validate.js";
import { checkMightSleep } from "./context.js";
import { currentOrNull, setCurrent } from "./current.js";
import { defineEffectKind, Effect, NONE, WRITE, type Access } from "./effect.js";
import { SimObject, touch, type HeapCharge, LIBRARY_CLASS } from "./heap.js";
import { makeOp, type Op } from "./op.js";
import { shrinkSlab } from "./shrinker.js";
import type { Sim } from "./sim.js";
import type { Task } from "./task.js";

/** A GFP kind: what an allocation may do to get memory. */
export type Gfp = "GFP_KERNEL" | "GFP_NOFS" | "GFP_NOWAIT" | "GFP_ATOMIC";
/** May sleep, enter direct reclaim and recurse into filesystems (takes the fs_reclaim map). */
export const GFP_KERNEL: Gfp = "GFP_KERNEL";
/** May sleep and reclaim, but not recurse into filesystems (no fs_reclaim map). */
export const GFP_NOFS: Gfp = "GFP_NOFS";
/** Never sleeps: fails instead of reclaiming (wakes kswapd). */
export const GFP_NOWAIT: Gfp = "GFP_NOWAIT";
/** Never sleeps: fails instead of reclaiming (wakes kswapd); the kernel lets it dip into reserves, the simulation does not. */
export const GFP_ATOMIC: Gfp = "GFP_ATOMIC";
const GFPS: readonly Gfp[] = [GFP_KERNEL, GFP_NOFS, GFP_NOWAIT, GFP_ATOMIC];
const GFP_RULE = is.oneOf(...GFPS);

/** gfpflags_allow_blocking(): __GFP_DIRECT_RECLAIM is set. */
function blocking(gfp: Gfp): boolean {
  return gfp === GFP_KERNEL || gfp === GFP_NOFS;
}

/** The page size the limit counts in: 4096 bytes. */
export const PAGE_SIZE = 4096;
/** Mirrors MAX_RECLAIM_RETRIES: direct-reclaim rounds an allocation tries before it fails. */
const MAX_RECLAIM_RETRIES = 16;
/** The reclaim priority the simulated passes run at (0: scan everything freeable, see doShrinkSlab). */
const RECLAIM_PRIORITY = 0;
/** The memalloc_nofs_save() bit of the flags memallocNofsSave() returns (PF_MEMALLOC_NOFS). */
const PF_MEMALLOC_NOFS = 0x40000;
/** PF_MEMALLOC: the task is reclaiming; its allocations do not recurse into reclaim. */
const PF_MEMALLOC = 0x800;

/** Fault injection: which allocations fail on purpose. */
export interface FaultOptions {
  /** Fail the Nth allocation of the Sim, counting every kmalloc, kmallocObject and memCharge from 1 (fail_nth). */
  readonly failNth?: number;
  /** Fail every allocation whose `site` option is one of these (failslab at a call site). */
  readonly failSites?: readonly string[];
  /**
   * Let the explorer decide: each allocation is a choice (succeed or fail),
   * so exhaustive search covers every failure point and a replay token
   * repeats the one it found. Default false.
   */
  readonly explore?: boolean;
  /** With `explore`: at most this many allocations fail per execution (default 1). */
  readonly maxFailures?: number;
}

/** A Sim's memory configuration; see configureMemory(). */
export interface MemoryOptions {
  /** The memory limit in pages of PAGE_SIZE bytes (default: none). Allocations over it reclaim, then fail. */
  readonly limitPages?: number;
  /** Run kswapd, the background reclaim task, when usage passes `watermarkPages` (default false; needs `limitPages`). */
  readonly kswapd?: boolean;
  /** kswapd's watermark in pages (default three quarters of `limitPages`, rounded down): woken above it, it reclaims until usage is at or below it. */
  readonly watermarkPages?: number;
  /** Allocations that fail on purpose (default none). */
  readonly fault?: FaultOptions;
}

const SITES_RULE: Rule = (argument, v) => {
  if (!Array.isArray(v)) throw new ArgumentError(argument, `must be an array of site names, got ${describeValue(v)}`);
  (v as unknown[]).forEach((s, i) => { is.nonEmptyString(`${argument}[${i}]`, s); });
};
const FAULT_SPEC: Spec<FaultOptions> = { failNth: is.positiveInteger, failSites: SITES_RULE, explore: is.boolean, maxFailures: is.positiveInteger };
const MEMORY_SPEC: Spec<MemoryOptions> = { limitPages: is.count, kswapd: is.boolean, watermarkPages: is.count, fault: is.options(FAULT_SPEC) };

/** What memoryStats() returns. */
export interface MemoryStats {
  /** Bytes charged by live allocations. */
  readonly usageBytes: number;
  /** The limit in bytes, or null for none. */
  readonly limitBytes: number | null;
  /** Allocations attempted (kmalloc, kmallocObject, memCharge), failed or not. */
  readonly allocations: number;
  /** Allocations that failed: injected faults and out-of-memory. */
  readonly failures: number;
  /** Of those, the injected ones. */
  readonly injected: number;
  /** Direct-reclaim rounds run by allocating tasks. */
  readonly directReclaims: number;
  /** kswapd tasks spawned. */
  readonly kswapdWakeups: number;
  /** Whether a kswapd task is running now. */
  readonly kswapdRunning: boolean;
}

/** @internal The per-Sim memory state: the object the memory effects' footprints name. */
export class MemoryState {
  usage = 0;
  limit: number | null = null;
  kswapd = false;
  watermark = 0;
  failNth: number | null = null;
  failSites: ReadonlySet<string> | null = null;
  explore = false;
  maxFailures = 1;
  allocations = 0;
  failures = 0;
  injected = 0;
  explored = 0;
  directReclaims = 0;
  kswapdWakeups = 0;
  kswapdRunning = false;
  /** Per-task allocation flags (PF_MEMALLOC_NOFS, PF_MEMALLOC): task-private, never in a footprint. */
  readonly taskFlags = new Map<Task, number>();
  /** The access a kfree of a charged object declares, while usage is observable. */
  readonly freeAccess: readonly Access[];

  /** The effect of an allocation step (and a retry) that writes this state: made once, as effects are immutable. */
  readonly allocEffect: Effect;
  /** The effect of a kswapd check. */
  readonly kswapdEffect: Effect;

  constructor(readonly sim: Sim) {
    this.freeAccess = [{ object: this, mode: "write" }];
    this.allocEffect = new Effect(KMALLOC, null, WRITE, this);
    this.kswapdEffect = new Effect(KSWAPD, null, WRITE, this);
  }

  /**
   * Whether another task can tell the order of two allocations (or of an
   * allocation and a free) apart: with a limit the first may take the
   * memory the second needed; with fail-nth the count decides which fails;
   * with explored faults the failure budget is shared. Without any of
   * these, allocations and frees commute and their steps declare nothing.
   */
  get observable(): boolean {
    return this.limit !== null || this.failNth !== null || this.explore;
  }

  fits(bytes: number): boolean {
    return this.limit === null || this.usage + bytes <= this.limit;
  }
}

const states = new WeakMap<Sim, MemoryState>();

/**
 * @internal The Sim's memory state, made on first use. Its footprint key is
 * taken as the setup's (no current task), so every execution names it the
 * same way whichever task allocates first.
 */
export function memoryState(sim: Sim): MemoryState {
  let st = states.get(sim);
  if (st === undefined) {
    st = new MemoryState(sim);
    const prev = setCurrent(null);
    try {
      sim.heap.share(st);
    } finally {
      setCurrent(prev);
    }
    states.set(sim, st);
  }
  return st;
}

/**
 * @internal The access a library step that calls memUncharge() must declare
 * (in its effect's `also`), or null when usage is not observable.
 */
export function memFootprint(sim: Sim): Access | null {
  const st = memoryState(sim);
  return st.observable ? (st.freeAccess[0] as Access) : null;
}

/**
 * Configure `sim`'s memory: a limit in pages (pressure, reclaim, failure),
 * kswapd, fault injection. Call it outside tasks (when building the world
 * in a scenario, or before `sim.run()`); each call replaces the whole
 * configuration (an option not given goes back to its default). See
 * docs/memory.md.
 *
 * @throws ArgumentError naming `sim` (not a Sim), `options` (not an
 *   object), an unknown key (listing the known ones) or a bad value
 *   (`limitPages`, `kswapd`, `watermarkPages`, `fault.failNth`,
 *   `fault.failSites`, `fault.explore`, `fault.maxFailures`);
 *   ArgumentRangeError for a number out of range; ArgumentError naming
 *   `kswapd` when it is on without a limit, `watermarkPages` above the
 *   limit or given without one, `fault.maxFailures` without `explore`;
 *   UsageError inside a task. Nothing changes then.
 */
export function configureMemory(sim: Sim, options: MemoryOptions): void {
  if (typeof sim !== "object" || (sim as Sim | null) === null || typeof (sim as { heap?: unknown }).heap !== "object") {
    throw new ArgumentError("sim", `must be a Sim, got ${describeValue(sim)}`);
  }
  if ((options as MemoryOptions | undefined) === undefined) throw new ArgumentError("options", "must be an options object, got undefined");
  checkOptions("options", options, MEMORY_SPEC);
  const f = options.fault ?? {};
  const limit = options.limitPages;
  if (options.kswapd === true && limit === undefined) throw new ArgumentError("kswapd", "needs limitPages: kswapd reclaims only under a limit");
  if (options.watermarkPages !== undefined) {
    if (limit === undefined) throw new ArgumentError("watermarkPages", "needs limitPages");
    if (options.watermarkPages > limit) throw new ArgumentError("watermarkPages", `must be at most limitPages (${limit}), got ${options.watermarkPages}`);
  }
  if (f.maxFailures !== undefined && f.explore !== true) throw new ArgumentError("fault.maxFailures", "applies only with fault.explore: true");
  if (currentOrNull() !== null) throw new UsageError("configureMemory() inside a running task: configure memory outside tasks (when building the world)");
  // Every argument checked: from here on nothing can fail.
  const st = memoryState(sim);
  st.limit = limit === undefined ? null : limit * PAGE_SIZE;
  st.kswapd = options.kswapd === true;
  st.watermark = (options.watermarkPages ?? Math.floor(((limit ?? 0) * 3) / 4)) * PAGE_SIZE;
  st.failNth = f.failNth ?? null;
  st.failSites = f.failSites === undefined || f.failSites.length === 0 ? null : new Set(f.failSites);
  st.explore = f.explore === true;
  st.maxFailures = f.maxFailures ?? 1;
}

/**
 * A query: the memory counters of `sim`. Meant for tests after a run (or
 * between runs): read inside a task it is not part of that step's
 * footprint, so the explorer would not order it against allocations.
 * @throws ArgumentError naming `sim` when it is not a Sim.
 */
export function memoryStats(sim: Sim): MemoryStats {
  if (typeof sim !== "object" || (sim as Sim | null) === null || typeof (sim as { heap?: unknown }).heap !== "object") {
    throw new ArgumentError("sim", `must be a Sim, got ${describeValue(sim)}`);
  }
  const st = memoryState(sim);
  return {
    usageBytes: st.usage,
    limitBytes: st.limit,
    allocations: st.allocations,
    failures: st.failures,
    injected: st.injected,
    directReclaims: st.directReclaims,
    kswapdWakeups: st.kswapdWakeups,
    kswapdRunning: st.kswapdRunning,
  };
}

// ---------------------------------------------------------------------------
// Per-task flags: memalloc_nofs_save()/restore(), PF_MEMALLOC.

function flagsOf(st: MemoryState, task: Task): number {
  return st.taskFlags.get(task) ?? 0;
}

function setFlags(st: MemoryState, task: Task, flags: number): void {
  if (flags === 0) st.taskFlags.delete(task);
  else st.taskFlags.set(task, flags);
}

/** Whether `task` is in reclaim (PF_MEMALLOC): a reclaim-context task, or one running direct reclaim. */
function pfMemalloc(st: MemoryState, task: Task): boolean {
  return task.context === "reclaim" || (flagsOf(st, task) & PF_MEMALLOC) !== 0;
}

/** Mirrors current_gfp_context(): GFP_KERNEL acts as GFP_NOFS inside memallocNofsSave(). */
function gfpContext(st: MemoryState, task: Task, gfp: Gfp): Gfp {
  return gfp === GFP_KERNEL && (flagsOf(st, task) & PF_MEMALLOC_NOFS) !== 0 ? GFP_NOFS : gfp;
}

/**
 * Mirrors memalloc_nofs_save(): until the matching memallocNofsRestore(),
 * this task's GFP_KERNEL allocations act as GFP_NOFS (no fs_reclaim map, no
 * recursion into filesystems). Returns the flags to restore. Not an effect.
 * @throws UsageError outside a simulated task.
 */
export function memallocNofsSave(): number {
  const task = currentTask("memallocNofsSave");
  const st = memoryState(task.sim);
  const flags = flagsOf(st, task);
  setFlags(st, task, flags | PF_MEMALLOC_NOFS);
  return flags & PF_MEMALLOC_NOFS;
}

/**
 * Mirrors memalloc_nofs_restore(flags): end the scope memallocNofsSave()
 * began (restoring the outer scope's state when they nest).
 * @throws ArgumentError naming `flags` unless it is a value
 *   memallocNofsSave() returns; UsageError outside a task.
 */
export function memallocNofsRestore(flags: number): void {
  if (flags !== 0 && flags !== PF_MEMALLOC_NOFS) throw new ArgumentError("flags", `must be what memallocNofsSave() returned, got ${describeValue(flags)}`);
  const task = currentTask("memallocNofsRestore");
  const st = memoryState(task.sim);
  setFlags(st, task, (flagsOf(st, task) & ~PF_MEMALLOC_NOFS) | flags);
}

/**
 * A query: whether the current task is in memory reclaim (PF_MEMALLOC): a
 * task of context "reclaim" (kswapd), or one running shrinkers in direct
 * reclaim. Its allocations never recurse into reclaim.
 * @throws UsageError outside a simulated task.
 */
export function inReclaim(): boolean {
  const task = currentTask("inReclaim");
  return pfMemalloc(memoryState(task.sim), task);
}

function currentTask(fn: string): Task {
  const task = currentOrNull();
  if (task === null) throw new UsageError(`${fn}() called outside a simulated task`);
  return task;
}

// ---------------------------------------------------------------------------
// Allocation.

/** An allocation step: reads (and, when it succeeds or counts, writes) the memory state. */
export const KMALLOC = defineEffectKind({ name: "kmalloc" });
/** A kswapd step: checks usage against the watermark, and exits or runs a reclaim pass. */
export const KSWAPD = defineEffectKind({ name: "kswapd" });

/** kmalloc()'s result: a buffer of `size` bytes, freed with kfree(). */
export class KmallocBuffer extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  constructor(
    sim: Sim,
    /** Its size in bytes. */
    readonly size: number,
    name: string,
  ) {
    super(sim, "KmallocBuffer", { name });
  }
}

/** A charged allocation's charge: given back once, by the free. */
class Charge implements HeapCharge {
  constructor(
    private readonly st: MemoryState,
    private readonly bytes: number,
  ) {}

  freeAccesses(): readonly Access[] | null {
    return this.st.observable ? this.st.freeAccess : null;
  }

  uncharge(): void {
    uncharge(this.st, this.bytes, "kfree");
  }
}

function uncharge(st: MemoryState, bytes: number, op: string): void {
  if (st.observable) touch(st.sim, st, true, op);
  st.usage = Math.max(0, st.usage - bytes);
}

const KMALLOC_OPTIONS: Spec<{ site?: string; name?: string }> = { site: is.nonEmptyString, name: is.string };
const KMALLOC_OBJECT_OPTIONS: Spec<{ size?: number; site?: string }> = { size: is.positiveInteger, site: is.nonEmptyString };

/** The default charge of kmallocObject() without `size`: 64 bytes, a small slab object. */
export const DEFAULT_OBJECT_SIZE = 64;

/**
 * One allocation with GFP semantics: might_alloc(), the allocation step
 * (fault injection, then the limit), and, for a sleeping kind over the
 * limit, direct reclaim and retries. True if `bytes` were charged.
 */
function* allocate(st: MemoryState, bytes: number, gfp: Gfp, site: string | undefined, op: string): Generator<Effect, boolean, unknown> {
  const task = currentOrNull() as Task;
  const sim = st.sim;
  const observable = st.observable;
  yield observable ? st.allocEffect : KMALLOC_QUIET;
  if (observable) touch(sim, st, true, op);
  const eff = gfpContext(st, task, gfp);
  const memalloc = pfMemalloc(st, task);
  mightAlloc(task, eff, memalloc, op);
  st.allocations++;
  if (injectFault(st, site)) {
    st.failures++;
    st.injected++;
    sim.note(`${op}(${bytes}, ${gfp}) = -ENOMEM (injected)`);
    return false;
  }
  if (st.fits(bytes)) return charge(st, bytes);
  wakeKswapd(st, bytes);
  if (!blocking(eff) || memalloc) return fail(st, bytes, gfp, op);
  // Direct reclaim (__alloc_pages_direct_reclaim), then a retry, while rounds make progress.
  for (let round = 0; round < MAX_RECLAIM_RETRIES; round++) {
    const before = st.usage;
    yield* directReclaim(st, task, eff);
    yield st.allocEffect;
    touch(sim, st, true, op);
    if (st.fits(bytes)) return charge(st, bytes);
    if (st.usage >= before) break;
  }
  return fail(st, bytes, gfp, op);
}

const KMALLOC_QUIET = new Effect(KMALLOC, null, NONE);

function charge(st: MemoryState, bytes: number): true {
  st.usage += bytes;
  wakeKswapd(st, 0);
  return true;
}

function fail(st: MemoryState, bytes: number, gfp: Gfp, op: string): false {
  st.failures++;
  st.sim.note(`${op}(${bytes}, ${gfp}) = -ENOMEM`);
  return false;
}

/**
 * Mirrors might_alloc(): fs_reclaim_acquire()/release() (only for a kind
 * that may reclaim, in a task not already reclaiming; the fs_reclaim map
 * only with __GFP_FS, the mmu notifier map either way), then
 * might_sleep_if(gfpflags_allow_blocking()).
 */
function mightAlloc(task: Task, gfp: Gfp, memalloc: boolean, op: string): void {
  const lockdep = task.sim.lockdep;
  if (blocking(gfp) && !memalloc) {
    if (gfp === GFP_KERNEL) {
      lockdep.acquire(task, lockdep.maps.fsReclaim, "fs_reclaim_acquire");
      lockdep.release(task, lockdep.maps.fsReclaim, null);
    }
    lockdep.acquire(task, lockdep.maps.mmuNotifier, "fs_reclaim_acquire");
    lockdep.release(task, lockdep.maps.mmuNotifier, null);
  }
  if (blocking(gfp)) checkMightSleep(task, op);
}

/** should_failslab(): fail-nth, a failing site, or the explorer's choice. */
function injectFault(st: MemoryState, site: string | undefined): boolean {
  if (st.failNth !== null && st.allocations === st.failNth) return true;
  if (st.failSites !== null && site !== undefined && st.failSites.has(site)) return true;
  if (st.explore && st.explored < st.maxFailures) {
    if (st.sim.scheduler.choose(2) === 1) {
      st.explored++;
      return true;
    }
  }
  return false;
}

/**
 * Mirrors __perform_reclaim(): inside fs_reclaim (with __GFP_FS) and with
 * PF_MEMALLOC, run every registered shrinker once (shrink_slab()).
 */
function* directReclaim(st: MemoryState, task: Task, gfp: Gfp): Generator<Effect, void, unknown> {
  const lockdep = task.sim.lockdep;
  const fs = gfp === GFP_KERNEL;
  st.directReclaims++;
  if (fs) lockdep.acquire(task, lockdep.maps.fsReclaim, "fs_reclaim_acquire");
  const saved = flagsOf(st, task);
  setFlags(st, task, saved | PF_MEMALLOC);
  try {
    yield* shrinkSlab(task.sim, gfp, RECLAIM_PRIORITY);
  } finally {
    setFlags(st, task, (flagsOf(st, task) & ~PF_MEMALLOC) | (saved & PF_MEMALLOC));
    if (fs) lockdep.release(task, lockdep.maps.fsReclaim, null);
  }
}

/**
 * Mirrors wakeup_kswapd(): with kswapd on, spawn it (as `kswapd0`, context
 * "reclaim") when usage plus `wanted` bytes passes the watermark and it is
 * not running. Runs inside a step that declared the memory state.
 */
function wakeKswapd(st: MemoryState, wanted: number): void {
  if (!st.kswapd || st.kswapdRunning || st.usage + wanted <= st.watermark) return;
  st.kswapdRunning = true;
  st.kswapdWakeups++;
  // The spawn depends on the schedule: its footprint key is not one the caller made (as callRcu).
  const caller = currentOrNull();
  const made = caller?.keysMade ?? 0;
  st.sim.spawn("kswapd0", "reclaim", () => kswapd(st));
  if (caller !== null) caller.keysMade = made;
}

/**
 * Mirrors kswapd()'s balance loop: while usage is above the watermark, run
 * every shrinker; exit (a task that blocks forever would read as a
 * deadlock) once below it, or when a pass freed nothing.
 */
function* kswapd(st: MemoryState): Generator<Effect, void, unknown> {
  let last = Infinity;
  const sim = st.sim;
  for (let pass = 0; ; pass++) {
    yield st.kswapdEffect;
    touch(sim, st, true, "kswapd");
    if (st.usage <= st.watermark || st.usage >= last || pass >= MAX_RECLAIM_RETRIES) {
      st.kswapdRunning = false;
      return;
    }
    last = st.usage;
    try {
      yield* shrinkSlab(sim, GFP_KERNEL, RECLAIM_PRIORITY);
    } catch (error) {
      // A shrinker's bug (it threw, or returned a bad count) kills kswapd
      // with a task-exception report; the next wakeup spawns a new one.
      if (sim.onReport === "throw" || sim.stopped) throw error;
      yield st.kswapdEffect;
      touch(sim, st, true, "kswapd");
      st.kswapdRunning = false;
      throw error;
    }
  }
}

function checkSize(argument: string, size: unknown): void {
  is.positiveInteger(argument, size);
}

function* kmallocBody(this: undefined, size: number, gfp: Gfp, options: { site?: string; name?: string }): Generator<Effect, KmallocBuffer | null, unknown> {
  const sim = (currentOrNull() as Task).sim;
  const st = memoryState(sim);
  if (!(yield* allocate(st, size, gfp, options.site, "kmalloc"))) return null;
  const buf = new KmallocBuffer(sim, size, options.name ?? "");
  buf.life.charge = new Charge(st, size);
  return buf;
}

/**
 * Mirrors kmalloc(size, gfp): a KmallocBuffer of `size` bytes, or null on
 * failure (the kernel's NULL, -ENOMEM). kfree() frees it and gives the
 * bytes back.
 *
 * - GFP_KERNEL and GFP_NOFS may sleep: the might-sleep check runs first
 *   (`sleep-in-atomic` under a spinlock, with irqs off, in an irq), and
 *   GFP_KERNEL takes the fs_reclaim lockdep map (a lock-order report when a
 *   lock held here is also taken in reclaim, or inside a fence-signalling
 *   section). Over the limit they run direct reclaim in this task (every
 *   registered Shrinker), retry, and fail if still over.
 * - GFP_NOWAIT and GFP_ATOMIC never sleep and fail at once over the limit.
 * - Allocations of a task in reclaim (context "reclaim", or a shrinker run
 *   by direct reclaim) never reclaim.
 * - Fault injection (configureMemory()'s `fault`) may fail it on purpose.
 *
 * @param size Bytes: a positive safe integer.
 * @param options `site`: a name for fault injection's `failSites`; `name`:
 *   the buffer's name in reports.
 * @throws ArgumentError naming `size`, `gfp`, `options` or its key
 *   (`site`, `name`); nothing is allocated then.
 */
export function kmalloc(size: number, gfp: Gfp, options: { readonly site?: string; readonly name?: string } = {}): Op<KmallocBuffer | null> {
  checkSize("size", size);
  arg("gfp", GFP_RULE, gfp);
  checkOptions("options", options, KMALLOC_OPTIONS);
  return makeOp("kmalloc", undefined, kmallocBody, size, gfp, options);
}

function* kmallocObjectBody<T extends SimObject>(
  this: undefined,
  make: () => T,
  gfp: Gfp,
  options: { size?: number; site?: string },
): Generator<Effect, T | null, unknown> {
  const sim = (currentOrNull() as Task).sim;
  const st = memoryState(sim);
  const size = options.size ?? DEFAULT_OBJECT_SIZE;
  if (!(yield* allocate(st, size, gfp, options.site, "kmalloc"))) return null;
  let obj: T;
  try {
    obj = make();
  } catch (e) {
    st.usage -= size;
    throw e;
  }
  if (!(obj instanceof SimObject) || obj.sim !== sim || obj.life.owner !== obj || obj.isStatic || obj.life.charge !== null) {
    st.usage -= size;
    throw new UsageError(`kmallocObject(): make() must return a new top-level, non-static SimObject of ${sim.label}, got ${obj instanceof SimObject ? obj.label : describeValue(obj)}`);
  }
  obj.life.charge = new Charge(st, size);
  return obj;
}

/**
 * Allocate a caller-made SimObject with GFP semantics, as kmalloc() does
 * (same checks, reclaim and faults): `make()` runs only when the
 * allocation succeeds, and the object is charged `size` bytes (default
 * DEFAULT_OBJECT_SIZE, 64) until kfree() frees it. Returns null on failure
 * (-ENOMEM); the object is not made then.
 *
 * @throws ArgumentError naming `make` (not a function), `gfp`, `options`
 *   or its key (`size`, `site`); UsageError (in the task) when `make()`
 *   returns anything but a new top-level, non-static SimObject of the
 *   task's Sim (nothing stays charged then).
 */
export function kmallocObject<T extends SimObject>(make: () => T, gfp: Gfp, options: { readonly size?: number; readonly site?: string } = {}): Op<T | null> {
  arg("make", is.function, make);
  arg("gfp", GFP_RULE, gfp);
  checkOptions("options", options, KMALLOC_OBJECT_OPTIONS);
  return makeOp<undefined, T | null, () => T, Gfp, { size?: number; site?: string }>("kmalloc", undefined, kmallocObjectBody, make, gfp, options);
}

function* memChargeBody(this: undefined, bytes: number, gfp: Gfp, site: string): Generator<Effect, boolean, unknown> {
  const st = memoryState((currentOrNull() as Task).sim);
  return yield* allocate(st, bytes, gfp, site, "kmalloc");
}

/**
 * @internal For library code that allocates (dma_resv_reserve_fences,
 * drm_exec's array): charge `bytes` with GFP semantics (might_alloc checks,
 * reclaim under pressure, fault injection at `site`). Returns false for
 * -ENOMEM, and then nothing is charged. Give the bytes back with
 * memUncharge() in a step that declares memFootprint(sim).
 * @throws ArgumentError naming `bytes`, `gfp` or `site`.
 */
export function memCharge(bytes: number, gfp: Gfp, site: string): Op<boolean> {
  checkSize("bytes", bytes);
  arg("gfp", GFP_RULE, gfp);
  arg("site", is.nonEmptyString, site);
  return makeOp("kmalloc", undefined, memChargeBody, bytes, gfp, site);
}

/**
 * @internal Give `bytes` back (a library object's kfree). Not an effect:
 * the calling step must declare memFootprint(sim) in its effect's `also`
 * (the footprint check reports it otherwise, when usage is observable).
 * @throws ArgumentError naming `sim` or `bytes`; ArgumentError naming
 *   `bytes` when more than is charged.
 */
export function memUncharge(sim: Sim, bytes: number): void {
  if (typeof sim !== "object" || (sim as Sim | null) === null || typeof (sim as { heap?: unknown }).heap !== "object") {
    throw new ArgumentError("sim", `must be a Sim, got ${describeValue(sim)}`);
  }
  checkSize("bytes", bytes);
  const st = memoryState(sim);
  if (bytes > st.usage) throw new ArgumentError("bytes", `${bytes} is more than the ${st.usage} bytes charged`);
  uncharge(st, bytes, "memUncharge");
}
