/**
 * One step numbering in every report. Every step number a report's text
 * prints names a row of its own schedule tail: the row of the task it
 * names, and, for an operation that is a step of its own (a lock taken, a
 * kfree, a kref get), the row of that operation. A lock that has no step of
 * its own yet (one being asked for, a lock map) is printed "after its step
 * N": row N is then that task's previous step.
 */
import { describe, expect, it } from "vitest";
import { formatReport, Mutex, SpinLock, WwAcquireCtx, WwClass, WwMutex, type Report, type ScheduleTail } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { programs, type SampledKind } from "./reports.js";

/** The effect a row shows for each operation that is a step of its own. */
const EFFECT_OF: Record<string, string> = {
  mutex_lock: "lock ",
  mutex_lock_interruptible: "lock ",
  spin_lock: "lock ",
  spin_lock_irqsave: "lock ",
  down_write: "lock ",
  down_read: "lock-read ",
  mutex_trylock: "trylock ",
  spin_trylock: "trylock ",
  ww_mutex_lock: "ww-",
  ww_mutex_lock_slow: "ww-",
  ww_mutex_trylock: "ww-trylock ",
  ww_acquire_init: "ww-acquire-init",
  kfree: "free ",
  kref_get: "kref-get ",
  kref_get_unless_zero: "kref-get-unless-zero ",
  kref_put: "kref-put ",
};

interface Mention {
  readonly line: string;
  readonly task: string;
  readonly step: number;
  readonly op: string;
  /** "after its step N": the task's own previous step, not the op's. */
  readonly after: boolean;
  /** The lock the mention is about, when the line names it: the row must show it. */
  readonly lock?: string;
}

/** Every (task, step, op) the text names, with how it names it. */
function mentions(r: Report, text: string): Mention[] {
  const out: Mention[] = [];
  let heldBy = r.task ?? "(setup)";
  for (const line of text.split("\n")) {
    const title = /^Locks held by (\S+?):/.exec(line);
    if (title !== null) heldBy = title[1] as string;
    // A witness: `bo->lock: bind/1 at step 5 (mutex_lock)`, `held since bind/1 at step 3 (...)`.
    const cls = /^\s+(?:\{[\w-]+\} of )?(\S+): /.exec(line)?.[1];
    const since = /while (\S+) was held since/.exec(line)?.[1];
    for (const m of line.matchAll(/([\w.-]+\/\d+) (at|after its) step (\d+) \((\w+)\)/g)) {
      const lock = since ?? cls;
      out.push({ line, task: m[1] as string, step: Number(m[3]), op: m[4] as string, after: m[2] !== "at", ...(lock === undefined ? {} : { lock: `"${lock}"` }) });
    }
    const asking = /^(\S+) is trying to acquire .* after its step (\d+) \((\w+)\)/.exec(line);
    if (asking !== null) out.push({ line, task: asking[1] as string, step: Number(asking[2]), op: asking[3] as string, after: true });
    // A held-list row: `  #0: Mutex#1 "m", acquired at step 2 (mutex_lock)`.
    const held = /#\d+: (.*?)(?: \(class [^)]*\))?(?: \[[^\]]*\])?, acquired (at|after) step (\d+) \((\w+)\)/.exec(line);
    if (held !== null) out.push({ line, task: heldBy, step: Number(held[3]), op: held[4] as string, after: held[2] === "after", lock: held[1] as string });
    const atomic = /holding spinlock (.*) \(acquired (at|after) step (\d+), (\w+)\)/.exec(line);
    if (atomic !== null) out.push({ line, task: r.task ?? "(setup)", step: Number(atomic[3]), op: atomic[4] as string, after: atomic[2] === "after", lock: atomic[1] as string });
    const first = /already holds (.*), of the same class, since (after )?step (\d+) \((\w+)\)/.exec(line);
    if (first !== null) out.push({ line, task: r.task ?? "(setup)", step: Number(first[3]), op: first[4] as string, after: first[2] !== undefined, lock: first[1] as string });
    // Site rows (`  freed        closer/2        step 5     kfree`). An op
    // created and never run (`created`) was made by the task's code in
    // that step, after its effect.
    const site = /^ {2,6}([a-z][a-z ]*?)\s{2,}(\S+)\s+step (\d+)\s+(\S+)$/.exec(line);
    if (site !== null) {
      const op = site[4] as string;
      out.push({ line, task: site[2] as string, step: Number(site[3]), op, after: site[1] === "created" || !(op in EFFECT_OF) });
    }
  }
  return out;
}

/** Assert each mention against the schedule; returns how many were checked. */
function checkAgainstSchedule(r: Report): number {
  const text = formatReport(r);
  const s: ScheduleTail = r.schedule;
  const first = s.rows[0]?.step ?? Infinity;
  let checked = 0;
  for (const m of mentions(r, text)) {
    if (m.step < first) continue; // before the tail: nothing to compare with
    const row = s.rows.find((x) => x.step === m.step);
    expect(row, `${r.kind}: no schedule row for step ${m.step} in "${m.line}"`).toBeDefined();
    if (row === undefined) continue;
    expect(s.tasks[row.column], `${r.kind}: "${m.line}" names ${m.task} at step ${m.step}, whose row is ${s.tasks[row.column]}'s`).toBe(m.task);
    const effect = EFFECT_OF[m.op];
    if (!m.after && effect !== undefined) {
      expect(row.effect.startsWith(effect), `${r.kind}: "${m.line}": row ${m.step} is "${row.effect}", not ${m.op}`).toBe(true);
      // ww_acquire_init's step names no object: the context is not one.
      if (m.lock !== undefined && m.op !== "ww_acquire_init") expect(row.effect, `${r.kind}: "${m.line}": row ${m.step} takes another lock`).toContain(m.lock);
    } else if (m.after && m.lock !== undefined) {
      // The row of the step before: it is not this lock's (the lock had no step of its own then).
      expect(row.effect, `${r.kind}: "${m.line}"`).not.toMatch(new RegExp(`^(lock|ww-lock|trylock)\\b.*${m.lock.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    }
    checked++;
  }
  return checked;
}

describe("step numbers in reports match their schedule rows", () => {
  for (const kind of Object.keys(programs) as SampledKind[]) {
    it(kind, () => {
      checkAgainstSchedule(programs[kind]());
    });
  }

  it("the sample reports that print lock steps are all checked", () => {
    const counts = Object.fromEntries(
      (["lock-order-cycle", "recursive-locking", "irq-lock-inversion", "sleep-in-atomic", "lock-held-at-exit", "lock-held-at-free", "ww-mutex-misuse"] as const).map((k) => [k, checkAgainstSchedule(programs[k]())]),
    );
    for (const [kind, n] of Object.entries(counts)) expect(n, kind).toBeGreaterThan(0);
  });

  it("lock-order-cycle: each edge's witnesses are the rows that took the locks; the lock being asked for is after the asker's last step", () => {
    const r = programs["lock-order-cycle"]();
    if (r.kind !== "lock-order-cycle") throw new Error(r.kind);
    // bind/1 took vm->update_lock at step 3 and bo->lock at step 5; evict/2 took bo->lock at 11, then asked for vm->update_lock.
    expect(r.cycle.map((e) => [e.from, e.fromSite.step, e.fromSite.after ?? false, e.to, e.toSite.step, e.toSite.after ?? false])).toEqual([
      ["bo->lock", 11, false, "vm->update_lock", 11, true],
      ["vm->update_lock", 3, false, "bo->lock", 5, false],
    ]);
    expect(r.schedule.rows.find((x) => x.step === 5)?.effect).toBe('lock Mutex#2 "bo->lock"');
    expect(r.held.map((h) => [h.lock, h.acquired.step, h.after ?? false])).toEqual([['Mutex#2 "bo->lock"', 11, false]]);
  });

  it("a ww mutex taken after waiting is held since the step that took it", () => {
    const sim = collectingSim();
    const cls = new WwClass(sim, "test_ww_class", { algorithm: "wait-die" });
    const a = new WwMutex(sim, cls, { name: "a" });
    const m = new Mutex(sim, "m");
    sim.spawn("holder", "process", function* () {
      const ctx = yield* WwAcquireCtx.init(sim, cls);
      yield* a.lock(ctx);
      yield* a.unlock();
      ctx.fini();
    });
    sim.spawn("waiter", "process", function* () {
      const ctx = yield* WwAcquireCtx.init(sim, cls);
      yield* a.lock(ctx); // waits for holder
      yield* m.lock();
      yield* m.lock(); // recursive: the report lists what waiter holds
    });
    sim.runAll();
    const r = sim.reports.find((x) => x.kind === "recursive-locking");
    expect(r?.kind).toBe("recursive-locking");
    if (r?.kind !== "recursive-locking") return;
    const held = r.held.find((h) => h.lock.includes('"a"'));
    const row = r.schedule.rows.find((x) => x.step === held?.acquired.step);
    expect(r.schedule.tasks[row?.column ?? -1]).toBe("waiter/2");
    expect(row?.effect.startsWith("ww-")).toBe(true);
    expect(checkAgainstSchedule(r)).toBeGreaterThan(2);
  });

  it("lock-held-at-exit of a spawned task names it, and its locks' rows are its own", () => {
    const sim = collectingSim();
    const s = new SpinLock(sim, "s");
    const m = new Mutex(sim, "m");
    sim.spawn("other", "process", function* () {
      yield* s.lock();
      yield* s.unlock();
    });
    sim.spawn("forgetful", "worker", function* () {
      yield* m.lock();
    });
    sim.runAll();
    const r = sim.reports.find((x) => x.kind === "lock-held-at-exit");
    expect(r?.task).toBe("forgetful/2");
    const text = formatReport(r as Report).split("\n");
    expect(text[1]).toBe("BUG: task forgetful/2 exited with locks held");
    expect(text).toContain("Locks held by forgetful/2:");
    expect(checkAgainstSchedule(r as Report)).toBe(1);
  });
});
