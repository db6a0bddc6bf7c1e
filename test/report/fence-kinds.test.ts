/** The dma-buf layer's report kinds (src/report/fence-kinds.ts): definitions, text, JSON, and what makes one failure. */
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/index.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { itDefinesKinds } from "../support/report-kinds.js";
import { programs } from "./reports.js";

describe("fence report kinds", () => {
  itDefinesKinds([
    "fence-released-with-callbacks",
    "fence-signal-out-of-order",
    "fence-set-error-after-signal",
    "fence-wait-deadlock",
    "fence-never-signalled",
    "resv-no-fence-slot",
    "resv-misuse",
  ]);

  it("fence-wait-deadlock: whether this run deadlocked does not make another failure", () => {
    const r = programs["fence-wait-deadlock"]() as Extract<Report, { kind: "fence-wait-deadlock" }>;
    expect(fingerprint({ ...r, actual: !r.actual })).toBe(fingerprint(r));
  });
});
