/**
 * The checks every report kind passes, for one layer's kinds file: it is
 * defined in the registry, its headline is the first line of its text under
 * the rule, and it survives the JSON round trip with the same fingerprint.
 * Each layer's test/report/<file>.test.ts calls it with its kinds.
 */
import { expect, it } from "vitest";
import { formatReport, reportsFromJson, reportsToJson } from "../../src/index.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { reportKindDefinition } from "../../src/report/registry.js";
import { reportHeadline } from "../../src/report/text.js";
import { programs, type SampledKind } from "../report/reports.js";

export function itDefinesKinds(kinds: readonly SampledKind[]): void {
  for (const kind of kinds) {
    it(`${kind}: is defined, its headline is the text's first line, and JSON keeps it whole`, () => {
      expect(reportKindDefinition(kind).kind).toBe(kind);
      const report = programs[kind]();
      expect(report.kind).toBe(kind);
      expect(formatReport(report).split("\n")[1]).toBe(reportHeadline(report));
      const [back] = reportsFromJson(reportsToJson([report]));
      expect(back).toEqual(report);
      expect(fingerprint(back as typeof report)).toBe(fingerprint(report));
    });
  }
}
