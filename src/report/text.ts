/**
 * The one text formatter for reports. It reads like KASAN and lockdep: a
 * rule, a headline, aligned rows (access, allocated by, freed by...), the
 * refcount history, the last steps as one column per task, and the replay
 * line. Everything comes from the report value; nothing is looked up live.
 */
import type { HolderRef, RefEvent, Report, ScheduleTail, SiteRef, WaitEdge } from "./report.js";

/** REFCOUNT_SATURATED, restated so the formatter depends on report data only. */
const SATURATED = -0x40000000;

const RULE = "==================================================================";

function pad(s: string, n: number): string {
  return s.length >= n ? `${s} ` : s + " ".repeat(n - s.length);
}

function siteRow(label: string, site: SiteRef): string {
  const row = `  ${pad(label, 13)}${pad(site.task ?? "(setup)", 16)}${pad(`step ${site.step}`, 11)}${site.op}`;
  return site.stack === undefined ? row : `${row}\n${indentStack(site.stack)}`;
}

function indentStack(stack: string): string {
  return stack
    .split("\n")
    .slice(1, 9)
    .map((l) => `      ${l.trim()}`)
    .join("\n");
}

function history(title: string, events: readonly RefEvent[]): string[] {
  if (events.length === 0) return [];
  const lines = [`${title}:`];
  for (const e of events) {
    const who = e.holder === undefined ? "" : ` (${e.holder})`;
    const count = e.count === SATURATED ? "saturated" : String(e.count);
    lines.push(`  ${pad(`step ${e.step}`, 11)}${pad(e.task ?? "(setup)", 16)}${pad(e.op + who, 28)}${count}`);
  }
  return lines;
}

function holders(hs: readonly HolderRef[]): string[] {
  return hs.map((h) =>
    h.holder === null
      ? `      ${h.count} untagged reference${h.count === 1 ? "" : "s"}`
      : `      held by "${h.holder}"`.padEnd(34) + (h.site === null ? "" : `taken by ${h.site.task ?? "(setup)"} at step ${h.site.step} (${h.site.op})`),
  );
}

function schedule(s: ScheduleTail): string[] {
  if (s.rows.length === 0) return [];
  const width = Math.max(18, ...s.rows.map((r) => r.effect.length + 2), ...s.tasks.map((t) => t.length + 2));
  const lines = [`Last ${s.rows.length} steps:`, `  ${pad("step", 6)}${s.tasks.map((t) => pad(t, width)).join("")}`.trimEnd()];
  for (const r of s.rows) {
    lines.push(`  ${pad(String(r.step), 6)}${" ".repeat(width * r.column)}${r.effect}`);
  }
  return lines;
}

function waitLine(e: WaitEdge): string {
  const who = e.wakers.length === 0 ? "no task" : e.wakers.join(", ");
  return `  ${pad(e.task, 16)}blocked in ${e.blockedIn} on ${e.waitsFor}; woken by ${who}${e.inferred ? " (inferred)" : ""}`;
}

function cycleLine(cycle: readonly WaitEdge[]): string[] {
  const first = cycle[0];
  if (first === undefined) return ["  (no cycle: nothing left that could wake them)"];
  const path = `  ${cycle.map((e) => e.task).join(" -> ")} -> ${first.task}`;
  const inferred = cycle.some((e) => e.inferred);
  return inferred
    ? [path, "  (inferred: a completion has no owner, so any other blocked task counts as its waker)"]
    : [path];
}

function body(r: Report): string[] {
  switch (r.kind) {
    case "use-after-free":
      return [
        `BUG: gpuvm-sim: use-after-free in ${r.access}`,
        `Use of ${r.object.label} by task ${r.accessed.task ?? "(setup)"} at step ${r.accessed.step}`,
        "",
        siteRow("accessed", r.accessed),
        siteRow("allocated", r.allocated),
        siteRow("freed", r.freed),
        "",
        ...history(`Refcount history of ${r.object.label}`, r.refHistory),
      ];
    case "double-free":
      return [
        `BUG: gpuvm-sim: double-free of ${r.object.label}`,
        "",
        siteRow("allocated", r.allocated),
        siteRow("first free", r.firstFree),
        siteRow("second free", r.secondFree),
      ];
    case "refcount-underflow":
      return [
        `WARNING: refcount_t: underflow; use-after-free`,
        `kref_put on ${r.object.label} with the count already at zero`,
        "",
        siteRow("extra put", r.put),
        ...(r.zeroedBy === null ? [] : [siteRow("zeroed by", r.zeroedBy)]),
        ...(r.freed === null ? [] : [siteRow("freed", r.freed)]),
        "",
        ...history(`Refcount history of ${r.object.label}`, r.refHistory),
      ];
    case "refcount-inc-from-zero":
      return [
        `WARNING: refcount_t: addition on 0; use-after-free`,
        `kref_get on ${r.object.label} after its count reached zero`,
        "",
        siteRow("get", r.get),
        ...(r.zeroedBy === null ? [] : [siteRow("zeroed by", r.zeroedBy)]),
        ...(r.freed === null ? [] : [siteRow("freed", r.freed)]),
        "",
        ...history(`Refcount history of ${r.object.label}`, r.refHistory),
      ];
    case "refcount-saturated":
      return [
        `WARNING: refcount_t: saturated; leaking memory`,
        `${r.object.label} will never be freed`,
        "",
        siteRow("at", r.site),
        "",
        ...history(`Refcount history of ${r.object.label}`, r.refHistory),
      ];
    case "refcount-holder-mismatch":
      return [
        `WARNING: ref_tracker: put by ${r.holder === null ? "an untagged holder" : `"${r.holder}"`}, which holds no reference to ${r.object.label}`,
        "",
        siteRow("put", r.put),
        "  outstanding:",
        ...holders(r.outstanding),
      ];
    case "leak": {
      const lines = [`BUG: gpuvm-sim: ${r.objects.length} object${r.objects.length === 1 ? "" : "s"} still live at teardown (leak)`, ""];
      for (const o of r.objects) {
        lines.push(`  ${o.object.label}`, `  ${siteRow("allocated", o.allocated).trimStart()}`);
        for (const k of o.refcounts) {
          lines.push(`    refcount ${k.saturated ? "saturated" : String(k.count)}:`, ...holders(k.holders));
        }
      }
      return lines;
    }
    case "deadlock":
      return [
        `INFO: gpuvm-sim: deadlock: all ${r.blocked.length} live tasks are blocked`,
        "",
        "Wait-for cycle:",
        ...r.cycle.map(waitLine),
        ...cycleLine(r.cycle),
        "",
        "Blocked tasks:",
        ...r.blocked.map(waitLine),
      ];
    case "unstarted-op": {
      const how =
        r.noticed === "yielded-op"
          ? "it was yielded with `yield`; delegate with `yield*`"
          : `the task ${r.noticed === "exit" ? "ended" : "yielded again"} first; missing \`yield*\`?`;
      return [`BUG: gpuvm-sim: op ${r.op} was created but never run`, `(${how})`, "", siteRow("created", r.created)];
    }
    case "step-limit":
      return [
        `gpuvm-sim: step limit reached (${r.limit} steps in one run)`,
        "Raise the Sim option maxSteps, or look for a task that spins without blocking.",
        "",
        "Live tasks and their next effect:",
        ...r.live.map((l) => `  ${pad(l.task, 16)}${l.next}`),
      ];
    case "task-exception":
      return [`Oops: gpuvm-sim: task ${r.task ?? "(setup)"} threw ${r.error}`, ...(r.stack === undefined ? [] : [indentStack(r.stack)])];
  }
}

/** Format a report as text. Deterministic: the same report gives the same text. */
export function formatReport(r: Report): string {
  const lines = [RULE, ...body(r)];
  while (lines[lines.length - 1] === "") lines.pop();
  const sched = schedule(r.schedule);
  if (sched.length > 0) lines.push("", ...sched);
  lines.push("", `Replay: new Sim({ replay: "${r.replay}" })`, RULE);
  return lines.join("\n");
}
