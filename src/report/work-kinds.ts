/**
 * The workqueue's report kinds (src/kernel/workqueue.ts): a work item
 * queued on a workqueue that is being drained or destroyed, the kernel's
 * WARN_ONCE in __queue_work(). Each kind is its data type, listed in
 * {@link WorkReportKinds}, and its definition: headline, rows, fingerprint.
 */
import { defineReportKind } from "./registry.js";
import type { ReportBase, SiteRef } from "./report.js";

/**
 * The workqueue layer's kinds by name, each key equal to its report's
 * `kind`. kinds.ts adds this map to `ReportKinds`.
 */
export interface WorkReportKinds {
  "workqueue-misuse": WorkqueueMisuseReport;
}

/**
 * A work item was queued on a workqueue that `destroy()` is draining, from
 * outside that workqueue's own work items (the kernel's "workqueue: cannot
 * queue %ps on wq %s" WARN_ONCE). As in the kernel, queueWork() still
 * returns "queued" and the work stays pending, but it never runs.
 */
export interface WorkqueueMisuseReport extends ReportBase {
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

defineReportKind({
  kind: "workqueue-misuse",
  headline: (r) => `WARNING: gpuvm-sim: workqueue: cannot queue ${r.work} on ${r.workqueue}: it is being drained`,
  body: (r, out) => {
    out
      .site("queued", r.queued)
      .site("draining", r.draining)
      .blank()
      .line("While destroy() drains a workqueue only its own work items may queue work on it;")
      .line("this work stays pending and never runs.");
  },
  fingerprint: (r) => [r.problem, r.work.replace(/^Work#\d+ /, "")],
});
