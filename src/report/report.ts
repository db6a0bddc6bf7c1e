/**
 * Report values: what the checks found, as plain data. The shared frame.
 *
 * A report holds no live simulation objects, only labels and numbers, so it
 * can be kept after the Sim is gone, compared, serialised to JSON (json.ts)
 * and formatted as text (text.ts). Every report carries the step and task
 * where it was noticed, the tail of the schedule, and a replay line.
 *
 * This file holds what every report shares: the base fields and the
 * references (objects, sites, refcount events, held locks, the schedule).
 * The kinds themselves are open: each layer declares its own in
 * `src/report/<layer>.ts` (data interface, text and fingerprint, see
 * registry.ts) with a map of them by name, which kinds.ts adds to
 * {@link ReportKinds}. `Report` is the union of whatever that map holds, so
 * `r.kind === "deadlock"` narrows as before.
 */
import type { BuiltinReportKinds } from "./kinds.js";

/** A simulated object as a report names it. */
export interface ObjectRef {
  readonly id: number;
  readonly type: string;
  readonly name: string;
  /** `Bo#3 "bo0"`, or `Completion#5 "done" in Job#4` for an embedded object. */
  readonly label: string;
}

/** Where something happened: task, step, operation, and a stack if captured. */
export interface SiteRef {
  /** Task label (`reader/2`), or null outside any task (world setup). */
  readonly task: string | null;
  readonly step: number;
  /** The operation, such as `kref_put` or `kfree`. */
  readonly op: string;
  readonly stack?: string;
}

/** One refcount event, for the history shown in reports. */
export interface RefEvent {
  readonly step: number;
  readonly task: string | null;
  readonly op: "init" | "get" | "get-unless-zero" | "get-unless-zero-failed" | "put" | "put-release";
  /** The count after the event (the kernel's saturated value is -1073741824). */
  readonly count: number;
  readonly holder?: string;
}

/** The last steps of the schedule, one column per task. */
export interface ScheduleTail {
  readonly tasks: readonly string[];
  readonly rows: readonly ScheduleRow[];
}

/** One step of a schedule. */
export interface ScheduleRow {
  readonly step: number;
  /** Index into `tasks`. */
  readonly column: number;
  readonly effect: string;
  /** What the operation noted about its outcome (`taken`, `busy`, `count 0, released`), if anything. */
  readonly result?: string;
  /** Why the scheduler switched to this task here, if it did: `preempted t1/1`, `t1/1 blocked in lock on Mutex#2 "B"`. */
  readonly switched?: string;
}

/** What every report carries, whatever its kind; the Sim fills these in when a check files one. */
export interface ReportBase {
  /** The step at which the report was filed (0 before the first step). */
  readonly step: number;
  /** The task running when it was filed, or null. */
  readonly task: string | null;
  readonly schedule: ScheduleTail;
  /** Token that reproduces this run: see `Sim` option `replay`. */
  readonly replay: string;
  /**
   * When the report was filed while a work item ran (in a workqueue worker):
   * where that work was queued, as KASAN's "Last potentially related work
   * creation". Absent otherwise. Not part of the fingerprint.
   */
  readonly queuedBy?: QueuedByRef;
}

/** The site that queued the work item a report was filed in (queue_work), and which work on which queue. */
export interface QueuedByRef extends SiteRef {
  /** The work item (`Work#4 "free_bo"`). */
  readonly work: string;
  /** The workqueue it was queued on (`Workqueue#2 "events"`). */
  readonly workqueue: string;
}

/** A counted reference still held, and where it was taken. */
export interface HolderRef {
  /** The holder tag, or null for untagged references (then `count` says how many). */
  readonly holder: string | null;
  readonly count: number;
  /** Where the reference was taken (for tagged holders). */
  readonly site: SiteRef | null;
}

/** A lock held by a task, as reports list them (innermost last). */
export interface HeldRef {
  /** The lock instance, such as `Mutex#3 "vm->lock"`. */
  readonly lock: string;
  readonly lockClass: string;
  readonly acquired: SiteRef;
  /**
   * True when the lock was not taken in a step of its own: a lock map
   * (fs_reclaim, dma_fence_map), or a lock still being asked for.
   * `acquired.step` is then the task's step after which that happened.
   * Absent when `acquired.step` is the step that took it.
   */
  readonly after?: true;
  readonly trylock: boolean;
  readonly read: boolean;
}


/**
 * Every report kind, by name: the open map the `Report` union is read from.
 * Each key equals its report's `kind`.
 *
 * The built-in layers' kinds come in through {@link BuiltinReportKinds}
 * (kinds.ts). Code compiled together with the sources (an example, a test, a
 * layer under construction) may also add a kind by module augmentation:
 *
 * ```ts
 * declare module "../src/report/report.js" {
 *   interface ReportKinds {
 *     "job-timeout": JobTimeoutReport;
 *   }
 * }
 * ```
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- the layers' maps are the content; augmentation may add more
export interface ReportKinds extends BuiltinReportKinds {}

/** The name of a report kind: a key of {@link ReportKinds}. */
export type ReportKind = keyof ReportKinds;

/** Any report: the union of every kind in {@link ReportKinds}. */
export type Report = ReportKinds[ReportKind];

/** A report as filed by a check: the base fields are filled in by the Sim. */
export type ReportBody = Report extends infer R ? (R extends Report ? Omit<R, keyof ReportBase> : never) : never;

// The built-in layers' kinds and their parts, re-exported so that imports
// from this file keep working. A new layer need not add itself here: its
// types are exported from its own file and from src/index.ts.
export type {
  DeadlockReport,
  DoubleFreeReport,
  LeakedObject,
  LeakReport,
  LivelockReport,
  RefcountHolderMismatchReport,
  RefcountIncFromZeroReport,
  RefcountSaturatedReport,
  RefcountUnderflowReport,
  SleepInAtomicReport,
  StepLimitReport,
  TaskExceptionReport,
  TaskMisuseReport,
  UnstartedOpReport,
  UseAfterFreeReport,
  WaitEdge,
} from "./runtime-kinds.js";
export type {
  BadUnlockReport,
  DependencyRef,
  InvalidWaitContextReport,
  IrqLockInversionReport,
  LockHeldAtExitReport,
  LockHeldAtFreeReport,
  LockNotHeldReport,
  LockOrderCycleReport,
  RecursiveLockingReport,
  Witness,
  WwMutexMisuseReport,
} from "./lock-kinds.js";
