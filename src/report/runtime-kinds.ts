/**
 * The kernel layer's report kinds: memory (use-after-free, double-free,
 * leak), refcounts (kref and ref_tracker warnings), the scheduler's
 * (deadlock, livelock, step limit, a task's exception, an op never run) and
 * atomic context (sleep-in-atomic). Each kind is its data type, listed in
 * {@link KernelReportKinds}, and its definition: headline, rows, fingerprint.
 */
import { indentStack, pad, siteRow, taskName } from "./frame.js";
import { canonicalCycle, defineReportKind, fingerprintName } from "./registry.js";
import type { HeldRef, HolderRef, ObjectRef, RefEvent, ReportBase, SiteRef } from "./report.js";

/**
 * The kernel layer's kinds by name, each key equal to its report's `kind`.
 * kinds.ts adds this map to `ReportKinds`, so these kinds are in `Report`.
 */
export interface KernelReportKinds {
  "use-after-free": UseAfterFreeReport;
  "double-free": DoubleFreeReport;
  "refcount-underflow": RefcountUnderflowReport;
  "refcount-inc-from-zero": RefcountIncFromZeroReport;
  "refcount-saturated": RefcountSaturatedReport;
  "refcount-holder-mismatch": RefcountHolderMismatchReport;
  leak: LeakReport;
  deadlock: DeadlockReport;
  "unstarted-op": UnstartedOpReport;
  "step-limit": StepLimitReport;
  livelock: LivelockReport;
  "task-exception": TaskExceptionReport;
  "task-misuse": TaskMisuseReport;
  "sleep-in-atomic": SleepInAtomicReport;
  "context-at-exit": ContextAtExitReport;
  usage: UsageReport;
}

/**
 * A task ended with its context unbalanced and no lock held (with locks
 * held the report is `lock-held-at-exit`): the kernel's notes at task exit,
 * "exited with irqs disabled" and "exited with preempt_count N". The
 * report's `task` is the task that ended.
 */
export interface ContextAtExitReport extends ReportBase {
  readonly kind: "context-at-exit";
  /** preempt_disable() sections (and local locks) not ended: the kernel's preempt_count, without the irq parts. */
  readonly preemptCount: number;
  /** Irqs left disabled (local_irq_save() without its restore, or a hardirqEnter() section). */
  readonly irqsDisabled: boolean;
  /** Bottom halves left disabled by localBhDisable() (softirq sections are counted apart). */
  readonly bhDisabled: boolean;
  /** hardirqEnter() sections not exited. */
  readonly hardirqSections: number;
  /** softirqEnter() sections not exited. */
  readonly softirqSections: number;
}

/**
 * A library op touched a simulated object outside the footprint its step
 * declared (the footprint check, `checks.footprint`): a bug in the op, which
 * the explorer's reduction would silently get wrong.
 */
export interface UsageReport extends ReportBase {
  readonly kind: "usage";
  readonly problem: "undeclared-access";
  /** The op that touched it (`mutex_unlock`). */
  readonly op: string;
  /** The object it touched (`Mutex#2 "m"`, or `Kref of Bo#3 "bo0"`). */
  readonly object: string;
  /** The object's type, for fingerprints (`Mutex`, `Kref`). */
  readonly objectType: string;
  readonly mode: "read" | "write";
  /** The effect the step announced, as schedules show it. */
  readonly declared: string;
}

/** A method or accessor of a freed object was used (KASAN: use-after-free). */
export interface UseAfterFreeReport extends ReportBase {
  readonly kind: "use-after-free";
  readonly object: ObjectRef;
  /** What was used: a method or field name, such as `Kref.get` or `size`. */
  readonly access: string;
  readonly accessed: SiteRef;
  readonly allocated: SiteRef;
  readonly freed: SiteRef;
  readonly refHistory: readonly RefEvent[];
  /**
   * How many earlier refcount events of the object the history ring dropped
   * (it keeps the last 512 events of all objects); 0 when `refHistory` is
   * the whole history.
   */
  readonly refHistoryDropped: number;
}

/** `kfree()` of an object already freed. */
export interface DoubleFreeReport extends ReportBase {
  readonly kind: "double-free";
  readonly object: ObjectRef;
  readonly allocated: SiteRef;
  readonly firstFree: SiteRef;
  readonly secondFree: SiteRef;
}

/** A put with the count already at zero (`refcount_t: underflow`). */
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
  /**
   * How many earlier refcount events of the object the history ring dropped
   * (it keeps the last 512 events of all objects); 0 when `refHistory` is
   * the whole history.
   */
  readonly refHistoryDropped: number;
}

/** A get with the count at zero (`refcount_t: addition on 0`). */
export interface RefcountIncFromZeroReport extends ReportBase {
  readonly kind: "refcount-inc-from-zero";
  readonly object: ObjectRef;
  readonly get: SiteRef;
  readonly zeroedBy: SiteRef | null;
  /** Where the object was freed, if it was. */
  readonly freed: SiteRef | null;
  readonly refHistory: readonly RefEvent[];
  /**
   * How many earlier refcount events of the object the history ring dropped
   * (it keeps the last 512 events of all objects); 0 when `refHistory` is
   * the whole history.
   */
  readonly refHistoryDropped: number;
}

/** A get at `REFCOUNT_MAX`: the count saturates and the object leaks. */
export interface RefcountSaturatedReport extends ReportBase {
  readonly kind: "refcount-saturated";
  readonly object: ObjectRef;
  readonly site: SiteRef;
  readonly refHistory: readonly RefEvent[];
  /**
   * How many earlier refcount events of the object the history ring dropped
   * (it keeps the last 512 events of all objects); 0 when `refHistory` is
   * the whole history.
   */
  readonly refHistoryDropped: number;
}

/** A put by a holder that holds no reference (ref_tracker). */
export interface RefcountHolderMismatchReport extends ReportBase {
  readonly kind: "refcount-holder-mismatch";
  readonly object: ObjectRef;
  /** The holder tag given to put, or null for an untagged put. */
  readonly holder: string | null;
  readonly put: SiteRef;
  /** The references outstanding at the time, by holder. */
  readonly outstanding: readonly HolderRef[];
}

/** One object still allocated at teardown, with its outstanding references. */
export interface LeakedObject {
  readonly object: ObjectRef;
  readonly allocated: SiteRef;
  /** Each refcount embedded in the object, with its outstanding holders. */
  readonly refcounts: readonly { readonly count: number; readonly saturated: boolean; readonly holders: readonly HolderRef[] }[];
}

/** Objects still allocated at teardown (`sim.checkLeaks()`). */
export interface LeakReport extends ReportBase {
  readonly kind: "leak";
  readonly objects: readonly LeakedObject[];
}

/** A blocked task, what it waits for, and who could wake it. */
export interface WaitEdge {
  readonly task: string;
  /** The effect the task is blocked in, such as `wait-completion`. */
  readonly blockedIn: string;
  /** What it waits for, such as `Completion#1 "x"`. */
  readonly waitsFor: string;
  /** The tasks that could unblock it. */
  readonly wakers: readonly string[];
  /**
   * True when the waitable has no owner (a completion) and `wakers` was
   * inferred: every other live task, blocked or not, since any of them
   * could still call complete() once it runs on.
   */
  readonly inferred: boolean;
}

/** Every live task is blocked and nothing can wake one. */
export interface DeadlockReport extends ReportBase {
  readonly kind: "deadlock";
  /** Every task still alive, each blocked. */
  readonly blocked: readonly WaitEdge[];
  /** A wait-for cycle among them: each task waits for the next, the last for the first. */
  readonly cycle: readonly WaitEdge[];
}

/** An op was created and never run: a missing `yield*`. */
export interface UnstartedOpReport extends ReportBase {
  readonly kind: "unstarted-op";
  readonly op: string;
  readonly created: SiteRef;
  /** `yield`: the task yielded again first; `exit`: it ended first; `yielded-op`: it wrote `yield op` for `yield* op`. */
  readonly noticed: "yield" | "exit" | "yielded-op";
}

/** A run reached `maxSteps`. */
export interface StepLimitReport extends ReportBase {
  readonly kind: "step-limit";
  readonly limit: number;
  /** The tasks still alive, with their next effect. */
  readonly live: readonly { readonly task: string; readonly next: string }[];
}

/** The step limit was reached while some task spun without progress. */
export interface LivelockReport extends ReportBase {
  readonly kind: "livelock";
  readonly limit: number;
  /** The tasks that kept running without progress, with the effects of their loop. */
  readonly spinning: readonly { readonly task: string; readonly steps: number; readonly loop: readonly string[] }[];
  readonly live: readonly { readonly task: string; readonly next: string }[];
  /**
   * Tasks waiting with a timeout that had not expired at the step limit, with
   * their deadline (ns of simulated time); absent when there are none. Time
   * moves only when every task is blocked or has spun its budget.
   */
  readonly timeouts?: readonly { readonly task: string; readonly deadlineNs: number }[];
}

/** A task's own code threw (an Oops). */
export interface TaskExceptionReport extends ReportBase {
  readonly kind: "task-exception";
  readonly error: string;
  readonly stack?: string;
}

/**
 * A task broke the protocol every task follows: it yielded something that is
 * not an effect (`bad-yield`: a number, a promise, a generator it meant to
 * `yield*`), or its body returned no generator (`not-a-generator`: an async
 * function's promise, a number). The task ends there. A `yield op` for
 * `yield* op` is not this kind but `unstarted-op` (noticed `yielded-op`).
 */
export interface TaskMisuseReport extends ReportBase {
  readonly kind: "task-misuse";
  readonly misuse: "bad-yield" | "not-a-generator";
  /** What the task yielded, or what its body returned, described (`number 3`, `a promise`, `undefined`). */
  readonly value: string;
  /** What was probably meant (`did you forget yield* ?`). */
  readonly hint: string;
}

/** Something that may sleep was called in atomic context. */
export interface SleepInAtomicReport extends ReportBase {
  readonly kind: "sleep-in-atomic";
  /** The operation that may sleep, such as `mutex_lock`. */
  readonly op: string;
  /** Why the context is atomic. */
  readonly reason: "spinlock" | "irqs-disabled" | "bh-disabled" | "preempt-disabled" | "rcu-read-lock" | "hardirq" | "softirq" | "mmu-notifier-nonblock";
  /** The spinlock that made it atomic, when that is the reason; for `preempt-disabled`, the local lock held, if any. */
  readonly lock: HeldRef | null;
  readonly held: readonly HeldRef[];
}

function refHistoryOf(o: ObjectRef): string {
  return `Refcount history of ${o.label}`;
}

defineReportKind({
  kind: "use-after-free",
  headline: (r) => `BUG: gpuvm-sim: use-after-free in ${r.access}`,
  body: (r, out) => {
    out
      .line(`Use of ${r.object.label} by task ${taskName(r.accessed.task)} at step ${r.accessed.step}`)
      .blank()
      .site("accessed", r.accessed)
      .site("allocated", r.allocated)
      .site("freed", r.freed)
      .blank()
      .refHistory(refHistoryOf(r.object), r.refHistory, r.refHistoryDropped);
  },
  fingerprint: (r) => [r.object.type, r.access],
});

defineReportKind({
  kind: "double-free",
  headline: (r) => `BUG: gpuvm-sim: double-free of ${r.object.label}`,
  body: (r, out) => {
    out.blank().site("allocated", r.allocated).site("first free", r.firstFree).site("second free", r.secondFree);
  },
  fingerprint: (r) => [r.object.type, r.secondFree.op],
});

defineReportKind({
  kind: "refcount-underflow",
  headline: () => "WARNING: refcount_t: underflow; use-after-free",
  body: (r, out) => {
    out
      .line(`kref_put on ${r.object.label} with the count already at zero`)
      .blank()
      .site("extra put", r.put)
      .site("zeroed by", r.zeroedBy)
      .site("freed", r.freed)
      .blank()
      .refHistory(refHistoryOf(r.object), r.refHistory, r.refHistoryDropped);
  },
  fingerprint: (r) => [r.object.type, r.put.op],
});

defineReportKind({
  kind: "refcount-inc-from-zero",
  headline: () => "WARNING: refcount_t: addition on 0; use-after-free",
  body: (r, out) => {
    out
      .line(`kref_get on ${r.object.label} after its count reached zero`)
      .blank()
      .site("get", r.get)
      .site("zeroed by", r.zeroedBy)
      .site("freed", r.freed)
      .blank()
      .refHistory(refHistoryOf(r.object), r.refHistory, r.refHistoryDropped);
  },
  fingerprint: (r) => [r.object.type, r.get.op],
});

defineReportKind({
  kind: "refcount-saturated",
  headline: () => "WARNING: refcount_t: saturated; leaking memory",
  body: (r, out) => {
    out
      .line(`${r.object.label} will never be freed`)
      .blank()
      .site("at", r.site)
      .blank()
      .refHistory(refHistoryOf(r.object), r.refHistory, r.refHistoryDropped);
  },
  fingerprint: (r) => [r.object.type, r.site.op],
});

defineReportKind({
  kind: "refcount-holder-mismatch",
  headline: (r) =>
    `WARNING: ref_tracker: put by ${r.holder === null ? "an untagged holder" : `"${r.holder}"`}, which holds no reference to ${r.object.label}`,
  body: (r, out) => {
    out.blank().site("put", r.put).line("  outstanding:").holders(r.outstanding);
  },
  // The holder is a tag the code chose (`vm_bo`, `exec`), so it is part of the identity.
  fingerprint: (r) => [r.object.type, r.put.op, r.holder ?? "(untagged)"],
});

defineReportKind({
  kind: "leak",
  headline: (r) => `BUG: gpuvm-sim: ${r.objects.length} object${r.objects.length === 1 ? "" : "s"} still live at teardown (leak)`,
  body: (r, out) => {
    out.blank();
    for (const o of r.objects) {
      out.line(`  ${o.object.label}`, `  ${siteRow("allocated", o.allocated).trimStart()}`);
      for (const k of o.refcounts) out.line(`    refcount ${k.saturated ? "saturated" : String(k.count)}:`).holders(k.holders);
    }
  },
  // Which types leaked, not how many of each: one more leaked BO is the same leak.
  fingerprint: (r) => [[...new Set(r.objects.map((o) => fingerprintName(o.object.type)))].sort().join(", ")],
});

function waitLine(e: WaitEdge): string {
  const who = e.wakers.length === 0 ? "no task" : e.wakers.join(", ");
  return `  ${pad(e.task, 16)}blocked in ${e.blockedIn} on ${e.waitsFor}; woken by ${who}${e.inferred ? " (inferred)" : ""}`;
}

function cycleLines(cycle: readonly WaitEdge[]): string[] {
  const first = cycle[0];
  if (first === undefined) return ["  (no cycle: nothing left that could wake them)"];
  const path = `  ${cycle.map((e) => e.task).join(" -> ")} -> ${first.task}`;
  const inferred = cycle.some((e) => e.inferred);
  return inferred ? [path, "  (inferred: a completion has no owner, so every other live task counts as a possible waker)"] : [path];
}

/** What a blocked task waits in and on, without ids: `lock on Mutex "B"`. */
function waitShape(e: WaitEdge): string {
  return `${e.blockedIn} on ${fingerprintName(e.waitsFor)}`;
}

defineReportKind({
  kind: "deadlock",
  headline: (r) => `INFO: gpuvm-sim: deadlock: all ${r.blocked.length} live tasks are blocked`,
  body: (r, out) => {
    out
      .blank()
      .line("Wait-for cycle:")
      .each(r.cycle.map(waitLine))
      .each(cycleLines(r.cycle))
      .blank()
      .line("Blocked tasks:")
      .each(r.blocked.map(waitLine));
  },
  // The wait-for cycle from its smallest edge; with no cycle, the set of waits.
  fingerprint: (r) =>
    r.cycle.length > 0 ? ["cycle", canonicalCycle(r.cycle.map(waitShape))] : ["no cycle", [...new Set(r.blocked.map(waitShape))].sort().join(", ")],
});

defineReportKind({
  kind: "unstarted-op",
  headline: (r) => `BUG: gpuvm-sim: op ${r.op} was created but never run`,
  body: (r, out) => {
    const how =
      r.noticed === "yielded-op"
        ? "it was yielded with `yield`; delegate with `yield*`"
        : `the task ${r.noticed === "exit" ? "ended" : "yielded again"} first; missing \`yield*\`?`;
    out.line(`(${how})`).blank().site("created", r.created);
  },
  fingerprint: (r) => [r.op, r.noticed],
});

function liveLines(live: readonly { readonly task: string; readonly next: string }[]): string[] {
  const lines = ["Live tasks and their next effect:"];
  for (const l of live) lines.push(`  ${pad(l.task, 16)}${l.next}`);
  return lines;
}

defineReportKind({
  kind: "step-limit",
  headline: (r) => `gpuvm-sim: step limit reached (${r.limit} steps in one run)`,
  body: (r, out) => {
    out.line("Raise the Sim option maxSteps, or look for a task that spins without blocking.").blank().each(liveLines(r.live));
  },
  // Which effects the live tasks were about to take, as a set.
  fingerprint: (r) => [[...new Set(r.live.map((l) => fingerprintName(l.next)))].sort().join(", ")],
});

defineReportKind({
  kind: "livelock",
  headline: (r) => `INFO: gpuvm-sim: livelock: step limit (${r.limit}) reached with tasks spinning`,
  body: (r, out) => {
    out
      .line(
        "These tasks kept running without making progress (only cond_resched, trylocks,",
        "try-waits and choices), and nothing they wait for changed:",
      )
      .blank()
      .each(r.spinning.flatMap((t) => [`  ${pad(t.task, 16)}${t.steps} steps, looping over:`, ...t.loop.map((l) => `      ${l}`)]))
      .blank()
      .each(liveLines(r.live));
    if (r.timeouts !== undefined && r.timeouts.length > 0) {
      out
        .blank()
        .line(
          "Waiting with a timeout that has not expired (simulated time moves only when every",
          "task is blocked or has spun its budget, and these spinners never stopped for long):",
        )
        .each(r.timeouts.map((w) => `  ${pad(w.task, 16)}until ${w.deadlineNs} ns`));
    }
  },
  // Each spinning task's loop as a cycle (it may be caught at any point of it), then the set of loops.
  fingerprint: (r) => [[...new Set(r.spinning.map((t) => canonicalCycle(t.loop)))].sort().join(" | ")],
});

defineReportKind({
  kind: "task-misuse",
  headline: (r) =>
    r.misuse === "bad-yield"
      ? `BUG: gpuvm-sim: task ${taskName(r.task)} yielded ${r.value}, not an effect`
      : `BUG: gpuvm-sim: body of task ${taskName(r.task)} returned ${r.value}, not a generator`,
  body: (r, out) => {
    out.line(`(${r.hint})`);
  },
  // What was given, by its description; numbers in it are masked.
  fingerprint: (r) => [r.misuse, r.value],
});

defineReportKind({
  kind: "task-exception",
  headline: (r) => `Oops: gpuvm-sim: task ${taskName(r.task)} threw ${r.error}`,
  body: (r, out) => {
    if (r.stack !== undefined) out.line(indentStack(r.stack));
  },
  // The error's name and message; numbers in the message are masked.
  fingerprint: (r) => [r.error],
});

const ATOMIC_WHY: Record<SleepInAtomicReport["reason"], string> = {
  spinlock: "",
  "irqs-disabled": "with interrupts disabled",
  "bh-disabled": "with bottom halves disabled",
  "preempt-disabled": "with preemption disabled",
  "rcu-read-lock": "inside an RCU read-side critical section (rcu_read_lock() disables preemption)",
  hardirq: "in hardirq context",
  softirq: "in softirq context",
  "mmu-notifier-nonblock": "in a non-blockable mmu notifier invalidation (mmu_notifier_range_blockable() is false: only trylock)",
};

defineReportKind({
  kind: "sleep-in-atomic",
  headline: () => "BUG: sleeping function called from invalid context",
  body: (r, out) => {
    const why =
      r.reason === "spinlock"
        ? `while holding spinlock ${r.lock?.lock ?? "?"} (acquired ${r.lock?.after === true ? "after" : "at"} step ${r.lock?.acquired.step ?? "?"}, ${r.lock?.acquired.op ?? "?"})`
        : ATOMIC_WHY[r.reason];
    out
      .line(`${r.op} may sleep; ${taskName(r.task)} called it ${why}.`)
      .blank()
      .held(`Locks held by ${taskName(r.task)}`, r.held);
  },
  fingerprint: (r) => [r.op, r.reason, r.lock === null ? "" : r.lock.lockClass],
});

defineReportKind({
  kind: "context-at-exit",
  headline: (r) => `BUG: task ${taskName(r.task)} exited in atomic context`,
  body: (r, out) => {
    const left = contextAtExitParts(r);
    out.line(`${taskName(r.task)} returned with ${left.join(", ")}.`);
    if (r.irqsDisabled) out.line(`note: ${taskName(r.task)} exited with irqs disabled`);
    if (r.preemptCount > 0) out.line(`note: ${taskName(r.task)} exited with preempt_count ${r.preemptCount}`);
  },
  // What was left, without counts: one missing enable whatever the nesting.
  fingerprint: (r) => [contextAtExitParts(r, false).join(", ")],
});

/** What a context-at-exit report says was left, with counts or without. */
function contextAtExitParts(r: ContextAtExitReport, counts = true): string[] {
  const parts: string[] = [];
  if (r.preemptCount > 0) parts.push(counts ? `preemption disabled (preempt_count ${r.preemptCount})` : "preemption disabled");
  if (r.irqsDisabled) parts.push("irqs disabled");
  if (r.bhDisabled) parts.push("bottom halves disabled");
  if (r.hardirqSections > 0) parts.push(counts ? `inside ${r.hardirqSections} hardirqEnter() section(s)` : "inside hardirqEnter()");
  if (r.softirqSections > 0) parts.push(counts ? `inside ${r.softirqSections} softirqEnter() section(s)` : "inside softirqEnter()");
  return parts;
}

defineReportKind({
  kind: "usage",
  headline: (r) => `BUG: gpuvm-sim: ${r.op} ${r.mode === "write" ? "wrote" : "read"} ${r.object} outside its step's footprint`,
  body: (r, out) => {
    out
      .line(`The step announced: ${r.declared}`)
      .line("An op must declare every object it touches, from its effect up to its task's next yield;")
      .line("the explorer reorders steps by what they declare, so an undeclared access can hide a race.");
  },
  fingerprint: (r) => [r.problem, r.op, r.objectType, r.mode],
});
