/**
 * TraceRing: the last steps of a run, kept for the schedules in reports.
 *
 * Mirrors: nothing in the kernel; it plays the part of ftrace's ring buffer
 *   for the scheduler: what ran at each of the last `size` steps, why the
 *   running task changed there, and what the step's op noted.
 * Ownership: owned by one Scheduler, which records into it; the Sim reads it
 *   when it files a report (`tail()`).
 * Locking: single-threaded, like the Scheduler.
 * Invariants: slot `step % size` holds step `step` once that step began; a
 *   slot is overwritten `size` steps later. Recording allocates nothing (codes
 *   and pointers only), since it runs once per step.
 */
import type { ScheduleRow, ScheduleTail } from "../report/report.js";
import type { Effect } from "./effect.js";

/** Why the running task changed at a step, as reports' schedules say it. */
export const SWITCH_NONE = 0;
export const SWITCH_PREEMPTED = 1;
export const SWITCH_BLOCKED = 2;
export const SWITCH_DONE = 3;
export const SWITCH_INTERRUPT = 4;
export const SWITCH_INTERRUPTED = 5;

/** @internal The scheduler's ring of the last `size` steps. */
export class TraceRing {
  // Plain arrays of small integers, not typed arrays: a Sim is made per
  // explored execution, and each typed array's ArrayBuffer is an external
  // allocation the garbage collector must track and sweep.
  private readonly task: number[];
  private readonly effect: (Effect | null)[];
  /** Why the task switched at each step (SWITCH_*), and the previous task and its effect then. */
  private readonly switched: number[];
  private readonly prevTask: number[];
  private readonly prevEffect: (Effect | null)[];
  /** What an op noted about its outcome at each step (`taken`, `busy`, `-> 0, released`). */
  private readonly note: (string | null)[];

  /** @param size How many steps the ring keeps (> 0). */
  constructor(readonly size = 24) {
    this.task = new Array<number>(size).fill(0);
    this.effect = new Array<Effect | null>(size).fill(null);
    this.switched = new Array<number>(size).fill(0);
    this.prevTask = new Array<number>(size).fill(0);
    this.prevEffect = new Array<Effect | null>(size).fill(null);
    this.note = new Array<string | null>(size).fill(null);
  }

  /**
   * Step `step` was chosen: clear its note and record why the running task
   * changed (SWITCH_NONE: it did not; else the task that ran before, with the
   * effect it was left at).
   */
  begin(step: number, why: number, prevTaskId: number, prevEffect: Effect | null): void {
    const slot = step % this.size;
    this.note[slot] = null;
    this.switched[slot] = why;
    if (why !== SWITCH_NONE) {
      this.prevTask[slot] = prevTaskId;
      this.prevEffect[slot] = prevEffect;
    }
  }

  /** Step `step` runs `effect` of task `taskId`. */
  ran(step: number, taskId: number, effect: Effect): void {
    const slot = step % this.size;
    this.task[slot] = taskId;
    this.effect[slot] = effect;
  }

  /** The op running at step `step` notes its outcome. */
  noteAt(step: number, text: string): void {
    this.note[step % this.size] = text;
  }

  /** The distinct effects task `taskId` ran in the steps up to `last` the ring holds, in order: the body of its loop. */
  loopOf(last: number, taskId: number): string[] {
    const seen: string[] = [];
    for (let k = 0; k < this.size; k++) {
      const step = last - this.size + 1 + k;
      if (step < 1) continue;
      const slot = step % this.size;
      const e = this.effect[slot];
      if (this.task[slot] !== taskId || e === null || e === undefined) continue;
      const d = e.describe();
      if (!seen.includes(d)) seen.push(d);
    }
    return seen;
  }

  /**
   * The schedule of the steps up to `last` the ring holds: one column per
   * task in spawn (id) order, one row per step. `label` names a task by id.
   */
  tail(last: number, label: (taskId: number) => string): ScheduleTail {
    const first = Math.max(1, last - this.size + 1);
    const ids = new Set<number>();
    for (let step = first; step <= last; step++) ids.add(this.task[step % this.size] ?? 0);
    const columns = [...ids].sort((a, b) => a - b);
    const rows: ScheduleRow[] = [];
    for (let step = first; step <= last; step++) {
      const slot = step % this.size;
      const e = this.effect[slot];
      if (e === null || e === undefined) continue;
      const row: { step: number; column: number; effect: string; result?: string; switched?: string } = {
        step,
        column: columns.indexOf(this.task[slot] ?? 0),
        effect: e.describe(),
      };
      const note = this.note[slot];
      if (note !== null && note !== undefined) row.result = note;
      const why = this.switched[slot] ?? SWITCH_NONE;
      if (why !== SWITCH_NONE && step > first) row.switched = switchReason(why, label(this.prevTask[slot] ?? 0), this.prevEffect[slot] ?? null);
      rows.push(row);
    }
    return { tasks: columns.map(label), rows };
  }
}

function switchReason(why: number, prev: string, prevEffect: Effect | null): string {
  switch (why) {
    case SWITCH_PREEMPTED:
      return `preempts ${prev}`;
    case SWITCH_BLOCKED:
      return `${prev} blocked${prevEffect === null ? "" : ` in ${prevEffect.describe()}`}`;
    case SWITCH_DONE:
      return `${prev} ended`;
    case SWITCH_INTERRUPT:
      return `interrupt injected`;
    default:
      return `${prev} interrupted`;
  }
}
