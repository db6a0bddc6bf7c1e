/** The GPUVM core's report kinds (src/report/gpuvm-kinds.ts): definitions, text, JSON, and what makes one failure. */
import { describe, expect, it } from "vitest";
import type { Report } from "../../src/index.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { itDefinesKinds } from "../support/report-kinds.js";
import { programs } from "./reports.js";

describe("gpuvm report kinds", () => {
  itDefinesKinds(["gpuvm-wrong-stage", "gpuvm-misuse", "gpuvm-teardown", "gpuvm-invariant"]);

  it("gpuvm-wrong-stage: the object's id is not part of the identity", () => {
    const r = programs["gpuvm-wrong-stage"]() as Extract<Report, { kind: "gpuvm-wrong-stage" }>;
    expect(r).toMatchObject({ objectType: "Mapping", stage: "removed", operation: "drm_gpuva_remove" });
    expect(fingerprint({ ...r, object: "Mapping#99" })).toBe(fingerprint(r));
  });

  it("gpuvm-teardown: names what is left and who holds it", () => {
    const r = programs["gpuvm-teardown"]() as Extract<Report, { kind: "gpuvm-teardown" }>;
    expect(r.structure).toBe("tree");
    expect(r.left).toEqual([{ object: expect.stringContaining('Mapping#') as string, heldBy: "not linked" }]);
  });

  it("gpuvm-invariant and gpuvm-misuse name the rule and the problem", () => {
    const inv = programs["gpuvm-invariant"]() as Extract<Report, { kind: "gpuvm-invariant" }>;
    expect(inv.rule).toBe("refcount-holders");
    const mis = programs["gpuvm-misuse"]() as Extract<Report, { kind: "gpuvm-misuse" }>;
    expect(mis).toMatchObject({ problem: "wrong-mode", operation: "drm_gpuvm_bo_put_deferred" });
  });
});
