/**
 * Reports as JSON: the report value is already plain data, so this is a
 * stable, versioned envelope around it.
 */
import "./kinds.js";
import { ArgumentError } from "../errors.js";
import { reportKindDefinition } from "./registry.js";
import type { Report } from "./report.js";

/** The JSON format version; bumped on any incompatible change of report fields. */
export const REPORT_JSON_VERSION = 1;

/** Serialise reports as one JSON document: `{ version, reports }`, indented. */
export function reportsToJson(reports: readonly Report[]): string {
  return JSON.stringify({ version: REPORT_JSON_VERSION, reports }, null, 2);
}

/**
 * Parse a document written by {@link reportsToJson}.
 *
 * @throws {SyntaxError} if the text is not JSON.
 * @throws {ArgumentError} if it is not a report document of this version, or
 *   an entry is not an object with a string `kind`.
 * @throws {UnknownReportKindError} if a report's kind is not defined by any
 *   layer (a document from a newer version, say), naming the kind.
 */
export function reportsFromJson(text: string): Report[] {
  const doc = JSON.parse(text) as { version?: unknown; reports?: unknown } | null;
  if (doc === null || typeof doc !== "object" || doc.version !== REPORT_JSON_VERSION || !Array.isArray(doc.reports)) {
    throw new ArgumentError("text", `not a gpuvm-sim report document of version ${REPORT_JSON_VERSION}`);
  }
  const reports: unknown[] = doc.reports;
  reports.forEach((r, i) => {
    const kind = typeof r === "object" && r !== null ? (r as { kind?: unknown }).kind : undefined;
    if (typeof kind !== "string") throw new ArgumentError("text", `reports[${i}] has no string 'kind'`);
    reportKindDefinition(kind);
  });
  return reports as Report[];
}
