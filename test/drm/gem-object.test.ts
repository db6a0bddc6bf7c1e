/** GemObject (src/drm/gem-object.ts): references, handles, own or shared resv, free callback, gemGpuvaLock. */
import { describe, expect, it } from "vitest";
import { DmaResv, DrmExec, GemObject, gemGpuvaLock, type Report, type Sim } from "../../src/index.js";
import { leakAtTeardown } from "../fixtures.js";
import { collectingSim } from "../support/collecting-sim.js";
import { world } from "../support/gpuvm-world.js";

function only<K extends Report["kind"]>(sim: Sim, kind: K): Extract<Report, { kind: K }>[] {
  return sim.reports.filter((r): r is Extract<Report, { kind: K }> => r.kind === kind);
}

describe("GemObject", () => {
  it("starts with one reference held by the creator; the last put runs free, fini()s its own resv and frees it", () => {
    const sim = collectingSim();
    const calls: string[] = [];
    sim.run(function* () {
      const obj = new GemObject(sim, { name: "bo", size: 4096, free: (o) => { calls.push(`free ${o.name}`); } });
      expect(obj.size).toBe(4096);
      expect(obj.ownsResv).toBe(true);
      expect(obj.refcount.read()).toBe(1);
      yield* obj.get("x");
      expect(yield* obj.getUnlessZero("y")).toBe(true);
      yield* obj.put("y");
      yield* obj.put("x");
      expect(yield* obj.put("creator")).toBe(true);
      expect(obj.isFreed).toBe(true);
    });
    expect(calls).toEqual(["free bo"]);
    expect(sim.reports).toEqual([]);
    expect(leakAtTeardown(sim)).toBeNull();
  });

  it("a shared resv is not finalised with the object", () => {
    const sim = collectingSim();
    const resv = new DmaResv(sim, { name: "shared", static: true });
    sim.run(function* () {
      const obj = new GemObject(sim, { size: 4096, resv });
      expect(obj.ownsResv).toBe(false);
      yield* obj.put("creator");
      yield* resv.lock(null);
      yield* resv.reserveFences(1);
      yield* resv.unlock();
      yield* resv.fini();
    });
    expect(sim.reports).toEqual([]);
  });

  it("open/close count handles, each holding a reference; closing the last handle may free the object; closing none is a wrong stage", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const obj = new GemObject(sim, { size: 4096 });
      yield* obj.open();
      yield* obj.open();
      expect(obj.handleCount).toBe(2);
      expect(obj.refcount.read()).toBe(3);
      yield* obj.close();
      yield* obj.put("creator");
      expect(obj.isFreed).toBe(false);
      yield* obj.close();
      expect(obj.isFreed).toBe(true);
      const other = new GemObject(sim, { size: 4096 });
      yield* other.close();
      expect(other.refcount.read()).toBe(1);
    });
    const r = only(sim, "gpuvm-wrong-stage");
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ objectType: "GemObject", stage: "no handle open", operation: "drm_gem_handle_delete" });
  });

  it("gemGpuvaLock: the gpuva mutex in immediate mode, the GEM's resv otherwise; assertHeld files lock-not-held", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const plain = world(sim, "plain");
      const imm = world(sim, "immediateMode");
      const bo = plain.bo("bo");
      const viaResv = gemGpuvaLock(plain.vm, bo);
      const viaMutex = gemGpuvaLock(imm.vm, bo);
      expect(viaResv.label).toBe(bo.resv.wwMutex.label);
      expect(viaMutex.label).toBe(bo.gpuvaLock.label);
      for (const l of [viaResv, viaMutex]) {
        expect(l.isHeld()).toBe(false);
        expect(l.assertHeld()).toBe(false);
        yield* l.lock();
        expect(l.isHeld()).toBe(true);
        expect(l.assertHeld()).toBe(true);
        yield* l.unlock();
      }
      expect(bo.vmBos()).toEqual([]);
    });
    expect(only(sim, "lock-not-held").map((r) => r.lock)).toEqual([expect.stringContaining('"bo.resv"'), expect.stringContaining("gpuva.lock")]);
  });
});

describe("GemObject as a DrmExecObject", () => {
  it("DrmExec locks GEM objects, holds a reference to each while locked, and drops it at fini", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const a = new GemObject(sim, { name: "a", size: 4096 });
      const b = new GemObject(sim, { name: "b", size: 4096 });
      const exec = new DrmExec<GemObject>(sim);
      const r = yield* exec.untilAllLocked(function* () {
        for (const o of [a, b]) if ((yield* exec.prepareObj(o, 1)) !== "ok") return;
      });
      expect(r).toBe("ok");
      expect(a.refcount.read()).toBe(2);
      expect(a.resv.isLocked()).toBe(true);
      yield* exec.fini();
      expect(a.refcount.read()).toBe(1);
      for (const o of [a, b]) yield* o.put("creator");
    });
    expect(sim.reports).toEqual([]);
    expect(leakAtTeardown(sim)).toBeNull();
  });
});
