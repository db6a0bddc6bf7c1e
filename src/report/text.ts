/**
 * The one text formatter for reports. It reads like KASAN and lockdep: a
 * rule, a headline, aligned rows (access, allocated by, freed by...), the
 * refcount history, the last steps as one column per task, and the replay
 * line. The frame is here and in frame.ts; the headline and the rows of each
 * kind come from its definition in the table (registry.ts), which kinds.ts
 * fills with every built-in layer's kinds. Everything comes from the report
 * value; nothing is looked up live.
 */
import "./kinds.js";
import { ReportText, replayLine, RULE, scheduleColumns } from "./frame.js";
import { definitionOf } from "./registry.js";
import type { Report } from "./report.js";

/**
 * The report's headline: its first line under the rule, what happened.
 *
 * @throws {UnknownReportKindError} if no layer defines the report's kind.
 */
export function reportHeadline(r: Report): string {
  return definitionOf(r).headline(r);
}

/**
 * Format a report as text: the rule, the kind's headline and rows, the last
 * steps of the schedule, the replay line and the rule again, joined with
 * newlines (no trailing newline). Deterministic: the same report gives the
 * same text.
 *
 * @throws {UnknownReportKindError} if no layer defines the report's kind
 *   (a report from a newer version, say).
 */
export function formatReport(r: Report): string {
  const kind = definitionOf(r);
  const body = new ReportText();
  kind.body(r, body);
  // Array literals and loops, never push(...rows): a body can hold as many
  // rows as the data (a leak's holders), more than an argument list takes.
  const lines = [RULE, kind.headline(r), ...body.lines];
  while (lines[lines.length - 1] === "") lines.pop();
  const sched = scheduleColumns(r.schedule);
  if (sched.length > 0) {
    lines.push("");
    for (const l of sched) lines.push(l);
  }
  lines.push("", replayLine(r.replay), RULE);
  return lines.join("\n");
}
