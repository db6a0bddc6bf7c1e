/**
 * Report values: what the checks found, as plain data.
 *
 * A report is a union on `kind`. It holds no live simulation objects, only
 * labels and numbers, so it can be kept after the Sim is gone, compared,
 * serialised to JSON (json.ts) and formatted as text (text.ts, the only
 * formatter). Every report carries the step and task where it was noticed,
 * the tail of the schedule, and a replay line.
 */

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

export interface ReportBase {
  /** The step at which the report was filed (0 before the first step). */
  readonly step: number;
  /** The task running when it was filed, or null. */
  readonly task: string | null;
  readonly schedule: ScheduleTail;
  /** Token that reproduces this run: see `Sim` option `replay`. */
  readonly replay: string;
}

export interface UseAfterFreeReport extends ReportBase {
  readonly kind: "use-after-free";
  readonly object: ObjectRef;
  /** What was used: a method or field name, such as `Kref.get` or `size`. */
  readonly access: string;
  readonly accessed: SiteRef;
  readonly allocated: SiteRef;
  readonly freed: SiteRef;
  readonly refHistory: readonly RefEvent[];
}

export interface DoubleFreeReport extends ReportBase {
  readonly kind: "double-free";
  readonly object: ObjectRef;
  readonly allocated: SiteRef;
  readonly firstFree: SiteRef;
  readonly secondFree: SiteRef;
}

export interface RefcountUnderflowReport extends ReportBase {
  readonly kind: "refcount-underflow";
  readonly object: ObjectRef;
  /** The put that went below zero. */
  readonly put: SiteRef;
  /** The put that had already dropped the count to zero, if seen. */
  readonly zeroedBy: SiteRef | null;
  /** Where the object was freed, if it was (the extra put then touched freed memory). */
  readonly freed: SiteRef | null;
  readonly refHistory: readonly RefEvent[];
}

export interface RefcountIncFromZeroReport extends ReportBase {
  readonly kind: "refcount-inc-from-zero";
  readonly object: ObjectRef;
  readonly get: SiteRef;
  readonly zeroedBy: SiteRef | null;
  /** Where the object was freed, if it was. */
  readonly freed: SiteRef | null;
  readonly refHistory: readonly RefEvent[];
}

export interface RefcountSaturatedReport extends ReportBase {
  readonly kind: "refcount-saturated";
  readonly object: ObjectRef;
  readonly site: SiteRef;
  readonly refHistory: readonly RefEvent[];
}

export interface RefcountHolderMismatchReport extends ReportBase {
  readonly kind: "refcount-holder-mismatch";
  readonly object: ObjectRef;
  /** The holder tag given to put, or null for an untagged put. */
  readonly holder: string | null;
  readonly put: SiteRef;
  /** The references outstanding at the time, by holder. */
  readonly outstanding: readonly HolderRef[];
}

/** A counted reference still held, and where it was taken. */
export interface HolderRef {
  /** The holder tag, or null for untagged references (then `count` says how many). */
  readonly holder: string | null;
  readonly count: number;
  /** Where the reference was taken (for tagged holders). */
  readonly site: SiteRef | null;
}

export interface LeakedObject {
  readonly object: ObjectRef;
  readonly allocated: SiteRef;
  /** Each refcount embedded in the object, with its outstanding holders. */
  readonly refcounts: readonly { readonly count: number; readonly saturated: boolean; readonly holders: readonly HolderRef[] }[];
}

export interface LeakReport extends ReportBase {
  readonly kind: "leak";
  readonly objects: readonly LeakedObject[];
}

export interface WaitEdge {
  readonly task: string;
  /** The effect the task is blocked in, such as `wait-completion`. */
  readonly blockedIn: string;
  /** What it waits for, such as `Completion#1 "x"`. */
  readonly waitsFor: string;
  /** The tasks that could unblock it. */
  readonly wakers: readonly string[];
  /** True when the waitable has no owner and `wakers` was inferred as "every other blocked task". */
  readonly inferred: boolean;
}

export interface DeadlockReport extends ReportBase {
  readonly kind: "deadlock";
  /** Every task still alive, each blocked. */
  readonly blocked: readonly WaitEdge[];
  /** A wait-for cycle among them: each task waits for the next, the last for the first. */
  readonly cycle: readonly WaitEdge[];
}

export interface UnstartedOpReport extends ReportBase {
  readonly kind: "unstarted-op";
  readonly op: string;
  readonly created: SiteRef;
  /** `yield`: the task yielded again first; `exit`: it ended first; `yielded-op`: it wrote `yield op` for `yield* op`. */
  readonly noticed: "yield" | "exit" | "yielded-op";
}

export interface StepLimitReport extends ReportBase {
  readonly kind: "step-limit";
  readonly limit: number;
  /** The tasks still alive, with their next effect. */
  readonly live: readonly { readonly task: string; readonly next: string }[];
}

export interface LivelockReport extends ReportBase {
  readonly kind: "livelock";
  readonly limit: number;
  /** The tasks that kept running without progress, with the effects of their loop. */
  readonly spinning: readonly { readonly task: string; readonly steps: number; readonly loop: readonly string[] }[];
  readonly live: readonly { readonly task: string; readonly next: string }[];
}

export interface TaskExceptionReport extends ReportBase {
  readonly kind: "task-exception";
  readonly error: string;
  readonly stack?: string;
}

/** A lock held by a task, as reports list them (innermost last). */
export interface HeldRef {
  /** The lock instance, such as `Mutex#3 "vm->lock"`. */
  readonly lock: string;
  readonly lockClass: string;
  readonly acquired: SiteRef;
  readonly trylock: boolean;
  readonly read: boolean;
}

/** Where lockdep saw an acquisition: across simulations, so with the run's replay token. */
export interface Witness {
  readonly task: string;
  readonly step: number;
  readonly op: string;
  /** The replay token of the run it happened in ("boot" for the primed order). */
  readonly replay: string;
}

/** One edge of the lock dependency graph: `to` was taken while `from` was held. */
export interface DependencyRef {
  readonly from: string;
  readonly to: string;
  /** Where `from` was acquired, in the acquisition that created the edge. */
  readonly fromSite: Witness;
  /** Where `to` was acquired while `from` was held. */
  readonly toSite: Witness;
}

export interface LockOrderCycleReport extends ReportBase {
  readonly kind: "lock-order-cycle";
  /** The cycle, starting with the edge just added: each edge's `to` is the next one's `from`. */
  readonly cycle: readonly DependencyRef[];
  /** What the task that closed the cycle holds. */
  readonly held: readonly HeldRef[];
  /** Whether this run did end in a deadlock (false: only the order is wrong, so far). */
  readonly actual: boolean;
}

export interface RecursiveLockingReport extends ReportBase {
  readonly kind: "recursive-locking";
  readonly lock: string;
  readonly lockClass: string;
  /** The acquisition of the same class already held. */
  readonly first: HeldRef;
  readonly second: SiteRef;
  readonly held: readonly HeldRef[];
}

export interface IrqLockInversionReport extends ReportBase {
  readonly kind: "irq-lock-inversion";
  readonly irq: "hardirq" | "softirq";
  /** `inconsistent`: one class used both in the irq and with it enabled; `safe-to-unsafe`: an irq-safe class held while taking an irq-unsafe one. */
  readonly variant: "inconsistent" | "safe-to-unsafe";
  /** The class used in irq context, and where. */
  readonly safe: { readonly lockClass: string; readonly site: Witness };
  /** The class used with the irq enabled, and where. */
  readonly unsafe: { readonly lockClass: string; readonly site: Witness };
  /** Classes from the safe one to the unsafe one (one class when inconsistent). */
  readonly path: readonly string[];
  readonly held: readonly HeldRef[];
}

export interface InvalidWaitContextReport extends ReportBase {
  readonly kind: "invalid-wait-context";
  readonly lock: string;
  readonly lockClass: string;
  /** What forbids sleeping: a held spinlock's label, or the context (`hardirq`, `softirq`). */
  readonly forbiddenBy: string;
  readonly held: readonly HeldRef[];
}

export interface BadUnlockReport extends ReportBase {
  readonly kind: "bad-unlock";
  readonly lock: string;
  /** Who holds it, if anyone. */
  readonly owner: string | null;
  readonly held: readonly HeldRef[];
}

export interface LockHeldAtFreeReport extends ReportBase {
  readonly kind: "lock-held-at-free";
  readonly lock: string;
  readonly holder: string;
  readonly acquired: SiteRef | null;
  readonly freed: SiteRef;
}

export interface LockHeldAtExitReport extends ReportBase {
  readonly kind: "lock-held-at-exit";
  readonly held: readonly HeldRef[];
}

export interface LockNotHeldReport extends ReportBase {
  readonly kind: "lock-not-held";
  readonly lock: string;
  /** Who holds it instead, if anyone. */
  readonly owner: string | null;
  readonly held: readonly HeldRef[];
}

export interface SleepInAtomicReport extends ReportBase {
  readonly kind: "sleep-in-atomic";
  /** The operation that may sleep, such as `mutex_lock`. */
  readonly op: string;
  /** Why the context is atomic. */
  readonly reason: "spinlock" | "irqs-disabled" | "bh-disabled" | "hardirq" | "softirq";
  /** The spinlock that made it atomic, when that is the reason. */
  readonly lock: HeldRef | null;
  readonly held: readonly HeldRef[];
}

export interface WwMutexMisuseReport extends ReportBase {
  readonly kind: "ww-mutex-misuse";
  readonly problem:
    | "slow-lock-with-locks-held"
    | "slow-lock-wrong-mutex"
    | "fini-with-locks-held"
    | "used-after-fini"
    | "acquire-after-done"
    | "done-twice"
    | "unlock-not-held"
    | "two-contexts";
  readonly ctx: string;
  readonly lock: string | null;
  readonly detail: string;
  readonly held: readonly HeldRef[];
}

export type Report =
  | UseAfterFreeReport
  | DoubleFreeReport
  | RefcountUnderflowReport
  | RefcountIncFromZeroReport
  | RefcountSaturatedReport
  | RefcountHolderMismatchReport
  | LeakReport
  | DeadlockReport
  | UnstartedOpReport
  | StepLimitReport
  | LivelockReport
  | TaskExceptionReport
  | LockOrderCycleReport
  | RecursiveLockingReport
  | IrqLockInversionReport
  | InvalidWaitContextReport
  | BadUnlockReport
  | LockHeldAtFreeReport
  | LockHeldAtExitReport
  | LockNotHeldReport
  | SleepInAtomicReport
  | WwMutexMisuseReport;

export type ReportKind = Report["kind"];

/** A report as filed by a check: the base fields are filled in by the Sim. */
export type ReportBody = Report extends infer R ? (R extends Report ? Omit<R, keyof ReportBase> : never) : never;
