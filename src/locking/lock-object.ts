/**
 * What every sleeping or spinning lock shares: an owner, a lockdep identity,
 * and the check that it is not freed while held.
 *
 * Mirrors: the common part of spinlock_t, struct mutex, struct rw_semaphore
 *   and struct ww_mutex — an owner and a struct lockdep_map.
 * Ownership: a lock is a SimObject, usually embedded in the object it
 *   protects (`{ embeddedIn: vm }`), freed with it.
 * Locking: the lock's own state changes only in its ops, one step each.
 * Invariants: `owner` is the task that last acquired it exclusively and has
 *   not released it; freeing a held lock is a `lock-held-at-free` report.
 */
import { ArgumentError } from "../errors.js";
import type { Waitable } from "../kernel/effect.js";
import { siteRef, SimObject, type Site, type SimObjectOptions } from "../kernel/heap.js";
import type { Sim } from "../kernel/sim.js";
import type { Task } from "../kernel/task.js";
import type { LockClass, LockdepMap, LockWaitType } from "./lockdep.js";

/** Options for a lock. */
export interface LockOptions extends SimObjectOptions {
  /**
   * The lockdep class name (default: the lock's name). Locks initialised by
   * the same code share a class: give them the same name, or the same class.
   */
  readonly lockClass?: string;
}

export abstract class LockObject extends SimObject implements Waitable, LockdepMap {
  /** @internal The exclusive owner. */ owner: Task | null = null;
  /** @internal Where the owner acquired it. */ ownerSite: Site | null = null;
  readonly lockClass: LockClass;

  protected constructor(sim: Sim, typeName: string, name: string, waitType: LockWaitType, options: LockOptions) {
    if (typeof name !== "string" || name === "") throw new ArgumentError("name", "a lock needs a name (its lockdep class by default)");
    super(sim, typeName, { ...options, name });
    this.lockClass = sim.lockdep.lockClass(options.lockClass ?? name, waitType);
  }

  /** @internal Waitable: an exclusive acquisition can proceed when nobody holds it. */
  canProceed(_task: Task): boolean {
    return this.owner === null;
  }

  /** @internal Waitable. */
  wakers(): readonly Task[] {
    return this.owner === null ? [] : [this.owner];
  }

  /** The task holding it, or null. A query: no effect. */
  get holder(): Task | null {
    return this.owner;
  }

  /** @internal */
  override onFree(): void {
    const holder = this.owner;
    if (holder === null || !this.sim.checks.lockdep) return;
    this.sim.file({
      kind: "lock-held-at-free",
      lock: this.label,
      holder: holder.label,
      acquired: this.ownerSite === null ? null : siteRef(this.ownerSite),
      freed: siteRef(this.sim.site("kfree")),
    });
  }
}
