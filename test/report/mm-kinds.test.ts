/** The simulated mm's report kinds (src/report/mm-kinds.ts): definitions, text, JSON. */
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/index.js";
import { itDefinesKinds } from "../support/report-kinds.js";
import { programs } from "./reports.js";

describe("mm report kinds", () => {
  itDefinesKinds(["mmu-notifier-blockable-fail"]);

  it("mmu-notifier-blockable-fail: names the notifier, the mm, the range and the event", () => {
    const r = programs["mmu-notifier-blockable-fail"]() as Extract<Report, { kind: "mmu-notifier-blockable-fail" }>;
    expect(r).toMatchObject({ notifier: 'MmuIntervalNotifier#3 "userptr0" in Mm#2 "p1"', mm: 'Mm#2 "p1"', start: 0x1_0000_0000, length: 4096, event: "unmap" });
  });
});
