/**
 * Reports as JSON: the report value is already plain data, so this is a
 * stable, versioned envelope around it.
 */
import type { Report } from "./report.js";

/** The JSON format version; bumped on any incompatible change of report fields. */
export const REPORT_JSON_VERSION = 1;

/** Serialise reports as one JSON document. */
export function reportsToJson(reports: readonly Report[]): string {
  return JSON.stringify({ version: REPORT_JSON_VERSION, reports }, null, 2);
}

/** Parse a document written by {@link reportsToJson}. */
export function reportsFromJson(text: string): Report[] {
  const doc = JSON.parse(text) as { version?: unknown; reports?: unknown };
  if (doc.version !== REPORT_JSON_VERSION || !Array.isArray(doc.reports)) {
    throw new Error(`not a gpuvm-sim report document of version ${REPORT_JSON_VERSION}`);
  }
  return doc.reports as Report[];
}
