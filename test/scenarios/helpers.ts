import { expect } from "vitest";
import type { Report, ReportKind } from "../../src/index.js";

/** Assert that `report` exists and has `kind`, and narrow it to that kind. */
export function expectKind<K extends ReportKind>(report: Report | undefined, kind: K): Extract<Report, { kind: K }> {
  expect(report?.kind).toBe(kind);
  return report as Extract<Report, { kind: K }>;
}
