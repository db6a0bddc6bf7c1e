/**
 * The rest of each kind the adversarial review found (test/drm/gpuvm-adversary.test.ts):
 * each block names the findings it widens. Every negative case asserts the
 * report's kind and key fields, or the error's class and the argument it
 * names, and that nothing changed.
 */
import { describe, expect, it } from "vitest";
import {
  ArgumentError,
  ArgumentRangeError,
  boCreate,
  boFind,
  boObtain,
  boObtainLocked,
  DmaFence,
  DrmExec,
  execLock,
  execLockArray,
  FenceContext,
  ForeignSimError,
  GemObject,
  GpuVm,
  GpuVmExec,
  kfree,
  Mapping,
  UsageError,
  VmBo,
  type Report,
  type Sim,
} from "../../src/index.js";
import "../../src/vitest.js";
import { expectThrows } from "../bad-input/helpers.js";
import { collectingSim } from "../support/collecting-sim.js";
import { world } from "../support/gpuvm-world.js";

function only<K extends Report["kind"]>(sim: Sim, kind: K): Extract<Report, { kind: K }>[] {
  return sim.reports.filter((r): r is Extract<Report, { kind: K }> => r.kind === kind);
}
function runCatching(sim: Sim, body: () => Generator<unknown, void, unknown>): unknown {
  try {
    sim.run(body as never);
    return null;
  } catch (e) {
    return e;
  }
}

describe("siblings of F01–F04, F06, F07: every VmBo / GEM / VM entry point checks liveness and stage", () => {
  it("extobjAdd of a zombie VmBo is a gpuvm-wrong-stage report naming drm_gpuvm_bo_extobj_add; the list is unchanged", () => {
    const sim = collectingSim();
    let size = -1;
    sim.run(function* () {
      const w = world(sim, "immediateMode");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "d")) as VmBo;
      yield* bo.get("keep"); // the GEM outlives the VmBo
      yield* vb.putDeferred("d");
      expect(vb.state).toBe("zombie");
      yield* vb.extobjAdd();
      size = w.vm.extobj.size;
      yield* w.vm.boDeferredCleanup();
      yield* bo.put("keep");
    });
    const r = only(sim, "gpuvm-wrong-stage");
    expect(r.map((x) => [x.operation, x.stage, x.objectType])).toEqual([["drm_gpuvm_bo_extobj_add", "zombie", "VmBo"]]);
    expect(size).toBe(0);
  });

  it("evict(false) of a freed VmBo is a use-after-free report in its own step; the evict list is unchanged", () => {
    const sim = collectingSim();
    let size = -1;
    sim.run(function* () {
      const w = world(sim, "plain");
      const bo = w.bo("bo");
      yield* bo.get("keep");
      const vb = (yield* boObtain(w.vm, bo, "d")) as VmBo;
      yield* vb.put("d");
      yield* bo.resv.lock(null);
      yield* vb.evict(false);
      yield* bo.resv.unlock();
      size = w.vm.evict.size;
      yield* bo.put("keep");
    });
    const uaf = only(sim, "use-after-free");
    expect(uaf.length).toBe(1);
    expect(uaf[0]?.access).toBe("drm_gpuvm_bo_evict");
    expect(size).toBe(0);
  });

  it("boCreate / boFind / boObtainLocked / boObtain on a freed VM or a freed GEM: ArgumentError naming vm / obj at the call, nothing made", () => {
    const sim = collectingSim();
    const refs: number[] = [];
    sim.run(function* () {
      const w = world(sim, "plain");
      const dead = w.bo("dead");
      const bo = w.bo("bo");
      yield* dead.put("creator");
      for (const f of [boCreate, boFind, boObtainLocked, boObtain]) expectThrows(() => f(w.vm, dead), ArgumentError, "obj");
      refs.push(w.vm.refcount.count, bo.gpuva.length);
      yield* w.vm.put("creator");
      for (const f of [boCreate, boFind, boObtainLocked, boObtain]) expectThrows(() => f(w.vm, bo), ArgumentError, "vm");
      refs.push(bo.refcount.count, bo.gpuva.length);
    });
    expect(refs).toEqual([1, 0, 1, 0]);
  });

  it("vm.isExtobj / vm.gemEvict of a freed GEM: ArgumentError naming obj at the call", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "plain");
      const dead = w.bo("dead");
      yield* dead.put("creator");
      expectThrows(() => w.vm.isExtobj(dead), ArgumentError, "obj");
      expectThrows(() => w.vm.gemEvict(dead, true), ArgumentError, "obj");
    });
    expect(sim.reports).toEqual([]);
  });

  it("the VM's walks and list functions on a freed VM: ArgumentError naming vm at the call", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "plain", { ops: { smStepMap: () => undefined, smStepRemap: () => undefined, smStepUnmap: () => undefined } });
      const vm = w.vm;
      yield* vm.put("creator");
      const exec = new DrmExec(sim);
      expectThrows(() => vm.smMap({ map: { va: { addr: 0, range: 0x1000 }, gem: { obj: null, offset: 0 } } }), ArgumentError, "vm");
      expectThrows(() => vm.smUnmap(0, 0x1000), ArgumentError, "vm");
      expectThrows(() => vm.prepareVm(exec, 0), ArgumentError, "vm");
      expectThrows(() => vm.prepareObjects(exec, 0), ArgumentError, "vm");
      expectThrows(() => new GpuVmExec({ vm }), ArgumentError, "vm");
      expectThrows(() => new Mapping(sim, { addr: 0, range: 0x1000 }).insert(vm), ArgumentError, "vm");
      yield* exec.fini();
    });
  });

  it("new Mapping / Mapping.fromOp of a freed GEM: ArgumentError naming obj", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const dead = new GemObject(sim, { size: 4096 });
      yield* dead.put("creator");
      expectThrows(() => Mapping.fromOp(sim, { map: { va: { addr: 0, range: 0x1000 }, gem: { obj: dead, offset: 0 } } }), ArgumentError, "obj");
    });
  });
});

describe("siblings of F04: checkInvariants sees a freed or zombie VmBo left on a list", () => {
  it("a zombie on the evict list of a VM that is not resvProtected is a list-zombie violation", () => {
    const sim = collectingSim();
    let rules: string[] = [];
    sim.run(function* () {
      const w = world(sim, "immediateMode");
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "d")) as VmBo;
      yield* bo.resv.lock(null);
      yield* vb.evict(true);
      yield* bo.resv.unlock();
      // Break the structure by hand, as a buggy list change would: make it a zombie still on the list.
      vb.stageNow = "zombie";
      rules = w.vm.checkInvariants({ file: false }).filter((v) => v.object === vb.label).map((v) => v.rule);
      vb.stageNow = "linked";
      yield* vb.put("d");
    });
    expect(rules).toContain("list-zombie");
  });
});

describe("siblings of F13 / F14 / F08: one helper runs every driver callback's result", () => {
  it("ops.vmBoFree returning a number: a UsageError naming ops.vmBoFree", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const threw = runCatching(sim, function* () {
      const w = world(sim, "plain", { ops: { vmBoFree: () => 42 as never } });
      const vb = (yield* boObtain(w.vm, w.bo("bo"), "d")) as VmBo;
      yield* vb.put("d");
    });
    expect(threw).toBeInstanceOf(UsageError);
    expect((threw as Error).message).toContain("ops.vmBoFree");
  });

  it("a GEM free callback returning a string: a UsageError naming the free callback, not its characters yielded", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const threw = runCatching(sim, function* () {
      const bo = new GemObject(sim, { name: "bo", size: 4096, free: () => "done" as never });
      yield* bo.put("creator");
    });
    expect(threw).toBeInstanceOf(UsageError);
    expect((threw as Error).message).toContain("free callback");
  });

  it("ops.vmBoValidate returning an object: a UsageError naming ops.vmBoValidate", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const threw = runCatching(sim, function* () {
      const w = world(sim, "plain", { ops: { vmBoValidate: () => ({ ok: true }) as never } });
      const bo = w.bo("bo");
      const vb = (yield* boObtain(w.vm, bo, "d")) as VmBo;
      yield* bo.resv.lock(null);
      yield* vb.evict(true);
      const exec = new DrmExec(sim);
      yield* w.vm.validate(exec);
    });
    expect(threw).toBeInstanceOf(UsageError);
    expect((threw as Error).message).toContain("ops.vmBoValidate");
  });

  it("a step callback yielding a non-effect: a UsageError naming the callback", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const threw = runCatching(sim, function* () {
      const w = world(sim, "plain", {
        ops: {
          smStepMap: function* () {
            yield 7 as never;
          },
          smStepRemap: () => undefined,
          smStepUnmap: () => undefined,
        },
      });
      yield* w.vm.smMap({ map: { va: { addr: 0, range: 0x1000 }, gem: { obj: null, offset: 0 } } });
    });
    expect(threw).toBeInstanceOf(UsageError);
    expect((threw as Error).message).toContain("smStepMap");
  });

  it("ops.vmBoAlloc returning a freed VmBo: a UsageError naming ops.vmBoAlloc, no reference taken", () => {
    const sim = collectingSim();
    let err: unknown = null;
    let refs: number[] = [];
    sim.run(function* () {
      let old: VmBo | null = null;
      const w = world(sim, "plain", { ops: { vmBoAlloc: (vm, obj) => old ?? new VmBo(vm, obj) } });
      const bo = w.bo("bo");
      const first = (yield* boCreate(w.vm, bo)) as VmBo;
      old = first;
      yield* first.put();
      expect(first.isFreed).toBe(true);
      try {
        yield* boCreate(w.vm, bo);
      } catch (e) {
        err = e;
      }
      refs = [w.vm.refcount.count, bo.refcount.count];
    });
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toContain("vmBoAlloc");
    expect(refs).toEqual([1, 1]);
  });
});

describe("siblings of F11 / F15 / F20: every entry point taking a GEM, fence, VmBo, Mapping or VM checks its Sim at the call", () => {
  it("ForeignSimError (an ArgumentError) naming the argument, nothing changed", () => {
    const sim = collectingSim();
    const other = collectingSim();
    const foreignGem = new GemObject(other, { name: "foreign", size: 4096 });
    const foreignRoot = new GemObject(other, { size: 4096 });
    const foreignVm = GpuVm.create(other, { name: "fvm", mmStart: 0, mmRange: 0x10000, resvObj: foreignRoot, ops: { vmFree: (v) => kfree(v) } });
    const w = world(sim, "plain");
    const exec = new DrmExec(sim);
    expectThrows(() => w.vm.isExtobj(foreignGem), ForeignSimError, "obj");
    expectThrows(() => w.vm.gemEvict(foreignGem, false), ForeignSimError, "obj");
    expectThrows(() => boObtain(w.vm, foreignGem), ForeignSimError, "obj");
    expectThrows(() => boCreate(w.vm, foreignGem), ForeignSimError, "obj");
    expectThrows(() => new Mapping(sim, { addr: 0, range: 0x1000 }).insert(foreignVm), ForeignSimError, "vm");
    expectThrows(() => w.vm.resvAddFence(exec, new DmaFence(new FenceContext(other, "r")), "write", "write"), ForeignSimError, "fence");
    expectThrows(() => execLockArray(new GpuVmExec({ vm: w.vm }), [w.bo("mine"), foreignGem]), ForeignSimError, "objs[1]");
    expect(foreignGem.refcount.count).toBe(1);
    expect(w.vm.refcount.count).toBe(1);
  });
});

describe("siblings of F16 / F17: every function that validates an options or request object snapshots it", () => {
  it("smMapExecLock locks what was validated: changing req after the call changes nothing", () => {
    const sim = collectingSim();
    let r = "";
    let locked: unknown[] = [];
    const threw = runCatching(sim, function* () {
      const w = world(sim, "plain");
      const bo = w.bo("bo");
      const exec = new DrmExec(sim);
      const req = { map: { va: { addr: 0x1000, range: 0x1000 }, gem: { obj: bo as GemObject | null, offset: 0 } } };
      const op = w.vm.smMapExecLock(exec, 1, req);
      req.map.gem.obj = null;
      req.map.va.range = -1;
      r = yield* exec.untilAllLocked(() => op);
      locked = [...exec.objects()];
      yield* exec.fini();
      expect(locked).toEqual([bo]);
    });
    expect(threw).toBeNull();
    expect(r).toBe("ok");
  });

  it("GpuVmExec keeps copies of its flags and extra: changing them after construction does not reach execLock", () => {
    const sim = collectingSim();
    let calls = 0;
    let r = "";
    const threw = runCatching(sim, function* () {
      const w = world(sim, "plain");
      const flags: Record<string, unknown> = {};
      const extra: { fn: unknown } = {
        fn: function* () {
          calls++;
          return "ok" as const;
        },
      };
      const ve = new GpuVmExec({ vm: w.vm, flags: flags, extra: extra as never });
      flags["bogus"] = 1;
      extra.fn = 42;
      r = yield* execLock(ve);
      yield* ve.exec.fini();
    });
    expect(threw).toBeNull();
    expect(r).toBe("ok");
    expect(calls).toBe(1);
  });
});

describe("siblings of F12 / F18 / F19: shapes and ranges refused at the call", () => {
  it("Mapping.fromOp with va or gem missing or null: ArgumentError naming op", () => {
    const sim = collectingSim();
    for (const op of [{ map: { va: null, gem: { obj: null, offset: 0 } } }, { map: { va: { addr: 0, range: 1 }, gem: null } }, { map: { gem: { obj: null, offset: 0 } } }, null, 3]) {
      expectThrows(() => Mapping.fromOp(sim, op as never), ArgumentError, "op");
    }
  });

  it("a kernel-reserved range straddling either end of the managed range: ArgumentRangeError naming reserveOffset, no reference taken", () => {
    const sim = collectingSim();
    const root = new GemObject(sim, { size: 4096 });
    for (const [reserveOffset, reserveRange] of [
      [0x8000, 0x10000],
      [0x1f000, 0x2000],
    ] as const) {
      expectThrows(
        () => GpuVm.create(sim, { name: "vm", mmStart: 0x10000, mmRange: 0x10000, reserveOffset, reserveRange, resvObj: root, ops: { vmFree: (v) => kfree(v) } }),
        ArgumentRangeError,
        "reserveOffset",
      );
    }
    expect(root.refcount.count).toBe(1);
    // Inside, at the very edges: fine.
    const vm = GpuVm.create(sim, { name: "vm", mmStart: 0x10000, mmRange: 0x10000, reserveOffset: 0x1f000, reserveRange: 0x1000, resvObj: root, ops: { vmFree: (v) => kfree(v) } });
    expect(vm.rangeValid(0x1f000, 1)).toBe(false);
  });

  it("a mapping whose offset + range overflows: ArgumentRangeError naming init.offset (also through fromOp)", () => {
    const sim = collectingSim();
    expectThrows(() => new Mapping(sim, { addr: 0, range: 2, offset: Number.MAX_SAFE_INTEGER - 1 }), ArgumentRangeError, "init.offset");
    expectThrows(() => Mapping.fromOp(sim, { map: { va: { addr: 0, range: 0x1000 }, gem: { obj: null, offset: Number.MAX_SAFE_INTEGER } } }), ArgumentRangeError, "init.offset");
  });
});

describe("F05 and its siblings: a walk never hands a removed mapping to a step", () => {
  function* setup(sim: Sim, onUnmap: (va: Mapping, maps: Mapping[]) => Generator<unknown, void, unknown>) {
    const handed: string[] = [];
    const maps: Mapping[] = [];
    const w = world(sim, "plain", {
      ops: {
        smStepMap: () => undefined,
        smStepRemap: (op) => void handed.push(`remap ${op.remap.unmap.va.name}`),
        smStepUnmap: function* (op) {
          handed.push(`unmap ${op.unmap.va.name} ${op.unmap.va.state}`);
          yield* onUnmap(op.unmap.va, maps) as Generator<never, void, unknown>;
        },
      },
    });
    for (const addr of [0x1000, 0x2000, 0x3000]) maps.push(new Mapping(sim, { name: `m${addr.toString(16)}`, addr, range: 0x1000 }));
    for (const m of maps) yield* m.insert(w.vm);
    return { w, maps, handed };
  }

  it("smUnmap: a step that removes and frees the next mapping; the walk goes on with the one after it", () => {
    const sim = collectingSim();
    let handed: string[] = [];
    let r = "";
    sim.run(function* () {
      const s = yield* setup(sim, function* (va, maps) {
        if (va === maps[0]) {
          const victim = maps[1] as Mapping;
          yield* victim.remove();
          yield* kfree(victim);
        }
      });
      handed = s.handed;
      r = yield* s.w.vm.smUnmap(0x1000, 0x3000);
      for (const m of [s.maps[0], s.maps[2]] as Mapping[]) yield* m.remove();
    });
    expect(r).toBe("ok");
    expect(handed).toEqual(["unmap m1000 inserted", "unmap m3000 inserted"]);
    expect(sim.reports).toEqual([]);
  });

  it("a step that inserts a mapping into the request range before the walk's next mapping: not visited (the walk has passed it)", () => {
    const sim = collectingSim();
    let handed: string[] = [];
    let extra!: Mapping;
    sim.run(function* () {
      const s = yield* setup(sim, function* (va, maps) {
        if (va === maps[0]) {
          yield* va.remove();
          extra = new Mapping(sim, { name: "extra", addr: 0x1000, range: 0x800 });
          yield* extra.insert(va.vm as GpuVm);
        }
      });
      handed = s.handed;
      expect(yield* s.w.vm.smUnmap(0x1000, 0x3000)).toBe("ok");
      expect(s.w.vm.vas()).toEqual([extra, s.maps[1], s.maps[2]]);
      for (const m of [extra, s.maps[1], s.maps[2]] as Mapping[]) yield* m.remove();
    });
    expect(handed).toEqual(["unmap m1000 inserted", "unmap m2000 inserted", "unmap m3000 inserted"]);
  });
});

describe("sibling of F10: listing violations files nothing", () => {
  it("checkInvariants({ file: false }) and invariantViolations() return the violations without a report; checkInvariants() files them", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const w = world(sim, "plain");
      yield* w.vm.get("gpuva");
      const quiet = w.vm.checkInvariants({ file: false });
      expect(quiet.map((v) => v.rule)).toEqual(["refcount-holders"]);
      expect(w.vm.invariantViolations()).toEqual(quiet);
      expect(sim.reports).toEqual([]);
      expect(w.vm.checkInvariants()).toEqual(quiet);
      expect(only(sim, "gpuvm-invariant").map((r) => r.rule)).toEqual(["refcount-holders"]);
      yield* w.vm.put("gpuva");
    });
  });

  it("checkInvariants with bad options: ArgumentError naming the option, nothing filed", () => {
    const sim = collectingSim();
    const w = world(sim, "plain");
    expectThrows(() => w.vm.checkInvariants({ file: "no" } as never), ArgumentError, "file");
    expectThrows(() => w.vm.checkInvariants({ fiel: false } as never), ArgumentError);
    expect(sim.reports).toEqual([]);
  });
});
