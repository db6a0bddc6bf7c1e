/**
 * The one text formatter for reports. It reads like KASAN and lockdep: a
 * rule, a headline, aligned rows (access, allocated by, freed by...), the
 * refcount history, the last steps as one column per task, and the replay
 * line. Everything comes from the report value; nothing is looked up live.
 */
import type { HeldRef, HolderRef, RefEvent, Report, ScheduleRow, ScheduleTail, SiteRef, WaitEdge, Witness } from "./report.js";

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
  const cell = (r: ScheduleRow) => (r.result === undefined ? r.effect : `${r.effect} -> ${r.result}`);
  // Each column as wide as its widest cell; the offsets follow.
  const widths = s.tasks.map((t, c) => Math.max(t.length, ...s.rows.filter((r) => r.column === c).map((r) => cell(r).length)) + 3);
  const offsets = widths.map((_, c) => widths.slice(0, c).reduce((a, b) => a + b, 0));
  const total = widths.reduce((a, b) => a + b, 0);
  const lines = [`Last ${s.rows.length} steps:`, `  ${pad("step", 6)}${s.tasks.map((t, c) => pad(t, widths[c] ?? 0)).join("")}`.trimEnd()];
  for (const r of s.rows) {
    const row = `  ${pad(String(r.step), 6)}${" ".repeat(offsets[r.column] ?? 0)}${cell(r)}`;
    // The reason for a switch goes after the last column, where it cannot be mistaken for an effect.
    lines.push(r.switched === undefined ? row : `${pad(row, 8 + total)}(${r.switched})`);
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

function heldList(title: string, held: readonly HeldRef[]): string[] {
  if (held.length === 0) return [`${title}: none`];
  return [
    `${title}:`,
    ...held.map((h, i) => {
      const how = [h.read ? "read" : "", h.trylock ? "trylock" : ""].filter((x) => x !== "").join(", ");
      const cls = h.lock.includes(`"${h.lockClass}"`) ? "" : ` (class ${h.lockClass})`;
      return `  #${i}: ${h.lock}${cls}${how === "" ? "" : ` [${how}]`}, acquired at step ${h.acquired.step} (${h.acquired.op})`;
    }),
  ];
}

function witness(w: Witness): string {
  return w.replay === "boot" ? "boot" : `${w.task} at step ${w.step} (${w.op})`;
}

/** Lockdep's "possible unsafe locking scenario": CPU i holds class i and wants class i+1. */
function cycleScenario(classes: readonly string[]): string[] {
  const n = classes.length;
  const width = 26;
  const cols = Array.from({ length: n }, (_, i) => `CPU${i}`);
  const row = (col: number, text: string) => `  ${" ".repeat(width * col)}${text}`;
  const lines = ["Possible unsafe locking scenario:", "", `  ${cols.map((c) => pad(c, width)).join("").trimEnd()}`, `  ${cols.map(() => pad("----", width)).join("").trimEnd()}`];
  for (let i = 0; i < n; i++) lines.push(row(i, `lock(${classes[i] ?? ""});`));
  for (let i = 0; i < n; i++) lines.push(row(i, `lock(${classes[(i + 1) % n] ?? ""});`));
  lines.push("", "  *** DEADLOCK ***");
  return lines;
}

const WW_PROBLEMS: Record<string, string> = {
  "slow-lock-with-locks-held": "locking after a back-off while the context still holds locks",
  "slow-lock-wrong-mutex": "locking after a back-off a mutex other than the one that backed off",
  "fini-with-locks-held": "ww_acquire_fini() while the context still holds locks",
  "used-after-fini": "acquire context used after ww_acquire_fini()",
  "acquire-after-done": "lock acquired after ww_acquire_done()",
  "done-twice": "ww_acquire_done() called twice",
  "unlock-not-held": "ww_mutex_unlock() of a mutex the task does not hold",
  "two-contexts": "two acquire contexts of one class active in one task",
};

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
    case "lock-order-cycle": {
      const first = r.cycle[0];
      const classes = r.cycle.map((e) => e.from);
      return [
        "WARNING: possible circular locking dependency detected",
        `${r.task ?? "(setup)"} is trying to acquire ${first?.to ?? "?"}, while holding ${first?.from ?? "?"},`,
        `but ${first?.to ?? "?"} is already taken before ${first?.from ?? "?"} elsewhere${r.actual ? " (and this run did deadlock)" : " (no deadlock happened in this run)"}.`,
        "",
        "Dependency cycle, each edge with where lockdep learned it:",
        ...r.cycle.flatMap((e) =>
          e.toSite.replay === "boot"
            ? [`  ${e.from} -> ${e.to}`, "      primed at boot, as the kernel's dma_resv_lockdep() does"]
            : [
                `  ${e.from} -> ${e.to}`,
                `      ${e.to}: ${witness(e.toSite)}`,
                `      while ${e.from} was held since ${witness(e.fromSite)}`,
                ...(e.toSite.replay !== r.replay ? [`      learned in another run: ${e.toSite.replay}`] : []),
              ],
        ),
        "",
        ...cycleScenario(classes),
        "",
        ...heldList(`Locks held by ${r.task ?? "(setup)"}`, r.held),
      ];
    }
    case "recursive-locking":
      return [
        "WARNING: possible recursive locking detected",
        `${r.task ?? "(setup)"} is trying to acquire ${r.lock} (class ${r.lockClass}) at step ${r.second.step} (${r.second.op}),`,
        `but already holds ${r.first.lock}, of the same class, since step ${r.first.acquired.step} (${r.first.acquired.op}).`,
        "",
        "Possible unsafe locking scenario:",
        "",
        "  CPU0",
        "  ----",
        `  lock(${r.lockClass});`,
        `  lock(${r.lockClass});`,
        "",
        "  *** DEADLOCK ***",
        "",
        "May be due to a missing lock nesting annotation (a subclass).",
        "",
        ...heldList(`Locks held by ${r.task ?? "(setup)"}`, r.held),
      ];
    case "irq-lock-inversion": {
      const IRQ = r.irq.toUpperCase();
      const safe = r.safe.lockClass;
      const unsafe = r.unsafe.lockClass;
      const scenario =
        r.variant === "inconsistent"
          ? ["  CPU0", "  ----", `  lock(${safe});`, "  <Interrupt>", `    lock(${safe});`]
          : [
              `  ${pad("CPU0", 26)}CPU1`,
              `  ${pad("----", 26)}----`,
              `  lock(${unsafe});`,
              `  ${" ".repeat(26)}local_irq_disable();`,
              `  ${" ".repeat(26)}lock(${safe});`,
              `  ${" ".repeat(26)}lock(${unsafe});`,
              "  <Interrupt>",
              `    lock(${safe});`,
            ];
      return [
        r.variant === "inconsistent" ? "WARNING: inconsistent lock state" : `WARNING: ${IRQ}-safe -> ${IRQ}-unsafe lock order detected`,
        r.variant === "inconsistent"
          ? `inconsistent {IN-${IRQ}-W} -> {${IRQ}-ON-W} usage of ${safe}.`
          : `${safe} is taken in ${r.irq} context, and ${unsafe} is taken under it: ${r.path.join(" -> ")}.`,
        "",
        `  {IN-${IRQ}-W} of ${safe}: ${witness(r.safe.site)}`,
        `  {${IRQ}-ON-W} of ${unsafe}: ${witness(r.unsafe.site)}`,
        "",
        "Possible unsafe locking scenario:",
        "",
        ...scenario,
        "",
        "  *** DEADLOCK ***",
        "",
        ...heldList(`Locks held by ${r.task ?? "(setup)"}`, r.held),
      ];
    }
    case "invalid-wait-context":
      return [
        "BUG: Invalid wait context",
        `${r.task ?? "(setup)"} is trying to take sleeping lock ${r.lock} where it may not sleep: ${r.forbiddenBy === "hardirq" || r.forbiddenBy === "softirq" ? `in ${r.forbiddenBy} context` : `holding spinlock ${r.forbiddenBy}`}.`,
        "",
        ...heldList(`Locks held by ${r.task ?? "(setup)"}`, r.held),
      ];
    case "bad-unlock":
      return [
        "WARNING: bad unlock balance detected!",
        `${r.task ?? "(setup)"} is trying to release ${r.lock}, which it does not hold${r.owner === null ? "" : ` (${r.owner} does)`}.`,
        "",
        ...heldList(`Locks held by ${r.task ?? "(setup)"}`, r.held),
      ];
    case "lock-held-at-free":
      return [
        "BUG: held lock freed!",
        `${r.lock} is freed while ${r.holder} holds it.`,
        "",
        ...(r.acquired === null ? [] : [siteRow("acquired", r.acquired)]),
        siteRow("freed", r.freed),
      ];
    case "lock-held-at-exit":
      return ["BUG: task exited with locks held", "", ...heldList(`Locks held by ${r.task ?? "(setup)"}`, r.held)];
    case "lock-not-held":
      return [
        `WARNING: lockdep_assert_held(${r.lock}) failed`,
        `${r.task ?? "(setup)"} does not hold it${r.owner === null ? "" : `; ${r.owner} does`}.`,
        "",
        ...heldList(`Locks held by ${r.task ?? "(setup)"}`, r.held),
      ];
    case "sleep-in-atomic": {
      const why =
        r.reason === "spinlock"
          ? `while holding spinlock ${r.lock?.lock ?? "?"} (acquired at step ${r.lock?.acquired.step ?? "?"}, ${r.lock?.acquired.op ?? "?"})`
          : r.reason === "irqs-disabled"
            ? "with interrupts disabled"
            : r.reason === "bh-disabled"
              ? "with bottom halves disabled"
              : `in ${r.reason} context`;
      return [
        "BUG: sleeping function called from invalid context",
        `${r.op} may sleep; ${r.task ?? "(setup)"} called it ${why}.`,
        "",
        ...heldList(`Locks held by ${r.task ?? "(setup)"}`, r.held),
      ];
    }
    case "ww-mutex-misuse":
      return [
        `WARNING: ww_mutex misuse: ${WW_PROBLEMS[r.problem] ?? r.problem}`,
        `context ${r.ctx}${r.lock === null ? "" : `, mutex ${r.lock}`}: ${r.detail}`,
        "",
        ...heldList(`Locks held by ${r.task ?? "(setup)"}`, r.held),
      ];
    case "livelock":
      return [
        `INFO: gpuvm-sim: livelock: step limit (${r.limit}) reached with tasks spinning`,
        "These tasks kept running without making progress (only cond_resched, trylocks,",
        "try-waits and choices), and nothing they wait for changed:",
        "",
        ...r.spinning.flatMap((t) => [`  ${pad(t.task, 16)}${t.steps} steps, looping over:`, ...t.loop.map((l) => `      ${l}`)]),
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
  // Explorer tokens (version 2) replay with replay(); a plain Sim's with its options.
  const how = r.replay.startsWith("gpuvm-sim:2:") ? `replay(scenario, "${r.replay}")` : `new Sim({ replay: "${r.replay}" })`;
  lines.push("", `Replay: ${how}`, RULE);
  return lines.join("\n");
}
