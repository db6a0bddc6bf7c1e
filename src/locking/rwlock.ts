/**
 * RwLock: a spinning reader/writer lock.
 *
 * Mirrors: rwlock_t — read_lock(), read_unlock(), write_lock(),
 *   write_unlock(), their _irq, _irqsave/_irqrestore and _bh variants,
 *   read_trylock(), write_trylock(), rwlock_init(), lockdep_assert_held().
 * Ownership: usually embedded in the object whose fields it protects.
 * Locking: protects itself; its holders (readers and the writer) and its
 *   waiters are atomic, as a spinlock's: nothing may sleep inside. Wait type
 *   LD_WAIT_CONFIG, as spinlock_t.
 * States: free → read-held by one or more tasks, or write-held by one.
 * Invariants: never readers and a writer at once. By default it is the
 *   kernel's qrwlock (CONFIG_QUEUED_RWLOCKS, what x86 and arm64 build): a
 *   waiting writer holds off new readers outside interrupts (in_interrupt():
 *   an irq context or bottom halves disabled), so re-taking the read side
 *   in process context can deadlock, and lockdep sees those readers as plain
 *   reads (read == 1: read_lock_is_recursive() is false there). With
 *   `{ queued: false }` it is the generic rwlock: a reader waits only while
 *   a writer holds the lock, never for one that merely waits, and lockdep
 *   treats every read_lock() as a recursive read (read == 2, as
 *   lib/locking-selftest.c forces for its rlock tests); only write/read
 *   mixes can deadlock.
 */
import { defineEffectKind, Effect, WRITE, WRITE_IF, type Waitable } from "../kernel/effect.js";
import { guardLive, touch } from "../kernel/heap.js";
import { makeOp, type Op } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import { current, type Task } from "../kernel/task.js";
import { bhRestore, irqRestore } from "../kernel/context.js";
import { irqCtxOf, type AcquireOptions } from "../kernel/lockdep.js";
import { checkOptions, is } from "../validate.js";
import { LOCK_OPTIONS_SPEC, ReaderWriterLock, type LockOptions } from "./lock-object.js";
import { checkIrqFlags, type IrqFlags } from "./spinlock.js";

// rwlock_t's own effect kinds, so schedules print rwlock words (read-unlock,
// write-lock) rather than a mutex's or an rw_semaphore's. Their relations are
// those of the shared kinds they stand for: WRITE_LOCK/WRITE_UNLOCK as
// LOCK/UNLOCK, READ_UNLOCK as up_read's, the trylocks as TRYLOCK.

/** write_unlock(): two holders' releases are never enabled together. */
export const WRITE_UNLOCK = defineEffectKind({ name: "write-unlock", neverCoEnabledWith: ["self"] });
/** write_lock()'s wait for the lock: not enabled while the writer holds it (and so may be at its unlock). */
export const WRITE_LOCK = defineEffectKind({ name: "write-lock", neverCoEnabledWith: [WRITE_UNLOCK] });
/** A queued write_lock()'s first step: the writer joins the queue that holds off new process-context readers. */
export const WRITE_LOCK_QUEUE = defineEffectKind({ name: "write-lock-queue" });
/** read_unlock(): a reader lets go. A writer cannot be at its acquisition while a reader holds the lock. */
export const READ_UNLOCK = defineEffectKind({ name: "read-unlock", neverCoEnabledWith: [WRITE_LOCK] });
/** read_trylock(): takes the read side if no writer holds it, else only reads it. Not progress. */
export const READ_TRYLOCK = defineEffectKind({ name: "read-trylock", progress: false });
/** write_trylock(): takes it if nobody holds it, else only reads it. Not progress. */
export const WRITE_TRYLOCK = defineEffectKind({ name: "write-trylock", progress: false });
/**
 * read_lock(): two readers' acquisitions commute. No reader's acquisition is
 * enabled while the writer holds the lock (and so may be at its unlock).
 */
export const READ_LOCK = defineEffectKind({ name: "read-lock", commutesWith: ["self"], neverCoEnabledWith: [WRITE_UNLOCK] });
/**
 * A read_lock() that is never enabled while a writer is at its acquisition
 * (WRITE_LOCK): one by a task that already holds the read side (the writer
 * waits for it), or one of a queued rwlock outside interrupts (the writer
 * queued first and holds such readers off until it is done). The promise
 * lets the race analysis look past the writer's WRITE_LOCK to the step such
 * a reader really races with: the reader's first acquisition, or the
 * writer's WRITE_LOCK_QUEUE. Any other reader may be enabled together with a
 * writer's acquisition, and takes READ_LOCK.
 */
export const READ_LOCK_NO_WRITER = defineEffectKind({ name: "read-lock", commutesWith: ["self", READ_LOCK], neverCoEnabledWith: [WRITE_UNLOCK, WRITE_LOCK] });

const RECURSIVE_READ: AcquireOptions = { recursive: true };
const PLAIN_READ: AcquireOptions = { read: true };

/** Options of an RwLock: a lock's, and whether it is a queued rwlock. */
export interface RwLockOptions extends LockOptions {
  /**
   * The kernel's qrwlock (CONFIG_QUEUED_RWLOCKS, x86's and arm64's choice):
   * a waiting writer holds off new readers except in interrupt context, so
   * a process-context read_lock() is a plain read for lockdep and re-taking
   * the read side can deadlock against a queued writer. Default true;
   * `false` is the generic rwlock, whose read_lock() is always a recursive
   * read (as the kernel's lock selftests force).
   */
  readonly queued?: boolean;
}

/** @internal in_interrupt(): a hardirq or softirq context, or bottom halves disabled. */
function inInterrupt(task: Task): boolean {
  return irqCtxOf(task) > 0 || task.bhOff > 0;
}
const WRITE_SIDE: AcquireOptions = {};

/** How a variant changes the irq state around the lock: nothing, irqs (_irq, _irqsave) or bottom halves (_bh). */
type Around = "none" | "irq" | "irqsave" | "bh";

export class RwLock extends ReaderWriterLock {
  /** @internal The waitable of a read acquisition: no writer holds it. */ readonly readSide: Waitable;
  /** @internal */ readonly readEffect: Effect;
  /** @internal A read acquisition no writer's acquisition is enabled with (READ_LOCK_NO_WRITER). */ readonly readNoWriterEffect: Effect;
  /** @internal */ readonly readTrylockEffect: Effect;
  /** @internal */ readonly readUnlockEffect: Effect;
  /** Whether it is a queued rwlock (see RwLockOptions). */
  readonly queued: boolean;
  /** @internal Writers announced and waiting (queued rwlocks only), in arrival order. */ readonly writersWaiting: Task[] = [];
  /** @internal */ readonly queueEffect: Effect;
  /** @internal */ readonly writeEffect: Effect;
  /** @internal */ readonly writeTrylockEffect: Effect;
  /** @internal */ readonly writeUnlockEffect: Effect;

  /**
   * `new RwLock(sim, "tasklist_lock")`, `new RwLock(sim, "l", { queued: false })`.
   * @throws ArgumentError naming `sim`, `className` or an option.
   */
  constructor(sim: Sim, className: string, options: RwLockOptions = {}) {
    const { queued, ...lockOptions } = checkOptions("options", options, { ...LOCK_OPTIONS_SPEC, queued: is.boolean });
    super(sim, "RwLock", className, "spin", lockOptions);
    this.queued = queued !== false;
    this.readSide = {
      label: this.label,
      canProceed: (t: Task) => this.heldBy === null && (this.writersWaiting.length === 0 || inInterrupt(t)),
      wakers: () => (this.heldBy !== null ? [this.heldBy] : [...this.writersWaiting]),
    };
    this.queueEffect = new Effect(WRITE_LOCK_QUEUE, this, WRITE, this);
    this.readEffect = new Effect(READ_LOCK, this, WRITE, this, this.readSide);
    this.readNoWriterEffect = new Effect(READ_LOCK_NO_WRITER, this, WRITE, this, this.readSide);
    this.readTrylockEffect = new Effect(READ_TRYLOCK, this, WRITE_IF, this, null, Infinity, this.readSide);
    const reads: Waitable = { label: this.label, canProceed: (t: Task) => this.readers.has(t), wakers: () => null };
    this.readUnlockEffect = new Effect(READ_UNLOCK, this, WRITE_IF, this, null, Infinity, reads);
    this.writeEffect = new Effect(WRITE_LOCK, this, WRITE, this, this);
    this.writeTrylockEffect = new Effect(WRITE_TRYLOCK, this, WRITE_IF, this, null, Infinity, this);
    this.writeUnlockEffect = new Effect(WRITE_UNLOCK, this, WRITE_IF, this, null, Infinity, this.holdsIt);
  }

  /** @internal */
  override get initName(): string {
    return "rwlock_init";
  }

  /** @internal Waitable of a write acquisition: no writer and no reader. */
  override canProceed(_task: Task): boolean {
    return this.heldBy === null && this.readers.size === 0;
  }

  /** @internal */
  override wakers(): readonly Task[] {
    return this.heldBy !== null ? [this.heldBy] : [...this.readers.keys()];
  }

  /** Mirrors read_lock(). */
  readLock(): Op<void> {
    return makeOp("read_lock", this, readLock, "none");
  }

  /** Mirrors read_lock_irq(): disable irqs, then read_lock(). */
  readLockIrq(): Op<void> {
    return makeOp("read_lock_irq", this, readLock, "irq");
  }

  /** Mirrors read_lock_irqsave(): disable irqs, then read_lock(). Returns the saved state. */
  readLockIrqsave(): Op<IrqFlags> {
    return makeOp("read_lock_irqsave", this, readLockIrqsave);
  }

  /** Mirrors read_lock_bh(). */
  readLockBh(): Op<void> {
    return makeOp("read_lock_bh", this, readLock, "bh");
  }

  /** Mirrors read_trylock(): take the read side unless a writer holds it, never wait. */
  readTrylock(): Op<boolean> {
    return makeOp("read_trylock", this, readTrylock);
  }

  /** Mirrors read_unlock(). */
  readUnlock(): Op<void> {
    return makeOp("read_unlock", this, readUnlock, "none");
  }

  /** Mirrors read_unlock_irq(): read_unlock(), then enable irqs. */
  readUnlockIrq(): Op<void> {
    return makeOp("read_unlock_irq", this, readUnlock, "irq");
  }

  /** Mirrors read_unlock_irqrestore(). */
  readUnlockIrqrestore(flags: IrqFlags): Op<void> {
    checkIrqFlags(flags);
    return makeOp("read_unlock_irqrestore", this, readUnlock, "irqsave", flags);
  }

  /** Mirrors read_unlock_bh(). */
  readUnlockBh(): Op<void> {
    return makeOp("read_unlock_bh", this, readUnlock, "bh");
  }

  /** Mirrors write_lock(). */
  writeLock(): Op<void> {
    return makeOp("write_lock", this, writeLock, "none");
  }

  /** Mirrors write_lock_irq(). */
  writeLockIrq(): Op<void> {
    return makeOp("write_lock_irq", this, writeLock, "irq");
  }

  /** Mirrors write_lock_irqsave(). Returns the saved state. */
  writeLockIrqsave(): Op<IrqFlags> {
    return makeOp("write_lock_irqsave", this, writeLockIrqsave);
  }

  /** Mirrors write_lock_bh(). */
  writeLockBh(): Op<void> {
    return makeOp("write_lock_bh", this, writeLock, "bh");
  }

  /** Mirrors write_trylock(): take it if nobody holds it, never wait. */
  writeTrylock(): Op<boolean> {
    return makeOp("write_trylock", this, writeTrylock);
  }

  /** Mirrors write_unlock(). */
  writeUnlock(): Op<void> {
    return makeOp("write_unlock", this, writeUnlock, "none");
  }

  /** Mirrors write_unlock_irq(). */
  writeUnlockIrq(): Op<void> {
    return makeOp("write_unlock_irq", this, writeUnlock, "irq");
  }

  /** Mirrors write_unlock_irqrestore(). */
  writeUnlockIrqrestore(flags: IrqFlags): Op<void> {
    checkIrqFlags(flags);
    return makeOp("write_unlock_irqrestore", this, writeUnlock, "irqsave", flags);
  }

  /** Mirrors write_unlock_bh(). */
  writeUnlockBh(): Op<void> {
    return makeOp("write_unlock_bh", this, writeUnlock, "bh");
  }

}

function disable(task: Task, around: Around): void {
  if (around === "irq" || around === "irqsave") task.irqsOff++;
  else if (around === "bh") task.bhOff++;
}

function restore(task: Task, around: Around, flags: IrqFlags | undefined): void {
  if (around === "irq") {
    if (task.irqsOff > 0) irqRestore(task);
  } else if (around === "irqsave" && flags !== undefined) {
    // Restore exactly what was saved, as local_irq_restore() does.
    while (task.irqsOff > flags.irqsOff) irqRestore(task);
    task.irqsOff = Math.max(task.irqsOff, flags.irqsOff);
  } else if (around === "bh") {
    if (task.bhOff > 0) bhRestore(task);
  }
}

function* readLock(this: RwLock, around: Around): Generator<Effect, void, unknown> {
  const task = current();
  disable(task, around);
  // Preemption goes off before spinning: a waiter is atomic too.
  task.preemptCount++;
  const op = around === "none" ? "read_lock" : `read_lock_${around}`;
  // read_lock_is_recursive(): always, unless queued outside interrupts.
  const passesWriters = !this.queued || inInterrupt(task);
  this.sim.lockdep.acquire(task, this, op, passesWriters ? RECURSIVE_READ : PLAIN_READ);
  yield passesWriters && !this.readers.has(task) ? this.readEffect : this.readNoWriterEffect;
  touch(this.sim, this, true, "RwLock.readLock");
  guardLive(this, "RwLock.readLock");
  this.readers.set(task, (this.readers.get(task) ?? 0) + 1);
  this.sim.lockdep.acquired(task, this, null, op);
}

function* readLockIrqsave(this: RwLock): Generator<Effect, IrqFlags, unknown> {
  const flags: IrqFlags = { irqsOff: current().irqsOff };
  yield* readLock.call(this, "irqsave");
  return flags;
}

function* writeLock(this: RwLock, around: Around): Generator<Effect, void, unknown> {
  const task = current();
  disable(task, around);
  task.preemptCount++;
  const op = around === "none" ? "write_lock" : `write_lock_${around}`;
  this.sim.lockdep.acquire(task, this, op, WRITE_SIDE);
  if (this.queued) {
    // Joining the queue is a step of its own: other tasks see it (new readers wait).
    yield this.queueEffect;
    touch(this.sim, this, true, "RwLock.writeLock");
    // INVARIANT: from here until it has the lock, this writer holds off new process-context readers.
    this.writersWaiting.push(task);
  }
  yield this.writeEffect;
  touch(this.sim, this, true, "RwLock.writeLock");
  if (this.queued) this.writersWaiting.splice(this.writersWaiting.indexOf(task), 1);
  guardLive(this, "RwLock.writeLock");
  this.heldBy = task;
  this.tookNow(task, op);
}

function* writeLockIrqsave(this: RwLock): Generator<Effect, IrqFlags, unknown> {
  const flags: IrqFlags = { irqsOff: current().irqsOff };
  yield* writeLock.call(this, "irqsave");
  return flags;
}

function* readTrylock(this: RwLock): Generator<Effect, boolean, unknown> {
  yield this.readTrylockEffect;
  touch(this.sim, this, true, "RwLock.readTrylock");
  guardLive(this, "RwLock.readTrylock");
  const task = current();
  if (!this.readSide.canProceed(task)) {
    this.sim.note("busy");
    return false;
  }
  this.sim.note("taken");
  task.preemptCount++;
  this.readers.set(task, (this.readers.get(task) ?? 0) + 1);
  this.sim.lockdep.acquire(task, this, "read_trylock", { trylock: true, read: true, recursive: !this.queued || inInterrupt(task) });
  return true;
}

function* writeTrylock(this: RwLock): Generator<Effect, boolean, unknown> {
  yield this.writeTrylockEffect;
  touch(this.sim, this, true, "RwLock.writeTrylock");
  guardLive(this, "RwLock.writeTrylock");
  const task = current();
  if (!this.canProceed(task)) {
    this.sim.note("busy");
    return false;
  }
  this.sim.note("taken");
  task.preemptCount++;
  this.heldBy = task;
  this.acquiredAt = this.sim.site("write_trylock");
  this.sim.lockdep.acquire(task, this, "write_trylock", { trylock: true });
  return true;
}

function* readUnlock(this: RwLock, around: Around, flags?: IrqFlags): Generator<Effect, void, unknown> {
  yield this.readUnlockEffect;
  touch(this.sim, this, true, "RwLock.readUnlock");
  guardLive(this, "RwLock.readUnlock");
  const task = current();
  // A wrong-side or unheld release is reported and changes nothing (ReaderWriterLock.releaseRead).
  if (!this.releaseRead(task)) return;
  task.preemptCount--;
  restore(task, around, flags);
}

function* writeUnlock(this: RwLock, around: Around, flags?: IrqFlags): Generator<Effect, void, unknown> {
  yield this.writeUnlockEffect;
  touch(this.sim, this, true, "RwLock.writeUnlock");
  guardLive(this, "RwLock.writeUnlock");
  const task = current();
  // A wrong-side or unheld release is reported and changes nothing (ReaderWriterLock.releaseWrite).
  if (!this.releaseWrite(task)) return;
  task.preemptCount--;
  restore(task, around, flags);
}
