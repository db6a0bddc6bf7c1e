import { describe, expect, it } from "vitest";
import { formatReport, type ReportKind } from "../../src/index.js";
import { programs } from "./reports.js";

describe("text reports", () => {
  for (const kind of Object.keys(programs) as ReportKind[]) {
    it(`formats ${kind} exactly (seed 1)`, async () => {
      const report = programs[kind]();
      expect(report.kind).toBe(kind);
      const text = formatReport(report);
      expect(text.startsWith("=".repeat(66))).toBe(true);
      expect(text).toContain(`Replay: new Sim({ replay: "${report.replay}" })`);
      await expect(text + "\n").toMatchFileSnapshot(`__snapshots__/${kind}.txt`);
    });
  }

  it("is deterministic: the same program gives the same text", () => {
    for (const kind of Object.keys(programs) as ReportKind[]) {
      expect(formatReport(programs[kind]())).toBe(formatReport(programs[kind]()));
    }
  });
});
