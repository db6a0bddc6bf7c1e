/** ReportError (src/report/report-error.ts): what a throw-mode Sim's run throws. */
import { describe, expect, it } from "vitest";
import { formatReport, GpuvmSimError, kfree, ReportError, Sim, SimObject } from "../../src/index.js";

describe("ReportError", () => {
  it("carries the first report, its text as the message, and is one of the catalog's errors", () => {
    const sim = new Sim({ seed: 1 });
    const obj = new SimObject(sim, "Thing", { name: "t" });
    let thrown: unknown = null;
    try {
      sim.run(function* () {
        yield* kfree(obj);
        yield* kfree(obj);
      });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ReportError);
    expect(thrown).toBeInstanceOf(GpuvmSimError);
    const err = thrown as ReportError;
    expect(err.name).toBe("ReportError");
    expect(err.report).toMatchObject({ kind: "double-free" });
    expect(err.message).toBe(formatReport(err.report));
  });
});
