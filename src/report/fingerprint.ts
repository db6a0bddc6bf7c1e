/**
 * A failure's identity: what "fails the same way" means to the explorer when
 * it counts distinct failures and shrinks a schedule.
 *
 * Built from the report's structured fields through its kind's definition
 * (registry.ts), never from its text, so rewording a headline changes no
 * identity. The parts are object types, lock classes and operations; ids,
 * task names and steps are left out, and what numbers remain in names are
 * masked, so the same bug in another run, on another instance, is the same
 * failure.
 */
import "./kinds.js";
import { definitionOf, fingerprintName } from "./registry.js";
import type { Report } from "./report.js";

/**
 * The report's fingerprint: its kind, then its kind's parts with numbers
 * masked, as `kind: part / part`. Equal fingerprints mean one failure.
 *
 * @throws {UnknownReportKindError} if no layer defines the report's kind.
 */
export function fingerprint(r: Report): string {
  const parts = definitionOf(r).fingerprint(r).map(fingerprintName);
  return parts.length === 0 ? r.kind : `${r.kind}: ${parts.join(" / ")}`;
}
