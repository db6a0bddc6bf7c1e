/**
 * Soundness hunt over the GPUVM core (review "dpor", issue 10): small
 * programs over GemObject, GpuVm, VmBo and Mapping where an exhaustive DFS
 * with DPOR should reach exactly what the unreduced search reaches (what
 * the tasks saw, and the kinds of failure). Each `it` here is one program;
 * those that fail show an op that reads or writes state outside its
 * step's declared footprint. The F-numbers name the review's findings:
 * F1 Mapping.remove() reads state before its first effect; F2 unlink() /
 * unlinkDeferred() read `vmBo` before it; F3 call-time checks (insert's
 * overlap, link's VM, gpuvaUnmap's stage) read mutable state in no step;
 * F4 split/merge walks note the VM, while insert/remove write `vm.tree`;
 * F5 checkInvariants() reads the VmBo set and refcounts undeclared; F6
 * link's step reads the VmBo's stage but declares only its mapping list;
 * F7 public plain fields (invalidated, evicted, state, isFreed) are read
 * by drivers with no noted read.
 */
import { describe, expect, it } from "vitest";
import { access, boFind, boObtain, DrmExec, execLock, GemObject, GpuVmExec, gpuvaMap, gpuvaRemap, gpuvaUnmap, Mapping, type Sim, type VmBo } from "../../src/index.js";
import { reached as reachedIn, type ReductionProgram } from "../support/reduction.js";
import { world } from "../support/gpuvm-world.js";

function reached(build: ReductionProgram, reduction: "dpor" | "none"): string[] {
  return reachedIn(build, reduction, { executions: 100_000 });
}

/** A shared driver object, for a step that touches nothing of the GPUVM. */
function mark(sim: Sim): { n: number } {
  const m = { n: 0 };
  sim.share(m);
  return m;
}

/** How many gpuvm-wrong-stage reports the execution has filed so far. */
function wrongStages(sim: Sim): number {
  return sim.reports.filter((r) => r.kind === "gpuvm-wrong-stage").length;
}

const PROGRAMS: Record<string, ReductionProgram> = {
  // Mapping.remove() reads `state` and `vm` before its first effect, so the
  // choice between the tree step and the wrong-stage step is made in the
  // remover's previous step (here: its start, which touches nothing).
  "F1 remove() of a mapping another task is inserting (remover spawned first)": (sim, seen) => {
    const w = world(sim, "plain");
    const m = new Mapping(sim, { addr: 0, range: 0x1000 });
    sim.spawn("remover", "process", function* () {
      yield* m.remove();
      seen(`remover: wrong-stage reports ${wrongStages(sim)}`);
    });
    sim.spawn("inserter", "process", function* () {
      yield* m.insert(w.vm);
      yield* access(mark(sim), "write");
      seen(`final state ${m.state}`);
    });
  },

  // The same, with a driver step before the remove.
  "F1 remove() after an unrelated driver step, racing the insert": (sim, seen) => {
    const w = world(sim, "plain");
    const m = new Mapping(sim, { addr: 0, range: 0x1000 });
    const x = mark(sim);
    sim.spawn("remover", "process", function* () {
      yield* access(x, "write");
      yield* m.remove();
      seen(`remover: mapping ${m.state}`);
    });
    sim.spawn("inserter", "process", function* () {
      yield* m.insert(w.vm);
    });
  },

  // Mapping.unlink() reads `vmBo` before its first effect (and unlinkStep
  // picks its footprint from it): an unlink racing the link that makes it valid.
  "F2 unlink() of a mapping another task is linking (unlinker spawned first)": (sim, seen) => {
    const w = world(sim, "plain");
    const bo = w.bo("bo");
    sim.spawn("setup", "process", function* () {
      const vb = (yield* boObtain(w.vm, bo, "setup")) as VmBo;
      const m = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      yield* m.insert(w.vm);
      sim.spawn("unlinker", "process", function* () {
        yield* m.unlink();
        seen(`unlinker: wrong-stage reports ${wrongStages(sim)}`);
      });
      sim.spawn("linker", "process", function* () {
        yield* m.link(vb);
      });
    });
  },

  // Mapping.insert() checks for an overlap at the call (vm.tree read with
  // no noteTouched), in the caller's previous step.
  "F3 insert() whose call-time overlap check races a remove of the overlapped mapping": (sim, seen) => {
    const w = world(sim, "plain");
    const old = new Mapping(sim, { name: "old", addr: 0, range: 0x1000 });
    const neu = new Mapping(sim, { name: "new", addr: 0, range: 0x1000 });
    const x = mark(sim);
    sim.spawn("setup", "process", function* () {
      yield* old.insert(w.vm);
      sim.spawn("inserter", "process", function* () {
        yield* access(x, "write");
        try {
          yield* neu.insert(w.vm);
          seen("inserter: inserted");
        } catch (e) {
          seen(`inserter: threw ${(e as Error).name}`);
        }
      });
      sim.spawn("remover", "process", function* () {
        yield* old.remove();
      });
    });
  },

  // checkInvariants() reads vmBoSet, refcounts and holders without
  // declaring them: a check in the window between a VmBo's creation and
  // its VM reference sees a holder mismatch.
  "F5 checkInvariants() racing boObtain()": (sim, seen) => {
    const w = world(sim, "plain");
    const bo = w.bo("bo");
    const x = mark(sim);
    sim.spawn("obtainer", "process", function* () {
      yield* boObtain(w.vm, bo, "o");
    });
    sim.spawn("checker", "process", function* () {
      yield* access(x, "write");
      seen(`violations: ${w.vm.checkInvariants().map((v) => v.rule).join(",")}`);
    });
  },

  // Public plain fields (Mapping.invalidated) read by a driver after a step
  // of its own: not noted.
  "F7 a driver reads Mapping.invalidated while another task invalidates": (sim, seen) => {
    const w = world(sim, "plain");
    const m = new Mapping(sim, { addr: 0, range: 0x1000 });
    const x = mark(sim);
    sim.spawn("setup", "process", function* () {
      yield* m.insert(w.vm);
      sim.spawn("inval", "process", function* () {
        yield* m.invalidate(true);
      });
      sim.spawn("reader", "process", function* () {
        yield* access(x, "write");
        seen(`reader: invalidated ${String(m.invalidated)}`);
      });
    });
  },

  // VmBo.evicted read by a driver after a step of its own.
  "F7 a driver reads VmBo.evicted while another task evicts": (sim, seen) => {
    const w = world(sim, "plain");
    const bo = w.bo("bo");
    const x = mark(sim);
    sim.spawn("setup", "process", function* () {
      const vb = (yield* boObtain(w.vm, bo, "setup")) as VmBo;
      sim.spawn("evicter", "process", function* () {
        yield* bo.resv.lock(null);
        yield* vb.evict(true);
        yield* bo.resv.unlock();
      });
      sim.spawn("reader", "process", function* () {
        yield* access(x, "write");
        seen(`reader: evicted ${String(vb.evicted)}`);
      });
    });
  },

  // VmBo.state read by a driver after a step of its own (a deferred put makes it a zombie).
  "F7 a driver reads VmBo.state while a deferred put makes it a zombie": (sim, seen) => {
    const w = world(sim, "immediateMode");
    const bo = w.bo("bo");
    const x = mark(sim);
    sim.spawn("setup", "process", function* () {
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      sim.spawn("putter", "process", function* () {
        yield* vb.putDeferred("a");
      });
      sim.spawn("reader", "process", function* () {
        yield* access(x, "write");
        seen(`reader: ${vb.state}`);
      });
    });
  },

  // unlinkDeferred() reads `vmBo` before its first effect, as unlink() does.
  "F2 unlinkDeferred() of a mapping another task is linking (immediate mode, unlinker spawned first)": (sim, seen) => {
    const w = world(sim, "immediateMode");
    const bo = w.bo("bo");
    sim.spawn("setup", "process", function* () {
      const vb = (yield* boObtain(w.vm, bo, "setup")) as VmBo;
      const m = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      yield* m.insert(w.vm);
      sim.spawn("unlinker", "process", function* () {
        yield* m.unlinkDeferred();
        seen(`unlinker: wrong-stage reports ${wrongStages(sim)}`);
      });
      sim.spawn("linker", "process", function* () {
        yield* m.link(vb);
      });
    });
  },

  // link() reads the VmBo's `state` (zombie? freed?) in a step that declares
  // only the VmBo's mapping list and the mapping, while the deferred
  // cleanup's destroy step writes `state` declaring the VmBo itself.
  "F6 link() to a zombie racing boDeferredCleanup(): which stage the wrong-stage report names": (sim, seen) => {
    const w = world(sim, "immediateMode");
    const bo = w.bo("bo");
    sim.spawn("setup", "process", function* () {
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      const m = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      yield* m.insert(w.vm);
      yield* vb.putDeferred("a");
      sim.spawn("linker", "process", function* () {
        yield* bo.get("linker");
        yield* m.link(vb);
        const stages = sim.reports.filter((r) => r.kind === "gpuvm-wrong-stage").map((r) => (r as unknown as { stage: string }).stage);
        seen(`linker: ${stages.join(",")}`);
      });
      sim.spawn("cleaner", "process", function* () {
        yield* w.vm.boDeferredCleanup();
      });
    });
  },

  // The split/merge walks note a read of the VM object (noteTouched(sim, vm,
  // false)); a real GpuVm's tree is a separate footprint key (vm.tree,
  // written by Mapping.insert/remove), so an ops list built in a driver step
  // is independent of an insert into the range.
  "F4 smUnmapOpsCreate() on a GpuVm racing an insert into the range": (sim, seen) => {
    const w = world(sim, "plain");
    const x = mark(sim);
    const m = new Mapping(sim, { addr: 0x1000, range: 0x1000 });
    sim.spawn("walker", "process", function* () {
      yield* access(x, "write");
      seen(`walker: ${w.vm.smUnmapOpsCreate(0, 0x4000).map((o) => o.op).join(",") || "no ops"}`);
    });
    sim.spawn("inserter", "process", function* () {
      yield* m.insert(w.vm);
    });
  },
  "F4 smMap() with yielding callbacks on a GpuVm racing an insert ahead of the walk": (sim, seen) => {
    const log: string[] = [];
    sim.share(log);
    const w = world(sim, "plain", {
      ops: {
        *smStepMap(op) {
          yield* access(log, "write");
          log.push(`map@${op.map.va.addr.toString(16)}`);
        },
        *smStepRemap() {
          yield* access(log, "write");
          log.push("remap");
        },
        *smStepUnmap(op) {
          yield* access(log, "write");
          log.push(`unmap@${op.unmap.va.addr.toString(16)}`);
        },
      },
    });
    const m = new Mapping(sim, { addr: 0x2000, range: 0x1000 });
    sim.spawn("walker", "process", function* () {
      const r = yield* w.vm.smMap({ map: { va: { addr: 0, range: 0x4000 }, gem: { obj: null, offset: 0 } } });
      seen(`walker: ${r} ${log.join(",")}`);
    });
    sim.spawn("inserter", "process", function* () {
      yield* m.insert(w.vm);
    });
  },
  "F4 prefetchOpsCreate() on a GpuVm racing a remove": (sim, seen) => {
    const w = world(sim, "plain");
    const x = mark(sim);
    const m = new Mapping(sim, { addr: 0x1000, range: 0x1000 });
    sim.spawn("setup", "process", function* () {
      yield* m.insert(w.vm);
      sim.spawn("walker", "process", function* () {
        yield* access(x, "write");
        seen(`walker: ${w.vm.prefetchOpsCreate(0, 0x4000).length} prefetch ops`);
      });
      sim.spawn("remover", "process", function* () {
        yield* m.remove();
      });
    });
  },

  // Mapping.link() checks at the call that the VmBo belongs to the
  // mapping's VM (reading `va.vm`, set by insert, with no noteTouched); the
  // step does not check again.
  "F3 link() of a VmBo of VM a to a mapping another task inserts into VM b": (sim, seen) => {
    const wa = world(sim, "plain");
    const wb = world(sim, "plain");
    const bo = wa.bo("bo");
    const x = mark(sim);
    sim.spawn("setup", "process", function* () {
      const vb = (yield* boObtain(wa.vm, bo, "setup")) as VmBo;
      const m = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      sim.spawn("linker", "process", function* () {
        yield* access(x, "write");
        try {
          yield* m.link(vb);
          seen(`linker: returned, linked ${String(m.vmBo !== null)}, mapping in ${m.vm === wb.vm ? "VM b" : "no VM"}`);
        } catch (e) {
          seen(`linker: threw ${(e as Error).name}`);
        }
      });
      sim.spawn("inserter", "process", function* () {
        yield* m.insert(wb.vm);
      });
    });
  },

  // gpuvaUnmap() checks at the call that the mapping is inserted (reading
  // `state`); remove() then reads it again before its first effect.
  "F3 gpuvaUnmap() racing a remove() of the same mapping": (sim, seen) => {
    const w = world(sim, "plain");
    const m = new Mapping(sim, { addr: 0, range: 0x1000 });
    const x = mark(sim);
    sim.spawn("setup", "process", function* () {
      yield* m.insert(w.vm);
      sim.spawn("unmapper", "process", function* () {
        yield* access(x, "write");
        try {
          yield* gpuvaUnmap({ va: m, keep: false });
          seen(`unmapper: done, wrong-stage reports ${wrongStages(sim)}`);
        } catch (e) {
          seen(`unmapper: threw ${(e as Error).name}`);
        }
      });
      sim.spawn("remover", "process", function* () {
        yield* m.remove();
      });
    });
  },

  // gpuvaMap() checks at the call that the mapping is prepared: the read is
  // noted in the caller's step, and the insert checks the stage again.
  "F3 gpuvaMap() racing an insert() of the same mapping": (sim, seen) => {
    const w = world(sim, "plain");
    const body = { va: { addr: 0, range: 0x1000 }, gem: { obj: null, offset: 0 } };
    const m = Mapping.fromOp(sim, { map: body });
    const x = mark(sim);
    sim.spawn("mapper", "process", function* () {
      yield* access(x, "write");
      try {
        yield* gpuvaMap(w.vm, m, body);
        seen(`mapper: done, wrong-stage reports ${wrongStages(sim)}`);
      } catch (e) {
        seen(`mapper: threw ${(e as Error).name}`);
      }
    });
    sim.spawn("inserter", "process", function* () {
      yield* m.insert(w.vm);
    });
  },

  // gpuvaRemap() checks the old mapping is inserted and the remainder
  // prepared at the call, and reads the old mapping's VM in its body.
  "F3 gpuvaRemap() racing a remove() of the remapped mapping": (sim, seen) => {
    const w = world(sim, "plain");
    const old = new Mapping(sim, { name: "old", addr: 0, range: 0x2000 });
    const prevBody = { va: { addr: 0, range: 0x1000 }, gem: { obj: null, offset: 0 } };
    const prev = Mapping.fromOp(sim, { map: prevBody });
    const x = mark(sim);
    sim.spawn("setup", "process", function* () {
      yield* old.insert(w.vm);
      sim.spawn("remapper", "process", function* () {
        yield* access(x, "write");
        try {
          yield* gpuvaRemap(prev, null, { prev: prevBody, next: null, unmap: { va: old, keep: false } });
          seen(`remapper: done, wrong-stage reports ${wrongStages(sim)}, prev ${prev.state}`);
        } catch (e) {
          seen(`remapper: threw ${(e as Error).name}`);
        }
      });
      sim.spawn("remover", "process", function* () {
        yield* old.remove();
      });
    });
  },
};

describe("hunt: DPOR reaches the unreduced outcomes over the GPUVM core", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, { timeout: 300_000 }, () => {
      const full = reached(build, "none");
      expect(reached(build, "dpor")).toEqual(full);
      expect(full.length).toBeGreaterThan(0);
    });
  }
});

/**
 * Known to disagree, out of scope of the GPUVM core's fixes: isFreed is
 * the kernel layer's (SimObject), read with no noted read. A driver that
 * decides what to do on isFreed is not kernel code (the kernel never asks
 * whether an object was freed: it holds a reference), so this stays
 * failing until the kernel layer notes the read; `it.fails` turns green
 * when it does, and the program then moves to PROGRAMS.
 */
const KNOWN: Record<string, ReductionProgram> = {
  // SimObject.isFreed (read by GPUVM scenarios and tests to decide what to
  // put) is not noted.
  "F7 a driver reads GemObject.isFreed while another task drops the last reference": (sim, seen) => {
    const bo = world(sim, "plain").bo("bo");
    const x = mark(sim);
    sim.spawn("putter", "process", function* () {
      yield* bo.put("creator");
    });
    sim.spawn("reader", "process", function* () {
      yield* access(x, "write");
      seen(`reader: freed ${String(bo.isFreed)}`);
    });
  },
};

describe("hunt: known disagreements outside the GPUVM core", () => {
  for (const [name, build] of Object.entries(KNOWN)) {
    it.fails(name, { timeout: 300_000 }, () => {
      const full = reached(build, "none");
      expect(reached(build, "dpor")).toEqual(full);
      expect(full.length).toBeGreaterThan(0);
    });
  }
});

/** Programs tried that agree (kept as controls: they pass today). */
const AGREE: Record<string, ReductionProgram> = {
  // checkInvariants() reads each evict entry's `evicted` flag without
  // declaring the VmBo: evict(false) clears the flag a few steps before it
  // takes the VmBo off the evict list, and a check in that window files
  // evict-flag.
  "checkInvariants() racing evict(false) (spinlock lists): the evict list read orders it": (sim, seen) => {
    const w = world(sim, "plain");
    const bo = w.bo("bo");
    const x = mark(sim);
    sim.spawn("setup", "process", function* () {
      const vb = (yield* boObtain(w.vm, bo, "setup")) as VmBo;
      yield* bo.resv.lock(null);
      yield* vb.evict(true);
      yield* bo.resv.unlock();
      sim.spawn("evicter", "process", function* () {
        yield* bo.resv.lock(null);
        yield* vb.evict(false);
        yield* bo.resv.unlock();
      });
      sim.spawn("checker", "process", function* () {
        yield* access(x, "write");
        seen(`violations: ${w.vm.checkInvariants().map((v) => v.rule).join(",")}`);
      });
    });
  },


  "findFirst() racing a remove() and an insert()": (sim, seen) => {
    const w = world(sim, "plain");
    const a = new Mapping(sim, { addr: 0, range: 0x1000 });
    const b = new Mapping(sim, { addr: 0x2000, range: 0x1000 });
    const x = mark(sim);
    sim.spawn("setup", "process", function* () {
      yield* a.insert(w.vm);
      sim.spawn("changer", "process", function* () {
        yield* a.remove();
        yield* b.insert(w.vm);
      });
      sim.spawn("query", "process", function* () {
        yield* access(x, "write");
        seen(`first ${w.vm.findFirst(0, 0x4000)?.addr ?? "none"}`);
        yield* access(x, "write");
        seen(`exact ${w.vm.find(0x2000, 0x1000) === null ? "none" : "b"}`);
      });
    });
  },
  "boFind() and vmBos() racing boObtain() and put() (plain mode)": (sim, seen) => {
    const w = world(sim, "plain");
    const bo = w.bo("bo");
    sim.spawn("obtainer", "process", function* () {
      const vb = yield* boObtain(w.vm, bo, "o");
      if (vb === "nomem") return;
      yield* vb.put("o");
    });
    sim.spawn("finder", "process", function* () {
      yield* bo.resv.lock(null);
      const f = yield* boFind(w.vm, bo, "f");
      seen(`finder: found ${f === null ? "none" : "one"}`);
      yield* bo.resv.unlock();
      if (f !== null) yield* f.put("f");
      seen(`finder: vmBos ${bo.vmBos().length}`);
    });
  },
  "deferredVmBos() and mappings() racing unlinkDeferred() (immediate mode)": (sim, seen) => {
    const w = world(sim, "immediateMode");
    const bo = w.bo("bo");
    const x = mark(sim);
    sim.spawn("setup", "process", function* () {
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      const m = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      yield* m.insert(w.vm);
      yield* m.link(vb);
      sim.spawn("putter", "process", function* () {
        yield* vb.putDeferred("a");
        yield* m.unlinkDeferred();
      });
      sim.spawn("query", "process", function* () {
        yield* access(x, "write");
        seen(`deferred ${w.vm.deferredVmBos().length}`);
        yield* access(x, "write");
        if (vb.refcount.read() > 0) seen(`mappings ${vb.mappings().length}`);
      });
    });
  },
  "validate() (spinlock lists) walking the evict list while another task evicts": (sim, seen) => {
    const log: string[] = [];
    sim.share(log);
    const w = world(sim, "plain", {
      ops: {
        *vmBoValidate(vmBo) {
          yield* access(log, "write");
          log.push(vmBo.obj.name);
          yield* vmBo.evict(false);
        },
      },
    });
    const bos = [w.bo("bo0", true), w.bo("bo1", true)];
    sim.spawn("setup", "process", function* () {
      const vbs: VmBo[] = [];
      for (const bo of bos) vbs.push((yield* boObtain(w.vm, bo, "s")) as VmBo);
      yield* (bos[0] as GemObject).resv.lock(null);
      yield* (vbs[0] as VmBo).evict(true);
      yield* (bos[0] as GemObject).resv.unlock();
      sim.spawn("validator", "process", function* () {
        const exec = new DrmExec(sim, {});
        yield* exec.untilAllLocked(function* () {
          for (const bo of bos) {
            const r = yield* exec.lockObj(bo);
            if (r !== "ok") return r;
          }
          return "ok";
        });
        const r = yield* w.vm.validate(exec);
        yield* exec.fini();
        seen(`validator: ${r} ${log.join(",")}`);
      });
      sim.spawn("evicter", "process", function* () {
        yield* (bos[1] as GemObject).resv.lock(null);
        yield* (vbs[1] as VmBo).evict(true);
        yield* (bos[1] as GemObject).resv.unlock();
      });
    });
  },
  // The F2 pattern, but the unlinker holds the GEM's resv (as it must): its
  // lock step orders the read of `vmBo` against the link.
  "unlinkLocked() under the resv, racing link() (the resv orders the read)": (sim, seen) => {
    const w = world(sim, "plain");
    const bo = w.bo("bo");
    sim.spawn("setup", "process", function* () {
      const vb = (yield* boObtain(w.vm, bo, "setup")) as VmBo;
      const m = new Mapping(sim, { addr: 0, range: 0x1000, obj: bo });
      yield* m.insert(w.vm);
      sim.spawn("unlinker", "process", function* () {
        yield* bo.resv.lock(null);
        yield* m.unlinkLocked();
        seen(`unlinker: wrong-stage reports ${wrongStages(sim)}`);
        yield* bo.resv.unlock();
      });
      sim.spawn("linker", "process", function* () {
        yield* m.link(vb);
      });
    });
  },

  "execLock() + validate() (resvProtected) racing an extobjAdd() + evict() of a second external object": (sim, seen) => {
    const log: string[] = [];
    sim.share(log);
    const w = world(sim, "resvProtected", {
      ops: {
        *vmBoValidate(vmBo) {
          yield* access(log, "write");
          log.push(vmBo.obj.name);
          yield* vmBo.evict(false);
        },
      },
    });
    const bos = [w.bo("bo0", true), w.bo("bo1", true)];
    sim.spawn("setup", "process", function* () {
      const vbs: VmBo[] = [];
      for (const bo of bos) vbs.push((yield* boObtain(w.vm, bo, "s")) as VmBo);
      const v0 = vbs[0] as VmBo;
      const v1 = vbs[1] as VmBo;
      const b0 = bos[0] as GemObject;
      const b1 = bos[1] as GemObject;
      yield* w.vm.resv.lock(null);
      yield* v0.extobjAdd();
      yield* w.vm.resv.unlock();
      yield* b0.resv.lock(null);
      yield* v0.evict(true);
      yield* b0.resv.unlock();
      sim.spawn("walker", "process", function* () {
        const ve = new GpuVmExec({ vm: w.vm });
        const r = yield* execLock(ve);
        const v = r === "ok" ? yield* w.vm.validate(ve.exec) : r;
        if (r === "ok") yield* ve.exec.fini();
        seen(`walker: ${r} ${v} [${log.join(",")}]`);
      });
      sim.spawn("adder", "process", function* () {
        yield* w.vm.resv.lock(null);
        yield* v1.extobjAdd();
        yield* w.vm.resv.unlock();
        yield* b1.resv.lock(null);
        yield* v1.evict(true);
        yield* b1.resv.unlock();
      });
    });
  },
  "gemEvict() racing boObtain() of the same GEM (plain mode)": (sim, seen) => {
    const w = world(sim, "plain");
    const bo = w.bo("bo", true);
    sim.spawn("obtainer", "process", function* () {
      yield* boObtain(w.vm, bo, "o");
    });
    sim.spawn("evicter", "process", function* () {
      yield* bo.resv.lock(null);
      yield* w.vm.gemEvict(bo, true);
      yield* bo.resv.unlock();
      seen(`evicter: evict list ${w.vm.evict.size}`);
    });
  },
};

describe("hunt: programs that agree today", () => {
  for (const [name, build] of Object.entries(AGREE)) {
    it(name, { timeout: 300_000 }, () => {
      const full = reached(build, "none");
      expect(reached(build, "dpor")).toEqual(full);
      expect(full.length).toBeGreaterThan(0);
    });
  }
});
