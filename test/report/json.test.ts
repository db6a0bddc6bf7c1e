import { describe, expect, it } from "vitest";
import { formatReport, REPORT_JSON_VERSION, reportsFromJson, reportsToJson } from "../../src/index.js";
import { programs, type SampledKind } from "./reports.js";

describe("JSON reports", () => {
  const all = (Object.keys(programs) as SampledKind[]).map((k) => programs[k]());

  it("round-trips every report kind to an equal value and the same text", () => {
    const back = reportsFromJson(reportsToJson(all));
    expect(back).toEqual(JSON.parse(JSON.stringify(all)));
    expect(back.map(formatReport)).toEqual(all.map(formatReport));
  });

  it("carries a version and rejects other documents", () => {
    expect((JSON.parse(reportsToJson([])) as { version: number }).version).toBe(REPORT_JSON_VERSION);
    expect(() => reportsFromJson('{"version": 99, "reports": []}')).toThrow(/version 1/);
    expect(() => reportsFromJson("[]")).toThrow();
  });
});
