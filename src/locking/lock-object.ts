/**
 * What every sleeping or spinning lock shares: a holder, a lockdep identity,
 * and the check that it is not freed while held.
 *
 * Mirrors: the common part of spinlock_t, struct mutex, struct rw_semaphore
 *   and struct ww_mutex — an owner task (here `heldBy`: see "Words" in
 *   docs/locking.md) and a struct lockdep_map.
 * Ownership: a lock is a SimObject, usually embedded in the object it
 *   protects (`{ embeddedIn: vm }`), freed with it.
 * Locking: the lock's own state changes only in its ops, one step each.
 * Invariants: `heldBy` is the task that last acquired it exclusively and has
 *   not released it; freeing a held lock is a `lock-held-at-free` report,
 *   and so is initialising it again (reinit()) while held, as the kernel's
 *   debug_check_no_locks_freed() in mutex_init()/spin_lock_init() finds it.
 */
import { ArgumentError } from "../errors.js";
import { checkOptions, is } from "../validate.js";
import { defineEffectKind, Effect, WRITE, WRITE_IF, type Waitable } from "../kernel/effect.js";
import { guardLive, noteTouched, siteRef, SimObject, touch, type Site, type SimObjectOptions, LIBRARY_CLASS } from "../kernel/heap.js";
import { makeOp, type Op } from "../kernel/op.js";
import { currentOrNull } from "../kernel/current.js";
import type { Sim } from "../kernel/sim.js";
import type { Task } from "../kernel/task.js";
import { heldRefs, type LockClass, type LockdepMap, type LockWaitType } from "../kernel/lockdep.js";
import { currentIn } from "../kernel/context.js";

/**
 * Options for a lock: a SimObject's. The lock's lockdep class is the first
 * constructor argument; `name` names this instance (default: the class name).
 */
export type LockOptions = SimObjectOptions;

/**
 * A releasing step: mutex_unlock(), spin_unlock(), up_write(),
 * downgrade_write(). Two holders' unlocks are never enabled together; an
 * unlock by a task that does not hold the lock only reads it, and the
 * never-co-enabled rules apply only to steps that wrote.
 */
export const UNLOCK = defineEffectKind({ name: "unlock", neverCoEnabledWith: ["self"] });
/**
 * An exclusive acquisition that blocks until the lock is free. While a task
 * holds the lock (and so may be at its unlock), nobody else can be at an
 * exclusive acquisition of it that is enabled.
 */
export const LOCK = defineEffectKind({ name: "lock", neverCoEnabledWith: [UNLOCK] });
/** A trylock: takes the lock (a write) if free, else only reads it. Not progress, so a trylock loop counts as spinning. */
export const TRYLOCK = defineEffectKind({ name: "trylock", progress: false });
/** mutex_init() / spin_lock_init() on an existing lock: writes the lock, never waits. */
export const LOCK_INIT = defineEffectKind({ name: "lock-init" });

/** @internal How a ForeignSimError names a lockNestLock(nest) op's operands. */
export const NEST_NAMES = ["this", "nest", null, null] as const;

/**
 * @internal Check a nest lock argument (spin_lock_nest_lock(), mutex_lock_nest_lock()).
 * @throws ArgumentError naming `nest` unless it is a lock or lockdep map.
 */
export function checkNestLock(nest: unknown): void {
  const cls = (nest as { lockClass?: unknown } | null)?.lockClass;
  if (typeof nest !== "object" || nest === null || typeof cls !== "object" || cls === null || !("waitType" in cls)) {
    throw new ArgumentError("nest", "must be a lock or lockdep map (the outer lock held while taking this one)");
  }
}

/** @internal The options every lock constructor accepts (a SimObject's), for checkOptions(). */
export const LOCK_OPTIONS_SPEC = {
  name: is.string,
  embeddedIn: is.instanceOf(SimObject),
  static: is.boolean,
} as const;

/**
 * @internal Check a lock constructor's arguments before anything is made.
 * @throws ArgumentError naming `sim`, `className` or `options` (or one of its keys).
 */
export function checkLockArgs(sim: unknown, className: unknown, options: unknown): void {
  if (typeof sim !== "object" || sim === null || !("lockdep" in sim) || !("heap" in sim)) throw new ArgumentError("sim", "must be a Sim");
  if (typeof className !== "string" || className === "") throw new ArgumentError("className", "a lock needs a lockdep class name");
  checkOptions("options", options as LockOptions | undefined, LOCK_OPTIONS_SPEC);
}

/**
 * The waitable an unlock probes: whether the unlocking task holds the lock.
 * A class rather than a literal of two closures and a label string: a lock
 * is made per explored execution, and this keeps it to one small object.
 */
class HoldsIt implements Waitable {
  constructor(private readonly lock: LockObject) {}

  get label(): string {
    return this.lock.label;
  }

  canProceed(t: Task): boolean {
    return this.lock.heldBy === t;
  }

  wakers(): null {
    return null;
  }
}

export abstract class LockObject extends SimObject implements Waitable, LockdepMap {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  /** @internal The task holding it exclusively (the kernel's `owner` field). */ heldBy: Task | null = null;
  // Where `heldBy` acquired it: the task, step and op, made into a Site only
  // when a report asks (see acquiredAt), since most never do; with
  // captureStacks the Site is made at once, as the stack must be taken then.
  private acqTask: Task | null = null;
  private acqStep = 0;
  private acqOp: string | null = null;
  private acqSite: Site | null = null;
  readonly lockClass: LockClass;
  /** @internal The subclass of plain acquisitions (lockdepSetSubclass()). */ defaultSubclass = 0;
  // Effects are immutable, so each lock makes its own once instead of one per operation.
  /** @internal */ readonly lockEffect: Effect;
  /** @internal */ readonly trylockEffect: Effect;
  /** @internal */ readonly unlockEffect: Effect;
  /** @internal Whether a task holds it exclusively: what an unlock's footprint asks. */ readonly holdsIt: Waitable;

  /**
   * `className` is the lockdep class: locks initialised by the same code share
   * it, as `mutex_init(&bo->lock)` makes one class for every BO's lock. A lock
   * embedded in its object prints as `Mutex#7 "bo->lock" in Bo#6`.
   */
  protected constructor(sim: Sim, typeName: string, className: string, waitType: LockWaitType, options: LockOptions) {
    checkLockArgs(sim, className, options);
    super(sim, typeName, { ...options, name: options.name ?? className });
    this.lockClass = sim.lockdep.lockClass(className, waitType);
    this.lockEffect = new Effect(LOCK, this, WRITE, this, this);
    this.trylockEffect = new Effect(TRYLOCK, this, WRITE_IF, this, null, Infinity, this);
    // An unlock changes the lock only when its task holds it; a bad unlock
    // (reported, refused) only reads it, and can be enabled at any time.
    this.holdsIt = new HoldsIt(this);
    this.unlockEffect = new Effect(UNLOCK, this, WRITE_IF, this, null, Infinity, this.holdsIt);
  }

  /** @internal Where `heldBy` acquired it, or null. */
  get acquiredAt(): Site | null {
    if (this.acqOp === null) return null;
    return (this.acqSite ??= { task: this.acqTask, step: this.acqStep, op: this.acqOp, stack: undefined });
  }

  /** @internal */
  set acquiredAt(site: Site | null) {
    this.acqSite = site;
    this.acqOp = site === null ? null : site.op;
    if (site !== null) {
      this.acqTask = site.task;
      this.acqStep = site.step;
    }
  }

  /**
   * @internal The current task took the lock now, in op `op`: record where,
   * here and in its lockdep held entry, without making a Site (see
   * acquiredAt) unless stacks are captured.
   */
  tookNow(task: Task, op: string): void {
    const sim = this.sim;
    const site = sim.captureStacks ? sim.site(op) : null;
    this.acqSite = site;
    this.acqOp = op;
    this.acqTask = currentOrNull();
    this.acqStep = sim.step;
    sim.lockdep.acquired(task, this, site, op);
  }

  /** Waitable (public because Waitable is): an exclusive acquisition can proceed when nobody holds it. A query. */
  canProceed(_task: Task): boolean {
    return this.heldBy === null;
  }

  /** Waitable: the task holding it, if any. A query. */
  wakers(): readonly Task[] {
    return this.heldBy === null ? [] : [this.heldBy];
  }

  /** The task holding it, or null. A query: no effect. */
  get holder(): Task | null {
    return this.heldBy;
  }

  /**
   * Mirrors mutex_init() / spin_lock_init() / rwlock_init() called again on
   * this lock: it becomes a freshly initialised lock of its class (its
   * lockdepSetSubclass() annotation is dropped). On a held lock it files
   * `lock-held-at-free` with the init as the freeing op (the kernel's
   * "held lock freed!" from debug_check_no_locks_freed()) and changes
   * nothing, so the holder's unlock stays consistent.
   */
  reinit(): Op<void> {
    return makeOp(this.initName, this, lockReinit);
  }

  /** @internal The kernel's init function for this lock type, as reports name it. */
  // A getter, not a field: each lock type overrides it.
  // eslint-disable-next-line @typescript-eslint/class-literal-property-style
  get initName(): string {
    return "lock_init";
  }

  /** @internal Who holds the lock, for the check at free: the exclusive holder here. */
  protected holderAtFree(): Task | null {
    return this.heldBy;
  }

  /** @internal */
  override onFree(): void {
    this.checkNotHeld("kfree");
  }

  /** @internal Files `lock-held-at-free` if the lock is held; true if it was not. */
  checkNotHeld(op: string): boolean {
    const holder = this.holderAtFree();
    if (holder === null) return true;
    if (!this.sim.checks.lockdep) return false;
    this.sim.file({
      kind: "lock-held-at-free",
      lock: this.label,
      holder: holder.label,
      acquired: this.acquiredAt === null ? null : siteRef(this.acquiredAt),
      freed: siteRef(this.sim.site(op)),
    });
    return false;
  }
}

function* lockReinit(this: LockObject): Generator<Effect, void, unknown> {
  yield new Effect(LOCK_INIT, this, WRITE, this);
  touch(this.sim, this, true, "LockObject.reinit");
  guardLive(this, "LockObject.reinit");
  if (!this.checkNotHeld(this.initName)) return;
  this.defaultSubclass = 0;
}

/**
 * What rw_semaphore and rwlock_t share (the base of RwSemaphore and RwLock;
 * not exported from the package): a writer (`heldBy`) or
 * any number of readers, each counted with how many times it holds the read
 * side, and the assertions and queries on both sides.
 */
export abstract class ReaderWriterLock extends LockObject {
  /** @internal Tasks holding the read side, with how many times each. */ readonly readers = new Map<Task, number>();

  /** Mirrors lockdep_assert_held(): the current task holds it, either side. */
  assertHeld(): boolean {
    return this.sim.lockdep.assertHeld(currentIn(`${this.constructor.name}.assertHeld`), this, this.heldBy);
  }

  /** Mirrors lockdep_assert_held_write(): the current task holds the write side. */
  assertHeldWrite(): boolean {
    const task = currentIn(`${this.constructor.name}.assertHeldWrite`);
    if (this.heldBy === task) return true;
    if (this.sim.checks.lockdep) {
      this.sim.file({ kind: "lock-not-held", lock: `${this.label} (for write)`, owner: this.heldBy?.label ?? null, held: heldRefs(task) });
    }
    return false;
  }

  /**
   * @internal The read side's release, after its step: drop one of `task`'s
   * read holds. Releasing the read side of a write hold (the wrong side) is
   * a bad-unlock naming both sides, and a release of a lock not held is
   * lockdep's bad-unlock; either changes nothing, so the task's right unlock
   * still works. (Lockdep itself does not tell the sides apart; a debug
   * kernel catches the mix-up elsewhere: CONFIG_DEBUG_RWSEMS's "not
   * reader-owned", rwlock_t's "wrong owner".) Returns whether a read hold
   * was dropped.
   */
  releaseRead(task: Task): boolean {
    const n = this.readers.get(task);
    if (n === undefined && this.heldBy === task) {
      this.sim.lockdep.badUnlock(task, this, task, { heldAs: "write", releasedAs: "read" });
      return false;
    }
    if (!this.sim.lockdep.release(task, this, this.heldBy) || n === undefined) return false;
    if (n === 1) this.readers.delete(task);
    else this.readers.set(task, n - 1);
    return true;
  }

  /**
   * @internal The write side's release, after its step: as releaseRead(),
   * for the writer. Returns whether the write hold was dropped.
   */
  releaseWrite(task: Task): boolean {
    if (this.heldBy !== task && this.readers.has(task)) {
      this.sim.lockdep.badUnlock(task, this, this.heldBy, { heldAs: "read", releasedAs: "write" });
      return false;
    }
    if (!this.sim.lockdep.release(task, this, this.heldBy) || this.heldBy !== task) return false;
    this.heldBy = null;
    this.acquiredAt = null;
    return true;
  }

  /** Whether anyone holds it, either side (rwsem_is_locked()). A query: no effect. */
  isLocked(): boolean {
    noteTouched(this.sim, this, false);
    return this.heldBy !== null || this.readers.size > 0;
  }

  /** @internal Read holders count as holding it too. */
  protected override holderAtFree(): Task | null {
    return this.heldBy ?? this.readers.keys().next().value ?? null;
  }
}
