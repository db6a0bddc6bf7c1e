/** The device model's report kinds (src/report/device-kinds.ts): definitions, text, JSON, and what makes one failure. */
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/index.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { itDefinesKinds } from "../support/report-kinds.js";
import { programs } from "./reports.js";

describe("device report kinds", () => {
  itDefinesKinds(["phys-page-still-mapped", "phys-page-double-free"]);

  it("phys-page-still-mapped: names the frame, its owner and mapper; the frame number is not part of the identity", () => {
    const r = programs["phys-page-still-mapped"]() as Extract<Report, { kind: "phys-page-still-mapped" }>;
    expect(r).toMatchObject({ mem: 'PhysMem#1 "ram"', owner: "bo0 backing store", mapCount: 1, mappedBy: 'GpuPageTable#2 "vm0"', freed: { task: "main/1", op: "__free_page" } });
    expect(fingerprint({ ...r, pfn: 77 })).toBe(fingerprint(r));
  });

  it("phys-page-double-free: names both frees", () => {
    const r = programs["phys-page-double-free"]() as Extract<Report, { kind: "phys-page-double-free" }>;
    expect(r.firstFree).toMatchObject({ op: "__free_page" });
    expect(r.secondFree.step).toBeGreaterThan((r.firstFree as { step: number }).step);
  });
});
