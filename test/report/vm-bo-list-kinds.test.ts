/** The VM BO list report kinds (src/report/vm-bo-list-kinds.ts): definitions, text, JSON, and what makes one failure. */
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/index.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { itDefinesKinds } from "../support/report-kinds.js";
import { programs } from "./reports.js";

describe("VM BO list report kinds", () => {
  itDefinesKinds(["vm-bo-list-concurrent-walk"]);

  it("vm-bo-list-concurrent-walk: which VM and which tasks walked are not part of the identity; which list is", () => {
    const r = programs["vm-bo-list-concurrent-walk"]() as Extract<Report, { kind: "vm-bo-list-concurrent-walk" }>;
    expect(r).toMatchObject({ which: "extobj", firstWalker: "first/1", secondWalker: "second/2" });
    expect(fingerprint({ ...r, list: 'GpuVm#9 "other".extobj', firstWalker: "a/7", secondWalker: "b/8" })).toBe(fingerprint(r));
    expect(fingerprint({ ...r, which: "evict" })).not.toBe(fingerprint(r));
  });
});
