/**
 * Object lifetimes: SimObject, the heap, kfree().
 *
 * Mirrors: kmalloc()/kfree() object lifetimes as KASAN and kmemleak see them.
 * Ownership: the heap lists every live top-level object; an object is freed
 *   exactly once, by kfree() (usually from a kref release callback). Objects
 *   embedded in another (`embeddedIn`) live and die with their container and
 *   are never freed on their own. Static objects are never freed.
 * Locking: none; the heap is touched only by the running task.
 * States: live → freed. A freed object stays reachable from JavaScript, so
 *   the simulation can go on after a report, as a KASAN kernel does.
 * Invariants: `life.freeSite === null` exactly while the object is live.
 *   A freed object's prototype is swapped for a trapping copy, so any call of
 *   a method or read of an accessor the model defines is a `use-after-free`
 *   report naming the access, the allocation and the free.
 *
 * Why a prototype swap and not a check in every method: live objects then pay
 * nothing at all (a per-call check cost about half a nanosecond, 50% of a
 * trivial method, and went megamorphic across classes), and a model's own
 * subclasses are covered without writing anything. Own data fields are not
 * trapped: expose mutable state through methods or getters.
 */
import { ArgumentError, ForeignSimError } from "../errors.js";
import { checkOptions, describeValue, is, type Spec } from "../validate.js";
import { currentOrNull } from "./current.js";
import type { ObjectRef, ReportBody, SiteRef } from "../report/report.js";
import { defineEffectKind, Effect, WRITE_ALL, type Access } from "./effect.js";
import type { Kref } from "./kref.js";
import { makeOp, Op } from "./op.js";
import type { Sim } from "./sim.js";
import { registerTeardownCheck } from "./teardown.js";
import type { Task } from "./task.js";

/** @internal A recorded site: cheap to take, turned into a SiteRef for reports. */
export interface Site {
  readonly task: Task | null;
  readonly step: number;
  readonly op: string;
  readonly stack: string | undefined;
}

/**
 * @internal One allocation's lifetime, shared by a top-level object and every
 * object embedded in it.
 */
export class Lifetime {
  /** Where it was freed; null while live. */
  freeSite: Site | null = null;
  /** Whether a use-after-free was already reported (KASAN reports the first only). */
  uafReported = false;
  /** Objects embedded in the owner, freed with it. */
  embedded: SimObject[] | null = null;
  /** Memory accounting (memory.ts): what kfree() gives back; null for an uncharged object. */
  charge: HeapCharge | null = null;

  constructor(
    /** The top-level object: the one kfree() takes. */
    readonly owner: SimObject,
  ) {}
}

/**
 * @internal A charged allocation (memory.ts: kmalloc, kmallocObject): what
 * its kfree() step also touches, and the uncharge that runs when it is freed.
 */
export interface HeapCharge {
  /** The accesses kfree()'s step declares besides the object (the memory state, when its usage is observable), or null. */
  freeAccesses(): readonly Access[] | null;
  /** Give the bytes back; called once, when the object is freed. */
  uncharge(): void;
}

/** Options for a SimObject. */
export interface SimObjectOptions {
  /** A name for reports (default: empty). */
  readonly name?: string;
  /** The object this one is embedded in; it lives and dies with it. */
  readonly embeddedIn?: SimObject;
  /**
   * A statically allocated object (a global, DEFINE_MUTEX, DECLARE_COMPLETION):
   * never freed, never a leak. Default false.
   */
  readonly static?: boolean;
}

/** The rules of SimObjectOptions (validate.ts). */
const SIM_OBJECT_OPTIONS: Spec<SimObjectOptions> = {
  name: is.string,
  embeddedIn: (argument, v) => {
    if (!(v instanceof SimObject)) throw new ArgumentError(argument, `must be a SimObject, got ${describeValue(v)}`);
  },
  static: is.boolean,
};

/**
 * Base class of every simulated kernel object. Driver models extend it; once
 * the object is freed, calling any of its methods or reading any of its
 * getters is a `use-after-free` report (see the header of this file).
 */
export class SimObject {
  readonly sim: Sim;
  /** Per-simulation id (identity, readable after free like a pointer value). */
  readonly id: number;
  readonly typeName: string;
  readonly name: string;
  /** @internal This object's lifetime: its own, or its container's. */
  readonly life: Lifetime;
  /** @internal */ readonly allocSite: Site;
  /** @internal */ readonly isStatic: boolean;
  /** @internal Refcounts embedded in this object, for leak reports. */ krefs: Kref[] | null = null;
  /** @internal Its footprint key: stable across executions (see Heap.newKey). */ readonly fpKey: number;

  /**
   * @throws ArgumentError naming `sim` when it is not a Sim (checked as a
   *   Sim's heap), `typeName` when it is not a non-empty string, `options`
   *   when it is not an object, an unknown key (listing the known ones),
   *   `name` (not a string), `static` (not a boolean), `embeddedIn` (not a
   *   SimObject, or one of another Sim). Nothing is allocated then.
   */
  constructor(sim: Sim, typeName: string, options: SimObjectOptions = {}) {
    if (typeof sim !== "object" || (sim as Sim | null) === null || !(sim.heap instanceof Heap)) {
      throw new ArgumentError("sim", `must be a Sim, got ${describeValue(sim)}`);
    }
    if (typeof typeName !== "string" || typeName === "") throw new ArgumentError("typeName", "must be a non-empty string");
    checkOptions("options", options, SIM_OBJECT_OPTIONS);
    const container = options.embeddedIn;
    const task = currentOrNull();
    if (task !== null && task.sim !== sim) {
      throw new ForeignSimError("sim", `new ${typeName}`, `a ${typeName}`, sim.label, `${task.sim.label} (task ${task.label})`);
    }
    if (container !== undefined && container.sim !== sim) {
      throw new ArgumentError("embeddedIn", `${container.label} belongs to ${container.sim.label}, not to ${sim.label}`);
    }
    this.sim = sim;
    this.typeName = typeName;
    this.name = options.name ?? "";
    this.id = sim.heap.nextId();
    this.fpKey = sim.heap.newKey();
    if (container === undefined) {
      this.life = new Lifetime(this);
    } else {
      this.life = container.life;
      (this.life.embedded ??= []).push(this);
    }
    this.allocSite = sim.site(`new ${typeName}`);
    this.isStatic = options.static === true;
    if (container === undefined && !this.isStatic) sim.heap.register(this);
    // A driver's own class: under a strategy that keeps footprints (DFS),
    // every use of its methods and accessors joins the running step's
    // footprint (see watchUses()). The library's classes declare theirs.
    if ((new.target as unknown as Record<symbol, unknown>)[LIBRARY_CLASS] !== true && sim.scheduler.strategy.touched !== undefined) watchUses(this);
  }

  /** `Bo#3 "bo0"`. Readable after free. */
  get label(): string {
    const own = this.name === "" ? `${this.typeName}#${this.id}` : `${this.typeName}#${this.id} "${this.name}"`;
    return this.life.owner === this ? own : `${own} in ${this.life.owner.label}`;
  }

  /** Whether the object (or its container) was freed. Readable after free; never reports. */
  get isFreed(): boolean {
    return this.life.freeSite !== null;
  }

  /** @internal Called by kfree() just before the object is marked freed. */
  onFree(): void {
    // Subclasses check what must not be held at free (locks, in later checks).
  }
}

/**
 * Marks a library class (`static readonly [LIBRARY_CLASS] = true`), whose
 * operations declare their own footprints; a subclass inherits the mark.
 * Any other SimObject class is a driver's, and its uses are watched.
 */
export const LIBRARY_CLASS: unique symbol = Symbol("gpuvm-sim library class");

/** Whether `key` is a member of a driver's class: defined on a prototype below SimObject's. */
function definedByDriver(proto: object | null, key: string): boolean {
  for (let p = proto; p !== null && p !== SimObject.prototype; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.prototype.hasOwnProperty.call(p, key)) return true;
  }
  return false;
}

/**
 * The running step used a member of `obj` (a driver's class): tell the
 * strategy, which adds `obj` to the step's footprint (a read for an
 * accessor read, a write for a method call or an accessor write: a method
 * may change the object). Without it a step that reads `bo.size` would look
 * independent of the kfree of `bo`, and DFS would try one order only.
 */
function noteUse(target: object, key: string | symbol, obj: SimObject, write: boolean): void {
  if (typeof key !== "string" || currentOrNull() === null) return;
  if (definedByDriver(Object.getPrototypeOf(target) as object | null, key)) noteTouched(obj.sim, obj, write);
}

/**
 * @internal The running step used `obj` beyond what its effect declared: a
 * library query's read (`fence.isSignaled()`, `kref.read()`,
 * `lock.isLocked()`, whose answer the caller may branch on), or a write
 * made outside any effect (handing out a fence context's seqno). Under a
 * strategy that keeps footprints (DFS) the step's footprint gets it; outside
 * DFS it costs a field test.
 */
export function noteTouched(sim: Sim, obj: object, write: boolean): void {
  const strategy = sim.scheduler.strategy;
  if (strategy.touched === undefined) return;
  const task = currentOrNull();
  if (task !== null && task.sim === sim) strategy.touched(task, obj, write);
}

const watchHandler: ProxyHandler<object> = {
  get(target, key, receiver) {
    const value = Reflect.get(target, key, receiver) as unknown;
    noteUse(target, key, receiver as SimObject, typeof value === "function");
    return value;
  },
  set(target, key, value, receiver) {
    noteUse(target, key, receiver as SimObject, true);
    return Reflect.set(target, key, value, receiver);
  },
};

/** One watching prototype per real prototype. */
const watchProtos = new WeakMap<object, object>();

/** Swap `obj`'s prototype for one that reports each use of a driver-defined member (see noteUse()). */
function watchUses(obj: SimObject): void {
  interpose(obj, watchProtos, watchHandler);
}

/**
 * Swap `obj`'s prototype for a proxy (one per real prototype and handler,
 * kept in `cache`) whose target inherits from the real prototype, so
 * `instanceof` still holds and every member is still found.
 */
function interpose(obj: SimObject, cache: WeakMap<object, object>, handler: ProxyHandler<object>): void {
  const proto = Object.getPrototypeOf(obj) as object;
  let proxy = cache.get(proto);
  if (proxy === undefined) {
    proxy = new Proxy(Object.create(proto) as object, handler);
    cache.set(proto, proxy);
  }
  Object.setPrototypeOf(obj, proxy);
}

/**
 * Members that stay quiet on a freed object: introspection, and the
 * scheduler's polling of a waitable (the bug is reported where a task
 * touches the object, not where the scheduler looks at it).
 */
const QUIET = new Set(["constructor", "label", "isFreed", "canProceed", "wakers", "onFree"]);

/** Whether `key` is a member defined on `proto` or a prototype above it, short of Object.prototype. */
function definedByModel(proto: object | null, key: string): boolean {
  for (let p = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.prototype.hasOwnProperty.call(p, key)) return true;
  }
  return false;
}

const trapHandler: ProxyHandler<object> = {
  get(target, key, receiver) {
    if (quietDepth === 0 && typeof key === "string" && !QUIET.has(key) && definedByModel(Object.getPrototypeOf(target) as object, key)) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value === "function") return methodOfFreed(value as (...args: unknown[]) => unknown, receiver as SimObject, key);
      useAfterFree(receiver as SimObject, `${(receiver as SimObject).typeName}.${key}`);
      return value;
    }
    return Reflect.get(target, key, receiver) as unknown;
  },
  set(target, key, value, receiver) {
    if (typeof key === "string" && !QUIET.has(key) && definedByModel(Object.getPrototypeOf(target) as object, key)) {
      useAfterFree(receiver as SimObject, `${(receiver as SimObject).typeName}.${key}`);
    }
    return Reflect.set(target, key, value, receiver);
  },
};

/** How many calls of methods of freed objects are running (see methodOfFreed): the trap is quiet inside them. */
let quietDepth = 0;

/**
 * A method looked up on a freed object. The lookup happens in the caller's
 * code, in the step before any effect of the call, whose footprint does not
 * name the object: reporting there would put the use-after-free in a step
 * the explorer does not order against the free. So the report waits for the
 * call: a library op on this very object (its receiver) reports it in its
 * own step, whose effect names the object and whose body guards it after
 * the effect; any other call (a query, a driver's own method, an op of
 * defineOp()) reports it as soon as it returns or throws, once, under the
 * name the caller used: freed objects it reaches on the way (its embedded
 * parts) stay quiet meanwhile.
 */
function methodOfFreed(method: (...args: unknown[]) => unknown, obj: SimObject, key: string): (...args: unknown[]) => unknown {
  return function (this: unknown, ...args: unknown[]): unknown {
    let result: unknown;
    let deferred = false;
    quietDepth++;
    try {
      result = method.apply(this, args);
      deferred = result instanceof Op && partOf(result.receiver, obj);
    } finally {
      quietDepth--;
      if (!deferred) useAfterFree(obj, `${obj.typeName}.${key}`);
    }
    return result;
  };
}

/** Whether `x` is `obj`, its Kref, or an object embedded in it (one allocation). */
function partOf(x: unknown, obj: SimObject): boolean {
  if (x === obj) return true;
  if (typeof x !== "object" || x === null) return false;
  if ((x as { owner?: unknown }).owner === obj) return true;
  return x instanceof SimObject && x.sim === obj.sim && obj.sim.heap.allocOf(x) === obj.sim.heap.allocOf(obj);
}

/** One trapping prototype per real prototype. */
const trapProtos = new WeakMap<object, object>();

/** Swap `obj`'s prototype for a trap that reports, then forwards to the real prototype (see interpose()). */
function poison(obj: SimObject): void {
  interpose(obj, trapProtos, trapHandler);
}

/** @internal The guard for library code that is not a subclass. */
/**
 * @internal The footprint check: the running step's op `op` is about to read
 * or write `obj`. When `checks.footprint` is on, an access its step's effect
 * did not declare is a `usage` report.
 */
export function touch(sim: Sim, obj: object, write: boolean, op: string): void {
  if (sim.checks.footprint) sim.checkFootprint(obj, write, op);
}

/** @internal */
export function guardLive(obj: SimObject, access: string): boolean {
  return obj.life.freeSite === null || useAfterFree(obj, access);
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

/** Footprint keys a task may make: keys are task id * KEYS_PER_TASK + n. */
const KEYS_PER_TASK = 1 << 24;

/** @internal The per-simulation heap. */
export class Heap {
  private ids = 0;
  /** Live top-level objects, in allocation order. */
  readonly live = new Set<SimObject>();

  constructor(private readonly sim: Sim) {}

  nextId(): number {
    return ++this.ids;
  }

  private setupKeys = 0;
  // Made on first share(): most Sims share nothing, and a WeakMap costs
  // the garbage collector ephemeron work even when empty.
  private plainKeys: WeakMap<object, number> | null = null;
  private partOf: WeakMap<object, SimObject> | null = null;

  /**
   * A new footprint key: the task that makes the object and how many keys
   * it made before (or the scenario's setup and its count). Unlike ids, which
   * follow the global order of creation, these name an object the same way
   * in every execution, whatever the interleaving: the exhaustive search
   * compares footprints across executions.
   */
  newKey(): number {
    const task = currentOrNull();
    return task === null ? ++this.setupKeys : task.id * KEYS_PER_TASK + ++task.keysMade;
  }

  /** Give `obj` (not a SimObject) a footprint key, once; `partOf` names the object whose allocation holds it. */
  share(obj: object, partOf?: SimObject): void {
    if (obj instanceof SimObject) return;
    const keys = (this.plainKeys ??= new WeakMap());
    if (keys.has(obj)) return;
    keys.set(obj, this.newKey());
    if (partOf !== undefined) (this.partOf ??= new WeakMap()).set(obj, partOf);
  }

  /** Whether `obj` has a footprint key (a SimObject, or shared with share()). */
  isShared(obj: object): boolean {
    return obj instanceof SimObject || this.plainKeys?.has(obj) === true;
  }

  /** The footprint key of an object a step touches (0 if it has none). */
  keyOf(obj: object): number {
    if (obj instanceof SimObject) return obj.fpKey;
    return this.plainKeys?.get(obj) ?? 0;
  }

  /** The footprint key of the allocation `obj` is part of. */
  allocOf(obj: object): number {
    if (obj instanceof SimObject) return obj.life.owner.fpKey;
    const owner = this.partOf?.get(obj);
    return owner === undefined ? this.keyOf(obj) : owner.life.owner.fpKey;
  }

  register(obj: SimObject): void {
    this.live.add(obj);
  }

  free(obj: SimObject, op: string): void {
    const site = this.sim.site(op);
    const life = obj.life;
    const prev = life.freeSite;
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
    if (life.embedded !== null) for (const e of life.embedded) e.onFree();
    life.freeSite = site;
    this.live.delete(obj);
    if (life.charge !== null) life.charge.uncharge();
    if (this.sim.checks.lifetimes) {
      poison(obj);
      if (life.embedded !== null) for (const e of life.embedded) poison(e);
    }
  }

  /**
   * Like KASAN without multi_shot, the first bad access to a freed object is
   * the bug; later ones are its consequences and would bury it. Returns true
   * for the first claim on an allocation.
   */
  claimUafReport(obj: SimObject): boolean {
    const life = obj.life;
    if (life.uafReported) return false;
    life.uafReported = true;
    return true;
  }

  useAfterFree(obj: SimObject, access: string): void {
    if (!this.sim.checks.lifetimes) return;
    const freedSite = obj.life.freeSite;
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
      refHistoryDropped: this.sim.refHistoryDropped(obj),
    });
  }
}

/**
 * kmemleak's scan, as the `leaks` teardown check: one `leak` report listing
 * every live top-level object, where it was allocated and, per refcount, the
 * holders of the references still outstanding; nothing if all was freed.
 */
function leakScan(sim: Sim): readonly ReportBody[] {
  const live = sim.heap.live;
  if (live.size === 0) return [];
  const objects = [...live].map((o) => ({
    object: objectRef(o),
    allocated: siteRef(o.allocSite),
    refcounts: (o.krefs ?? []).map((k) => ({ count: k.count, saturated: k.count < 0, holders: k.holderRefs() })),
  }));
  return [{ kind: "leak", objects }];
}

// INVARIANT: registered when the kernel loads, so it is the first teardown check.
registerTeardownCheck({ name: "leaks", gate: "lifetimes", run: leakScan });

/** kfree(): writes the whole allocation, the object and everything embedded in it. */
export const FREE = defineEffectKind({ name: "free" });

function* kfreeBody(this: undefined, obj: SimObject): Generator<Effect, void, unknown> {
  const charge = obj.life.charge;
  const also = charge === null ? null : charge.freeAccesses();
  yield also === null ? new Effect(FREE, obj, WRITE_ALL) : new Effect(FREE, obj, WRITE_ALL, obj, null, Infinity, null, also);
  touch(obj.sim, obj, true, "kfree");
  obj.sim.heap.free(obj, "kfree");
}

/**
 * Mirrors kfree(): free a simulated object. Freeing it again is a
 * `double-free` report; any later use is a `use-after-free` report.
 */
export function kfree(obj: SimObject): Op<void> {
  if (!(obj instanceof SimObject)) throw new ArgumentError("obj", "must be a SimObject");
  if (obj.life.owner !== obj) throw new ArgumentError("obj", `${obj.label} is embedded; free its container`);
  if (obj.isStatic) throw new ArgumentError("obj", `${obj.label} is statically allocated`);
  return makeOp("kfree", undefined, kfreeBody, obj);
}

