/** The locking layer's report kinds (src/report/lock-kinds.ts): their headline and what makes them one failure. */
import { describe, expect, it } from "vitest";
import { formatReport, Lockdep, Mutex, reportsFromJson, reportsToJson, RwLock, Sim, type DependencyRef, type LockOrderCycleReport, type Report } from "../../src/index.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { reportKindDefinition } from "../../src/report/registry.js";
import { reportHeadline } from "../../src/report/text.js";
import { programs } from "./reports.js";

const LOCKING_KINDS = [
  "lock-order-cycle",
  "recursive-locking",
  "irq-lock-inversion",
  "invalid-wait-context",
  "bad-unlock",
  "lock-held-at-free",
  "lock-held-at-exit",
  "lock-not-held",
  "ww-mutex-misuse",
] as const;

function sample<K extends (typeof LOCKING_KINDS)[number]>(kind: K): Extract<Report, { kind: K }> {
  return programs[kind]() as Extract<Report, { kind: K }>;
}

/** A cycle through these classes, in this order, each edge learned at boot. */
function cycleOf(base: LockOrderCycleReport, classes: readonly string[]): LockOrderCycleReport {
  const site = { task: "t/1", step: 1, op: "mutex_lock", replay: "boot" };
  const cycle: DependencyRef[] = classes.map((from, i) => ({ from, to: classes[(i + 1) % classes.length] ?? "", fromSite: site, toSite: site }));
  return { ...base, cycle };
}

describe("locking report kinds", () => {
  for (const kind of LOCKING_KINDS) {
    it(`${kind}: is defined, and its headline is the text's first line under the rule`, () => {
      expect(reportKindDefinition(kind).kind).toBe(kind);
      const report = programs[kind]();
      expect(formatReport(report).split("\n")[1]).toBe(reportHeadline(report));
    });
  }

  it("lock-order-cycle: any rotation of a cycle is one failure; the reverse cycle is another", () => {
    const base = sample("lock-order-cycle");
    const abc = fingerprint(cycleOf(base, ["a", "b", "c"]));
    expect(fingerprint(cycleOf(base, ["b", "c", "a"]))).toBe(abc);
    expect(fingerprint(cycleOf(base, ["c", "a", "b"]))).toBe(abc);
    expect(fingerprint(cycleOf(base, ["c", "b", "a"]))).not.toBe(abc);
  });

  it("lock-order-cycle: whether this run deadlocked does not make another failure", () => {
    const r = sample("lock-order-cycle");
    expect(fingerprint({ ...r, actual: !r.actual })).toBe(fingerprint(r));
  });

  it("irq-lock-inversion: the variant and the irq are part of the identity", () => {
    const r = sample("irq-lock-inversion");
    expect(fingerprint({ ...r, irq: "softirq" })).not.toBe(fingerprint(r));
    expect(fingerprint({ ...r, variant: "safe-to-unsafe" })).not.toBe(fingerprint(r));
  });

  it("lock-not-held: the lock's id does not matter, its name does", () => {
    const r = sample("lock-not-held");
    expect(fingerprint({ ...r, lock: r.lock.replace(/#\d+/, "#99") })).toBe(fingerprint(r));
    expect(fingerprint({ ...r, lock: 'Mutex#3 "vm->lock"' })).not.toBe(fingerprint(r));
  });
});

describe("report variants outside the samples", () => {
  const nestSim = () => {
    const sim = new Sim({ seed: 1, onReport: "collect", lockdep: new Lockdep() });
    const outer = new Mutex(sim, "outer");
    const inner = new Mutex(sim, "inner");
    sim.run(function* () {
      yield* inner.lockNestLock(outer);
      yield* inner.unlock();
    });
    return { report: sim.reports[0] as Extract<Report, { kind: "lock-not-held" }>, outer, inner };
  };
  const wrongSide = () => {
    const sim = new Sim({ seed: 1, onReport: "collect", lockdep: new Lockdep() });
    const l = new RwLock(sim, "L");
    sim.run(function* () {
      yield* l.writeLock();
      yield* l.readUnlock();
      yield* l.writeUnlock();
    });
    return sim.reports[0] as Extract<Report, { kind: "bad-unlock" }>;
  };

  it("lock-not-held for a nest lock: the kernel's headline and lines, its own fingerprint, and a JSON round trip", () => {
    const { report, outer, inner } = nestSim();
    expect(report).toMatchObject({ kind: "lock-not-held", check: "nest-lock", lock: outer.label, acquiring: inner.label, owner: null });
    const text = formatReport(report);
    expect(text.split("\n")[1]).toBe("WARNING: Nested lock was not taken");
    expect(text).toContain(`main/1 is trying to lock: ${inner.label}\nbut this task is not holding: ${outer.label}`);
    expect(fingerprint(report)).toBe('lock-not-held: nest-lock / Mutex "outer" / unowned');
    expect(fingerprint(report)).not.toBe(fingerprint(sample("lock-not-held")));
    const back = reportsFromJson(reportsToJson([report]));
    expect(back).toEqual(JSON.parse(JSON.stringify([report])));
    expect(formatReport(back[0] as Report)).toBe(text);
  });

  it("bad-unlock of the other side: names both sides, its own fingerprint, and a JSON round trip", () => {
    const report = wrongSide();
    expect(report).toMatchObject({ heldAs: "write", releasedAs: "read", owner: "main/1" });
    const text = formatReport(report);
    expect(text).toContain('main/1 is trying to release the read side of RwLock#1 "L", but holds it for write.');
    expect(fingerprint(report)).toBe('bad-unlock: RwLock "L" / read unlock of a write hold');
    const back = reportsFromJson(reportsToJson([report]));
    expect(formatReport(back[0] as Report)).toBe(text);
  });
});
