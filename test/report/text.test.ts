import { describe, expect, it } from "vitest";
import { formatReport } from "../../src/index.js";
import { programs, type SampledKind } from "./reports.js";

describe("text reports", () => {
  for (const kind of Object.keys(programs) as SampledKind[]) {
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
    for (const kind of Object.keys(programs) as SampledKind[]) {
      expect(formatReport(programs[kind]())).toBe(formatReport(programs[kind]()));
    }
  });
});
