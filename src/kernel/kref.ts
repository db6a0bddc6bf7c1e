/**
 * Kref: a counted reference with the kernel's refcount_t semantics.
 *
 * Mirrors: struct kref (kref_init/get/get_unless_zero/put/read) over
 *   refcount_t, and ref_tracker's per-holder accounting.
 * Ownership: embedded in its owner object; it never outlives it. Whoever
 *   called get() (or received the initial reference) owns one count and must
 *   put() it; the put that reaches zero calls `release`, which frees the owner.
 * Locking: none; every operation is one atomic step (an effect).
 * States: counting (> 0) → zero (released) ; any state → saturated, which is
 *   final: the count never moves again and the owner is leaked, never freed.
 * Invariants: with the refcounts check on, `count` equals the tagged holder
 *   records plus the untagged references, until the counter saturates.
 *
 * refcount_t warnings map to reports: increment from zero →
 * `refcount-inc-from-zero`, decrement below zero → `refcount-underflow`,
 * increment past REFCOUNT_MAX → `refcount-saturated`. Each saturates the
 * counter; like the kernel's WARN_ONCE, a counter reports once and then
 * stays saturated silently.
 */
import { ArgumentRangeError } from "../errors.js";
import { arg, checkOptions, is, type Spec } from "../validate.js";
import type { HolderRef, SiteRef } from "../report/report.js";
import { defineEffectKind, Effect, WRITE, WRITE_IF, type Waitable } from "./effect.js";
import type { Task } from "./task.js";
import { currentOrNull } from "./current.js";
import { guardLive, noteTouched, objectRef, siteRef, SimObject, touch, type Site } from "./heap.js";
import { makeOp, makeStepOp, type Op, type StepBody } from "./op.js";

/** The largest count (INT_MAX), as in the kernel. */
export const REFCOUNT_MAX = 0x7fffffff;
/** The saturated value (INT_MIN / 2), as in the kernel. */
export const REFCOUNT_SATURATED = -0x40000000;

/** What runs when the last reference goes: usually a generator that kfree()s the owner. */
export type Release<T> = (owner: T) => Iterable<Effect, void, unknown> | undefined;

/** Options for a new Kref. */
export interface KrefOptions {
  /** Tag for the initial reference (default: untagged). */
  readonly holder?: string;
}

/** The rules of KrefOptions (validate.ts). */
const KREF_OPTIONS: Spec<KrefOptions> = { holder: is.string };

/**
 * One tagged reference, in three doubly-linked lists at once: all tagged
 * references oldest first (for leak reports), those of its tag, and those of
 * its tag taken by its task (both for puts). Each list unlinks in O(1), so a
 * get or a put is O(1) whatever the order of puts, and a reference costs one
 * record and no other allocation.
 */
interface HolderRecord {
  readonly holder: string;
  /** Where it was taken; `site.task` is the task that took it. */
  readonly site: Site;
  prev: HolderRecord | null;
  next: HolderRecord | null;
  olderOfTag: HolderRecord | null;
  newerOfTag: HolderRecord | null;
  olderOfTask: HolderRecord | null;
  newerOfTask: HolderRecord | null;
}

/** kref_get(): two gets commute (the count ends the same either way). */
export const KREF_GET = defineEffectKind({ name: "kref-get", commutesWith: ["self"] });
/** kref_get_unless_zero(): a write when it takes a reference, a read when the count is zero. */
export const KREF_GET_UNLESS_ZERO = defineEffectKind({ name: "kref-get-unless-zero" });
/** kref_put(). */
export const KREF_PUT = defineEffectKind({ name: "kref-put" });

export class Kref<T extends SimObject = SimObject> {
  /** @internal */ count = 1;
  /** @internal The oldest tagged reference; the list runs to the newest. */ private oldest: HolderRecord | null = null;
  /** @internal The newest tagged reference. */ private newest: HolderRecord | null = null;
  /** @internal Each tag's newest reference (the head of the tag's list). */ private readonly newestOfTag = new Map<string, HolderRecord>();
  /**
   * @internal Per task that took tagged references (null: setup), each tag's
   * newest reference that task took. One map per task, not per tag: the
   * inner maps stay when they empty, so a task's get/put pairs allocate none.
   */
  private readonly newestByTask = new Map<Task | null, Map<string, HolderRecord>>();
  /** @internal How many tagged references are outstanding. */ tagged = 0;
  /** @internal Untagged references. */ untagged = 0;
  private zeroSite: Site | null = null;
  private reported = false;
  /** @internal What a get-unless-zero's footprint asks: it writes only when the count is not zero. */
  readonly nonZero: Waitable = {
    label: "count > 0",
    canProceed: (_task: Task) => this.count > 0,
    wakers: () => null,
  };
  // Effects are immutable: made once per refcount, not once per operation.
  /** @internal */ readonly getEffect: Effect;
  /** @internal */ readonly getUnlessZeroEffect: Effect;
  /** @internal */ readonly putEffect: Effect;

  /** Mirrors kref_init(): the count starts at one, owned by the creator. */
  constructor(
    readonly owner: T,
    options: KrefOptions = {},
  ) {
    arg("owner", is.instanceOf(SimObject), owner);
    const holder = checkOptions("options", options, KREF_OPTIONS).holder;
    const sim = owner.sim;
    // The footprint is the refcount itself, not its owner: a get commutes
    // with a lock of the owner's mutex.
    this.getEffect = new Effect(KREF_GET, owner, WRITE, this);
    this.getUnlessZeroEffect = new Effect(KREF_GET_UNLESS_ZERO, owner, WRITE_IF, this, null, Infinity, this.nonZero);
    this.putEffect = new Effect(KREF_PUT, owner, WRITE, this);
    (owner.krefs ??= []).push(this);
    sim.heap.share(this, owner);
    if (sim.checks.refcounts) {
      if (holder === undefined) this.untagged = 1;
      else this.addHolder(holder, "kref_init");
      sim.logRef(owner.id, "init", 1, holder);
    }
  }

  /** Mirrors kref_read(). Returns REFCOUNT_SATURATED once saturated. */
  read(): number {
    guardLive(this.owner, "Kref.read");
    noteTouched(this.owner.sim, this, false);
    return this.count;
  }

  /**
   * Mirrors refcount_set(), for initialising a counter before the object is
   * published (tests of saturation start near REFCOUNT_MAX). The counter is
   * overwritten, so what holder tracking knew goes with it: every reference
   * set this way is untagged, and tagged references held before are
   * forgotten (a later put of their tag is a holder mismatch).
   *
   * @throws ArgumentError naming `count` when it is not a number;
   *   ArgumentRangeError when it is not an integer in [0, REFCOUNT_MAX].
   */
  set(count: number): void {
    arg("count", is.count, count);
    if (count > REFCOUNT_MAX) throw new ArgumentRangeError("count", `must be an integer in [0, ${REFCOUNT_MAX}], got ${count}`);
    guardLive(this.owner, "Kref.set");
    this.count = count;
    this.oldest = null;
    this.newest = null;
    this.newestOfTag.clear();
    this.newestByTask.clear();
    this.tagged = 0;
    this.untagged = count;
  }

  /** Mirrors kref_get(): take a reference; the caller must already hold one. */
  get(holder?: string): Op<void> {
    checkHolder(holder);
    return makeStepOp(this as Kref, KREF_GET_OP, holder);
  }

  /**
   * Mirrors kref_get_unless_zero(): take a reference unless the count is
   * already zero (the object is being released). Returns whether it did.
   */
  getUnlessZero(holder?: string): Op<boolean> {
    checkHolder(holder);
    return makeStepOp(this as Kref, KREF_GET_UNLESS_ZERO_OP, holder);
  }

  /**
   * Mirrors kref_put(): drop a reference; the last one calls `release`.
   * Returns whether this put released the object.
   *
   * With a holder tag, the put drops the newest reference of that tag taken
   * by the putting task if there is one, else the newest of the tag (a
   * reference handed to another task and put there): as if each task kept
   * its own ref_tracker handles. A tag with no reference outstanding files
   * `refcount-holder-mismatch`.
   */
  put(release: Release<T>, holder?: string): Op<boolean> {
    arg("release", is.function, release);
    checkHolder(holder);
    return makeOp("kref_put", this as Kref, krefPut, release as Release<SimObject>, holder);
  }

  /**
   * @internal Outstanding references by holder, for leak reports: one entry
   * per holder tag, task and operation, with how many references it stands
   * for and the site of the oldest (in the order of those oldest sites),
   * then the untagged references. Linear in the references held; no
   * recursion and no argument spreading, so any number of holders fits.
   */
  holderRefs(): HolderRef[] {
    const groups = new Map<string, { holder: string; count: number; site: Site }>();
    for (let r = this.oldest; r !== null; r = r.next) {
      const task = r.site.task;
      const key = `${r.holder}\u0000${task === null ? "" : task.label}\u0000${r.site.op}`;
      const g = groups.get(key);
      if (g === undefined) groups.set(key, { holder: r.holder, count: 1, site: r.site });
      else g.count++;
    }
    const out: HolderRef[] = [];
    for (const g of groups.values()) out.push({ holder: g.holder, count: g.count, site: siteRef(g.site) });
    if (this.untagged > 0) out.push({ holder: null, count: this.untagged, site: null });
    return out;
  }

  /** @internal Record a reference taken by `holder` (untagged when undefined) in op `op`. O(1). */
  addHolder(holder: string | undefined, op: string): void {
    if (holder === undefined) {
      this.untagged++;
      return;
    }
    const site = this.owner.sim.site(op);
    let mine = this.newestByTask.get(site.task);
    if (mine === undefined) {
      mine = new Map();
      this.newestByTask.set(site.task, mine);
    }
    const olderOfTag = this.newestOfTag.get(holder) ?? null;
    const olderOfTask = mine.get(holder) ?? null;
    const r: HolderRecord = { holder, site, prev: this.newest, next: null, olderOfTag, newerOfTag: null, olderOfTask, newerOfTask: null };
    if (this.newest === null) this.oldest = r;
    else this.newest.next = r;
    this.newest = r;
    if (olderOfTag !== null) olderOfTag.newerOfTag = r;
    this.newestOfTag.set(holder, r);
    if (olderOfTask !== null) olderOfTask.newerOfTask = r;
    mine.set(holder, r);
    this.tagged++;
  }

  /**
   * @internal Drop a reference of `holder` for a put by `task`: the newest
   * of that tag `task` took, else the newest of the tag (see put()); false
   * if the tag holds nothing. O(1).
   */
  dropHolder(holder: string | undefined, task: Task | null): boolean {
    if (holder === undefined) {
      if (this.untagged === 0) return false;
      this.untagged--;
      return true;
    }
    const mine = this.newestByTask.get(task);
    const r = mine?.get(holder) ?? this.newestOfTag.get(holder);
    if (r === undefined) return false;
    if (r.prev === null) this.oldest = r.next;
    else r.prev.next = r.next;
    if (r.next === null) this.newest = r.prev;
    else r.next.prev = r.prev;
    if (r.olderOfTag !== null) r.olderOfTag.newerOfTag = r.newerOfTag;
    if (r.newerOfTag !== null) r.newerOfTag.olderOfTag = r.olderOfTag;
    else if (r.olderOfTag !== null) this.newestOfTag.set(holder, r.olderOfTag);
    else this.newestOfTag.delete(holder);
    if (r.olderOfTask !== null) r.olderOfTask.newerOfTask = r.newerOfTask;
    if (r.newerOfTask !== null) r.newerOfTask.olderOfTask = r.olderOfTask;
    else {
      // r is the newest its task took of this tag, so the task's map has it.
      const theirs = r.site.task === task && mine !== undefined ? mine : (this.newestByTask.get(r.site.task) as Map<string, HolderRecord>);
      if (r.olderOfTask !== null) theirs.set(holder, r.olderOfTask);
      else theirs.delete(holder);
    }
    r.prev = r.next = r.olderOfTag = r.newerOfTag = r.olderOfTask = r.newerOfTask = null;
    this.tagged--;
    return true;
  }

  /**
   * @internal File the refcount_t warning `kind` (the caller has saturated the
   * counter) unless this counter already warned, like the kernel's WARN_ONCE.
   * If the owner is already freed, the report names the free too, and stands
   * for the use-after-free report of this object.
   */
  warn(kind: "refcount-inc-from-zero" | "refcount-underflow" | "refcount-saturated", op: string): void {
    if (this.reported) return;
    this.reported = true;
    const sim = this.owner.sim;
    const freedSite = this.owner.life.freeSite;
    if (freedSite !== null && !sim.heap.claimUafReport(this.owner)) return;
    const site = siteRef(sim.site(op));
    const object = objectRef(this.owner);
    const refHistory = sim.refHistory(this.owner);
    const refHistoryDropped = sim.refHistoryDropped(this.owner);
    const zeroedBy: SiteRef | null = this.zeroSite === null ? null : siteRef(this.zeroSite);
    const freed: SiteRef | null = freedSite === null ? null : siteRef(freedSite);
    if (kind === "refcount-inc-from-zero") sim.file({ kind, object, get: site, zeroedBy, freed, refHistory, refHistoryDropped });
    else if (kind === "refcount-underflow") sim.file({ kind, object, put: site, zeroedBy, freed, refHistory, refHistoryDropped });
    else sim.file({ kind, object, site, refHistory, refHistoryDropped });
  }

  /** @internal */
  markZero(op: string): void {
    this.zeroSite = this.owner.sim.site(op);
  }
}

function countNote(count: number): string {
  return count === REFCOUNT_SATURATED ? "saturated" : `count ${count}`;
}

function checkHolder(holder: string | undefined): void {
  if (holder !== undefined) is.string("holder", holder);
}

// Each body below first computes the refcount_t outcome. An anomaly (zero,
// underflow, overflow) is filed as the refcount warning, which also names the
// free when the owner is already gone: "an extra put" says more than "a use
// after free in Kref.put". A freed owner with no anomaly is a plain
// use-after-free.

// get and get_unless_zero yield one effect each: step ops (kernel/op.ts),
// which cost no generator per call.

/**
 * Take one reference on a count of `c`: zero, saturated (negative) or at the
 * maximum saturates the counter; with the refcounts check on, the holder and
 * the history record it. Warnings are the caller's.
 */
function increment(k: Kref, c: number, holder: string | undefined, op: string, event: "get" | "get-unless-zero"): void {
  const next = c <= 0 || c === REFCOUNT_MAX ? REFCOUNT_SATURATED : c + 1;
  k.count = next;
  const sim = k.owner.sim;
  sim.note(countNote(next));
  if (!sim.checks.refcounts) return;
  if (next > 0) k.addHolder(holder, op);
  sim.logRef(k.owner.id, event, next, holder);
}

/**
 * @internal kref_get() on a counter whose object was made in the current
 * step and is not yet visible to any other task: no step of its own (no
 * other task can race it). For a library op that must hand out two
 * references in the step that creates the object.
 */
export function krefGetFresh(k: Kref, holder: string | undefined, op: string): void {
  increment(k, k.count, holder, op, "get");
}

const KREF_GET_OP: StepBody<Kref, string | undefined, void> = {
  name: "kref_get",
  before: (k) => k.getEffect,
  after(k, holder) {
    const owner = k.owner;
    const sim = owner.sim;
    touch(sim, k, true, "Kref.get");
    const c = k.count;
    increment(k, c, holder, "kref_get", "get");
    if (sim.checks.refcounts) {
      if (c === 0 || c === REFCOUNT_MAX) {
        k.warn(c === 0 ? "refcount-inc-from-zero" : "refcount-saturated", "kref_get");
        return;
      }
    }
    guardLive(owner, "Kref.get");
  },
};

const KREF_GET_UNLESS_ZERO_OP: StepBody<Kref, string | undefined, boolean> = {
  name: "kref_get_unless_zero",
  before: (k) => k.getUnlessZeroEffect,
  after(k, holder) {
    const owner = k.owner;
    const sim = owner.sim;
    touch(sim, k, true, "Kref.getUnlessZero");
    // Even a failing get_unless_zero reads the counter: on freed memory that is a use-after-free.
    guardLive(owner, "Kref.getUnlessZero");
    const c = k.count;
    if (c === 0) {
      sim.note("count 0: not taken");
      if (sim.checks.refcounts) sim.logRef(owner.id, "get-unless-zero-failed", 0, holder);
      return false;
    }
    increment(k, c, holder, "kref_get_unless_zero", "get-unless-zero");
    if (sim.checks.refcounts && c === REFCOUNT_MAX) k.warn("refcount-saturated", "kref_get_unless_zero");
    return true;
  },
};

function* krefPut(
  this: Kref,
  release: Release<SimObject>,
  holder: string | undefined,
): Generator<Effect, boolean, unknown> {
  const owner = this.owner;
  yield this.putEffect;
  touch(this.owner.sim, this, true, "Kref.put");
  const sim = owner.sim;
  const c = this.count;
  if (c <= 0) {
    this.count = REFCOUNT_SATURATED;
    sim.note(countNote(REFCOUNT_SATURATED));
    if (sim.checks.refcounts) {
      sim.logRef(owner.id, "put", REFCOUNT_SATURATED, holder);
      if (c === 0) {
        this.warn("refcount-underflow", "kref_put");
        return false;
      }
    }
    guardLive(owner, "Kref.put");
    return false;
  }
  const live = guardLive(owner, "Kref.put");
  this.count = c - 1;
  sim.note(c === 1 ? "count 0, released" : countNote(c - 1));
  if (sim.checks.refcounts) {
    sim.logRef(owner.id, c === 1 ? "put-release" : "put", c - 1, holder);
    if (!this.dropHolder(holder, currentOrNull()) && live) {
      sim.file({
        kind: "refcount-holder-mismatch",
        object: objectRef(owner),
        holder: holder ?? null,
        put: siteRef(sim.site("kref_put")),
        outstanding: this.holderRefs(),
      });
    }
  }
  if (c !== 1) return false;
  // ORDER: record who zeroed the count before release frees the owner, so a
  // later get or put can name this site.
  this.markZero("kref_put");
  const r = release(owner);
  if (r !== undefined) yield* r;
  return true;
}
