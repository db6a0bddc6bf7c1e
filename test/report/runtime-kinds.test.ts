/** The kernel layer's report kinds (src/report/runtime-kinds.ts): their headline and what makes them one failure. */
import { describe, expect, it } from "vitest";
import { formatReport, type DeadlockReport, type LeakReport, type Report, type UseAfterFreeReport } from "../../src/index.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { reportKindDefinition } from "../../src/report/registry.js";
import { reportHeadline } from "../../src/report/text.js";
import { programs } from "./reports.js";

const KERNEL_KINDS = [
  "use-after-free",
  "double-free",
  "refcount-underflow",
  "refcount-inc-from-zero",
  "refcount-saturated",
  "refcount-holder-mismatch",
  "leak",
  "deadlock",
  "unstarted-op",
  "step-limit",
  "livelock",
  "task-exception",
  "sleep-in-atomic",
] as const;

function sample<K extends (typeof KERNEL_KINDS)[number]>(kind: K): Extract<Report, { kind: K }> {
  return programs[kind]() as Extract<Report, { kind: K }>;
}

describe("kernel report kinds", () => {
  for (const kind of KERNEL_KINDS) {
    it(`${kind}: is defined, and its headline is the text's first line under the rule`, () => {
      expect(reportKindDefinition(kind).kind).toBe(kind);
      const report = programs[kind]();
      expect(formatReport(report).split("\n")[1]).toBe(reportHeadline(report));
    });
  }

  it("use-after-free: the access is part of the identity, the task is not", () => {
    const r = sample("use-after-free");
    const otherTask: UseAfterFreeReport = { ...r, accessed: { ...r.accessed, task: "reader/9" } };
    expect(fingerprint(otherTask)).toBe(fingerprint(r));
    expect(fingerprint({ ...r, access: "Bo.flags" })).not.toBe(fingerprint(r));
  });

  it("deadlock: one wait-for cycle whichever task it is read from", () => {
    const r = sample("deadlock");
    expect(r.cycle).toHaveLength(2);
    const rotated: DeadlockReport = { ...r, cycle: [...r.cycle.slice(1), ...r.cycle.slice(0, 1)] };
    expect(fingerprint(rotated)).toBe(fingerprint(r));
    expect(formatReport(rotated)).not.toBe(formatReport(r));
  });

  it("leak: which types leaked, not how many objects", () => {
    const r = sample("leak");
    const [bo] = r.objects;
    if (bo === undefined) throw new Error("the sample leaks one object");
    const two: LeakReport = { ...r, objects: [bo, { ...bo, object: { ...bo.object, id: 9, name: "bo1", label: 'Bo#9 "bo1"' } }] };
    expect(fingerprint(two)).toBe(fingerprint(r));
    const mixed: LeakReport = { ...r, objects: [bo, { ...bo, object: { ...bo.object, type: "Vm", label: 'Vm#9 "vm0"' } }] };
    expect(fingerprint(mixed)).toBe("leak: Bo, Vm");
  });

  it("sleep-in-atomic: why the context is atomic tells failures apart", () => {
    const r = sample("sleep-in-atomic");
    expect(fingerprint({ ...r, reason: "hardirq", lock: null })).not.toBe(fingerprint(r));
  });
});
