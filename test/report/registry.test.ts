import { describe, expect, it } from "vitest";
import { formatReport, reportsFromJson, reportsToJson, UnknownReportKindError, UsageError, type Report } from "../../src/index.js";
import { canonicalCycle, defineReportKind, fingerprintName, registeredReportKinds, reportKindDefinition } from "../../src/report/registry.js";
import { programs } from "./reports.js";

describe("report kind table", () => {
  it("holds every built-in kind once src/index.ts is imported", () => {
    expect(registeredReportKinds()).toHaveLength(Object.keys(programs).length);
    expect(reportKindDefinition("deadlock").kind).toBe("deadlock");
  });

  it("refuses to define a kind twice", () => {
    const deadlock = reportKindDefinition("deadlock");
    expect(() => defineReportKind(deadlock)).toThrow(UsageError);
    expect(() => defineReportKind(deadlock)).toThrow("report kind 'deadlock' is defined twice");
  });

  it("names an unknown kind in a typed error, from the formatter and the JSON reader", () => {
    const alien = { ...programs["double-free"](), kind: "no-such-kind" } as unknown as Report;
    const caught = (() => {
      try {
        formatReport(alien);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(caught).toBeInstanceOf(UnknownReportKindError);
    expect((caught as UnknownReportKindError).kind).toBe("no-such-kind");
    expect((caught as UnknownReportKindError).message).toContain("'no-such-kind'");
    expect(() => reportsFromJson(reportsToJson([alien]))).toThrow(UnknownReportKindError);
    expect(() => reportKindDefinition("nope")).toThrow("unknown report kind 'nope'");
  });

  it("masks ids and numbers in names", () => {
    expect(fingerprintName('Mutex#2 "bo3->lock"')).toBe('Mutex "bo#->lock"');
    expect(fingerprintName("kref_put")).toBe("kref_put");
  });

  it("writes a cycle from its smallest member, whichever member it starts at", () => {
    expect(canonicalCycle(["C", "A", "B"])).toBe("A -> B -> C");
    expect(canonicalCycle(["B", "C", "A"])).toBe("A -> B -> C");
    // The other direction is another cycle.
    expect(canonicalCycle(["C", "B", "A"])).toBe("A -> C -> B");
    expect(canonicalCycle([])).toBe("");
  });
});
