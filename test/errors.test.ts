import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, GpuvmSimError, ReportError, UsageError } from "../src/index.js";
import { programs } from "./report/reports.js";

describe("error catalog", () => {
  it("names the argument in typed argument errors", () => {
    const a = new ArgumentError("size", "must be positive");
    expect(a).toBeInstanceOf(GpuvmSimError);
    expect([a.name, a.argument, a.message]).toEqual(["ArgumentError", "size", "invalid argument 'size': must be positive"]);
    const r = new ArgumentRangeError("addr", "not a safe integer");
    expect(r).toBeInstanceOf(RangeError);
    expect([r.name, r.argument]).toEqual(["ArgumentRangeError", "addr"]);
  });

  it("carries the report in a ReportError", () => {
    const report = programs["double-free"]();
    const e = new ReportError(report, "text");
    expect(e).toBeInstanceOf(GpuvmSimError);
    expect(e.report).toBe(report);
    expect(new UsageError("x").name).toBe("UsageError");
  });
});
