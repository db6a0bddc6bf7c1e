/** The workqueue report kinds (src/report/work-kinds.ts): definitions, text, JSON, and what makes one failure. */
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/index.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { itDefinesKinds } from "../support/report-kinds.js";
import { programs } from "./reports.js";

describe("workqueue report kinds", () => {
  itDefinesKinds(["workqueue-misuse"]);

  it("workqueue-misuse: where the work was queued is not part of the identity", () => {
    const r = programs["workqueue-misuse"]() as Extract<Report, { kind: "workqueue-misuse" }>;
    const queuedBy = { task: "elsewhere/9", step: 99, op: "queue_work", work: "Work#9", workqueue: "Workqueue#9" };
    expect(fingerprint({ ...r, queuedBy })).toBe(fingerprint(r));
  });
});
