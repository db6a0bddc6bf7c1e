import { describe, expect, it } from "vitest";
import { ArgumentError, formatReport, reportsFromJson, reportsToJson, UnknownReportKindError, type Report } from "../../src/index.js";
import { programs } from "../report/reports.js";
import { expectThrows } from "./helpers.js";

const base = { step: 1, task: null, replay: "x", schedule: { tasks: [], rows: [] } };

describe("bad input: formatReport()", () => {
  const cases: [string, unknown, string][] = [
    ["null", null, "report"],
    ["a number", 3, "report"],
    ["a string", "leak", "report"],
    ["{}", {}, "report"],
    ["a kind that is not a string", { kind: 5 }, "report"],
    ["{ kind: 'leak' } without the base fields", { kind: "leak" }, "report"],
    ["a leak without its objects", { kind: "leak", ...base }, "report"],
    ["a use-after-free with a broken site", { kind: "use-after-free", ...base, object: {}, accessed: null }, "report"],
  ];
  for (const [what, value, argument] of cases) {
    it(`${what} is an ArgumentError naming '${argument}', never a TypeError; the value is unchanged`, () => {
      const before = JSON.stringify(value);
      expectThrows(() => formatReport(value as Report), ArgumentError, argument);
      expect(JSON.stringify(value)).toBe(before);
    });
  }

  it("an unknown kind is an UnknownReportKindError naming the kind", () => {
    const e = expectThrows(() => formatReport({ kind: "nope", ...base } as never), UnknownReportKindError);
    expect((e as unknown as { kind: string }).kind).toBe("nope");
  });
});

describe("bad input: reportsFromJson()", () => {
  const good = reportsToJson([programs["double-free"]()]);
  const doc = (reports: unknown, version: unknown = 1): string => JSON.stringify({ version, reports });
  const cases: [string, unknown][] = [
    ["null", null],
    ["a number", 5],
    ["text that is not JSON", "{not json"],
    ["JSON null", "null"],
    ["a JSON array", "[]"],
    ["a wrong version", doc([], 2)],
    ["no reports array", JSON.stringify({ version: 1 })],
    ["an element that is not an object", doc([3])],
    ["an element without kind", doc([{}])],
    ["{ kind: 'leak' } missing fields", doc([{ kind: "leak" }])],
    ["a leak with the base fields but no objects", doc([{ kind: "leak", ...base }])],
    ["a good report then a bad one", doc([...(JSON.parse(good) as { reports: unknown[] }).reports, { kind: "double-free", ...base }])],
  ];
  for (const [what, text] of cases) {
    it(`${what} is an ArgumentError naming 'text'`, () => {
      expectThrows(() => reportsFromJson(text as string), ArgumentError, "text");
    });
  }

  it("an unknown kind is an UnknownReportKindError", () => {
    expectThrows(() => reportsFromJson(doc([{ kind: "nope", ...base }])), UnknownReportKindError);
  });

  it("what it returns formats", () => {
    const [r] = reportsFromJson(good);
    expect(formatReport(r as Report)).toMatch(/double-free/);
  });
});
