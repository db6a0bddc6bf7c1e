/**
 * The workqueue's report kinds (src/kernel/workqueue.ts): a work item
 * queued on a workqueue that is being drained or destroyed (the kernel's
 * WARN_ONCE in __queue_work()), and a work function that returned with a
 * lock held or in atomic context (process_one_work()'s "workqueue leaked
 * lock or atomic"). Each kind is its data type, listed in
 * {@link WorkReportKinds}, and its definition: headline, rows, fingerprint.
 */
import { defineReportKind } from "./registry.js";
import type { HeldRef, ReportBase, SiteRef } from "./report.js";

/**
 * The workqueue layer's kinds by name, each key equal to its report's
 * `kind`. kinds.ts adds this map to `ReportKinds`.
 */
export interface WorkReportKinds {
  "workqueue-misuse": WorkqueueMisuseReport;
}

/** A `workqueue-misuse` report: one of its problems. */
export type WorkqueueMisuseReport = QueueWhileDrainingReport | LeakedLockReport;

/**
 * A work item was queued on a workqueue that `destroy()` is draining, from
 * outside that workqueue's own work items (the kernel's "workqueue: cannot
 * queue %ps on wq %s" WARN_ONCE). As in the kernel, queueWork() still
 * returns "queued" and the work stays pending, but it never runs.
 */
export interface QueueWhileDrainingReport extends ReportBase {
  readonly kind: "workqueue-misuse";
  readonly problem: "queue-while-draining";
  /** The work item (`Work#4 "free_bo"`). */
  readonly work: string;
  /** The workqueue (`Workqueue#2 "wq"`). */
  readonly workqueue: string;
  /** Where it was queued. */
  readonly queued: SiteRef;
  /** Where destroy() began draining the workqueue. */
  readonly draining: SiteRef;
}

/**
 * A work function returned with a lock held, inside an RCU read section,
 * with irqs or preemption off, or inside a fence-signalling section (the
 * kernel's "BUG: workqueue leaked lock or atomic" in process_one_work()).
 * As in the kernel, nothing is undone: the worker goes on holding it.
 */
export interface LeakedLockReport extends ReportBase {
  readonly kind: "workqueue-misuse";
  readonly problem: "leaked-lock";
  /** The work item (`Work#4 "free_bo"`). */
  readonly work: string;
  /** The workqueue (`Workqueue#2 "wq"`). */
  readonly workqueue: string;
  /** Where this instance was queued. */
  readonly queued: SiteRef | null;
  /** The locks the worker holds beyond the ones it took itself to run the work, outermost first. */
  readonly held: readonly HeldRef[];
  /** The worker's RCU read-section depth (0: none). */
  readonly rcuDepth: number;
  /** Whether irqs or preemption are off, or a fence-signalling section is open. */
  readonly atomic: boolean;
}

defineReportKind({
  kind: "workqueue-misuse",
  headline: (r) =>
    r.problem === "leaked-lock"
      ? `BUG: gpuvm-sim: workqueue leaked lock or atomic: ${r.work} on ${r.workqueue}`
      : `WARNING: gpuvm-sim: workqueue: cannot queue ${r.work} on ${r.workqueue}: it is being drained`,
  body: (r, out) => {
    if (r.problem === "leaked-lock") {
      if (r.queued !== null) out.site("queued", r.queued);
      out.line(`rcu depth ${r.rcuDepth}, atomic ${r.atomic ? "yes" : "no"}`);
      out.blank();
      out.held("Locks still held after the work function returned", r.held);
      return;
    }
    out
      .site("queued", r.queued)
      .site("draining", r.draining)
      .blank()
      .line("While destroy() drains a workqueue only its own work items may queue work on it;")
      .line("this work stays pending and never runs.");
  },
  fingerprint: (r) =>
    r.problem === "leaked-lock"
      ? [r.problem, r.work.replace(/^Work#\d+ /, ""), r.held.map((h) => h.lockClass).join(", ")]
      : [r.problem, r.work.replace(/^Work#\d+ /, "")],
});
