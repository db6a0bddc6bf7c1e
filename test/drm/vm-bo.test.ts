/** VmBo (src/drm/vm-bo.ts): create, find, obtain (three ways), put (three ways), zombies, callbacks, lock assertions per mode. */
import { describe, expect, it } from "vitest";
import {
  boCreate,
  boFind,
  boObtain,
  boObtainLocked,
  boObtainPrealloc,
  configureMemory,
  gemGpuvaLock,
  kfree,
  VmBo,
  VM_BO_ALLOC_SITE,
  type Report,
  type Sim,
} from "../../src/index.js";
import { leakAtTeardown } from "../fixtures.js";
import { collectingSim } from "../support/collecting-sim.js";
import { VM_MODES, world } from "../support/gpuvm-world.js";

function kinds(sim: Sim): string[] {
  return sim.reports.map((r) => r.kind);
}

function only<K extends Report["kind"]>(sim: Sim, kind: K): Extract<Report, { kind: K }>[] {
  return sim.reports.filter((r): r is Extract<Report, { kind: K }> => r.kind === kind);
}

describe.each(VM_MODES)("VmBo in %s mode", (mode) => {
  it("boObtain makes one VmBo per (VM, GEM), linked, holding a VM and a GEM reference; a second obtain finds it", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, mode);
      const bo = w.bo("bo");
      const a = yield* boObtain(w.vm, bo, "a");
      const b = yield* boObtain(w.vm, bo, "b");
      expect(a).toBeInstanceOf(VmBo);
      expect(b).toBe(a);
      const vb = a as VmBo;
      expect(vb.state).toBe("linked");
      expect(vb.refcount.read()).toBe(2);
      expect(bo.vmBos()).toEqual([vb]);
      expect(bo.refcount.read()).toBe(2);
      expect(w.vm.refcount.read()).toBe(2);
      expect(w.vm.checkInvariants()).toEqual([]);
      expect(yield* vb.put("a")).toBe(false);
      expect(yield* vb.put("b")).toBe(true);
      expect(vb.state).toBe("freed");
      expect(vb.isFreed).toBe(true);
      expect(bo.vmBos()).toEqual([]);
      expect(bo.refcount.read()).toBe(1);
      expect(w.vm.refcount.read()).toBe(1);
      yield* bo.put("creator");
      yield* w.vm.put("creator");
      yield* w.root.put("creator");
    });
    expect(sim.reports).toEqual([]);
    expect(leakAtTeardown(sim)).toBeNull();
  });

  it("boFind asserts the GEM's list lock (lock-not-held on the mode's lock) and finds with a new reference", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, mode);
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      const lock = gemGpuvaLock(w.vm, bo);
      yield* lock.lock();
      expect(lock.isHeld()).toBe(true);
      expect(yield* boFind(w.vm, bo, "f")).toBe(vb);
      yield* lock.unlock();
      expect(sim.reports).toEqual([]);
      expect(yield* boFind(w.vm, bo, "g")).toBe(vb);
      const r = only(sim, "lock-not-held");
      expect(r).toHaveLength(1);
      expect(r[0]?.lock).toBe(lock.label);
      expect(lock.label).toContain(mode === "immediateMode" ? "gpuva.lock" : mode === "resvProtected" ? "root.resv" : "bo.resv");
      expect(vb.refcount.read()).toBe(3);
    });
  });

  it("putLocked of the last reference asserts the GEM's list lock", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, mode);
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      expect(yield* vb.putLocked("a")).toBe(true);
      const r = only(sim, "lock-not-held");
      expect(r.length).toBeGreaterThanOrEqual(1);
      expect(r.map((x) => x.lock)).toContain(gemGpuvaLock(w.vm, bo).label);
      expect(vb.state).toBe("freed");
    });
  });

  it("boObtainLocked asserts the lock, and in immediate mode is a wrong-mode misuse", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, mode);
      const bo = w.bo("bo");
      const vb = yield* boObtainLocked(w.vm, bo, "a");
      expect(vb).toBeInstanceOf(VmBo);
      expect(only(sim, "lock-not-held").length).toBeGreaterThanOrEqual(1);
      expect(only(sim, "gpuvm-misuse").map((r) => r.problem)).toEqual(mode === "immediateMode" ? ["wrong-mode"] : []);
    });
  });

  it("a failed allocation returns nomem and changes nothing", () => {
    const sim = collectingSim();
    configureMemory(sim, { fault: { failSites: [VM_BO_ALLOC_SITE] } });
    sim.run(function* () {
      const w = world(sim, mode);
      const bo = w.bo("bo");
      expect(yield* boObtain(w.vm, bo)).toBe("nomem");
      expect(bo.vmBos()).toEqual([]);
      expect(bo.refcount.read()).toBe(1);
      expect(w.vm.refcount.read()).toBe(1);
      expect(yield* boCreate(w.vm, bo)).toBeNull();
    });
    expect(sim.reports).toEqual([]);
  });

  it("ops.vmBoAlloc and ops.vmBoFree are used when given", () => {
    const sim = collectingSim();
    const seen: string[] = [];
    sim.run(function* () {
      const w = world(sim, mode, {
        ops: {
          vmBoAlloc: (vm, obj) => {
            seen.push("alloc");
            return new VmBo(vm, obj);
          },
          vmBoFree: function* (b) {
            seen.push("free");
            yield* kfree(b);
          },
        },
      });
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo)) as VmBo;
      yield* vb.put();
    });
    expect(seen).toEqual(["alloc", "free"]);
    expect(sim.reports).toEqual([]);
  });

  it("wrong stage: obtainPrealloc of a VmBo already on its GEM's list is reported and returns it unchanged", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, mode);
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo)) as VmBo;
      expect(yield* boObtainPrealloc(vb)).toBe(vb);
      expect(vb.refcount.read()).toBe(1);
    });
    const r = only(sim, "gpuvm-wrong-stage");
    expect(r).toHaveLength(1);
    expect(r[0]).toMatchObject({ objectType: "VmBo", stage: "linked", operation: "drm_gpuvm_bo_obtain_prealloc" });
  });
});

describe("VmBo in immediate mode: prealloc and deferred puts", () => {
  it("boObtainPrealloc adds a new VmBo, or drops it and returns the one found", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "immediateMode");
      const bo = w.bo("bo");
      const p1 = (yield* boCreate(w.vm, bo, "p1")) as VmBo;
      expect(p1.state).toBe("prealloc");
      expect(yield* boObtainPrealloc(p1, "p1")).toBe(p1);
      expect(p1.state).toBe("linked");
      const p2 = (yield* boCreate(w.vm, bo, "p2")) as VmBo;
      expect(yield* boObtainPrealloc(p2, "p2")).toBe(p1);
      expect(p2.state).toBe("freed");
      expect(p1.refcount.read()).toBe(2);
      expect(bo.vmBos()).toEqual([p1]);
      expect(w.vm.checkInvariants()).toEqual([]);
    });
    expect(sim.reports).toEqual([]);
  });

  it("putDeferred: only the last reference takes the mutex; it makes a zombie, off the GEM's list, that cleanup frees", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "immediateMode");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      yield* vb.get("b");
      expect(yield* vb.putDeferred("b")).toBe(false);
      expect(vb.state).toBe("linked");
      expect(yield* vb.putDeferred("a")).toBe(true);
      expect(vb.state).toBe("zombie");
      expect(bo.vmBos()).toEqual([]);
      expect(w.vm.deferredVmBos()).toEqual([vb]);
      expect(yield* vb.getUnlessZero("late")).toBe(false);
      expect(yield* boObtain(w.vm, bo, "again")).not.toBe(vb);
      expect(w.vm.checkInvariants()).toEqual([]);
      yield* w.vm.boDeferredCleanup();
      expect(vb.state).toBe("freed");
      expect(w.vm.deferredVmBos()).toEqual([]);
      yield* w.vm.boDeferredCleanup();
    });
    expect(sim.reports).toEqual([]);
  });

  it("putDeferred outside immediate mode is a wrong-mode misuse (and still works)", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "plain");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      expect(yield* vb.putDeferred("a")).toBe(true);
      yield* w.vm.boDeferredCleanup();
    });
    expect(kinds(sim)).toEqual(["gpuvm-misuse"]);
  });

  it("a VmBo holding the GEM's last reference: the deferred put frees nothing under the mutex; cleanup frees GEM and all", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "immediateMode");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      yield* bo.put("creator");
      expect(yield* vb.putDeferred("a")).toBe(true);
      expect(bo.isFreed).toBe(false);
      yield* w.vm.boDeferredCleanup();
      expect(bo.isFreed).toBe(true);
      yield* w.vm.put("creator");
      yield* w.root.put("creator");
    });
    expect(sim.reports).toEqual([]);
    expect(leakAtTeardown(sim)).toBeNull();
  });

  it("mappings() lists the linked mappings", async () => {
    const { Mapping } = await import("../../src/index.js");
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "immediateMode");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      const m1 = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      const m2 = new Mapping(sim, { addr: 0x1000, range: 0x1000, obj: bo });
      for (const m of [m1, m2]) {
        yield* m.insert(w.vm);
        yield* m.link(vb);
      }
      expect(vb.mappings()).toEqual([m1, m2]);
      expect(vb.refcount.read()).toBe(3);
    });
    expect(sim.reports).toEqual([]);
  });
});

describe("why put() takes a GEM reference first", () => {
  it("putLocked of a VmBo holding its GEM's last reference, under the GEM's resv, frees the lock being held", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "plain");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      yield* bo.put("creator");
      yield* bo.resv.lock(null);
      yield* vb.putLocked("a");
      expect(bo.isFreed).toBe(true);
    });
    expect(sim.reports.map((r) => r.kind)).toContain("lock-held-at-free");
  });

  it("the same with put(): clean, and the GEM goes after the unlock", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "plain");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      yield* bo.put("creator");
      yield* vb.put("a");
      expect(bo.isFreed).toBe(true);
    });
    expect(sim.reports).toEqual([]);
  });

  it("resvProtected: the last put of an external object's VmBo asserts the VM's resv", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "resvProtected");
      const ext = w.bo("ext", true);
      const vb = (yield* boObtain(w.vm, ext, "a")) as VmBo;
      yield* vb.put("a");
    });
    // drm_gpuvm_bo_destroy()'s own assertion, then the two list deletions' (resv mode).
    const locks = only(sim, "lock-not-held").map((r) => r.lock);
    expect(locks.length).toBeGreaterThanOrEqual(1);
    for (const l of locks) expect(l).toContain('"root.resv"');
  });

  it("a zombie cannot be obtained through boObtainPrealloc (wrong stage)", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "immediateMode");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      yield* vb.putDeferred("a");
      expect(yield* boObtainPrealloc(vb)).toBe(vb);
      expect(bo.vmBos()).toEqual([]);
    });
    expect(only(sim, "gpuvm-wrong-stage").map((r) => r.stage)).toEqual(["zombie"]);
  });
});

describe("a freed VmBo", () => {
  it("putting it again is reported (the refcount's underflow, naming the free), not a TypeError", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "plain");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo)) as VmBo;
      yield* vb.put();
      expect(vb.state).toBe("freed");
      yield* vb.put();
    });
    const r = sim.reports.map((x) => x.kind);
    expect(r).toHaveLength(1);
    expect(["refcount-underflow", "use-after-free"]).toContain(r[0]);
  });
});
