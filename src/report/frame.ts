/**
 * The shared frame of report text: the pieces every layer's kinds are drawn
 * with. A kind's text (see registry.ts) writes its rows into a
 * {@link ReportText}; text.ts puts the rule, the headline, those rows, the
 * schedule columns and the replay line around them.
 *
 * Everything here reads report data only, nothing live, so the same report
 * always gives the same text.
 */
import type { HeldRef, HolderRef, QueuedByRef, RefEvent, ScheduleRow, ScheduleTail, SiteRef } from "./report.js";

/** REFCOUNT_SATURATED, restated so the text depends on report data only. */
const SATURATED = -0x40000000;

/** The line above and below every report, as KASAN draws it. */
export const RULE = "==================================================================";

/** `s` padded with spaces to `n` characters, or followed by one space when it is already that long. */
export function pad(s: string, n: number): string {
  return s.length >= n ? `${s} ` : s + " ".repeat(n - s.length);
}

/** A task label as reports show it: `(setup)` outside any task. */
export function taskName(task: string | null): string {
  return task ?? "(setup)";
}

/** The narrowest a `step N` column is: `step 12345` and a space. */
const STEP_COLUMN = 11;

/**
 * The width of a column of `step N` cells that fits `step` with a space
 * after it, and at least `width` (the widest so far). Columns widen with the
 * step numbers they show, so rows stay aligned at any step count.
 */
function stepColumn(width: number, step: number): number {
  return Math.max(width, `step ${step}`.length + 1);
}

/**
 * One aligned site row (`  freed        closer/2        step 5     kfree`),
 * then its stack if it has one. `stepWidth` is the width of the `step N`
 * column (default 11); rows drawn together pass the same one.
 */
export function siteRow(label: string, site: SiteRef, stepWidth = STEP_COLUMN): string {
  const row = `  ${pad(label, 13)}${pad(taskName(site.task), 16)}${pad(`step ${site.step}`, stepWidth)}${site.op}`;
  return site.stack === undefined ? row : `${row}\n${indentStack(site.stack)}`;
}

/** A JavaScript stack's frames (at most eight, without the message line), indented under a row. */
export function indentStack(stack: string): string {
  return stack
    .split("\n")
    .slice(1, 9)
    .map((l) => `      ${l.trim()}`)
    .join("\n");
}

function history(title: string, events: readonly RefEvent[], dropped: number): string[] {
  if (events.length === 0 && dropped === 0) return [];
  const lines = [`${title}:`];
  // A loop, not Math.max(...events): any number of events fits.
  let width = STEP_COLUMN;
  for (const e of events) width = stepColumn(width, e.step);
  if (dropped > 0) lines.push(`  (${dropped} earlier event${dropped === 1 ? "" : "s"} dropped: the history keeps the last 512 refcount events of all objects)`);
  for (const e of events) {
    const who = e.holder === undefined ? "" : ` (${e.holder})`;
    const count = e.count === SATURATED ? "saturated" : String(e.count);
    lines.push(`  ${pad(`step ${e.step}`, width)}${pad(taskName(e.task), 16)}${pad(e.op + who, 28)}${count}`);
  }
  return lines;
}

/** One row per holder entry; an entry standing for several references says how many, and where the first was taken. */
function holderRows(hs: readonly HolderRef[]): string[] {
  return hs.map((h) => {
    if (h.holder === null) return `      ${h.count} untagged reference${h.count === 1 ? "" : "s"}`;
    const who = h.count === 1 ? `      held by "${h.holder}"` : `      held by "${h.holder}" x${h.count}`;
    if (h.site === null) return who;
    const taken = h.count === 1 ? "taken" : "first taken";
    return `${pad(who, 34)}${taken} by ${taskName(h.site.task)} at step ${h.site.step} (${h.site.op})`;
  });
}

/** When a held lock was taken: `step 5 (mutex_lock)`, or `after step 5 (lock_map_acquire)` for one with no step of its own. */
export function heldWhen(h: HeldRef): string {
  return `${h.after === true ? "after " : ""}step ${h.acquired.step} (${h.acquired.op})`;
}

function heldList(title: string, held: readonly HeldRef[]): string[] {
  if (held.length === 0) return [`${title}: none`];
  return [
    `${title}:`,
    ...held.map((h, i) => {
      const how = [h.read ? "read" : "", h.trylock ? "trylock" : ""].filter((x) => x !== "").join(", ");
      const cls = h.lock.includes(`"${h.lockClass}"`) ? "" : ` (class ${h.lockClass})`;
      return `  #${i}: ${h.lock}${cls}${how === "" ? "" : ` [${how}]`}, acquired ${h.after === true ? "" : "at "}${heldWhen(h)}`;
    }),
  ];
}

/**
 * The rows of one report below its headline, written by the kind's `body`.
 * Each method appends and returns the writer, so rows chain.
 */
export class ReportText {
  readonly #lines: string[] = [];
  /**
   * The site rows written one after another up to now (where each is in
   * `#lines`), and the width of their `step N` column: a row whose step is
   * wider redraws the others, so each group of site rows stays aligned.
   */
  #sites: { index: number; label: string; site: SiteRef }[] = [];
  #siteWidth = STEP_COLUMN;

  /** The rows written so far. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** Append lines as they are. */
  line(...lines: readonly string[]): this {
    return this.#append(lines);
  }

  /**
   * Append every line of `lines`, as they are: for lists as long as the
   * data (holders, tasks), which must never be spread into an argument list
   * (a few hundred thousand arguments overflow the stack).
   */
  each(lines: readonly string[]): this {
    return this.#append(lines);
  }

  #append(lines: readonly string[]): this {
    this.#endSites();
    const out = this.#lines;
    for (const l of lines) out.push(l);
    return this;
  }

  /** Append an empty line (trailing ones are dropped by the frame). */
  blank(): this {
    this.#endSites();
    this.#lines.push("");
    return this;
  }

  /** Append an aligned site row; nothing when `site` is null (the event was not seen). */
  site(label: string, site: SiteRef | null): this {
    if (site === null) return this;
    const width = stepColumn(this.#siteWidth, site.step);
    if (width !== this.#siteWidth) {
      this.#siteWidth = width;
      for (const s of this.#sites) this.#lines[s.index] = siteRow(s.label, s.site, width);
    }
    this.#sites.push({ index: this.#lines.length, label, site });
    this.#lines.push(siteRow(label, site, width));
    return this;
  }

  /** Any row but a site row ends a group of site rows. */
  #endSites(): void {
    if (this.#sites.length === 0) return;
    this.#sites = [];
    this.#siteWidth = STEP_COLUMN;
  }

  /**
   * Append a refcount history under `title` (`Refcount history of Bo#1
   * "bo0"`), saying first how many earlier events the ring dropped if any;
   * nothing when it is empty and nothing was dropped.
   */
  refHistory(title: string, events: readonly RefEvent[], dropped = 0): this {
    this.each(history(title, events, dropped));
    return this;
  }

  /** Append the outstanding holders of a refcount, one row each. */
  holders(hs: readonly HolderRef[]): this {
    this.each(holderRows(hs));
    return this;
  }

  /** Append the locks a task holds, innermost last (`<title>: none` when it holds none). */
  held(title: string, held: readonly HeldRef[]): this {
    this.each(heldList(title, held));
    return this;
  }
}

/**
 * The rows naming where the work item a report was filed in was queued, as
 * KASAN's "Last potentially related work creation"; no lines without one.
 */
export function queuedByRows(q: QueuedByRef | undefined): string[] {
  if (q === undefined) return [];
  return ["Last potentially related work creation:", siteRow("queued", q), `  ${pad("work", 13)}${q.work} on ${q.workqueue}`];
}

/** The last steps of the schedule, one column per task; no lines when there are no steps. */
export function scheduleColumns(s: ScheduleTail): string[] {
  if (s.rows.length === 0) return [];
  const cell = (r: ScheduleRow) => (r.result === undefined ? r.effect : `${r.effect} -> ${r.result}`);
  // Each column as wide as its widest cell; the offsets follow.
  // A loop, not Math.max(...cells): the rows are as many as the ring holds.
  const widths = s.tasks.map((t) => t.length + 3);
  for (const r of s.rows) widths[r.column] = Math.max(widths[r.column] ?? 0, cell(r).length + 3);
  // The step column fits the longest step number and a space, and `step  `.
  let stepWidth = 6;
  for (const r of s.rows) stepWidth = Math.max(stepWidth, String(r.step).length + 1);
  const offsets = widths.map((_, c) => widths.slice(0, c).reduce((a, b) => a + b, 0));
  const total = widths.reduce((a, b) => a + b, 0);
  const lines = [s.rows.length === 1 ? "Last step:" : `Last ${s.rows.length} steps:`, `  ${pad("step", stepWidth)}${s.tasks.map((t, c) => pad(t, widths[c] ?? 0)).join("")}`.trimEnd()];
  for (const r of s.rows) {
    const row = `  ${pad(String(r.step), stepWidth)}${" ".repeat(offsets[r.column] ?? 0)}${cell(r)}`;
    // The reason for a switch goes after the last column, where it cannot be mistaken for an effect.
    lines.push(r.switched === undefined ? row : `${pad(row, 2 + stepWidth + total)}(${r.switched})`);
  }
  return lines;
}

/** The replay line: explorer tokens (version 2) replay with replay(), a plain Sim's with its options. */
export function replayLine(replay: string): string {
  const how = replay.startsWith("gpuvm-sim:2:") ? `replay(scenario, "${replay}")` : `new Sim({ replay: "${replay}" })`;
  return `Replay: ${how}`;
}
