/**
 * The RCU report kinds (src/kernel/rcu.ts): what the kernel's
 * CONFIG_PROVE_RCU checks print as "WARNING: suspicious RCU usage" (an
 * rcu_dereference() outside a read-side critical section without the lock
 * that protects the pointer, a synchronize_rcu() inside one) and an
 * rcu_read_unlock() without its rcu_read_lock(). Each kind is its data type,
 * listed in {@link RcuReportKinds}, and its definition: headline, rows,
 * fingerprint.
 */
import { taskName } from "./frame.js";
import { defineReportKind } from "./registry.js";
import type { HeldRef, ReportBase } from "./report.js";

/**
 * The RCU kinds by name, each key equal to its report's `kind`. kinds.ts
 * adds this map to `ReportKinds`, so these kinds are in `Report`.
 */
export interface RcuReportKinds {
  "suspicious-rcu-usage": SuspiciousRcuUsageReport;
}

/** What a `suspicious-rcu-usage` report found. */
export type SuspiciousRcuProblem =
  /** rcu_dereference() / rcu_dereference_check() outside a read section, and the check's condition (a lock) did not hold. */
  | "dereference-outside-read-section"
  /** rcu_dereference_protected() whose condition (the update-side lock) did not hold. */
  | "dereference-unprotected"
  /** synchronize_rcu() inside a read section: it waits for itself. */
  | "synchronize-in-read-section"
  /** rcu_read_unlock() with no read section open. */
  | "unbalanced-unlock";

/**
 * An RCU API was used where its rules forbid it: the kernel's lockdep-RCU
 * splat ("WARNING: suspicious RCU usage") or, for an unbalanced unlock, its
 * "bad unlock balance" on rcu_lock_map.
 */
export interface SuspiciousRcuUsageReport extends ReportBase {
  readonly kind: "suspicious-rcu-usage";
  readonly problem: SuspiciousRcuProblem;
  /** The operation, as the kernel names it (`rcu_dereference_check`, `synchronize_rcu`). */
  readonly op: string;
  /** The kernel's message, such as `suspicious rcu_dereference_check() usage!`. */
  readonly message: string;
  /** The RcuPointer dereferenced (its label), or null for the other problems. */
  readonly pointer: string | null;
  /** The task's rcu_read_lock() nesting when it happened (0: outside any read section). */
  readonly rcuDepth: number;
  /** The lock the dereference was checked against, if one was given (its label). */
  readonly condition: string | null;
  readonly held: readonly HeldRef[];
}

defineReportKind({
  kind: "suspicious-rcu-usage",
  headline: (r) => (r.problem === "unbalanced-unlock" ? "WARNING: bad unlock balance detected! (rcu_read_unlock)" : "WARNING: suspicious RCU usage"),
  body: (r, out) => {
    const who = taskName(r.task);
    out.line(`${r.op}: ${r.message}`);
    if (r.pointer !== null) out.line(`pointer: ${r.pointer}`);
    if (r.condition !== null) out.line(`condition: ${r.condition} held`);
    out
      .line(r.rcuDepth === 0 ? `${who} is outside any RCU read-side critical section.` : `${who} is inside ${r.rcuDepth} nested RCU read-side critical section(s).`)
      .blank()
      .held(`Locks held by ${who}`, r.held);
  },
  fingerprint: (r) => [r.problem, r.op],
});
