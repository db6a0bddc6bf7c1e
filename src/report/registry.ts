/**
 * The table of report kinds. Each layer defines its kinds in its own file
 * (`src/report/<layer>.ts`) with {@link defineReportKind}: the headline, the
 * rows below it, and the fields that make a failure this one and not another
 * (its fingerprint). The formatter (text.ts), the JSON reader (json.ts) and
 * the fingerprint (fingerprint.ts) look kinds up here, so a new kind needs no
 * edit of a central switch. kinds.ts imports every built-in layer file, so
 * all of them are registered before any report is read.
 */
import { UnknownReportKindError, UsageError } from "../errors.js";
import type { ReportText } from "./frame.js";
import type { Report, ReportKind, ReportKinds } from "./report.js";

/**
 * How one kind of report is told and identified. `K` must be a key of
 * {@link ReportKinds}: declare the data type there first.
 */
export interface ReportKindDefinition<K extends ReportKind> {
  readonly kind: K;
  /** The first line under the rule: what happened (`BUG: gpuvm-sim: double-free of Thing#1 "t"`). */
  headline(r: ReportKinds[K]): string;
  /**
   * The rows under the headline, written into `out`: a second line, the
   * sites, histories, held locks. The frame adds the schedule and the replay
   * line after them and drops trailing blank lines.
   */
  body(r: ReportKinds[K], out: ReportText): void;
  /**
   * What makes two reports of this kind the same failure, from structured
   * fields only: object types, lock classes, the operation, never ids, task
   * names or steps. {@link fingerprintName} masks what numbers remain;
   * {@link canonicalCycle} makes a cycle the same whichever member closed it.
   * The parts are joined after the kind; the text is never consulted, so
   * rewording a headline changes no fingerprint.
   */
  fingerprint(r: ReportKinds[K]): readonly string[];
}

const table = new Map<string, ReportKindDefinition<ReportKind>>();

/**
 * Register a report kind. Called once per kind, at the top level of the
 * layer's report file; returns the definition.
 *
 * @throws {UsageError} if a kind of that name is already defined.
 */
export function defineReportKind<K extends ReportKind>(definition: ReportKindDefinition<K>): ReportKindDefinition<K> {
  if (table.has(definition.kind)) throw new UsageError(`report kind '${definition.kind}' is defined twice`);
  table.set(definition.kind, definition);
  return definition;
}

/**
 * The definition of a kind, typed for any report (look it up by the report's
 * own `kind`).
 *
 * @throws {UnknownReportKindError} if no layer defined `kind`.
 */
export function reportKindDefinition(kind: string): ReportKindDefinition<ReportKind> {
  const d = table.get(kind);
  if (d === undefined) throw new UnknownReportKindError(kind);
  return d;
}

/** The definition for this report's kind. @throws {UnknownReportKindError} as {@link reportKindDefinition}. */
export function definitionOf(r: Report): ReportKindDefinition<ReportKind> {
  return reportKindDefinition(r.kind);
}

/** Every registered kind's name, in registration order. */
export function registeredReportKinds(): readonly string[] {
  return [...table.keys()];
}

/**
 * A label or name with its numbers taken out, for fingerprints: object ids
 * (`#3`) are dropped and other digits become `#`, so `Mutex#2 "bo3->lock"`
 * gives `Mutex "bo#->lock"`.
 */
export function fingerprintName(s: string): string {
  return s.replace(/#\d+/g, "").replace(/\d+/g, "#");
}

/**
 * A cycle written from its smallest member (after {@link fingerprintName}),
 * joined with ` -> `: the same cycle closed from any point gives the same
 * string. Among equal smallest members the rotation that sorts first wins.
 */
export function canonicalCycle(members: readonly string[]): string {
  const names = members.map(fingerprintName);
  let best: string | null = null;
  for (let i = 0; i < names.length; i++) {
    const rotation = [...names.slice(i), ...names.slice(0, i)].join(" -> ");
    if (best === null || rotation < best) best = rotation;
  }
  return best ?? "";
}
