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
 * An effect that can block names a {@link Waitable}; the task is enabled only
 * while the waitable says it can proceed, or once its deadline has passed.
 * The value a task receives back from `yield` is `true` when it proceeded
 * normally and `false` when it was woken by its deadline instead.
 */
import type { SimObject } from "./heap.js";
import type { Task } from "./task.js";

/** Every kind of effect, so reports and traces can name them. */
export type EffectKind =
  | "start"
  | "resched"
  | "sleep"
  | "free"
  | "kref-get"
  | "kref-get-unless-zero"
  | "kref-put"
  | "complete"
  | "complete-all"
  | "reinit-completion"
  | "wait-completion"
  | "try-wait-completion"
  | "irq-enter"
  | "lock"
  | "lock-read"
  | "trylock"
  | "unlock"
  | "choose";

const KIND_CODES: Record<EffectKind, number> = {
  start: 1,
  resched: 2,
  sleep: 3,
  free: 4,
  "kref-get": 5,
  "kref-get-unless-zero": 6,
  "kref-put": 7,
  complete: 8,
  "complete-all": 9,
  "reinit-completion": 10,
  "wait-completion": 11,
  "try-wait-completion": 12,
  "irq-enter": 13,
  lock: 14,
  "lock-read": 15,
  trylock: 16,
  unlock: 17,
  choose: 18,
};

/** Something a task can block on: a completion now, locks and fences later. */
export interface Waitable {
  /** A short label for reports, such as `Completion#4 "done"`. */
  readonly label: string;
  /** Whether `task` could proceed with its effect on this waitable now. */
  canProceed(task: Task): boolean;
  /**
   * The tasks that could make this waitable ready (a lock's owner), or
   * `null` when any task could (a completion). Used to draw the wait-for
   * cycle of a deadlock.
   */
  wakers(): readonly Task[] | null;
}

/** One announced operation. Immutable once yielded. */
export class Effect {
  /** @internal A small integer for the trace hash. */
  readonly code: number;

  constructor(
    readonly kind: EffectKind,
    /** The object the operation touches, if any. */
    readonly target: SimObject | null,
    /** What the task waits for before it can proceed; `null` never blocks. */
    readonly waitsFor: Waitable | null = null,
    /** Simulated time (ns) after which the task proceeds anyway. */
    readonly deadline = Infinity,
  ) {
    this.code = KIND_CODES[kind];
  }

  /** `kref-put Bo#3 "bo0"`, for schedules in reports. */
  describe(): string {
    if (this.waitsFor !== null && this.target === null) return `${this.kind} ${this.waitsFor.label}`;
    return this.target === null ? this.kind : `${this.kind} ${this.target.label}`;
  }
}

/** A waitable that never becomes ready: the target of a plain timed sleep. */
export const NEVER: Waitable = {
  label: "timer",
  canProceed: () => false,
  wakers: () => [],
};
