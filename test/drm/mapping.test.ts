/** Mapping (src/drm/mapping.ts): insert/remove, link/unlink (locked, internal, deferred), invalidate, wrong stages, lock assertions per mode. */
import { describe, expect, it } from "vitest";
import { ArgumentError, boObtain, gemGpuvaLock, kfree, Mapping, VmBo, type Report, type Sim } from "../../src/index.js";
import { leakAtTeardown } from "../fixtures.js";
import { collectingSim } from "../support/collecting-sim.js";
import { VM_MODES, world } from "../support/gpuvm-world.js";

function only<K extends Report["kind"]>(sim: Sim, kind: K): Extract<Report, { kind: K }>[] {
  return sim.reports.filter((r): r is Extract<Report, { kind: K }> => r.kind === kind);
}

describe.each(VM_MODES)("Mapping in %s mode", (mode) => {
  it("prepared → inserted → removed; insert takes a VM reference, remove drops it; fromOp copies the op", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, mode);
      const va = Mapping.fromOp(sim, { map: { va: { addr: 0x2000, range: 0x1000 }, gem: { obj: null, offset: 0 } } });
      expect(va.state).toBe("prepared");
      yield* va.insert(w.vm);
      expect(va.state).toBe("inserted");
      expect(va.vm).toBe(w.vm);
      expect(w.vm.refcount.read()).toBe(2);
      expect(w.vm.find(0x2000, 0x1000)).toBe(va);
      yield* va.remove();
      expect(va.state).toBe("removed");
      yield* kfree(va);
      expect(w.vm.refcount.read()).toBe(1);
      expect(w.vm.find(0x2000, 0x1000)).toBeNull();
      yield* w.vm.put("creator");
      yield* w.root.put("creator");
    });
    expect(sim.reports).toEqual([]);
    expect(leakAtTeardown(sim)).toBeNull();
  });

  it("link/unlink with internal locking: the VmBo holds one reference per mapping; the last unlink destroys it", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, mode);
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "obtain")) as VmBo;
      const va = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo, offset: 0x1000 });
      yield* va.insert(w.vm);
      yield* va.link(vb);
      expect(va.vmBo).toBe(vb);
      expect(vb.refcount.read()).toBe(2);
      yield* vb.put("obtain");
      expect(w.vm.checkInvariants()).toEqual([]);
      yield* bo.put("creator");
      // The VmBo now holds the GEM's last reference: unlink() takes its own first.
      yield* va.unlink();
      expect(vb.state).toBe("freed");
      expect(bo.isFreed).toBe(true);
      yield* va.remove();
      yield* kfree(va);
      yield* w.vm.put("creator");
      yield* w.root.put("creator");
    });
    expect(sim.reports).toEqual([]);
    expect(leakAtTeardown(sim)).toBeNull();
  });

  it("linkLocked and unlinkLocked assert the GEM's list lock (lock-not-held when it is not held)", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, mode);
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "obtain")) as VmBo;
      const va = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      yield* va.insert(w.vm);
      yield* va.linkLocked(vb);
      expect(only(sim, "lock-not-held").map((r) => r.lock)).toEqual([gemGpuvaLock(w.vm, bo).label]);
      yield* va.unlinkLocked();
      expect(only(sim, "lock-not-held")).toHaveLength(2);
      expect(va.vmBo).toBeNull();
      const lock = gemGpuvaLock(w.vm, bo);
      yield* lock.lock();
      yield* va.linkLocked(vb);
      yield* va.unlinkLocked();
      yield* lock.unlock();
      expect(only(sim, "lock-not-held")).toHaveLength(2);
    });
  });

  it("wrong stages are reports and change nothing: insert twice, remove a prepared mapping, link a removed one, unlink an unlinked one", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, mode);
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "obtain")) as VmBo;
      const va = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      yield* va.remove();
      yield* va.insert(w.vm);
      yield* va.insert(w.vm);
      yield* va.remove();
      yield* va.link(vb);
      yield* va.unlink();
      expect(vb.refcount.read()).toBe(1);
      expect(w.vm.refcount.read()).toBe(2);
    });
    expect(only(sim, "gpuvm-wrong-stage").map((r) => `${r.operation}:${r.stage}`)).toEqual([
      "drm_gpuva_remove:prepared",
      "drm_gpuva_insert:inserted",
      "drm_gpuva_link:removed",
      "drm_gpuva_unlink:not linked",
    ]);
  });

  it("invalidate sets the flag; a mapping without a GEM links and unlinks as no-ops", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, mode);
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "obtain")) as VmBo;
      const va = new Mapping(sim, { addr: 0, range: 0x1000, sparse: true });
      yield* va.insert(w.vm);
      yield* va.invalidate(true);
      expect(va.invalidated).toBe(true);
      expect(va.sparse).toBe(true);
      yield* va.linkLocked(vb);
      expect(va.vmBo).toBeNull();
      yield* va.unlinkLocked();
      yield* va.unlinkDeferred();
    });
    expect(sim.reports).toEqual([]);
  });
});

describe("Mapping.unlinkDeferred", () => {
  it("immediate mode: the last unlink makes the VmBo a zombie, freed by cleanup", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "immediateMode");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "obtain")) as VmBo;
      const va = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      yield* va.insert(w.vm);
      yield* va.link(vb);
      yield* vb.put("obtain");
      yield* va.unlinkDeferred();
      expect(vb.state).toBe("zombie");
      expect(va.vmBo).toBeNull();
      yield* w.vm.boDeferredCleanup();
      expect(vb.state).toBe("freed");
    });
    expect(sim.reports).toEqual([]);
  });

  it("outside immediate mode it is a wrong-mode misuse", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "plain");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "obtain")) as VmBo;
      const va = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      yield* va.insert(w.vm);
      yield* va.link(vb);
      yield* va.unlinkDeferred();
    });
    expect(only(sim, "gpuvm-misuse").map((r) => r.operation)).toEqual(["drm_gpuva_unlink_defer"]);
  });
});

describe("Mapping: call-time checks that the step makes again (issue 10, DPOR soundness)", () => {
  it.each(VM_MODES)("link() to a mapping inserted into another VM between the call and the step: the step throws ArgumentError naming vmBo, releases the lock, changes nothing (%s)", (mode) => {
    const sim = collectingSim();
    let error: unknown = null;
    sim.run(function* () {
      const wa = world(sim, mode);
      const wb = world(sim, mode);
      const bo = wa.bo("bo");
      const vb = (yield* boObtain(wa.vm, bo, "t")) as VmBo;
      const va = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      const op = va.link(vb); // the call's check passes: the mapping is in no VM yet
      yield* va.insert(wb.vm);
      const refs = vb.refcount.read();
      try {
        yield* op;
      } catch (e) {
        error = e;
      }
      expect(va.vmBo).toBeNull();
      expect(vb.gpuva).toEqual([]);
      expect(vb.refcount.read()).toBe(refs);
      expect(gemGpuvaLock(wa.vm, bo).isHeld()).toBe(false);
      expect(() => va.link(vb)).toThrow(expect.objectContaining({ name: "ArgumentError", argument: "vmBo" }) as Error);
    });
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as ArgumentError).argument).toBe("vmBo");
    expect(only(sim, "gpuvm-wrong-stage")).toEqual([]);
    expect(only(sim, "lock-not-held")).toEqual([]);
  });

  it("insert() whose overlap appears between the call and the step: the step throws the call's ArgumentError naming addr", () => {
    const sim = collectingSim();
    let error: unknown = null;
    sim.run(function* () {
      const w = world(sim, "plain");
      const a = new Mapping(sim, { name: "a", addr: 0, range: 0x1000 });
      const b = new Mapping(sim, { name: "b", addr: 0, range: 0x1000 });
      const op = b.insert(w.vm);
      yield* a.insert(w.vm);
      try {
        yield* op;
      } catch (e) {
        error = e;
      }
      expect(b.state).toBe("prepared");
      expect(w.vm.find(0, 0x1000)).toBe(a);
    });
    expect(error).toBeInstanceOf(ArgumentError);
    expect((error as ArgumentError).argument).toBe("addr");
  });

  it("a freed mapping's state, vm, vmBo and invalidated stay readable (no use-after-free report)", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "plain");
      const va = new Mapping(sim, { addr: 0, range: 0x1000 });
      yield* va.insert(w.vm);
      yield* va.remove();
      yield* kfree(va);
      expect([va.state, va.vm, va.vmBo, va.invalidated]).toEqual(["removed", w.vm, null, false]);
    });
    expect(only(sim, "use-after-free")).toEqual([]);
  });
});
