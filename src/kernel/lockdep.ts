/**
 * Lockdep: lock classes, held-lock stacks and the dependency graph.
 *
 * Mirrors: kernel/locking/lockdep.c as Documentation/locking/lockdep-design.rst
 *   describes it — classes, the "B taken while A held" graph with its
 *   dependency types and strong paths (recursive reads), irq usage states
 *   (read and write), wait contexts (LD_WAIT_*), nest locks, chain caching,
 *   lockdep_assert_held(), lock_map_acquire().
 * Ownership: a Lockdep instance is one boot. Sims share the process-wide
 *   `Lockdep.global` unless given their own, so an order learned in one run
 *   is checked in the next, as a kernel learns orders over its uptime. Its
 *   classes and edges hold labels and witnesses only, never live objects.
 * Locking: single-threaded; called by lock ops of the running task.
 * Invariants: an edge A→B exists iff some task took B while holding A (not
 *   by trylock, and A ≠ B), and its DEP_* bits say every way that happened
 *   (A held for writing or reading, B taken recursively-read or not); a chain key is cached only after the acquisition it stands
 *   for passed every check; each distinct problem is reported once per Sim.
 *
 * Hot path: acquire() and release() run on every lock operation. A repeated
 * lock sequence costs one chain-cache lookup (a 32-bit key in a Set), the
 * usage-bit checks and one held-lock record; the graph is searched only for
 * new edges, or new dependency types of an edge.
 */
import { ArgumentError } from "../errors.js";
import { describeValue } from "../validate.js";
import type { DependencyRef, HeldRef, Witness } from "../report/report.js";
import { siteRef, type Site } from "./heap.js";
import { currentOrNull, setCurrent } from "./current.js";
import type { Sim } from "./sim.js";
import type { HeldStack } from "./held-stack.js";
import type { Task } from "./task.js";

/**
 * How a lock waits, as lockdep's wait types (include/linux/lockdep_types.h):
 * `"raw-spin"` is LD_WAIT_SPIN (raw_spinlock_t: spins even on PREEMPT_RT),
 * `"spin"` is LD_WAIT_CONFIG (spinlock_t, rwlock_t, local_lock_t: spin here,
 * sleep on PREEMPT_RT), `"sleep"` is LD_WAIT_SLEEP (mutexes, semaphores),
 * `"none"` is LD_WAIT_INV (lockdep maps that are not locks: never checked).
 * A lock may be taken only where every lock held (in the same irq context)
 * waits no more than it may: raw-spin < spin < sleep.
 */
export type LockWaitType = "raw-spin" | "spin" | "sleep" | "none";

/** The wait levels of check_wait_context(): 0 is "not checked"; hardirq and softirq contexts allow up to WAIT_CONFIG. */
const WAIT_LEVEL: Readonly<Record<LockWaitType, number>> = { none: 0, "raw-spin": 2, spin: 3, sleep: 4 };
const WAIT_CONFIG = 3;
const WAIT_MAX = 5;

/** @internal Whether a lock of this wait type spins, so that holding it (or waiting for it) is atomic. */
export function spins(waitType: LockWaitType): boolean {
  return waitType === "spin" || waitType === "raw-spin";
}

// Usage bits: the write variants, then the read variants (bit << 4), as the
// kernel's LOCK_USED_IN_HARDIRQ ... LOCK_ENABLED_SOFTIRQ_READ.
const USED_IN_HARDIRQ = 1;
const USED_IN_SOFTIRQ = 2;
const ENABLED_HARDIRQ = 4;
const ENABLED_SOFTIRQ = 8;
const READ_SHIFT = 4;
const USED_IN_ANY = USED_IN_HARDIRQ | USED_IN_SOFTIRQ | ((USED_IN_HARDIRQ | USED_IN_SOFTIRQ) << READ_SHIFT);
const WRITE_BITS = 0xf;
const USAGE_BITS = [
  USED_IN_HARDIRQ,
  USED_IN_SOFTIRQ,
  ENABLED_HARDIRQ,
  ENABLED_SOFTIRQ,
  USED_IN_HARDIRQ << READ_SHIFT,
  USED_IN_SOFTIRQ << READ_SHIFT,
  ENABLED_HARDIRQ << READ_SHIFT,
  ENABLED_SOFTIRQ << READ_SHIFT,
] as const;

// Dependency types of an edge prev -> next, as lockdep.c's DEP_*_BIT: prev
// held Exclusively (a write) or Shared (any read); next taken Recursive-read
// (read_lock) or Non-recursive (anything else). A path is "strong" (can
// deadlock) unless a -(*R)-> step is followed by a -(S*)-> step: two
// recursive readers of one lock never wait for each other.
const DEP_SR = 1;
const DEP_ER = 2;
const DEP_SN = 4;
const DEP_EN = 8;

function depOf(prevRead: boolean, nextRecursive: boolean): number {
  return 1 << ((prevRead ? 0 : 1) + (nextRecursive ? 0 : 2));
}

/** The dependency bits of an edge walked backwards (lockdep's calc_depb()): E<->N and S<->R swap sides. */
function depBackwards(dep: number): number {
  return (dep & (DEP_SR | DEP_EN)) | ((dep & DEP_ER) << 1) | ((dep & DEP_SN) >> 1);
}

/** One step of a strong-path search: the class reached, whether only by -(*R)-> edges, and how. */
interface Hop {
  readonly cls: LockClass;
  readonly onlyXr: boolean;
  readonly parent: Hop | null;
  readonly edge: DependencyRef | null;
}

/** A lock class: every lock initialised by the same code, as lockdep groups them. */
export class LockClass {
  /** @internal Usage bits (USED_IN_*, ENABLED_*). */ usage = 0;
  /** @internal Where each usage bit was first seen, by bit index. */ readonly usageSites: (Witness | undefined)[] = [];
  /** @internal Edges to classes taken while this one was held. */ readonly out = new Map<LockClass, DependencyRef>();
  /** @internal The dependency types (DEP_* bits) of each edge in `out`. */ readonly dep = new Map<LockClass, number>();
  /** @internal Classes this one was taken under. */ readonly in = new Set<LockClass>();

  /** @internal Use `Lockdep.lockClass()`. */
  constructor(
    private classId: number,
    readonly name: string,
    readonly waitType: LockWaitType,
  ) {}

  /** Per boot, from 1 in creation order. */
  get id(): number {
    return this.classId;
  }

  /**
   * @internal Make this class, from an earlier boot of the same Lockdep
   * (see reboot()), new again under id `id`: as `new LockClass()` would be,
   * without allocating its collections again.
   */
  renew(id: number): void {
    this.classId = id;
    this.usage = 0;
    if (this.usageSites.length !== 0) this.usageSites.length = 0;
    if (this.out.size !== 0) this.out.clear();
    if (this.dep.size !== 0) this.dep.clear();
    if (this.in.size !== 0) this.in.clear();
  }
}

/** What lockdep knows of a lock instance (the kernel's struct lockdep_map). */
export interface LockdepMap {
  readonly lockClass: LockClass;
  /** The instance, as reports print it. */
  readonly label: string;
  /**
   * The subclass an acquisition without a nesting annotation uses (0 unless
   * lockdepSetSubclass() changed it): lockdep_set_subclass().
   */
  readonly defaultSubclass?: number;
  /** `"percpu"` for a local_lock_t (the kernel's LD_LOCK_PERCPU): it makes the holder atomic by disabling preemption, not by spinning. */
  readonly lockType?: "percpu";
}

/**
 * @internal One entry of a task's held-lock stack. Entries are recycled
 * (see Task.heldFree): nothing may keep one after its release.
 */
export interface HeldLock {
  map: LockdepMap;
  cls: LockClass;
  /**
   * Where it was obtained (see acquired()), or null while it is known only
   * by where it was asked for (`askedBy`, `askedStep`, `askedOp`): most
   * entries are never reported, so heldSite() makes that Site on demand.
   */
  site: Site | null;
  askedBy: Task | null;
  askedStep: number;
  askedOp: string;
  /**
   * Whether the lock was taken in a step of its own, the step its site
   * names: a trylock's step, or acquired() once the lock op's wait is over.
   * Until then the site names the task's step after which it was asked for
   * (for a lock map, which has no step, after which it was taken).
   */
  taken: boolean;
  /**
   * The witness made for this acquisition while it was not yet taken, and
   * what it was stored in (edges learned, usage bits marked): acquired()
   * puts the step that took the lock in its place. Null when there is none.
   */
  pending: { readonly witness: Witness; readonly uses: (readonly [LockClass, LockClass | number])[] } | null;
  trylock: boolean;
  read: boolean;
  /** A recursive read (the kernel's read == 2: read_lock() of an rwlock_t); implies `read`. */
  recursive: boolean;
  /** The nest lock (a ww acquire context) under which same-class locks merge. */
  nest: LockdepMap | null;
  /** Further instances merged into this entry under `nest`, with where each was taken. */
  extra: { readonly map: LockdepMap; site: Site }[] | null;
  /** 0 process, 1 softirq, 2 hardirq. */
  irqCtx: number;
  /** Key of the chain of held classes up to and including this one. */
  chainKey: number;
}

/** @internal Where a held lock was obtained, or asked for while it waits. */
export function heldSite(h: HeldLock): Site {
  return (h.site ??= { task: h.askedBy, step: h.askedStep, op: h.askedOp, stack: undefined });
}

/** @internal Options of one acquisition, as the locks' ops pass them. */
export interface AcquireOptions {
  readonly trylock?: boolean;
  readonly read?: boolean;
  /** A recursive read (lock_acquire_shared_recursive(): read_lock() of an rwlock_t); implies `read`. */
  readonly recursive?: boolean;
  /** Nesting annotation: a distinct subclass of the lock's class (spin_lock_nested). */
  readonly subclass?: number;
  /** The nest lock: same-class locks taken under it are one entry (ww acquire contexts). */
  readonly nest?: LockdepMap | null;
  /** The sleep check already reported this acquisition: skip the wait-context check. */
  readonly sleepReported?: boolean;
}

const BOOT: Witness = { task: "swapper/0", step: 0, op: "boot-time lockdep priming", replay: "boot" };

// Signed 32-bit, not `>>> 0`: a key of 2^31 or more is no small integer, and
// boxing it cost an allocation per lock taken (the Set holds the same keys,
// one to one, either way).
function mix(h: number, v: number): number {
  return Math.imul(h ^ v, 0x01000193);
}

/**
 * The chain key below the first lock of each irq context (0 process, 1
 * softirq, 2 hardirq). Each is a full mixing step apart: seeds that differ by
 * a small constant collide with chains whose class ids differ in one bit.
 */
const CHAIN_SEEDS = [mix(0x811c9dc5, 0), mix(0x811c9dc5, 1), mix(0x811c9dc5, 2)] as const;

/** The edges of a search's path, in graph order (from the start for a forward search, to it for a backward one). */
function pathOf(hop: Hop, backward: boolean): DependencyRef[] {
  const path: DependencyRef[] = [];
  for (let h: Hop | null = hop; h !== null && h.edge !== null; h = h.parent) path.push(h.edge);
  return backward ? path : path.reverse();
}

/** @internal The HeldRef of a held lock, for reports. */
export function heldRef(h: HeldLock): HeldRef {
  const ref = { lock: h.map.label, lockClass: h.cls.name, acquired: siteRef(heldSite(h)), trylock: h.trylock, read: h.read };
  return h.taken ? ref : { ...ref, after: true };
}

/** @internal */
export function heldRefs(task: Task | null): HeldRef[] {
  return task === null ? [] : task.held.map(heldRef);
}

/** @internal 2 in hardirq context (a hardirq task, or inside hardirqEnter()), 1 in softirq context, else 0. */
export function irqCtxOf(task: Task): number {
  return task.context === "hardirq" || task.hardirqEntered > 0 ? 2 : task.context === "softirq" || task.softirqEntered > 0 ? 1 : 0;
}

/** The chain-key contribution of one held lock: its class and how it is read (0 write, 1 read, 2 recursive read). */
function chainPart(cls: LockClass, read: boolean, recursive: boolean): number {
  return (cls.id << 2) | (recursive ? 2 : read ? 1 : 0);
}

/**
 * The kernel's lockdep maps that are not locks (lockdep_map instances of
 * their own, taken with lock_map_acquire()), one set per boot.
 */
export interface KernelLockMaps {
  /** fs_reclaim: held in reclaim; a sleeping allocation acquires and releases it. */
  readonly fsReclaim: LockdepMap;
  /** dma_fence_map: fence waits take it; signalling sections take it recursively. */
  readonly dmaFence: LockdepMap;
  /** __mmu_notifier_invalidate_range_start_map. */
  readonly mmuNotifier: LockdepMap;
  /** rcu_lock_map ("rcu_read_lock"): rcu_read_lock() takes it as a recursive read (rcu.ts). */
  readonly rcuLock: LockdepMap;
}

/** The classes of real kernel locks whose order lockdep is primed with at boot. */
export interface KernelLockClasses {
  /** The mm's mmap_lock class (a rw semaphore). */
  readonly mmapLock: LockClass;
  /** The class of every dma_resv lock (reservation_ww_class_mutex). */
  readonly resv: LockClass;
  /** The class of dma_resv acquire contexts (reservation_ww_class_acquire). */
  readonly resvAcquire: LockClass;
}

export class Lockdep {
  /** The process-wide instance Sims use unless given their own. */
  static readonly global = new Lockdep();

  private readonly byKey = new Map<string, LockClass>();
  /**
   * Validated chain keys, each with the boot generation that validated it:
   * a key counts only with the current generation, so reboot() forgets
   * them all by moving on to the next (Set.clear() allocated a new table
   * per execution).
   */
  private readonly chains = new Map<number, number>();
  private generation = 0;
  /** Every class, in creation order (index = id - 1), and its key in byKey. */
  private readonly order: LockClass[] = [];
  private readonly orderKeys: string[] = [];
  /**
   * Classes of earlier boots (see reboot()), by key: a run of executions
   * makes the same classes each time, and a class is a Map, a Set and an
   * array besides itself. Renewed when the name is asked for again.
   */
  private readonly spare = new Map<string, LockClass>();
  private classIds = 0;
  /** Classes with a USED_IN_* bit: the irq checks run only when there are any. */
  private irqSafeClasses = 0;
  /** The boot-time lockdep maps that are not locks: `lockMapAcquire()` takes them. */
  readonly maps: KernelLockMaps;
  /** The boot-time classes of real locks (resv, mmap_lock), primed with their order. */
  readonly classes: KernelLockClasses;

  /** A fresh boot, primed with the kernel's boot-time lock order. */
  constructor() {
    const map = (name: string): LockdepMap => ({ lockClass: this.lockClass(name, "none"), label: name });
    const fsReclaimMap = map("fs_reclaim");
    const dmaFenceMap = map("dma_fence_map");
    const mmuNotifierMap = map("mmu_notifier_invalidate_range_start");
    this.classes = {
      mmapLock: this.lockClass("&mm->mmap_lock", "sleep"),
      resv: this.lockClass("reservation_ww_class_mutex", "sleep"),
      resvAcquire: this.lockClass("reservation_ww_class_acquire", "none"),
    };
    // Made after the classes above, so their ids stay as they were before it existed.
    this.maps = { fsReclaim: fsReclaimMap, dmaFence: dmaFenceMap, mmuNotifier: mmuNotifierMap, rcuLock: map("rcu_read_lock") };
    // As dma_resv_lockdep() does at boot: mmap_lock, then an acquire context,
    // then a resv under it, then fs_reclaim, under which the mmu notifier
    // map, under which a fence wait.
    const { mmapLock, resvAcquire, resv } = this.classes;
    const { fsReclaim, mmuNotifier, dmaFence } = this.maps;
    this.prime(mmapLock, resvAcquire);
    this.prime(resvAcquire, resv);
    this.prime(resv, fsReclaim.lockClass);
    this.prime(fsReclaim.lockClass, mmuNotifier.lockClass);
    this.prime(mmuNotifier.lockClass, dmaFence.lockClass);
    this.bootClasses = this.classIds;
  }

  /** How many classes the boot made (ids 1..bootClasses); see reboot(). */
  private readonly bootClasses: number;
  /** The boot-time edges, in priming order, for reboot(). */
  private readonly bootEdges: [LockClass, LockClass, DependencyRef][] = [];

  /**
   * @internal Forget everything learned since the boot: the state becomes
   * that of a `new Lockdep()` (same classes with the same ids, same primed
   * edges, no chains, no usage), without allocating a new boot. The
   * explorer gives each execution a fresh boot this way, one after another;
   * nothing may use a Sim of an earlier execution on this instance after.
   */
  reboot(): void {
    const boot = this.bootClasses;
    const order = this.order;
    // Index loops over arrays: a Map's iterators allocate an entry per class.
    for (let i = boot; i < order.length; i++) {
      const key = this.orderKeys[i] as string;
      this.byKey.delete(key);
      // Kept for the next boot's class of that name (see lockClass()).
      this.spare.set(key, order[i] as LockClass);
    }
    order.length = boot;
    this.orderKeys.length = boot;
    this.classIds = boot;
    let edges = 0;
    for (let i = 0; i < boot; i++) {
      const c = order[i] as LockClass;
      c.usage = 0;
      if (c.usageSites.length !== 0) c.usageSites.length = 0;
      edges += c.out.size + c.in.size;
    }
    // Edges are only ever added, and each boot edge is counted twice, once
    // from each end: any other count means an edge from or to a boot class
    // was learned (a driver lock taken under fs_reclaim, or over it).
    if (edges !== 2 * this.bootEdges.length) {
      for (let i = 0; i < boot; i++) {
        const c = order[i] as LockClass;
        c.out.clear();
        c.in.clear();
      }
      for (let i = 0; i < boot; i++) (order[i] as LockClass).dep.clear();
      for (const [from, to, edge] of this.bootEdges) {
        from.out.set(to, edge);
        to.in.add(from);
      }
    }
    // A boot edge may have learned more dependency types (mmap_lock held for
    // reading over a resv): back to the primed -(EN)-> only.
    for (const [from, to] of this.bootEdges) from.dep.set(to, DEP_EN);
    this.generation++;
    // Keys of earlier boots are dead weight: drop them once they pile up.
    if (this.chains.size > 4096) this.chains.clear();
    this.irqSafeClasses = 0;
  }

  /**
   * The class named `name` with wait type `waitType`, created on first use.
   * Locks of one kind initialised by the same code share a name and so a
   * class, as in the kernel (all GEM resvs are one class).
   */
  /** @internal Whether `cls` is a class of this boot (not another Lockdep's, nor one reboot() retired). */
  owns(cls: LockClass): boolean {
    return this.byKey.get(`${cls.waitType}:${cls.name}`) === cls;
  }

  lockClass(name: string, waitType: LockWaitType): LockClass {
    if (typeof name !== "string" || name === "") throw new ArgumentError("name", "a lock class needs a non-empty name");
    if (!Object.prototype.hasOwnProperty.call(WAIT_LEVEL, waitType)) {
      throw new ArgumentError("waitType", `must be one of "raw-spin", "spin", "sleep", "none", got ${describeValue(waitType)}`);
    }
    const key = `${waitType}:${name}`;
    let c = this.byKey.get(key);
    if (c === undefined) {
      c = this.spare.get(key);
      if (c === undefined) {
        c = new LockClass(++this.classIds, name, waitType);
      } else {
        c.renew(++this.classIds);
      }
      this.byKey.set(key, c);
      this.order.push(c);
      this.orderKeys.push(key);
    }
    return c;
  }

  /** The number of dependency edges learned so far (for tests and benchmarks). */
  get edgeCount(): number {
    let n = 0;
    for (const c of this.byKey.values()) n += c.out.size;
    return n;
  }

  /** Whether lockdep has learned that `to` was taken while `from` was held. */
  hasEdge(from: LockClass, to: LockClass): boolean {
    return from.out.has(to);
  }

  private prime(from: LockClass, to: LockClass): void {
    const edge: DependencyRef = { from: from.name, to: to.name, fromSite: BOOT, toSite: BOOT };
    from.out.set(to, edge);
    from.dep.set(to, DEP_EN);
    to.in.add(from);
    this.bootEdges.push([from, to, edge]);
  }

  private subclassOf(cls: LockClass, subclass: number): LockClass {
    if (subclass === 0) return cls;
    if (!Number.isInteger(subclass) || subclass < 0 || subclass > 7) {
      throw new ArgumentError("subclass", `must be an integer in [0, 7], got ${subclass}`);
    }
    return this.lockClass(`${cls.name}/${subclass}`, cls.waitType);
  }

  /**
   * @internal Locks call it; drivers use the lock ops or lockMapAcquire().
   * Mirrors lock_acquire(): validate taking `map` now and push it on the
   * task's held stack. Called before the task waits for the lock, so a
   * deadlock is reported before it happens.
   */
  acquire(task: Task, map: LockdepMap, op: string, options: AcquireOptions = {}): void {
    const sim = task.sim;
    const trylock = options.trylock === true;
    const recursive = options.recursive === true;
    const read = recursive || options.read === true;
    // A watcher (a fence the task owes) learns every lock the task waits for.
    if (task.lockWatch !== null && !trylock) task.lockWatch(map, op, read);
    const nest = options.nest ?? null;
    const subclass = options.subclass ?? 0;
    const cls = this.subclassOf(map.lockClass, subclass !== 0 ? subclass : (map.defaultSubclass ?? 0));
    const held = task.held;
    const irqCtx = irqCtxOf(task);

    // Same-class locks under one nest lock are one entry, with no edges
    // between them (many resvs under one ww acquire context). The nest lock
    // must be held by this task: a context used from another task, or after
    // it was finished, is caught here, as the kernel's "nested lock not held".
    if (nest !== null) {
      if (!this.holds(task, nest) && sim.checks.lockdep) {
        this.fileOnce(sim, `nest:${nest.label}:${task.id}`, () => ({
          kind: "lock-not-held",
          lock: nest.label,
          owner: null,
          held: heldRefs(task),
          check: "nest-lock",
          acquiring: map.label,
        }));
      }
      for (let hi = 0; hi < held.length; hi++) {
        const h = held.at(hi);
        if (h.cls === cls && h.nest === nest) {
          (h.extra ??= []).push({ map, site: sim.site(op) });
          return;
        }
      }
    }

    let top: HeldLock | undefined = held.top();
    if (top !== undefined && top.irqCtx !== irqCtx) top = undefined;
    const chainKey = mix(top === undefined ? (CHAIN_SEEDS[irqCtx] as number) : top.chainKey, chainPart(cls, read, recursive));
    // A recycled entry when the task has one: lock-heavy runs then allocate
    // no entry per acquisition. With captureStacks the site (and its stack)
    // must be taken now.
    const site = sim.captureStacks ? sim.site(op) : null;
    const askedBy = currentOrNull();
    const free = task.heldFree;
    let entry: HeldLock;
    if (free.length > 0) {
      entry = free.pop() as HeldLock;
      entry.map = map;
      entry.cls = cls;
      entry.site = site;
      entry.askedBy = askedBy;
      entry.askedStep = sim.step;
      entry.askedOp = op;
      entry.taken = trylock;
      entry.pending = null;
      entry.trylock = trylock;
      entry.read = read;
      entry.recursive = recursive;
      entry.nest = nest;
      entry.extra = null;
      entry.irqCtx = irqCtx;
      entry.chainKey = chainKey;
    } else {
      entry = { map, cls, site, askedBy, askedStep: sim.step, askedOp: op, taken: trylock, pending: null, trylock, read, recursive, nest, extra: null, irqCtx, chainKey };
    }

    if (sim.checks.lockdep) {
      // A cached chain passed the wait-context and graph checks, which depend
      // only on the held classes and the context, all in the key.
      const cached = !trylock && this.chains.get(chainKey) === this.generation;
      let ok = cached || this.checkWaitContext(task, entry, options.sleepReported === true);
      // Usage bits are marked on every acquisition, cached chain or not, as
      // the kernel's __lock_acquire() calls mark_usage() before the chain
      // lookup: the key does not say whether irqs were on.
      ok = this.markUsage(task, entry) && ok;
      if (!cached && this.validate(task, entry) && ok && !trylock) this.chains.set(chainKey, this.generation);
    }
    held.push(entry);
  }

  /** The graph checks of a new acquisition; false if something was reported. */
  private validate(task: Task, entry: HeldLock): boolean {
    const cls = entry.cls;
    let ok = true;
    if (entry.trylock) return ok;
    const held = task.held;
    // As check_deadlock(): every held lock, whatever its irq context (a lock
    // held when a hardirq section was entered is still held in it).
    for (let i = held.length - 1; i >= 0; i--) {
      const h = held.at(i);
      if (h.cls !== cls) continue;
      // read_lock() under a read hold of the same class: readers share.
      if (entry.recursive && h.read) continue;
      this.fileOnce(task.sim, `recursive:${cls.id}`, () => ({
        kind: "recursive-locking",
        lock: entry.map.label,
        lockClass: cls.name,
        first: heldRef(h),
        second: siteRef(heldSite(entry)),
        held: heldRefs(task),
      }));
      return false;
    }
    // Edges from the held locks down to and including the first one not
    // taken by trylock: older locks reach the new one through it.
    for (let i = held.length - 1; i >= 0; i--) {
      const h = held.at(i);
      if (h.irqCtx !== entry.irqCtx) break;
      ok = this.addEdge(task, h, entry) && ok;
      if (!h.trylock) break;
    }
    return ok;
  }

  private witness(task: Task, site: Site): Witness {
    return { task: task.label, step: site.step, op: site.op, replay: task.sim.replayToken };
  }

  /**
   * The witness of held entry `h`. Not yet taken, it says "after step N"
   * and is remembered with `use` (an edge's `from`/`to` classes, or a class
   * and usage bit index), so acquired() can replace it with the step that
   * took the lock.
   */
  private heldWitness(task: Task, h: HeldLock, use: readonly [LockClass, LockClass | number]): Witness {
    if (h.taken) return this.witness(task, heldSite(h));
    let p = h.pending;
    if (p === null) {
      p = { witness: { ...this.witness(task, heldSite(h)), after: true }, uses: [] };
      h.pending = p;
    }
    p.uses.push(use);
    return p.witness;
  }

  private addEdge(task: Task, prev: HeldLock, next: HeldLock): boolean {
    const from = prev.cls;
    const to = next.cls;
    // A recursive read under a read hold of its own class (allowed by
    // validate()) adds no edge: a class never reaches more through itself.
    if (from === to) return true;
    const bit = depOf(prev.read, next.recursive);
    const known = from.dep.get(to) ?? 0;
    if ((known & bit) !== 0) return true;
    const edge: DependencyRef = from.out.get(to) ?? {
      from: from.name,
      to: to.name,
      fromSite: prev.taken ? this.witness(task, heldSite(prev)) : { ...this.witness(task, heldSite(prev)), after: true },
      toSite: this.heldWitness(task, next, [from, to]),
    };
    // As check_noncircular(): a strong path back from `to` to `from` closes
    // a cycle with the new edge. The search leaves `to` only by edges that
    // held it exclusively if `to` is now read recursively, and the path
    // must end in a non-recursive step unless the new edge holds `from`
    // exclusively (hlock_conflict()).
    const back = this.search(to, next.recursive, false, (c, onlyXr) => c === from && (!prev.read || !onlyXr));
    from.out.set(to, edge);
    from.dep.set(to, known | bit);
    to.in.add(from);
    let ok = true;
    if (back !== null) {
      const cycle = [edge, ...pathOf(back, false)];
      const key = `cycle:${cycle.map((e) => e.from).sort().join("|")}`;
      this.fileOnce(task.sim, key, () => ({ kind: "lock-order-cycle", cycle, held: heldRefs(task), actual: false }));
      ok = false;
    }
    if (this.irqSafeClasses > 0) ok = this.checkIrqEdge(task, prev, next) && ok;
    return ok;
  }

  /**
   * Mirrors __bfs(): breadth-first search along strong dependency paths
   * from `start` (forwards along `out`, or backwards along `in`) for a class
   * matching `match`, which also sees whether the class was reached only
   * by -(*R)-> steps. `onlyXr` is that state for `start` itself. A class is
   * visited again only if it is now reached by a stronger path.
   */
  private search(start: LockClass, onlyXr: boolean, backward: boolean, match: (c: LockClass, onlyXr: boolean) => boolean): Hop | null {
    const root: Hop = { cls: start, onlyXr, parent: null, edge: null };
    if (match(start, onlyXr)) return root;
    const seen = new Map<LockClass, boolean>([[start, onlyXr]]);
    const queue: Hop[] = [root];
    // The queue grows while it is walked: for-of sees the new entries.
    for (const hop of queue) {
      const c = hop.cls;
      const nexts: Iterable<LockClass> = backward ? c.in : c.out.keys();
      for (const n of nexts) {
        let dep = backward ? depBackwards(n.dep.get(c) ?? DEP_EN) : (c.dep.get(n) ?? DEP_EN);
        // -(*R)-> then -(S*)-> is no strong path.
        if (hop.onlyXr) dep &= ~(DEP_SR | DEP_SN);
        if (dep === 0) continue;
        const nextOnlyXr = (dep & (DEP_SN | DEP_EN)) === 0;
        const before = seen.get(n);
        if (before !== undefined && (!before || before === nextOnlyXr)) continue;
        seen.set(n, nextOnlyXr);
        const edge = (backward ? n.out.get(c) : c.out.get(n)) as DependencyRef;
        const next: Hop = { cls: n, onlyXr: nextOnlyXr, parent: hop, edge };
        if (match(n, nextOnlyXr)) return next;
        queue.push(next);
      }
    }
    return null;
  }

  // -- wait context ---------------------------------------------------------

  /**
   * Mirrors check_wait_context() (with CONFIG_PROVE_RAW_LOCK_NESTING): a lock
   * taken where something held in the same irq context, or the context
   * itself, allows less waiting than it needs — a sleeping lock under a
   * spinlock or in an interrupt, a spinlock_t (which sleeps on PREEMPT_RT)
   * under a raw_spinlock_t. Hardirq and softirq contexts allow spinlock_t,
   * as for threaded handlers. A trylock never waits, so it is exempt, as in
   * the kernel (TTM trylocks resvs under its LRU spinlock). A sleeping
   * lock's own sleep check usually reports first (`sleep-in-atomic`); then
   * this stays quiet.
   */
  private checkWaitContext(task: Task, entry: HeldLock, sleepReported: boolean): boolean {
    const need = WAIT_LEVEL[entry.cls.waitType];
    if (need === 0 || entry.trylock || (sleepReported && entry.cls.waitType === "sleep")) return true;
    let allowed = entry.irqCtx === 0 ? WAIT_MAX : WAIT_CONFIG;
    let by: string | null = entry.irqCtx === 2 ? "hardirq" : entry.irqCtx === 1 ? "softirq" : null;
    let byType: LockWaitType | null = null;
    const held = task.held;
    let start = held.length;
    while (start > 0 && held.at(start - 1).irqCtx === entry.irqCtx) start--;
    for (let hi = start; hi < held.length; hi++) {
      const h = held.at(hi);
      const level = WAIT_LEVEL[h.cls.waitType];
      if (level !== 0 && level < allowed) {
        allowed = level;
        by = h.map.label;
        byType = h.cls.waitType;
      }
    }
    if (need <= allowed || by === null) return true;
    const forbiddenBy = by;
    const waitType = entry.cls.waitType as "raw-spin" | "spin" | "sleep";
    this.fileOnce(task.sim, `wait:${entry.cls.id}:${forbiddenBy}`, () => ({
      kind: "invalid-wait-context",
      lock: entry.map.label,
      lockClass: entry.cls.name,
      forbiddenBy,
      ...(waitType === "sleep" ? {} : { waitType }),
      ...(byType === "raw-spin" ? { forbiddenByWaitType: byType } : {}),
      held: heldRefs(task),
    }));
    return false;
  }

  // -- irq usage ------------------------------------------------------------

  /**
   * Set the usage bits of this acquisition; false if that revealed an
   * inversion. Mirrors the kernel's mark_usage(): a read acquisition sets
   * the _READ variant of each bit.
   */
  private markUsage(task: Task, entry: HeldLock): boolean {
    let ok = true;
    const shift = entry.read ? READ_SHIFT : 0;
    // As mark_usage() does: only a real acquisition makes a class irq-safe
    // (a trylock in an interrupt cannot spin on the CPU's interrupted
    // holder), while any acquisition, trylock too, holds the class with
    // whatever is enabled.
    if (!entry.trylock) {
      if (task.context === "hardirq" || task.hardirqEntered > 0) ok = this.mark(task, entry.cls, USED_IN_HARDIRQ << shift, entry) && ok;
      if (task.context === "softirq" || task.softirqEntered > 0) ok = this.mark(task, entry.cls, USED_IN_SOFTIRQ << shift, entry) && ok;
    }
    // A hardirq task never has irqs on; a softirq task has them on and BHs
    // off. No softirq runs while hardirqs are off, so SOFTIRQ-ON needs both,
    // as in mark_usage() (and as the scheduler's IrqWindow decides where a
    // softirq may start).
    if (task.irqsOff === 0) {
      ok = this.mark(task, entry.cls, ENABLED_HARDIRQ << shift, entry) && ok;
      if (task.bhOff === 0) ok = this.mark(task, entry.cls, ENABLED_SOFTIRQ << shift, entry) && ok;
    }
    return ok;
  }

  /**
   * @internal The irq-enable ops call it.
   * Mirrors mark_held_locks(): irqs (or, with irqs on, bottom halves) were
   * just enabled, so every lock still held, trylocked ones too, is now held
   * with them enabled.
   */
  irqsEnabled(task: Task): void {
    if (!task.sim.checks.lockdep || task.irqsOff !== 0) return;
    for (let hi = 0; hi < task.held.length; hi++) {
      const h = task.held.at(hi);
      const shift = h.read ? READ_SHIFT : 0;
      this.mark(task, h.cls, ENABLED_HARDIRQ << shift, h);
      if (task.bhOff === 0) this.mark(task, h.cls, ENABLED_SOFTIRQ << shift, h);
    }
  }

  /**
   * Mirrors mark_lock_irq(): set one usage bit and check it against the
   * class itself and along strong paths. A USED_IN bit looks forwards for
   * a class taken with that irq enabled, an ENABLED bit backwards for one
   * used in that irq; a class reached only by -(*R)-> steps (or the class
   * itself, when this acquisition is a read) counts only with its write
   * usage, so read_lock() in an irq and with irqs on is fine (readers share).
   */
  private mark(task: Task, cls: LockClass, bit: number, held: HeldLock): boolean {
    if ((cls.usage & bit) !== 0) return true;
    const plain = bit >= 1 << READ_SHIFT ? bit >> READ_SHIFT : bit;
    const hard = plain === USED_IN_HARDIRQ || plain === ENABLED_HARDIRQ;
    const usedIn = hard ? USED_IN_HARDIRQ : USED_IN_SOFTIRQ;
    const enabled = hard ? ENABLED_HARDIRQ : ENABLED_SOFTIRQ;
    if ((cls.usage & USED_IN_ANY) === 0 && (bit & USED_IN_ANY) !== 0) this.irqSafeClasses++;
    cls.usage |= bit;
    const index = USAGE_BITS.indexOf(bit);
    cls.usageSites[index] = this.heldWitness(task, held, [cls, index]);
    if (plain === usedIn) {
      // Forward: anything taken under this irq-safe class must be irq-safe too.
      const want = enabled | (enabled << READ_SHIFT);
      const fwd = this.search(cls, held.recursive, false, (c, onlyXr) => (c.usage & want & (onlyXr ? WRITE_BITS : 0xff)) !== 0);
      if (fwd !== null) return this.fileIrq(task, usedIn, cls, fwd.cls, pathOf(fwd, false));
    } else if (this.irqSafeClasses > 0) {
      const want = usedIn | (usedIn << READ_SHIFT);
      const back = this.search(cls, held.read, true, (c, onlyXr) => (c.usage & want & (onlyXr ? WRITE_BITS : 0xff)) !== 0);
      if (back !== null) return this.fileIrq(task, usedIn, back.cls, cls, pathOf(back, true));
    }
    return true;
  }

  /**
   * A new edge prev → next: an irq-safe class at or before `prev` reaching
   * an irq-unsafe class at or after `next` along a strong path through the
   * new edge (check_irq_usage()).
   */
  private checkIrqEdge(task: Task, prev: HeldLock, next: HeldLock): boolean {
    const from = prev.cls;
    const to = next.cls;
    for (const [usedIn, enabled] of [
      [USED_IN_HARDIRQ, ENABLED_HARDIRQ],
      [USED_IN_SOFTIRQ, ENABLED_SOFTIRQ],
    ] as const) {
      const safeBits = usedIn | (usedIn << READ_SHIFT);
      const back = this.search(from, prev.read, true, (c, onlyXr) => (c.usage & safeBits & (onlyXr ? WRITE_BITS : 0xff)) !== 0);
      if (back === null) continue;
      const unsafeBits = enabled | (enabled << READ_SHIFT);
      const fwd = this.search(to, next.recursive, false, (c, onlyXr) => (c.usage & unsafeBits & (onlyXr ? WRITE_BITS : 0xff)) !== 0);
      if (fwd === null) continue;
      const edge = from.out.get(to) as DependencyRef;
      return this.fileIrq(task, usedIn, back.cls, fwd.cls, [...pathOf(back, true), edge, ...pathOf(fwd, false)]);
    }
    return true;
  }

  private fileIrq(task: Task, usedInBit: number, safe: LockClass, unsafe: LockClass, path: DependencyRef[]): boolean {
    const irq = usedInBit === USED_IN_HARDIRQ ? "hardirq" : "softirq";
    const enabledBit = usedInBit === USED_IN_HARDIRQ ? ENABLED_HARDIRQ : ENABLED_SOFTIRQ;
    // The write usage's site if the class has it, else the read usage's.
    const siteOf = (c: LockClass, bit: number): Witness =>
      c.usageSites[USAGE_BITS.indexOf(bit)] ?? c.usageSites[USAGE_BITS.indexOf((bit << READ_SHIFT))] ?? BOOT;
    this.fileOnce(task.sim, `irq:${irq}:${safe.id}:${unsafe.id}`, () => ({
      kind: "irq-lock-inversion",
      irq,
      variant: path.length === 0 ? "inconsistent" : "safe-to-unsafe",
      safe: { lockClass: safe.name, site: siteOf(safe, usedInBit) },
      unsafe: { lockClass: unsafe.name, site: siteOf(unsafe, enabledBit) },
      path: [safe.name, ...path.map((e) => e.to)],
      held: heldRefs(task),
    }));
    return false;
  }

  // -- release and assertions ------------------------------------------------

  /**
   * @internal Locks call it; drivers use the unlock ops or lockMapRelease().
   * Mirrors lock_release(): drop `map` from the task's held stack, in any
   * order. Returns false (and reports `bad-unlock`) if the task does not hold it.
   */
  release(task: Task, map: LockdepMap, holder: Task | null): boolean {
    const held = task.held;
    for (let i = held.length - 1; i >= 0; i--) {
      const h = held.at(i);
      if (h.map === map) {
        const extra = h.extra;
        if (extra !== null && extra.length > 0) {
          // The entry stands for several instances: keep it under another one.
          const next = extra.pop() as { map: LockdepMap; site: Site };
          held.set(i, { ...h, map: next.map, site: next.site });
          return true;
        }
        // Shift the ones above down instead of splice(), which allocates
        // the array of removed elements on every unlock.
        const last = held.length - 1;
        held.removeAt(i);
        task.heldFree.push(h);
        if (i < last) this.rechain(held, i);
        return true;
      }
      if (h.extra !== null) {
        const k = h.extra.findIndex((x) => x.map === map);
        if (k >= 0) {
          h.extra.splice(k, 1);
          return true;
        }
      }
    }
    this.badUnlock(task, map, holder);
    return false;
  }

  /**
   * @internal Locks call it. File `bad-unlock` for `task` releasing `map`
   * (once per lock and task). `sides` names the side the task holds and the
   * side it released, when an rwlock_t or rw_semaphore is released through
   * the other side's unlock; the caller then changes nothing.
   */
  badUnlock(task: Task, map: LockdepMap, holder: Task | null, sides?: { readonly heldAs: "read" | "write"; readonly releasedAs: "read" | "write" }): void {
    if (!task.sim.checks.lockdep) return;
    this.fileOnce(task.sim, `unlock:${map.label}:${task.id}`, () => ({
      kind: "bad-unlock",
      lock: map.label,
      owner: holder === null ? null : holder.label,
      held: heldRefs(task),
      ...sides,
    }));
  }

  /**
   * @internal Locks call it.
   * The lock op's wait is over and the task now has `map`: the held entry's
   * site becomes this step, so held-lock lists agree with the schedule.
   * (acquire() ran when the task asked for the lock, before waiting.)
   * `site` is the lock's own record of it; without one, the entry records
   * the current task, step and `op`, and heldSite() makes the Site if a
   * report asks (most acquisitions are never reported).
   */
  acquired(task: Task, map: LockdepMap, site: Site | null, op: string): void {
    const held = task.held;
    for (let i = held.length - 1; i >= 0; i--) {
      const h = held.at(i);
      if (h.map === map) {
        if (site === null) {
          h.site = null;
          h.askedBy = currentOrNull();
          h.askedStep = task.sim.step;
          h.askedOp = op;
        } else {
          h.site = site;
        }
        h.taken = true;
        if (h.pending !== null) this.settle(task, h);
        return;
      }
      const x = h.extra?.find((e) => e.map === map);
      if (x !== undefined) {
        x.site = site ?? task.sim.site(op);
        return;
      }
    }
  }

  /**
   * Put the step that took `h` in place of the "after step N" witness its
   * ask left in edges and usage bits, where nothing replaced it since.
   * Reports already filed keep theirs: they were made before the lock was
   * taken.
   */
  private settle(task: Task, h: HeldLock): void {
    const p = h.pending as NonNullable<HeldLock["pending"]>;
    h.pending = null;
    const now = this.witness(task, heldSite(h));
    for (const [cls, use] of p.uses) {
      if (typeof use === "number") {
        if (cls.usageSites[use] === p.witness) cls.usageSites[use] = now;
        continue;
      }
      const e = cls.out.get(use);
      if (e?.toSite === p.witness) cls.out.set(use, { ...e, toSite: now });
    }
  }

  /** @internal RwSemaphore.downgrade() calls it. Mirrors lock_downgrade(): the task's hold of `map` becomes a read hold. */
  downgrade(task: Task, map: LockdepMap): void {
    const held = task.held;
    for (let i = held.length - 1; i >= 0; i--) {
      const h = held.at(i);
      if (h.map !== map) continue;
      held.set(i, { ...h, read: true, recursive: false });
      this.rechain(held, i);
      return;
    }
  }

  /** Recompute the chain keys from `from` up, after the stack changed below them. */
  private rechain(held: HeldStack, from: number): void {
    for (let i = from; i < held.length; i++) {
      const h = held.at(i);
      const below = i === 0 ? undefined : held.at(i - 1);
      const base = below?.irqCtx !== h.irqCtx ? (CHAIN_SEEDS[h.irqCtx] as number) : below.chainKey;
      h.chainKey = mix(base, chainPart(h.cls, h.read, h.recursive));
    }
  }

  /** Whether `task` holds this exact instance. */
  holds(task: Task, map: LockdepMap): boolean {
    for (let hi = 0; hi < task.held.length; hi++) {
      const h = task.held.at(hi);
      if (h.map === map || h.extra?.some((x) => x.map === map) === true) return true;
    }
    return false;
  }

  /**
   * @internal Locks' assertHeld() call it.
   * Mirrors lockdep_assert_held(), but on the exact instance: files
   * `lock-not-held` unless the current task holds `map` itself (holding
   * another lock of the same class does not count).
   */
  assertHeld(task: Task, map: LockdepMap, holder: Task | null): boolean {
    if (this.holds(task, map)) return true;
    if (task.sim.checks.lockdep) {
      task.sim.file({ kind: "lock-not-held", lock: map.label, owner: holder === null ? null : holder.label, held: heldRefs(task) });
    }
    return false;
  }

  /**
   * @internal The scheduler's check when a task ends: nothing may still be
   * held (`lock-held-at-exit`), and, with no lock held, the task's context
   * must be as it started (`context-at-exit`: the kernel's "exited with irqs
   * disabled" / "exited with preempt_count" notes at task exit). With locks
   * held, lock-held-at-exit is the report: the locks it lists explain the
   * preemption, irqs or bottom halves they disabled.
   */
  taskExit(task: Task): void {
    const sim = task.sim;
    const locks = task.held.length > 0 && sim.checks.lockdep;
    const context = task.held.length === 0 && sim.checks.context && contextLeft(task);
    if (!locks && !context) return;
    // As the kernel's do_exit() checks in the exiting task: the report is
    // that task's (its `task` names it), not the scheduler's.
    const outer = setCurrent(task);
    try {
      if (locks) {
        sim.file({ kind: "lock-held-at-exit", held: heldRefs(task) });
      } else {
        sim.file({
          kind: "context-at-exit",
          preemptCount: task.preemptCount + task.preemptDisabled,
          irqsDisabled: task.irqsOff > (task.context === "hardirq" ? 1 : 0),
          bhDisabled: task.bhOff > (task.context === "softirq" ? 1 : 0) + task.softirqEntered,
          hardirqSections: task.hardirqEntered,
          softirqSections: task.softirqEntered,
        });
      }
    } finally {
      setCurrent(outer);
    }
  }

  /** File a report built by `make` unless this Sim already filed one under `key`. */
  private fileOnce(sim: Sim, key: string, make: () => Parameters<Sim["file"]>[0]): void {
    let seen = reportedKeys.get(sim);
    if (seen === undefined) {
      seen = new Set();
      reportedKeys.set(sim, seen);
    }
    if (seen.has(key)) return;
    seen.add(key);
    sim.file(make());
  }
}

const reportedKeys = new WeakMap<Sim, Set<string>>();

/** Whether `task` ends with preemption, irqs or bottom halves still disabled, or inside an irq section it entered. */
function contextLeft(task: Task): boolean {
  return (
    task.preemptCount + task.preemptDisabled > 0 ||
    task.irqsOff > (task.context === "hardirq" ? 1 : 0) ||
    task.bhOff > (task.context === "softirq" ? 1 : 0) ||
    task.hardirqEntered > 0 ||
    task.softirqEntered > 0
  );
}
