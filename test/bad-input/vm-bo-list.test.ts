/**
 * Bad input to the VM BO lists and the VM's list functions
 * (src/drm/vm-bo-list.ts): each case throws the typed error naming the
 * argument (a UsageError for a VM without ops.vmBoValidate, or a
 * GpuVmExec whose DrmExec is in use) and leaves everything as it was: no op
 * made (so no `unstarted-op`), no step, no report, no list or flag change,
 * no reference.
 */
import { describe, expect, it } from "vitest";
import { expectThrows } from "./helpers.js";
import {
  ArgumentError,
  ArgumentRangeError,
  DmaFence,
  DrmExec,
  evict,
  execLock,
  execLockArray,
  execLockRange,
  extobjAdd,
  FenceContext,
  gemEvict,
  GpuVmExec,
  prepareObjects,
  prepareRange,
  prepareVm,
  resvAddFence,
  UsageError,
  validate,
  VmBoList,
  type Sim,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { FakeGem, FakeVm, type FakeVmBo } from "../support/fake-gpuvm.js";

interface World {
  readonly sim: Sim;
  readonly vm: FakeVm;
  readonly gem: FakeGem;
  readonly vmBo: FakeVmBo;
  readonly foreign: FakeVmBo;
  readonly exec: DrmExec;
  readonly fence: DmaFence;
  readonly ve: GpuVmExec;
}

function world(): World {
  const sim = collectingSim();
  return sim.run(function* () {
    const vm = new FakeVm(sim, "vm");
    const vm2 = new FakeVm(sim, "vm2");
    const gem = new FakeGem(sim, "bo0");
    const vmBo = yield* vm.obtain(gem);
    const foreign = yield* vm2.obtain(gem);
    yield* vm.extobj.add(vmBo);
    const fence = new DmaFence(new FenceContext(sim, "ring"), { name: "job" });
    return { sim, vm, gem, vmBo, foreign, exec: new DrmExec(sim), fence, ve: new GpuVmExec({ vm }) };
  });
}

function snapshot(w: World): unknown {
  return {
    live: w.sim.liveObjects().map((o) => o.label),
    step: w.sim.step,
    reports: w.sim.reports.length,
    extobj: w.vm.extobj.entries().map((e) => e.label),
    evict: w.vm.evict.entries().map((e) => e.label),
    evicted: w.vmBo.evicted,
    refs: w.vmBo.refcount.read(),
    extra: w.ve.extra,
  };
}

type Case = readonly [string, (w: World) => unknown, typeof ArgumentError | typeof ArgumentRangeError | typeof UsageError, string | undefined];

const cases: readonly Case[] = [
  ["VmBoList: owner not a VM", () => new VmBoList({} as never, "extobj"), ArgumentError, "owner"],
  ["VmBoList: owner with an unknown listMode", (w) => new VmBoList(Object.assign(Object.create(w.vm) as FakeVm, { listMode: "rcu" }), "extobj"), ArgumentError, "owner.listMode"],
  ["VmBoList: which unknown", (w) => new VmBoList(w.vm, "bound" as never), ArgumentError, "which"],
  ["add: vmBo null", (w) => w.vm.extobj.add(null as never), ArgumentError, "vmBo"],
  ["add: vmBo of another VM", (w) => w.vm.extobj.add(w.foreign), ArgumentError, "vmBo"],
  ["add: lock not a boolean", (w) => w.vm.extobj.add(w.vmBo, 1 as never), ArgumentError, "lock"],
  ["del: vmBo a GEM", (w) => w.vm.extobj.del(w.gem as never), ArgumentError, "vmBo"],
  ["del: lock a string", (w) => w.vm.extobj.del(w.vmBo, "no" as never), ArgumentError, "lock"],
  ["contains: vmBo of another VM", (w) => w.vm.extobj.contains(w.foreign), ArgumentError, "vmBo"],
  ["walk: body not a function", (w) => w.vm.extobj.walk("each" as never), ArgumentError, "body"],
  ["prepareVm: vm not a VM", (w) => prepareVm({} as never, w.exec, 0), ArgumentError, "vm"],
  ["prepareVm: exec not a DrmExec", (w) => prepareVm(w.vm, {} as never, 0), ArgumentError, "exec"],
  ["prepareVm: exec of another Sim", (w) => prepareVm(w.vm, new DrmExec(collectingSim()), 0), ArgumentError, "exec"],
  ["prepareVm: numFences negative", (w) => prepareVm(w.vm, w.exec, -1), ArgumentRangeError, "numFences"],
  ["prepareObjects: numFences a string", (w) => prepareObjects(w.vm, w.exec, "1" as never), ArgumentError, "numFences"],
  ["prepareObjects: vm null", (w) => prepareObjects(null as never, w.exec, 0), ArgumentError, "vm"],
  ["prepareRange: addr negative", (w) => prepareRange(w.vm, w.exec, -1, 10, 0), ArgumentRangeError, "addr"],
  ["prepareRange: range fractional", (w) => prepareRange(w.vm, w.exec, 0, 1.5, 0), ArgumentRangeError, "range"],
  ["prepareRange: addr + range beyond 2^53", (w) => prepareRange(w.vm, w.exec, 2 ** 52, 2 ** 52, 0), ArgumentRangeError, "range"],
  ["GpuVmExec: options null", () => new GpuVmExec(null as never), ArgumentError, "options"],
  ["GpuVmExec: unknown option", (w) => new GpuVmExec({ vm: w.vm, fences: 1 } as never), ArgumentError, "fences"],
  ["GpuVmExec: vm not a VM", () => new GpuVmExec({ vm: {} as never }), ArgumentError, "vm"],
  ["GpuVmExec: numFences negative", (w) => new GpuVmExec({ vm: w.vm, numFences: -2 }), ArgumentRangeError, "numFences"],
  ["GpuVmExec: a flag not a boolean", (w) => new GpuVmExec({ vm: w.vm, flags: { interruptibleWait: 1 } as never }), ArgumentError, "flags.interruptibleWait"],
  ["GpuVmExec: extra.fn not a function", (w) => new GpuVmExec({ vm: w.vm, extra: { fn: 3 } as never }), ArgumentError, "extra.fn"],
  ["execLock: vmExec not a GpuVmExec", () => execLock({} as never), ArgumentError, "vmExec"],
  ["execLockArray: objs not an array", (w) => execLockArray(w.ve, w.gem as never), ArgumentError, "objs"],
  ["execLockArray: a bad element", (w) => execLockArray(w.ve, [w.gem, {} as never]), ArgumentError, "objs[1]"],
  ["execLockRange: range negative", (w) => execLockRange(w.ve, 0, -1), ArgumentRangeError, "range"],
  ["validate: no ops.vmBoValidate", (w) => validate(w.vm, w.exec), UsageError, undefined],
  ["validate: exec not a DrmExec", (w) => validate(w.vm, null as never), ArgumentError, "exec"],
  ["resvAddFence: fence not a DmaFence", (w) => resvAddFence(w.vm, w.exec, {} as never, "read", "read"), ArgumentError, "fence"],
  ["resvAddFence: privateUsage unknown", (w) => resvAddFence(w.vm, w.exec, w.fence, "shared" as never, "read"), ArgumentError, "privateUsage"],
  ["resvAddFence: extobjUsage unknown", (w) => resvAddFence(w.vm, w.exec, w.fence, "read", 2 as never), ArgumentError, "extobjUsage"],
  ["extobjAdd: vmBo a GEM", (w) => extobjAdd(w.gem as never), ArgumentError, "vmBo"],
  ["evict: vmBo null", () => evict(null as never, true), ArgumentError, "vmBo"],
  ["evict: flag not a boolean", (w) => evict(w.vmBo, "yes" as never), ArgumentError, "flag"],
  ["gemEvict: obj a VmBo", (w) => gemEvict(w.vmBo as never, true), ArgumentError, "obj"],
  ["gemEvict: flag a number", (w) => gemEvict(w.gem, 0 as never), ArgumentError, "flag"],
];

describe("vm-bo-list: bad input", () => {
  for (const [name, call, cls, argument] of cases) {
    it(`${name}: ${cls.name}${argument === undefined ? "" : ` naming ${argument}`}, state unchanged`, () => {
      const w = world();
      const before = snapshot(w);
      const e = expectThrows(() => call(w), cls, argument);
      if (cls === UsageError) expect(e.message).toContain("ops.vmBoValidate");
      expect(snapshot(w)).toEqual(before);
    });
  }

  it("inside a task, bad arguments make no op (no unstarted-op) and change nothing", () => {
    const w = world();
    w.sim.run(function* () {
      const before = snapshot(w);
      for (const [, call, cls, argument] of cases) expectThrows(() => call(w), cls, argument);
      expect(snapshot(w)).toEqual(before);
      yield* w.vm.extobj.walk(() => "ok");
    });
    expect(w.sim.reports).toEqual([]);
  });

  it("execLock again while the GpuVmExec's DrmExec is in use: UsageError, nothing changes", () => {
    const w = world();
    w.sim.run(function* () {
      expect(yield* execLock(w.ve)).toBe("ok");
      const before = snapshot(w);
      expectThrows(() => execLock(w.ve), UsageError);
      expectThrows(() => execLockRange(w.ve, 0, 1), UsageError);
      expect(snapshot(w)).toEqual(before);
      yield* w.ve.exec.fini();
    });
    expect(w.sim.reports).toEqual([]);
  });
});
