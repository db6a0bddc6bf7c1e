/**
 * Effects: what a simulated task announces before it touches shared state.
 *
 * A task is a generator. Before every operation another task could observe,
 * it yields an {@link Effect}; the scheduler sees the effect, decides which
 * task runs next, and resumes the chosen task, which then performs the
 * operation in its own code until its next yield. Because the operation
 * happens right after the resume and nothing else runs in between, "the lock
 * was free when I was picked" is still true when the task takes it.
 *
 * Every effect has a kind, defined by the layer that owns it with
 * {@link defineEffectKind} (the kernel knows no lock, fence or page-table
 * kind), and a footprint: the objects the step touches, from the effect up
 * to the task's next yield, each read or written. Two steps of different
 * tasks are dependent when their footprints share an object and one of them
 * writes it, unless their kinds commute. The explorer's partial-order
 * reduction rests on that contract; docs/exploration.md states it in full.
 *
 * An effect that can block names a {@link Waitable}; the task is enabled only
 * while the waitable says it can proceed, or once its deadline has passed.
 * The value a task receives back from `yield` is `true` when it proceeded
 * normally and `false` when it was woken by its deadline instead.
 */
import { ArgumentError } from "../errors.js";
import { checkOptions, describeValue, is, type Spec } from "../validate.js";
import type { SimObject } from "./heap.js";
import type { Task } from "./task.js";

/** How a step uses an object: reads it only, or may change it. */
export type AccessMode = "read" | "write";

/** What a layer says about a kind of effect when it defines it. */
export interface EffectKindSpec {
  /** The kind's name, as schedules in reports show it (`lock`, `kref-put`). */
  readonly name: string;
  /**
   * Whether running a step of this kind is progress (default true). A task
   * whose steps are all non-progress (cond_resched, a failed trylock, a
   * choice) is spinning: see docs/exploration.md, "Spinning".
   */
  readonly progress?: boolean;
  /**
   * Kinds whose steps commute with this kind's on the same object: both
   * orders of the two steps reach the same state (two kref gets). `"self"`
   * names the kind being defined. The relation is symmetric.
   */
  readonly commutesWith?: readonly (EffectKind | "self")[];
  /**
   * Kinds whose steps, taken by another task on the same object, are never
   * enabled in the same state as this kind's (a lock by one task and an
   * unlock by the holder). The reduction looks past such a step when it
   * searches for the step a blocked acquisition races with. The relation is
   * symmetric. Declaring a pair that can be enabled together makes the
   * reduction unsound: declare only what the object's rules guarantee.
   */
  readonly neverCoEnabledWith?: readonly (EffectKind | "self")[];
}

/** A kind of effect: its name, whether it is progress, and what it commutes with. */
export class EffectKind {
  /** @internal 32 bits of the name's FNV-1a hash: what the trace hash mixes in. */
  readonly code: number;
  /** @internal */ readonly commutes = new Set<EffectKind>();
  /** @internal */ readonly exclusive = new Set<EffectKind>();

  /** @internal Use {@link defineEffectKind}. */
  constructor(
    readonly name: string,
    readonly progress: boolean,
  ) {
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
    this.code = h >>> 0;
  }

  /** Whether a step of this kind and one of `other` on the same object commute. */
  commutesWith(other: EffectKind): boolean {
    return this.commutes.has(other);
  }

  /** Whether steps of this kind and of `other` by different tasks on one object are never enabled together. */
  neverCoEnabledWith(other: EffectKind): boolean {
    return this.exclusive.has(other);
  }

  toString(): string {
    return this.name;
  }
}

/**
 * Define a kind of effect. Each layer defines its own kinds, once, at module
 * load (`const LOCK = defineEffectKind({ name: "lock" })`). A kind is its
 * object: two kinds may share a name (two scenario files may each define
 * "list-add"), though schedules then print them alike.
 *
 * @throws ArgumentError naming the field of `spec` that is wrong: `spec`
 *   not an object; an unknown key (`spec.progres`, listing the known ones); `spec.name` not 1 to 64 printable characters without
 *   spaces; `spec.progress` not a boolean; `spec.commutesWith` or
 *   `spec.neverCoEnabledWith` not an array of EffectKinds and "self". Nothing
 *   is defined or changed then.
 */
export function defineEffectKind(spec: EffectKindSpec): EffectKind {
  if ((spec as EffectKindSpec | null) === null || typeof spec !== "object" || Array.isArray(spec)) {
    throw new ArgumentError("spec", `must be an object { name, progress?, commutesWith?, neverCoEnabledWith? }, got ${describeValue(spec)}`);
  }
  checkOptions("spec", spec, EFFECT_KIND_SPEC);
  const { name, progress, commutesWith, neverCoEnabledWith } = spec;
  if (typeof name !== "string" || !KIND_NAME.test(name)) {
    throw new ArgumentError("spec.name", "must be 1 to 64 printable characters without spaces, such as \"list-add\"");
  }
  if (progress !== undefined && typeof progress !== "boolean") throw new ArgumentError("spec.progress", "must be a boolean");
  const commutes = kindList(commutesWith, "spec.commutesWith");
  const exclusive = kindList(neverCoEnabledWith, "spec.neverCoEnabledWith");
  // Every argument checked: from here on nothing can fail half-way.
  const kind = new EffectKind(name, progress ?? true);
  for (const k of commutes) {
    const other = k === "self" ? kind : k;
    kind.commutes.add(other);
    other.commutes.add(kind);
  }
  for (const k of exclusive) {
    const other = k === "self" ? kind : k;
    kind.exclusive.add(other);
    other.exclusive.add(kind);
  }
  return kind;
}

/** The keys of an EffectKindSpec (each value is checked in defineEffectKind, with its own message). */
const EFFECT_KIND_SPEC: Spec<EffectKindSpec> = { name: is.any, progress: is.any, commutesWith: is.any, neverCoEnabledWith: is.any };

/** Printable ASCII without spaces, 1 to 64 characters. */
const KIND_NAME = /^[\x21-\x7e]{1,64}$/;

function kindList(list: unknown, what: string): readonly (EffectKind | "self")[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new ArgumentError(what, 'must be an array of EffectKinds and "self"');
  const out: (EffectKind | "self")[] = [];
  for (const k of list as unknown[]) {
    if (k !== "self" && !(k instanceof EffectKind)) throw new ArgumentError(what, 'must list only EffectKinds (from defineEffectKind) and "self"');
    out.push(k);
  }
  return out;
}

/** Something a task can block on: a lock, a completion, a fence. */
export interface Waitable {
  /** A short label for reports, such as `Completion#4 "done"`. */
  readonly label: string;
  /** Whether `task` could proceed with its effect on this waitable now. */
  canProceed(task: Task): boolean;
  /**
   * The tasks that could make this waitable ready (a lock's holder), or
   * `null` when any task could (a completion). Used to draw the wait-for
   * cycle of a deadlock.
   */
  wakers(): readonly Task[] | null;
}

/** Footprint modes, as stored on an effect. */
export const NONE = 0;
export const READ = 1;
export const WRITE = 2;
/** Writes when the step proceeds (its probe can proceed), else only reads: a trylock. */
export const WRITE_IF = 3;
/** Touches the whole allocation of its object (the object and everything embedded in it): a free. */
export const WRITE_ALL = 4;
/** Dependent with every step that touches anything: a step whose effects the model cannot name. */
export const EVERYTHING = 5;

/** One extra object a step touches, beyond its effect's main object. */
export interface Access {
  readonly object: object;
  readonly mode: AccessMode;
}

/** One announced operation. Immutable once yielded; made by the library's ops, never by users. */
export class Effect {
  /** @internal */
  constructor(
    readonly kind: EffectKind,
    /** The object reports name for the operation, if any. */
    readonly target: SimObject | null,
    /**
     * @internal How the step uses {@link object}: NONE, READ, WRITE,
     * WRITE_IF (with `probe`), WRITE_ALL or EVERYTHING.
     */
    readonly mode: number,
    /** @internal The object the footprint names: the target, or a part of it (a kref). */
    readonly object: object | null = target,
    /** What the task waits for before it can proceed; `null` never blocks. */
    readonly waitsFor: Waitable | null = null,
    /** Simulated time (ns) after which the task proceeds anyway. */
    readonly deadline = Infinity,
    /** @internal For WRITE_IF: the step writes only if this can proceed (defaults to `waitsFor`). */
    readonly probe: Waitable | null = waitsFor,
    /** @internal Further objects the same step touches. */
    readonly also: readonly Access[] | null = null,
  ) {
    this.mayOnlyRead =
      deadline === Infinity && ((mode === READ && (also === null || also.every((a) => a.mode === "read"))) || (mode === WRITE_IF && probe !== null && waitsFor === null));
  }

  /**
   * @internal Whether the step may change nothing another task sees (a read,
   * or a trylock-like step whose probe may fail): the scheduler asks only
   * then whether a step counts as progress. Computed once per effect.
   */
  readonly mayOnlyRead: boolean;

  /** Made on first use; see {@link yielded}. */
  private yieldedResult: IteratorResult<Effect, never> | null = null;

  /**
   * @internal The iterator result that yields this effect, made once: a
   * one-effect op (op.ts, makeStepOp) returns it from next() instead of a
   * new object per step. Frozen, as every holder only reads it.
   */
  get yielded(): IteratorResult<Effect, never> {
    return (this.yieldedResult ??= Object.freeze({ value: this, done: false }));
  }

  /** `kref-put Bo#3 "bo0"`, for schedules in reports. */
  describe(): string {
    if (this.waitsFor !== null && this.target === null) return `${this.kind.name} ${this.waitsFor.label}`;
    return this.target === null ? this.kind.name : `${this.kind.name} ${this.target.label}`;
  }
}

/**
 * @internal How `e` uses its object if `task` ran it now: WRITE_IF resolves
 * to WRITE when its probe can proceed (or, with `proceeding`, as if it did:
 * a blocked wait that got what it waits for), else READ; a step with a
 * deadline touches everything (time is shared by every task). The one
 * place a step's mode is decided, for the explorer, the scheduler's spin
 * rules and the footprint check.
 */
export function modeNow(e: Effect, task: Task, proceeding = false): number {
  if (e.deadline !== Infinity) return EVERYTHING;
  const mode = e.mode;
  if (mode !== WRITE_IF) return mode;
  return proceeding || e.probe === null || e.probe.canProceed(task) ? WRITE : READ;
}

/** A waitable that never becomes ready: the target of a plain timed sleep. */
export const NEVER: Waitable = {
  label: "timer",
  canProceed: () => false,
  wakers: () => [],
};
