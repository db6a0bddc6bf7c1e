/**
 * The locking layer's report kinds: what lockdep finds (lock-order cycles,
 * recursive locking, irq inversions, invalid wait contexts, unlock and
 * assertion failures, locks held at free or exit) and the wound/wait
 * mutexes' misuse. Each kind is its data type, listed in {@link LockingReportKinds},
 * and its definition: headline, rows, fingerprint.
 */
import { heldWhen, pad, type ReportText, taskName } from "./frame.js";
import { canonicalCycle, defineReportKind } from "./registry.js";
import type { HeldRef, ReportBase, SiteRef } from "./report.js";

/**
 * The locking layer's kinds by name, each key equal to its report's `kind`.
 * kinds.ts adds this map to `ReportKinds`, so these kinds are in `Report`.
 */
export interface LockingReportKinds {
  "lock-order-cycle": LockOrderCycleReport;
  "recursive-locking": RecursiveLockingReport;
  "irq-lock-inversion": IrqLockInversionReport;
  "invalid-wait-context": InvalidWaitContextReport;
  "bad-unlock": BadUnlockReport;
  "lock-held-at-free": LockHeldAtFreeReport;
  "lock-held-at-exit": LockHeldAtExitReport;
  "lock-not-held": LockNotHeldReport;
  "ww-mutex-misuse": WwMutexMisuseReport;
  "bad-preempt-enable": BadPreemptEnableReport;
}

/** Where lockdep saw an acquisition: across simulations, so with the run's replay token. */
export interface Witness {
  readonly task: string;
  readonly step: number;
  readonly op: string;
  /** The replay token of the run it happened in ("boot" for the primed order). */
  readonly replay: string;
  /**
   * True when the lock was not taken in a step of its own when lockdep saw
   * it: it was being asked for (the acquisition a report is about), or it is
   * a lock map, which has no step. `step` is then the task's step after
   * which that happened. Absent once the lock op took the lock at `step`.
   */
  readonly after?: true;
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

/** Lockdep: a new lock order closes a cycle in the dependency graph. */
export interface LockOrderCycleReport extends ReportBase {
  readonly kind: "lock-order-cycle";
  /** The cycle, starting with the edge just added: each edge's `to` is the next one's `from`. */
  readonly cycle: readonly DependencyRef[];
  /** What the task that closed the cycle holds. */
  readonly held: readonly HeldRef[];
  /** Whether this run did end in a deadlock (false: only the order is wrong, so far). */
  readonly actual: boolean;
}

/** Lockdep: a lock of a class already held, without a nesting annotation. */
export interface RecursiveLockingReport extends ReportBase {
  readonly kind: "recursive-locking";
  readonly lock: string;
  readonly lockClass: string;
  /** The acquisition of the same class already held. */
  readonly first: HeldRef;
  readonly second: SiteRef;
  readonly held: readonly HeldRef[];
}

/** Lockdep: irq-safe and irq-unsafe use of classes that could deadlock with an interrupt. */
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

/** Lockdep: a sleeping lock taken where sleeping is not allowed. */
export interface InvalidWaitContextReport extends ReportBase {
  readonly kind: "invalid-wait-context";
  readonly lock: string;
  readonly lockClass: string;
  /** What forbids waiting that way: a held lock's label, or the context (`hardirq`, `softirq`). */
  readonly forbiddenBy: string;
  /** How the lock waits, when it does not sleep: `"spin"` for a spinlock_t, rwlock_t or local_lock_t taken where only raw spinlocks may be (absent: a sleeping lock). */
  readonly waitType?: "raw-spin" | "spin";
  /** `"raw-spin"` when `forbiddenBy` is a held raw spinlock (absent otherwise). */
  readonly forbiddenByWaitType?: "raw-spin";
  readonly held: readonly HeldRef[];
}

/** preempt_enable() without a matching preempt_disable(): the kernel's preempt_count underflow warning. */
export interface BadPreemptEnableReport extends ReportBase {
  readonly kind: "bad-preempt-enable";
  /** The operation, `preempt_enable`. */
  readonly op: string;
  readonly held: readonly HeldRef[];
}

/** A lock released by a task that does not hold it. */
export interface BadUnlockReport extends ReportBase {
  readonly kind: "bad-unlock";
  readonly lock: string;
  /**
   * The task holding it, if any: the lock's holder. The field keeps the
   * kernel's word (mutex owner) as part of the stable JSON format; see
   * "Words" in docs/locking.md.
   */
  readonly owner: string | null;
  readonly held: readonly HeldRef[];
  /**
   * Present when the task holds the lock, but through the other side: the
   * side it holds (an rwlock_t or rw_semaphore write-held, read_unlock()
   * or up_read() called; or the reverse).
   */
  readonly heldAs?: "read" | "write";
  /** The side the unlock released, with `heldAs`. */
  readonly releasedAs?: "read" | "write";
}

/** A lock freed, with its object, while held. */
export interface LockHeldAtFreeReport extends ReportBase {
  readonly kind: "lock-held-at-free";
  readonly lock: string;
  readonly holder: string;
  readonly acquired: SiteRef | null;
  readonly freed: SiteRef;
}

/** A task ended holding locks; the report's `task` is the task that ended. */
export interface LockHeldAtExitReport extends ReportBase {
  readonly kind: "lock-held-at-exit";
  readonly held: readonly HeldRef[];
}

/**
 * `assertHeld()` failed: the current task does not hold that exact lock; or,
 * with `check: "nest-lock"`, a lock was taken under a nest lock the task
 * does not hold (spin_lock_nest_lock(), mutex_lock_nest_lock(), a ww_mutex
 * under an acquire context of another task or after its fini): the kernel's
 * "Nested lock was not taken".
 */
export interface LockNotHeldReport extends ReportBase {
  readonly kind: "lock-not-held";
  /** The lock that is not held (for `nest-lock`, the nest lock). */
  readonly lock: string;
  /** The task holding it instead, if any: the lock's holder (field name as in `bad-unlock`). */
  readonly owner: string | null;
  readonly held: readonly HeldRef[];
  /** Which check failed: absent for lockdep_assert_held(); `nest-lock` for a nest lock not held while taking `acquiring`. */
  readonly check?: "nest-lock";
  /** With `check: "nest-lock"`: the lock being taken under it. */
  readonly acquiring?: string;
}

/** A wound/wait mutex or acquire context used against its rules. */
export interface WwMutexMisuseReport extends ReportBase {
  readonly kind: "ww-mutex-misuse";
  readonly problem:
    | "slow-lock-without-backoff"
    | "slow-lock-with-locks-held"
    | "slow-lock-wrong-mutex"
    | "class-mismatch"
    | "fini-with-locks-held"
    | "used-after-fini"
    | "acquire-after-done"
    | "done-twice"
    | "unlock-not-held"
    | "two-contexts";
  /**
   * The kernel's check that fires for this problem, as a debug kernel
   * words it (`!ctx->contending_lock in ww_mutex_lock_slow()`): two
   * problems of one call (a slow lock with no back-off pending, and one of
   * another mutex than the one that backed off) name different checks.
   */
  readonly check: string;
  readonly ctx: string;
  readonly lock: string | null;
  readonly detail: string;
  readonly held: readonly HeldRef[];
}

function witness(w: Witness): string {
  if (w.replay === "boot") return "boot";
  return w.after === true ? `${w.task} after its step ${w.step} (${w.op})` : `${w.task} at step ${w.step} (${w.op})`;
}

/** The locks the reporting task holds, under the title every lockdep report uses. */
function heldBy(r: ReportBase & { readonly held: readonly HeldRef[] }, out: ReportText): void {
  out.held(`Locks held by ${taskName(r.task)}`, r.held);
}

/** Lockdep's "possible unsafe locking scenario": CPU i holds class i and wants class i+1. */
function cycleScenario(classes: readonly string[]): string[] {
  const n = classes.length;
  const width = 26;
  const cols = Array.from({ length: n }, (_, i) => `CPU${i}`);
  const row = (col: number, text: string) => `  ${" ".repeat(width * col)}${text}`;
  const lines = [
    "Possible unsafe locking scenario:",
    "",
    `  ${cols.map((c) => pad(c, width)).join("").trimEnd()}`,
    `  ${cols.map(() => pad("----", width)).join("").trimEnd()}`,
  ];
  for (let i = 0; i < n; i++) lines.push(row(i, `lock(${classes[i] ?? ""});`));
  for (let i = 0; i < n; i++) lines.push(row(i, `lock(${classes[(i + 1) % n] ?? ""});`));
  lines.push("", "  *** DEADLOCK ***");
  return lines;
}

defineReportKind({
  kind: "lock-order-cycle",
  headline: () => "WARNING: possible circular locking dependency detected",
  body: (r, out) => {
    const first = r.cycle[0];
    const want = first?.to ?? "?";
    const have = first?.from ?? "?";
    out
      .line(
        `${taskName(r.task)} is trying to acquire ${want}, while holding ${have},`,
        `but ${want} is already taken before ${have} elsewhere${r.actual ? " (and this run did deadlock)" : " (no deadlock happened in this run)"}.`,
      )
      .blank()
      .line("Dependency cycle, each edge with where lockdep learned it:");
    for (const e of r.cycle) {
      out.line(`  ${e.from} -> ${e.to}`);
      if (e.toSite.replay === "boot") {
        out.line("      primed at boot, as the kernel's dma_resv_lockdep() does");
        continue;
      }
      out.line(`      ${e.to}: ${witness(e.toSite)}`, `      while ${e.from} was held since ${witness(e.fromSite)}`);
      if (e.toSite.replay !== r.replay) out.line(`      learned in another run: ${e.toSite.replay}`);
    }
    out
      .blank()
      .each(cycleScenario(r.cycle.map((e) => e.from)))
      .blank();
    heldBy(r, out);
  },
  // The classes of the cycle from the smallest: A -> B -> A is one failure whichever side closed it.
  fingerprint: (r) => [canonicalCycle(r.cycle.map((e) => e.from))],
});

defineReportKind({
  kind: "recursive-locking",
  headline: () => "WARNING: possible recursive locking detected",
  body: (r, out) => {
    out
      .line(
        `${taskName(r.task)} is trying to acquire ${r.lock} (class ${r.lockClass}) after its step ${r.second.step} (${r.second.op}),`,
        `but already holds ${r.first.lock}, of the same class, since ${heldWhen(r.first)}.`,
      )
      .blank()
      .line("Possible unsafe locking scenario:", "", "  CPU0", "  ----", `  lock(${r.lockClass});`, `  lock(${r.lockClass});`, "", "  *** DEADLOCK ***")
      .blank()
      .line("May be due to a missing lock nesting annotation (a subclass).")
      .blank();
    heldBy(r, out);
  },
  fingerprint: (r) => [r.lockClass, r.second.op],
});

defineReportKind({
  kind: "irq-lock-inversion",
  headline: (r) => (r.variant === "inconsistent" ? "WARNING: inconsistent lock state" : `WARNING: ${r.irq.toUpperCase()}-safe -> ${r.irq.toUpperCase()}-unsafe lock order detected`),
  body: (r, out) => {
    const IRQ = r.irq.toUpperCase();
    const safe = r.safe.lockClass;
    const unsafe = r.unsafe.lockClass;
    const scenario =
      r.variant === "inconsistent"
        ? ["  CPU0", "  ----", `  lock(${safe});`, "  <Interrupt>", `    lock(${safe});`]
        : [
            `  ${pad("CPU0", 26)}CPU1`,
            `  ${pad("----", 26)}----`,
            `  lock(${unsafe});`,
            `  ${" ".repeat(26)}local_irq_disable();`,
            `  ${" ".repeat(26)}lock(${safe});`,
            `  ${" ".repeat(26)}lock(${unsafe});`,
            "  <Interrupt>",
            `    lock(${safe});`,
          ];
    out
      .line(
        r.variant === "inconsistent"
          ? `inconsistent {IN-${IRQ}-W} -> {${IRQ}-ON-W} usage of ${safe}.`
          : `${safe} is taken in ${r.irq} context, and ${unsafe} is taken under it: ${r.path.join(" -> ")}.`,
      )
      .blank()
      .line(`  {IN-${IRQ}-W} of ${safe}: ${witness(r.safe.site)}`, `  {${IRQ}-ON-W} of ${unsafe}: ${witness(r.unsafe.site)}`)
      .blank()
      .line("Possible unsafe locking scenario:", "", ...scenario, "", "  *** DEADLOCK ***")
      .blank();
    heldBy(r, out);
  },
  fingerprint: (r) => [r.irq, r.variant, r.safe.lockClass, r.unsafe.lockClass],
});

defineReportKind({
  kind: "invalid-wait-context",
  headline: () => "BUG: Invalid wait context",
  body: (r, out) => {
    const where =
      r.forbiddenBy === "hardirq" || r.forbiddenBy === "softirq"
        ? `in ${r.forbiddenBy} context`
        : `holding ${r.forbiddenByWaitType === "raw-spin" ? "raw spinlock" : "spinlock"} ${r.forbiddenBy}`;
    if (r.waitType === undefined) {
      out.line(`${taskName(r.task)} is trying to take sleeping lock ${r.lock} where it may not sleep: ${where}.`).blank();
    } else {
      out
        .line(
          `${taskName(r.task)} is trying to take ${r.lock}, a lock that sleeps on PREEMPT_RT (LD_WAIT_CONFIG),`,
          `where only raw spinlocks may be taken: ${where}.`,
        )
        .blank();
    }
    heldBy(r, out);
  },
  // forbiddenBy is a context name or a spinlock's label; its id is masked.
  fingerprint: (r) => [r.lockClass, r.forbiddenBy],
});

defineReportKind({
  kind: "bad-unlock",
  headline: () => "WARNING: bad unlock balance detected!",
  body: (r, out) => {
    if (r.heldAs !== undefined && r.releasedAs !== undefined) {
      out.line(`${taskName(r.task)} is trying to release the ${r.releasedAs} side of ${r.lock}, but holds it for ${r.heldAs}.`).blank();
    } else {
      out.line(`${taskName(r.task)} is trying to release ${r.lock}, which it does not hold${r.owner === null ? "" : ` (${r.owner} does)`}.`).blank();
    }
    heldBy(r, out);
  },
  // The lock's type and name (its id masked), and whether another task held
  // it, or which side was released while the other was held.
  fingerprint: (r) => [r.lock, r.heldAs !== undefined ? `${r.releasedAs ?? "?"} unlock of a ${r.heldAs} hold` : r.owner === null ? "unowned" : "owned by another task"],
});

defineReportKind({
  kind: "lock-held-at-free",
  headline: () => "BUG: held lock freed!",
  body: (r, out) => {
    out.line(`${r.lock} is freed while ${r.holder} holds it.`).blank().site("acquired", r.acquired).site("freed", r.freed);
  },
  fingerprint: (r) => [r.lock, r.freed.op],
});

defineReportKind({
  kind: "lock-held-at-exit",
  headline: (r) => `BUG: task ${taskName(r.task)} exited with locks held`,
  body: (r, out) => {
    out.blank();
    heldBy(r, out);
  },
  // The classes still held, outermost first.
  fingerprint: (r) => [r.held.map((h) => h.lockClass).join(", ")],
});

defineReportKind({
  kind: "lock-not-held",
  headline: (r) => (r.check === "nest-lock" ? "WARNING: Nested lock was not taken" : `WARNING: lockdep_assert_held(${r.lock}) failed`),
  body: (r, out) => {
    if (r.check === "nest-lock") {
      out.line(`${taskName(r.task)} is trying to lock: ${r.acquiring ?? "?"}`, `but this task is not holding: ${r.lock}`).blank();
    } else {
      out.line(`${taskName(r.task)} does not hold it${r.owner === null ? "" : `; ${r.owner} does`}.`).blank();
    }
    heldBy(r, out);
  },
  fingerprint: (r) => [...(r.check === undefined ? [] : [r.check]), r.lock, r.owner === null ? "unowned" : "owned by another task"],
});

defineReportKind({
  kind: "bad-preempt-enable",
  headline: () => "WARNING: preempt_count underflow",
  body: (r, out) => {
    out.line(`${taskName(r.task)} called ${r.op} without a matching preempt_disable().`).blank();
    heldBy(r, out);
  },
  fingerprint: (r) => [r.op],
});

const WW_PROBLEMS: Record<string, string> = {
  "slow-lock-without-backoff": "ww_mutex_lock_slow() with no back-off pending",
  "class-mismatch": "mutex locked under an acquire context of another ww class",
  "slow-lock-with-locks-held": "locking after a back-off while the context still holds locks",
  "slow-lock-wrong-mutex": "locking after a back-off a mutex other than the one that backed off",
  "fini-with-locks-held": "ww_acquire_fini() while the context still holds locks",
  "used-after-fini": "acquire context used after ww_acquire_fini()",
  "acquire-after-done": "lock acquired after ww_acquire_done()",
  "done-twice": "ww_acquire_done() called twice",
  "unlock-not-held": "ww_mutex_unlock() of a mutex the task does not hold",
  "two-contexts": "two acquire contexts of one class active in one task",
};

defineReportKind({
  kind: "ww-mutex-misuse",
  headline: (r) => `WARNING: ww_mutex misuse: ${WW_PROBLEMS[r.problem] ?? r.problem}`,
  body: (r, out) => {
    out.line(`context ${r.ctx}${r.lock === null ? "" : `, mutex ${r.lock}`}: ${r.detail}`, `(the kernel's check: ${r.check})`).blank();
    heldBy(r, out);
  },
  // The problem alone: the context's and the mutex's labels name instances, not classes.
  fingerprint: (r) => [r.problem],
});
