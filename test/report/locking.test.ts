/** The locking layer's report kinds (src/report/locking.ts): their headline and what makes them one failure. */
import { describe, expect, it } from "vitest";
import { formatReport, type DependencyRef, type LockOrderCycleReport, type Report } from "../../src/index.js";
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
