/**
 * Completion: the first thing a task can block on.
 *
 * Mirrors: struct completion — complete(), complete_all(),
 *   wait_for_completion(), wait_for_completion_timeout(),
 *   try_wait_for_completion(), completion_done(), reinit_completion().
 * Ownership: not refcounted; it lives in (or as) an object whose lifetime the
 *   user manages. Embed it with `{ embeddedIn: job }` to share the job's life.
 * Locking: none needed; every operation is one atomic step (an effect).
 * States: `done` counts completions not yet consumed by a waiter;
 *   complete_all() makes it "all" (every present and future wait passes)
 *   until reinit().
 * Invariants: a waiter proceeds only when `done > 0`, and consumes one unless
 *   `done` is "all". Which of several waiters wakes is a scheduling choice
 *   (the kernel wakes in FIFO order; the simulation explores every order).
 */
import { is } from "../validate.js";
import { defineEffectKind, Effect, WRITE, WRITE_IF, type Waitable } from "./effect.js";
import { guardLive, noteTouched, touch, SimObject, type SimObjectOptions, LIBRARY_CLASS } from "./heap.js";
import { makeOp, type Op } from "./op.js";
import type { Sim } from "./sim.js";
import { checkMightSleep } from "./context.js";
import { current, type Task } from "./task.js";

/** The kernel's UINT_MAX "completed for everyone" value. */
const ALL = 0xffffffff;

export class Completion extends SimObject implements Waitable {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  /** @internal */ done = 0;

  /** @throws as SimObject's constructor: ArgumentError naming `sim`, `options` or the option. */
  constructor(sim: Sim, options: SimObjectOptions = {}) {
    super(sim, "Completion", options);
  }

  /** Waitable (public because Waitable is): a waiter can proceed once something is completed. A query. */
  canProceed(_task: Task): boolean {
    return this.done !== 0;
  }

  /** Waitable: any task could complete it. A query. */
  wakers(): null {
    return null;
  }

  /**
   * Mirrors completion_done(): whether a wait would pass now (no effect).
   * The kernel's comment says it tells whether there are waiters; its code,
   * which this follows, tests the done count (docs/kernel-differences.md).
   */
  completionDone(): boolean {
    noteTouched(this.sim, this, false);
    return this.done !== 0;
  }

  /** Mirrors complete(): let one waiter (present or future) through. */
  complete(): Op<void> {
    return makeOp("complete", this, completeBody);
  }

  /** Mirrors complete_all(): let every waiter through until reinit(). */
  completeAll(): Op<void> {
    return makeOp("complete_all", this, completeAllBody);
  }

  /** Mirrors reinit_completion(): back to not completed. */
  reinit(): Op<void> {
    return makeOp("reinit_completion", this, reinitBody);
  }

  /** Mirrors wait_for_completion(): block until completed, consume one. */
  waitForCompletion(): Op<void> {
    return makeOp("wait_for_completion", this, waitBody, Infinity) as Op<unknown> as Op<void>;
  }

  /**
   * Mirrors wait_for_completion_timeout(): block at most `timeoutNs` of
   * simulated time. Returns whether it was completed (false: timed out).
   *
   * @throws ArgumentError naming `timeoutNs` when it is not a number;
   *   ArgumentRangeError when it is not finite, negative or above
   *   MAX_NANOSECONDS (validate.ts).
   */
  waitForCompletionTimeout(timeoutNs: number): Op<boolean> {
    is.nanoseconds("timeoutNs", timeoutNs);
    return makeOp("wait_for_completion_timeout", this, waitBody, timeoutNs);
  }

  /** Mirrors try_wait_for_completion(): consume one if completed, never block. */
  tryWaitForCompletion(): Op<boolean> {
    return makeOp("try_wait_for_completion", this, tryWaitBody);
  }

  /** @internal */
  consume(): void {
    if (this.done !== ALL) this.done--;
  }

  /** @internal */
  add(n: number): void {
    // As the kernel's code does: complete() counts up to UINT_MAX, where the
    // completion becomes "done for everyone" just as after complete_all().
    this.done = n === ALL || this.done === ALL ? ALL : Math.min(this.done + n, ALL);
  }

  /** @internal */
  clear(): void {
    this.done = 0;
  }
}

/** complete(): two completes commute (each adds one, up to the same saturation). */
export const COMPLETE = defineEffectKind({ name: "complete", commutesWith: ["self"] });
export const COMPLETE_ALL = defineEffectKind({ name: "complete-all" });
export const REINIT_COMPLETION = defineEffectKind({ name: "reinit-completion" });
/** wait_for_completion(): consumes one (a write); a wait that timed out only read. */
export const WAIT_COMPLETION = defineEffectKind({ name: "wait-completion" });
/** try_wait_for_completion(): consumes one if done, else only reads; not progress when it fails. */
export const TRY_WAIT_COMPLETION = defineEffectKind({ name: "try-wait-completion", progress: false });

function* completeBody(this: Completion): Generator<Effect, void, unknown> {
  yield new Effect(COMPLETE, this, WRITE);
  touch(this.sim, this, true, "Completion.complete");
  if (guardLive(this, "Completion.complete")) this.add(1);
}

function* completeAllBody(this: Completion): Generator<Effect, void, unknown> {
  yield new Effect(COMPLETE_ALL, this, WRITE);
  touch(this.sim, this, true, "Completion.completeAll");
  if (guardLive(this, "Completion.completeAll")) this.add(ALL);
}

function* reinitBody(this: Completion): Generator<Effect, void, unknown> {
  yield new Effect(REINIT_COMPLETION, this, WRITE);
  touch(this.sim, this, true, "Completion.reinit");
  if (guardLive(this, "Completion.reinit")) this.clear();
}

function* waitBody(this: Completion, timeoutNs: number): Generator<Effect, boolean, unknown> {
  // As __wait_for_common() does: waiting may sleep, even when it need not.
  checkMightSleep(current(), "wait_for_completion");
  guardLive(this, "Completion.waitForCompletion");
  const proceeded = yield new Effect(WAIT_COMPLETION, this, WRITE_IF, this, this, this.sim.now + timeoutNs);
  touch(this.sim, this, proceeded === true, "Completion.waitForCompletion");
  if (proceeded !== true) {
    this.sim.note("timed out");
    return false;
  }
  if (guardLive(this, "Completion.waitForCompletion")) this.consume();
  return true;
}

function* tryWaitBody(this: Completion): Generator<Effect, boolean, unknown> {
  yield new Effect(TRY_WAIT_COMPLETION, this, WRITE_IF, this, null, Infinity, this);
  touch(this.sim, this, true, "Completion.tryWaitForCompletion");
  if (!guardLive(this, "Completion.tryWaitForCompletion") || this.done === 0) {
    this.sim.note("not done");
    return false;
  }
  this.consume();
  return true;
}
