/**
 * docs/reports.md, "Adding a report kind": how a kind is defined, as in a
 * layer's file (in src/report/, the imports below are "./report.js",
 * "./registry.js" and so on, and the kind goes into the layer's map rather
 * than a `declare module` block). The kind is a made-up scheduler timeout.
 * Run it with `npx tsx examples/report-kind.ts`.
 */
import { fingerprint } from "../src/report/fingerprint.js";
import { defineReportKind } from "../src/report/registry.js";
import type { ReportBase, SiteRef } from "../src/report/report.js";
import { formatReport } from "../src/report/text.js";

/** 1. The data: plain fields only (labels, sites, numbers), never live objects. */
export interface JobTimeoutReport extends ReportBase {
  readonly kind: "job-timeout";
  /** The ring the job ran on, such as `gfx`. */
  readonly ring: string;
  /** The job's label, such as `Job#4 "blit"`. */
  readonly job: string;
  readonly submitted: SiteRef;
  readonly timeoutMs: number;
}

/** 2. Into the open map of kinds: `Report` now includes it, and `r.kind === "job-timeout"` narrows to it. */
declare module "../src/report/report.js" {
  interface ReportKinds {
    "job-timeout": JobTimeoutReport;
  }
}

/** 3. Its text and its identity, registered once when the file is imported. */
defineReportKind({
  kind: "job-timeout",
  headline: (r) => `WARNING: gpuvm-sim: ${r.ring} job timed out`,
  body: (r, out) => {
    out.line(`${r.job} did not finish within ${r.timeoutMs} ms`).blank().site("submitted", r.submitted);
  },
  // Which ring hung is the failure; the job's label names an instance.
  fingerprint: (r) => [r.ring],
});

export function main(): string {
  const report: JobTimeoutReport = {
    kind: "job-timeout",
    step: 9,
    task: null,
    schedule: { tasks: [], rows: [] },
    replay: "gpuvm-sim:1:sim:random:1",
    ring: "gfx",
    job: 'Job#4 "blit"',
    submitted: { task: "submit/2", step: 3, op: "drm_sched_entity_push_job" },
    timeoutMs: 500,
  };
  return `${formatReport(report)}\nfingerprint: ${fingerprint(report)}`;
}

if (process.argv[1]?.endsWith("report-kind.ts") === true) console.log(main());
