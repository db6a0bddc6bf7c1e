/**
 * Object lifetimes: SimObject, the heap, kfree().
 *
 * Mirrors: kmalloc()/kfree() object lifetimes as KASAN and kmemleak see them.
 * Ownership: the heap lists every live top-level object; an object is freed
 *   exactly once, by kfree() (usually from a kref release callback). Objects
 *   embedded in another (`embeddedIn`) live and die with their container and
 *   are never freed on their own.
 * Locking: none; the heap is touched only by the running task.
 * States: live → freed. A freed object stays reachable from JavaScript, so
 *   the simulation can go on after a report, as a KASAN kernel does.
 * Invariants: `freeSite === null` exactly while the object is live; every
 *   public method of a SimObject calls `guard()` first, so any use after free
 *   is a `use-after-free` report naming the access, the allocation and the free.
 */
import { ArgumentError } from "../errors.js";
import type { ObjectRef, SiteRef } from "../report/report.js";
import { Effect } from "./effect.js";
import type { Kref } from "./kref.js";
import { makeOp, type Op } from "./op.js";
import type { Sim } from "./sim.js";
import type { Task } from "./task.js";

/** @internal A recorded site: cheap to take, turned into a SiteRef for reports. */
export interface Site {
  readonly task: Task | null;
  readonly step: number;
  readonly op: string;
  readonly stack: string | undefined;
}

/** Options for a SimObject. */
export interface SimObjectOptions {
  /** A name for reports (default: empty). */
  readonly name?: string;
  /** The object this one is embedded in; it lives and dies with it. */
  readonly embeddedIn?: SimObject;
}

/**
 * Base class of every simulated kernel object. Driver models extend it and
 * call `this.guard("method")` first in every public method and getter.
 */
export class SimObject {
  readonly sim: Sim;
  /** Per-simulation id (identity, readable after free like a pointer value). */
  readonly id: number;
  readonly typeName: string;
  readonly name: string;
  /** @internal The object whose lifetime this one shares: itself or its container. */
  readonly lifeOwner: SimObject;
  /** @internal */ readonly allocSite: Site;
  /** @internal */ freeSite: Site | null = null;
  /** @internal Refcounts embedded in this object, for leak reports. */ krefs: Kref[] | null = null;

  constructor(sim: Sim, typeName: string, options: SimObjectOptions = {}) {
    if (typeof typeName !== "string" || typeName === "") throw new ArgumentError("typeName", "must be a non-empty string");
    const container = options.embeddedIn;
    if (container !== undefined && container.sim !== sim) {
      throw new ArgumentError("options.embeddedIn", "belongs to another Sim");
    }
    this.sim = sim;
    this.typeName = typeName;
    this.name = options.name ?? "";
    this.id = sim.heap.nextId();
    this.lifeOwner = container === undefined ? this : container.lifeOwner;
    this.allocSite = sim.site(`new ${typeName}`);
    if (container === undefined) sim.heap.register(this);
  }

  /** `Bo#3 "bo0"`. */
  get label(): string {
    const own = this.name === "" ? `${this.typeName}#${this.id}` : `${this.typeName}#${this.id} "${this.name}"`;
    return this.lifeOwner === this ? own : `${own} in ${this.lifeOwner.label}`;
  }

  /** Whether the object (or its container) was freed. Never reports. */
  get isFreed(): boolean {
    return this.lifeOwner.freeSite !== null;
  }

  /**
   * Call first in every public method and getter: files a `use-after-free`
   * report if the object is freed. Returns whether the object is live.
   */
  protected guard(access: string): boolean {
    return this.lifeOwner.freeSite === null || useAfterFree(this, access);
  }

  /** @internal Called by kfree() just before the object is marked freed. */
  onFree(): void {
    // Subclasses check what must not be held at free (locks, in later checks).
  }
}

/** @internal The guard for library code that is not a subclass. */
export function guardLive(obj: SimObject, access: string): boolean {
  return obj.lifeOwner.freeSite === null || useAfterFree(obj, access);
}

function useAfterFree(obj: SimObject, access: string): boolean {
  obj.sim.heap.useAfterFree(obj, access);
  return false;
}

/** @internal */
export function objectRef(obj: SimObject): ObjectRef {
  return { id: obj.id, type: obj.typeName, name: obj.name, label: obj.label };
}

/** @internal */
export function siteRef(site: Site): SiteRef {
  const base = { task: site.task === null ? null : site.task.label, step: site.step, op: site.op };
  return site.stack === undefined ? base : { ...base, stack: site.stack };
}

/** @internal The per-simulation heap. */
export class Heap {
  private ids = 0;
  /** Live top-level objects, in allocation order. */
  readonly live = new Set<SimObject>();
  private readonly reportedUaf = new Set<SimObject>();

  constructor(private readonly sim: Sim) {}

  nextId(): number {
    return ++this.ids;
  }

  register(obj: SimObject): void {
    this.live.add(obj);
  }

  free(obj: SimObject, op: string): void {
    const site = this.sim.site(op);
    const prev = obj.freeSite;
    if (prev !== null) {
      if (this.sim.checks.lifetimes) {
        this.sim.file({
          kind: "double-free",
          object: objectRef(obj),
          allocated: siteRef(obj.allocSite),
          firstFree: siteRef(prev),
          secondFree: siteRef(site),
        });
      }
      return;
    }
    obj.onFree();
    obj.freeSite = site;
    this.live.delete(obj);
  }

  /**
   * Like KASAN without multi_shot, the first bad access to a freed object is
   * the bug; later ones are its consequences and would bury it. Returns true
   * for the first claim on an object.
   */
  claimUafReport(obj: SimObject): boolean {
    const owner = obj.lifeOwner;
    if (this.reportedUaf.has(owner)) return false;
    this.reportedUaf.add(owner);
    return true;
  }

  useAfterFree(obj: SimObject, access: string): void {
    if (!this.sim.checks.lifetimes) return;
    const freedSite = obj.lifeOwner.freeSite;
    if (freedSite === null) return;
    if (!this.claimUafReport(obj)) return;
    this.sim.file({
      kind: "use-after-free",
      object: objectRef(obj),
      access,
      accessed: siteRef(this.sim.site(access)),
      allocated: siteRef(obj.allocSite),
      freed: siteRef(freedSite),
      refHistory: this.sim.refHistory(obj),
    });
  }
}

function* kfreeBody(this: undefined, obj: SimObject): Generator<Effect, void, unknown> {
  yield new Effect("free", obj);
  obj.sim.heap.free(obj, "kfree");
}

/**
 * Mirrors kfree(): free a simulated object. Freeing it again is a
 * `double-free` report; any later use is a `use-after-free` report.
 */
export function kfree(obj: SimObject): Op<void> {
  if (!(obj instanceof SimObject)) throw new ArgumentError("obj", "must be a SimObject");
  if (obj.lifeOwner !== obj) throw new ArgumentError("obj", `${obj.label} is embedded; free its container`);
  return makeOp("kfree", undefined, kfreeBody, obj);
}

