/**
 * Reports as JSON: the report value is already plain data, so this is a
 * stable, versioned envelope around it.
 */
import "./kinds.js";
import { ArgumentError, UnknownReportKindError } from "../errors.js";
import { fingerprint } from "./fingerprint.js";
import type { Report } from "./report.js";
import { checkReportShape, describeValue, formatReport } from "./text.js";

/** The JSON format version; bumped on any incompatible change of report fields. */
export const REPORT_JSON_VERSION = 1;

/** Serialise reports as one JSON document: `{ version, reports }`, indented. */
export function reportsToJson(reports: readonly Report[]): string {
  return JSON.stringify({ version: REPORT_JSON_VERSION, reports }, null, 2);
}

/**
 * Parse a document written by {@link reportsToJson}.
 *
 * Every report read is checked as far as formatting and fingerprinting it
 * need: what it returns, formatReport() and fingerprint() accept.
 *
 * @throws {ArgumentError} naming `text` if it is not a string, not JSON,
 *   not a report document of this version, or an entry is not a report (no
 *   string `kind`, base fields missing, its kind's fields missing or of the
 *   wrong type); the message says which entry.
 * @throws {UnknownReportKindError} if a report's kind is not defined by any
 *   layer (a document from a newer version, say), naming the kind.
 */
export function reportsFromJson(text: string): Report[] {
  if (typeof text !== "string") throw new ArgumentError("text", `must be a JSON string, got ${describeValue(text)}`);
  let doc: { version?: unknown; reports?: unknown } | null;
  try {
    doc = JSON.parse(text) as { version?: unknown; reports?: unknown } | null;
  } catch (e) {
    throw new ArgumentError("text", `not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    throw new ArgumentError("text", `not a gpuvm-sim report document: expected { version, reports }, got ${describeValue(doc)}`);
  }
  if (doc.version !== REPORT_JSON_VERSION) {
    throw new ArgumentError("text", `not a gpuvm-sim report document of version ${REPORT_JSON_VERSION} (version: ${describeValue(doc.version)})`);
  }
  if (!Array.isArray(doc.reports)) throw new ArgumentError("text", `'reports' must be an array, got ${describeValue(doc.reports)}`);
  const reports: unknown[] = doc.reports;
  reports.forEach((r, i) => {
    checkReportShape("text", r, `reports[${i}]`);
    try {
      formatReport(r);
      fingerprint(r);
    } catch (e) {
      if (e instanceof UnknownReportKindError) throw e;
      const why = e instanceof ArgumentError ? e.message : `a field is missing or of the wrong type (${e instanceof Error ? e.message : String(e)})`;
      throw new ArgumentError("text", `reports[${i}]: ${why}`);
    }
  });
  return reports as Report[];
}
