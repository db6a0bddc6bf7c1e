/**
 * RwSemaphore: a sleeping reader/writer lock.
 *
 * Mirrors: struct rw_semaphore — down_read(), down_write(), up_read(),
 *   up_write(), down_read_trylock(), down_write_trylock(), downgrade_write(),
 *   lockdep_assert_held(), lockdep_assert_held_write(). The mm's mmap_lock
 *   is one.
 * Ownership: usually embedded in the object it protects.
 * Locking: protects itself. Taking it may sleep: never in atomic context.
 * States: free → read-held by one or more tasks, or write-held by one.
 * Invariants: never readers and a writer at once. A writer waiting holds off
 *   new readers, as the kernel's does to avoid starving writers, so a task
 *   that takes the read side twice can deadlock against a writer, and
 *   lockdep reports that as recursive locking.
 */
import { defineEffectKind, Effect, WRITE, WRITE_IF, type Waitable } from "../kernel/effect.js";
import { guardLive, touch } from "../kernel/heap.js";
import { makeOp, type Op } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import { current, type Task } from "../kernel/task.js";
import { checkMightSleep, checkSubclass } from "../kernel/context.js";
import { heldRefs } from "../kernel/lockdep.js";
import { LOCK, ReaderWriterLock, TRYLOCK, UNLOCK, type LockOptions } from "./lock-object.js";

/** up_read(): a reader lets go. A writer cannot be at its acquisition while a reader holds the lock. */
export const UP_READ = defineEffectKind({ name: "up-read", neverCoEnabledWith: [LOCK] });
/**
 * down_read(): two readers' acquisitions commute. No reader's acquisition is
 * enabled while a writer holds the lock or waits for it.
 */
export const LOCK_READ = defineEffectKind({ name: "lock-read", commutesWith: ["self"], neverCoEnabledWith: [UNLOCK, LOCK] });
/** down_write()'s first step: the writer joins the queue that holds off new readers. */
export const LOCK_QUEUE = defineEffectKind({ name: "lock-queue" });

export class RwSemaphore extends ReaderWriterLock {
  /** @internal Writers announced and waiting, in arrival order. */ readonly writersWaiting: Task[] = [];
  /** @internal The waitable of a read acquisition. */ readonly readSide: Waitable;
  /** @internal */ readonly readEffect: Effect;
  /** @internal */ readonly readTrylockEffect: Effect;
  /** @internal */ readonly upReadEffect: Effect;
  /** @internal */ readonly queueEffect: Effect;

  /** `new RwSemaphore(sim, "&mm->mmap_lock")`. @throws ArgumentError naming `sim`, `className` or an option. */
  constructor(sim: Sim, className: string, options: LockOptions = {}) {
    super(sim, "RwSemaphore", className, "sleep", options);
    this.readSide = {
      label: this.label,
      canProceed: () => this.heldBy === null && this.writersWaiting.length === 0,
      // FIX: a reader held off by waiting writers is let in by them (once they
      // took and released the lock); it used to name no waker at all, so a
      // read-recursion deadlock against a queued writer had no cycle.
      wakers: () => (this.heldBy !== null ? [this.heldBy] : [...this.writersWaiting]),
    };
    this.readEffect = new Effect(LOCK_READ, this, WRITE, this, this.readSide);
    this.readTrylockEffect = new Effect(TRYLOCK, this, WRITE_IF, this, null, Infinity, this.readSide);
    const reads: Waitable = { label: this.label, canProceed: (t: Task) => this.readers.has(t), wakers: () => null };
    this.upReadEffect = new Effect(UP_READ, this, WRITE_IF, this, null, Infinity, reads);
    this.queueEffect = new Effect(LOCK_QUEUE, this, WRITE);
  }

  /** @internal Waitable of a write acquisition: no writer and no reader. */
  override canProceed(_task: Task): boolean {
    return this.heldBy === null && this.readers.size === 0;
  }

  /** @internal */
  override wakers(): readonly Task[] {
    return this.heldBy !== null ? [this.heldBy] : [...this.readers.keys()];
  }

  /** Mirrors down_read(). */
  downRead(): Op<void> {
    return makeOp("down_read", this, downRead);
  }

  /** @internal */
  override get initName(): string {
    return "init_rwsem";
  }

  /**
   * Mirrors down_write() (down_write_nested() with a subclass).
   * @throws ArgumentRangeError naming `subclass` unless an integer in [0, 7].
   */
  downWrite(subclass = 0): Op<void> {
    if (subclass !== 0) checkSubclass(subclass);
    return makeOp("down_write", this, downWrite, subclass);
  }

  /** Mirrors down_read_trylock(). */
  downReadTrylock(): Op<boolean> {
    return makeOp("down_read_trylock", this, downReadTrylock);
  }

  /** Mirrors down_write_trylock(). */
  downWriteTrylock(): Op<boolean> {
    return makeOp("down_write_trylock", this, downWriteTrylock);
  }

  /** Mirrors up_read(). */
  upRead(): Op<void> {
    return makeOp("up_read", this, upRead);
  }

  /** Mirrors up_write(). */
  upWrite(): Op<void> {
    return makeOp("up_write", this, upWrite);
  }

  /** Mirrors downgrade_write(): turn the write hold into a read hold, letting other readers in. */
  downgrade(): Op<void> {
    return makeOp("downgrade_write", this, downgrade);
  }

}

function addReader(sem: RwSemaphore, task: Task): void {
  sem.readers.set(task, (sem.readers.get(task) ?? 0) + 1);
}

function* downRead(this: RwSemaphore): Generator<Effect, void, unknown> {
  const task = current();
  const slept = !checkMightSleep(task, "down_read");
  this.sim.lockdep.acquire(task, this, "down_read", { read: true, sleepReported: slept });
  yield this.readEffect;
  touch(this.sim, this, true, "RwSemaphore.downRead");
  guardLive(this, "RwSemaphore.downRead");
  addReader(this, task);
  this.sim.lockdep.acquired(task, this, null, "down_read");
}

function* downWrite(this: RwSemaphore, subclass: number): Generator<Effect, void, unknown> {
  const task = current();
  const slept = !checkMightSleep(task, "down_write");
  this.sim.lockdep.acquire(task, this, "down_write", { subclass, sleepReported: slept });
  // Joining the queue is a step of its own: other tasks see it (new readers wait).
  yield this.queueEffect;
  touch(this.sim, this, true, "RwSemaphore.downWrite");
  // INVARIANT: from here until it has the lock, this writer holds off new readers.
  this.writersWaiting.push(task);
  yield this.lockEffect;
  touch(this.sim, this, true, "RwSemaphore.downWrite");
  this.writersWaiting.splice(this.writersWaiting.indexOf(task), 1);
  guardLive(this, "RwSemaphore.downWrite");
  this.heldBy = task;
  this.tookNow(task, "down_write");
}

function* downReadTrylock(this: RwSemaphore): Generator<Effect, boolean, unknown> {
  yield this.readTrylockEffect;
  touch(this.sim, this, true, "RwSemaphore.downReadTrylock");
  guardLive(this, "RwSemaphore.downReadTrylock");
  if (!this.readSide.canProceed(current())) {
    this.sim.note("busy");
    return false;
  }
  this.sim.note("taken");
  const task = current();
  addReader(this, task);
  this.sim.lockdep.acquire(task, this, "down_read_trylock", { trylock: true, read: true });
  return true;
}

function* downWriteTrylock(this: RwSemaphore): Generator<Effect, boolean, unknown> {
  yield this.trylockEffect;
  touch(this.sim, this, true, "RwSemaphore.downWriteTrylock");
  guardLive(this, "RwSemaphore.downWriteTrylock");
  const task = current();
  if (!this.canProceed(task)) {
    this.sim.note("busy");
    return false;
  }
  this.sim.note("taken");
  this.heldBy = task;
  this.acquiredAt = this.sim.site("down_write_trylock");
  this.sim.lockdep.acquire(task, this, "down_write_trylock", { trylock: true });
  return true;
}

function* upRead(this: RwSemaphore): Generator<Effect, void, unknown> {
  yield this.upReadEffect;
  touch(this.sim, this, true, "RwSemaphore.upRead");
  guardLive(this, "RwSemaphore.upRead");
  // A wrong-side or unheld release is reported and changes nothing (ReaderWriterLock.releaseRead).
  this.releaseRead(current());
}

function* upWrite(this: RwSemaphore): Generator<Effect, void, unknown> {
  yield this.unlockEffect;
  touch(this.sim, this, true, "RwSemaphore.upWrite");
  guardLive(this, "RwSemaphore.upWrite");
  // A wrong-side or unheld release is reported and changes nothing (ReaderWriterLock.releaseWrite).
  this.releaseWrite(current());
}

function* downgrade(this: RwSemaphore): Generator<Effect, void, unknown> {
  yield this.unlockEffect;
  touch(this.sim, this, true, "RwSemaphore.downgrade");
  guardLive(this, "RwSemaphore.downgrade");
  const task = current();
  if (this.heldBy !== task) {
    // Not held for write by this task: report, change nothing.
    if (this.sim.checks.lockdep) {
      this.sim.file({ kind: "lock-not-held", lock: `${this.label} (for write)`, owner: this.heldBy?.label ?? null, held: heldRefs(task) });
    }
    return;
  }
  this.sim.lockdep.downgrade(task, this);
  this.heldBy = null;
  this.acquiredAt = null;
  addReader(this, task);
}
