/** GpuVm (src/drm/gpuvm.ts): creation, refcount and teardown reports, queries, the kernel-reserved range, deferred cleanup, checkInvariants. */
import { describe, expect, it } from "vitest";
import { boObtain, GemObject, GpuVm, kfree, Mapping, VmBo, type Report, type Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { VM_MODES, world } from "../support/gpuvm-world.js";

function only<K extends Report["kind"]>(sim: Sim, kind: K): Extract<Report, { kind: K }>[] {
  return sim.reports.filter((r): r is Extract<Report, { kind: K }> => r.kind === kind);
}

describe("GpuVm creation and teardown", () => {
  it("takes a reference of its resv object; the last put drops it and calls vmFree", () => {
    const sim = collectingSim();
    const freed: GpuVm[] = [];
    sim.run(function* () {
      const root = new GemObject(sim, { name: "root", size: 4096 });
      const vm = GpuVm.create(sim, { name: "vm", mmStart: 0x1000, mmRange: 0x10000, resvObj: root, ops: { vmFree: function* (v) { freed.push(v); yield* kfree(v); } } });
      expect(root.refcount.read()).toBe(2);
      expect(vm.resv).toBe(root.resv);
      expect(vm.flags).toEqual({ resvProtected: false, immediateMode: false });
      expect(vm.listMode).toBe("spinlock");
      yield* vm.get("user");
      expect(yield* vm.put("user")).toBe(false);
      expect(yield* vm.put("creator")).toBe(true);
      expect(freed).toEqual([vm]);
      expect(root.refcount.read()).toBe(1);
      yield* root.put("creator");
    });
    expect(sim.reports).toEqual([]);
  });

  it("listMode follows resvProtected", () => {
    const sim = collectingSim();
    const root = new GemObject(sim, { size: 4096 });
    const vm = GpuVm.create(sim, { name: "vm", mmStart: 0, mmRange: 0x1000, resvObj: root, resvProtected: true, ops: { vmFree: () => undefined } });
    expect(vm.listMode).toBe("resv");
    const two = GpuVm.create(sim, { name: "vm2", mmStart: 0, mmRange: 0x1000, resvObj: root, listMode: "two-list", ops: { vmFree: () => undefined } });
    expect(two.listMode).toBe("two-list");
  });

  it("the last put with a mapping still inserted, a VmBo on extobj and a zombie: one teardown report each, naming what is left", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "immediateMode");
      const bo = w.bo("bo");
      const va = new Mapping(sim, { name: "va", addr: 0, range: 0x1000 });
      yield* va.insert(w.vm);
      const vb = (yield* boObtain(w.vm, bo, "obtain")) as VmBo;
      yield* w.vm.extobj.add(vb, true);
      const bo2 = w.bo("bo2");
      const z = (yield* boObtain(w.vm, bo2, "z")) as VmBo;
      yield* z.putDeferred("z");
      // Three puts too many: the VM goes while its structures are not empty.
      yield* w.vm.put("gpuva");
      yield* w.vm.put("vm_bo");
      yield* w.vm.put("vm_bo");
      yield* w.vm.put("creator");
    });
    const r = only(sim, "gpuvm-teardown");
    expect(r.map((x) => x.structure)).toEqual(["tree", "extobj", "deferred"]);
    expect(r[0]?.left).toEqual([{ object: 'Mapping#' + String(r[0]?.left[0]?.object.match(/#(\d+)/)?.[1]) + ' "va"', heldBy: "not linked" }]);
    expect(r[1]?.left[0]?.heldBy).toMatch(/^refcount 1 \(obtain 1\)$/);
    expect(r[2]?.left[0]?.heldBy).toContain("zombie");
  });
});

describe.each(VM_MODES)("GpuVm queries in %s mode", (mode) => {
  it("rangeValid, intervalEmpty, findFirst, find, findPrev, findNext, vasInRange; the kernel-reserved range is hidden", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, mode, { reserveOffset: 0x80000, reserveRange: 0x1000 });
      const vm = w.vm;
      expect(vm.rangeValid(0, 0x1000)).toBe(true);
      expect(vm.rangeValid(0xff000, 0x2000)).toBe(false);
      expect(vm.rangeValid(0x7f000, 0x2000)).toBe(false);
      const a = new Mapping(sim, { addr: 0x1000, range: 0x1000 });
      const b = new Mapping(sim, { addr: 0x2000, range: 0x1000 });
      const c = new Mapping(sim, { addr: 0x5000, range: 0x1000 });
      for (const m of [a, b, c]) yield* m.insert(vm);
      expect(vm.intervalEmpty(0x3000, 0x2000)).toBe(true);
      expect(vm.intervalEmpty(0x2fff, 2)).toBe(false);
      expect(vm.findFirst(0, 0x10000)).toBe(a);
      expect(vm.find(0x2000, 0x1000)).toBe(b);
      expect(vm.find(0x2000, 0x800)).toBeNull();
      expect(vm.findPrev(0x2000)).toBe(a);
      expect(vm.findNext(0x2000)).toBe(b);
      // The kernel's inclusive queries: with a gap before 0x5000, findPrev returns the mapping at 0x5000 itself.
      expect(vm.findPrev(0x5000)).toBe(c);
      expect(vm.findPrev(0x4000)).toBeNull();
      expect(vm.findNext(0x3000)).toBeNull();
      expect(vm.findPrev(0)).toBeNull();
      expect(vm.vasInRange(0, 0x100000)).toEqual([a, b, c]);
      expect(vm.vasInRange(0x1800, 0x1000)).toEqual([a, b]);
      expect(vm.vas()).toEqual([a, b, c]);
      expect(vm.findFirst(0x80000, 0x1000)).toBeNull();
      expect(vm.isExtobj(w.bo("x"))).toBe(mode !== "resvProtected");
      expect(vm.isExtobj(w.root)).toBe(false);
    });
    expect(sim.reports).toEqual([]);
  });
});

describe("GpuVm.checkInvariants catches each broken rule (broken on purpose through internal fields)", () => {
  function setup(sim: Sim, f: (w: ReturnType<typeof world>, va: Mapping, vb: VmBo) => void): string[] {
    let rules: string[] = [];
    sim.run(function* () {
      const w = world(sim, "plain");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "obtain")) as VmBo;
      const va = new Mapping(sim, { addr: 0x1000, range: 0x1000, obj: bo });
      yield* va.insert(w.vm);
      yield* va.link(vb);
      expect(w.vm.checkInvariants()).toEqual([]);
      f(w, va, vb);
      rules = w.vm.checkInvariants().map((v) => v.rule);
    });
    expect(only(sim, "gpuvm-invariant").map((r) => r.rule)).toEqual(rules);
    return rules;
  }

  it("mapping-vm: a tree entry that is not inserted", () => {
    expect(setup(collectingSim(), (_w, va) => { va.stateNow = "removed"; })).toContain("mapping-vm");
  });
  it("vm-bo-lists-mapping: a linked mapping its VmBo does not list", () => {
    expect(setup(collectingSim(), (_w, _va, vb) => { vb.gpuva.length = 0; })).toEqual(["vm-bo-lists-mapping", "refcount-holders"]);
  });
  it("vm-bo-same-gem: a mapping linked to the VmBo of another GEM", () => {
    const sim = collectingSim();
    expect(setup(sim, (w, va) => {
      const other = new VmBo(w.vm, w.bo("other"));
      va.vmBoNow = other;
    })).toContain("vm-bo-same-gem");
  });
  it("gem-list-once: a linked VmBo listed twice on its GEM", () => {
    expect(setup(collectingSim(), (_w, _va, vb) => { vb.obj.gpuva.push(vb); })).toEqual(["gem-list-once"]);
  });
  it("evict-flag and extobj-is-external", () => {
    const sim = collectingSim();
    let rules: string[] = [];
    sim.run(function* () {
      const w = world(sim, "plain");
      const priv = new GemObject(sim, { size: 4096, resv: w.root.resv });
      const vb = (yield* boObtain(w.vm, priv)) as VmBo;
      yield* w.vm.extobj.add(vb, true);
      yield* w.vm.evict.add(vb, true);
      rules = w.vm.checkInvariants().map((v) => v.rule);
    });
    expect(rules).toEqual(["extobj-is-external", "evict-flag"]);
  });
  it("refcount-holders: the VM's gpuva references do not match its mappings", () => {
    expect(setup(collectingSim(), (w, va) => { w.vm.tree.remove(va.addr); })).toEqual(["refcount-holders"]);
  });
  it("tree-order: an entry whose mapping disagrees with its place", () => {
    expect(setup(collectingSim(), (w, va) => {
      w.vm.tree.remove(va.addr);
      w.vm.tree.insert(0x8000, 0x1000, va);
    })).toContain("tree-order");
  });
});

describe("docs/gpuvm.md example", () => {
  it("maps a GEM object twice, unlinks with deferred cleanup, and frees everything", async () => {
    const { main } = await import("../../examples/gpuvm.js");
    expect(main()).toBe(
      [
        "vm refs 4, vmBo refs 2, bo refs 2",
        "invariants: hold",
        "after the unlinks: vmBo zombie, deferred 1, bo freed false",
        "after cleanup: vmBo freed, bo freed true",
        "reports: 0, leaks: 0",
      ].join("\n"),
    );
  });
});

describe('docs/gpuvm.md "Putting it together"', () => {
  it("binds, splits, evicts, validates, fences and unbinds on the real objects: clean, nothing leaked", async () => {
    const { main } = await import("../../examples/gpuvm-together.js");
    expect(main()).toBe(
      [
        "bound: bo[0x10000, +4p)@0p pt[0x40000, +1p)@0p",
        "after unmapping page 1: bo[0x10000, +1p)@0p bo[0x12000, +2p)@2p pt[0x40000, +1p)@0p",
        "bo's VmBo: 2 mappings, refcount 2; extobj 1; vm refcount 6",
        "evicted: 1",
        'execLock: ok, locked GemObject#1 "root", GemObject#10 "bo"',
        "validate: ok, evicted: 0",
        "unbound: 0 mappings, bo's VmBo freed, vm refcount 1",
        "invariants: hold",
        "reports: 0, leaks: 0",
      ].join("\n"),
    );
  });
});
