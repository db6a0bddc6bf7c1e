/**
 * current(): the task whose code is running now.
 *
 * Mirrors: the kernel's `current` (the task_struct of the running thread).
 * Ownership: holds no reference; the scheduler sets it around each step of
 *   a task and restores the previous value afterwards.
 * Locking: none; one simulated task runs at a time.
 * Invariants: exactly one task is current while simulated code runs, and
 *   none outside.
 *
 * A file of its own, apart from task.ts, so that ops, the scheduler and the
 * context checks can ask for the current task without importing Task's
 * implementation: task.ts itself imports those files, and the imports
 * would otherwise go round in a circle.
 */
import { UsageError } from "../errors.js";
import type { Task } from "./task.js";

let running: Task | null = null;

/** The task whose code is running now. Throws outside a simulated task. */
export function current(): Task {
  if (running === null) throw new UsageError("current() called outside a simulated task");
  return running;
}

/** @internal */
export function currentOrNull(): Task | null {
  return running;
}

/**
 * @internal Every Sim made (Sim's constructor adds itself): how the op
 * machinery tells a Sim from any other value of an object's `sim` field
 * without importing Sim (which imports it).
 */
export const allSims = new WeakSet<object>();

/** @internal The scheduler's switch; returns the previous task. */
export function setCurrent(task: Task | null): Task | null {
  const prev = running;
  running = task;
  return prev;
}
