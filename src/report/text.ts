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
import { ArgumentError, GpuvmSimError } from "../errors.js";
import { queuedByRows, ReportText, replayLine, RULE, scheduleColumns } from "./frame.js";
import { definitionOf } from "./registry.js";
import type { Report } from "./report.js";

/**
 * The report's headline: its first line under the rule, what happened.
 *
 * @throws {UnknownReportKindError} if no layer defines the report's kind.
 */
export function reportHeadline(r: Report): string {
  checkReportShape("report", r);
  return guarded("report", r, () => definitionOf(r).headline(r));
}

/**
 * @internal A value as an error message names it: its type, never its
 * contents (validate.ts's describeValue, which this layer cannot import).
 */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "number" || typeof v === "boolean") return `${typeof v} ${String(v)}`;
  return typeof v === "object" ? "an object" : typeof v === "undefined" ? "undefined" : `a ${typeof v}`;
}

/**
 * @internal Check what every report has, whatever its kind: an object with a
 * string `kind` of a defined kind, a numeric `step`, a `task` string or
 * null, a `replay` string and a `schedule` of `tasks` and `rows` arrays.
 * The kind's own fields are checked by formatting it (see {@link guarded}).
 *
 * @throws ArgumentError naming `argument` (with the field at fault in the
 *   message); UnknownReportKindError for a kind no layer defines.
 */
export function checkReportShape(argument: string, r: unknown, where = "the report"): asserts r is Report {
  if (typeof r !== "object" || r === null || Array.isArray(r)) throw new ArgumentError(argument, `${where} must be a report object, got ${describeValue(r)}`);
  const o = r as Record<string, unknown>;
  if (typeof o["kind"] !== "string") throw new ArgumentError(argument, `${where} has no string 'kind' (got ${describeValue(o["kind"])})`);
  definitionOf(r as Report); // UnknownReportKindError for an unknown kind
  const bad = (field: string, want: string): never => {
    throw new ArgumentError(argument, `${where} (kind '${String(o["kind"])}') needs ${want} '${field}', got ${describeValue(o[field])}`);
  };
  if (typeof o["step"] !== "number") bad("step", "a number");
  if (o["task"] !== null && typeof o["task"] !== "string") bad("task", "a string or null");
  if (typeof o["replay"] !== "string") bad("replay", "a string");
  const q = o["queuedBy"] as Record<string, unknown> | null | undefined;
  if (q !== undefined && (typeof q !== "object" || q === null || typeof q["step"] !== "number" || typeof q["op"] !== "string" || typeof q["work"] !== "string" || typeof q["workqueue"] !== "string" || (q["task"] !== null && typeof q["task"] !== "string"))) {
    bad("queuedBy", "absent or a { task, step, op, work, workqueue } object as");
  }
  const sched = o["schedule"] as { tasks?: unknown; rows?: unknown } | null | undefined;
  if (typeof sched !== "object" || sched === null || !Array.isArray(sched.tasks) || !Array.isArray(sched.rows)) bad("schedule", "a { tasks, rows } object in");
}

/**
 * Run a kind's formatting of `r`; a report whose kind-specific fields are
 * missing or of the wrong type makes the kind's code throw (a TypeError
 * reading a field of undefined): that is an ArgumentError naming `argument`.
 */
function guarded<T>(argument: string, r: Report, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof GpuvmSimError) throw e;
    throw new ArgumentError(argument, `malformed '${r.kind}' report: a field is missing or of the wrong type (${e instanceof Error ? e.message : String(e)})`);
  }
}

/**
 * Format a report as text: the rule, the kind's headline and rows, the last
 * steps of the schedule, the replay line and the rule again, joined with
 * newlines (no trailing newline). Deterministic: the same report gives the
 * same text.
 *
 * @throws {UnknownReportKindError} if no layer defines the report's kind
 *   (a report from a newer version, say).
 * @throws {ArgumentError} naming `report` if `r` is not a report: not an
 *   object, no string `kind`, base fields missing, or its kind's fields
 *   missing or of the wrong type.
 */
export function formatReport(r: Report): string {
  checkReportShape("report", r);
  return guarded("report", r, () => format(r));
}

function format(r: Report): string {
  const kind = definitionOf(r);
  const body = new ReportText();
  kind.body(r, body);
  // Array literals and loops, never push(...rows): a body can hold as many
  // rows as the data (a leak's holders), more than an argument list takes.
  const lines = [RULE, kind.headline(r), ...body.lines];
  while (lines[lines.length - 1] === "") lines.pop();
  const queued = queuedByRows(r.queuedBy);
  if (queued.length > 0) {
    lines.push("");
    for (const l of queued) lines.push(l);
  }
  const sched = scheduleColumns(r.schedule);
  if (sched.length > 0) {
    lines.push("");
    for (const l of sched) lines.push(l);
  }
  lines.push("", replayLine(r.replay), RULE);
  return lines.join("\n");
}
