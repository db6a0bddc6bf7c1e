/**
 * The GPUVM core under the explorer: every interleaving (exhaustive DFS) of
 * small multi-task programs ends clean (no report, nothing leaked): a
 * deferred put racing the deferred cleanup while the GEM's last reference
 * rides on the VmBo; two tasks unlinking the two mappings of one VmBo with
 * internal locking while the GEM's creator drops its reference; two tasks
 * obtaining and putting one VmBo in each VM mode; the extobj and evict list
 * walks (execLock → prepareObjects, validate) in each protection mode while
 * other tasks add VmBos to the lists, evict, and drop the last reference of
 * listed VmBos; deferred puts and unlinks from a fence-signalling section
 * racing the deferred cleanup and a handle close.
 *
 * Every search below is DFS with DPOR; where it exhausts, the number of
 * executions is pinned (a change in it means the program, the effects'
 * footprints or the reduction changed: look before updating it).
 */
import { describe, expect, it } from "vitest";
import {
  boObtain,
  boObtainLocked,
  dmaFenceBeginSignalling,
  dmaFenceEndSignalling,
  DrmExec,
  execLock,
  explore,
  GpuVmExec,
  kfree,
  Mapping,
  VmBo,
  type Effect,
  type ExploreOptions,
  type GemObject,
  type GpuVm,
  type Sim,
} from "../../src/index.js";
import { ALL_VM_MODES, VM_MODES, world, type VmMode } from "../support/gpuvm-world.js";

function clean(build: (sim: Sim) => void, strategy: ExploreOptions["strategy"] = { name: "dfs", reduction: "dpor" }, executions = 50_000): number {
  const r = explore(build, { strategy, executions, stopAtFirst: true, shrink: false });
  expect(r.failures.map((f) => `${f.report.kind}: ${JSON.stringify(f.report)}`)).toEqual([]);
  if (typeof strategy === "object" && strategy.name === "dfs") expect(r.exhausted).toBe(true);
  return r.executions;
}

/** Lock `vm`'s resv and `objs`' (a DrmExec; a private GEM shares the VM's resv), run `body`, unlock. */
function* underExec(sim: Sim, vm: GpuVm, objs: readonly GemObject[], body: () => Generator<Effect, void, unknown>): Generator<Effect, void, unknown> {
  const exec = new DrmExec(sim, { ignoreDuplicates: true });
  const got = yield* exec.untilAllLocked(function* () {
    const a = yield* vm.prepareVm(exec, 1);
    if (a !== "ok") return a;
    for (const o of objs) {
      const b = yield* exec.prepareObj(o, 1);
      if (b !== "ok") return b;
    }
    return "ok";
  });
  if (got !== "ok") throw new Error(`exec: ${got}`);
  yield* body();
  yield* exec.fini();
}

/** Obtain `obj`'s VmBo and put it on the extobj list, with the VM's and the GEM's resv held, as a driver does. */
function* obtainExt(sim: Sim, vm: GpuVm, obj: GemObject, holder: string): Generator<Effect, VmBo, unknown> {
  const got: VmBo[] = [];
  yield* underExec(sim, vm, [obj], function* () {
    const b = vm.flags.immediateMode ? yield* boObtain(vm, obj, holder) : yield* boObtainLocked(vm, obj, holder);
    if (b === "nomem") throw new Error("nomem");
    yield* b.extobjAdd();
    got.push(b);
  });
  const b = got[0];
  if (b === undefined) throw new Error("no VmBo");
  return b;
}

/** Drop a VmBo reference with the VM's and its GEM's resv held (the last put of a listed VmBo needs the VM's resv with resvProtected / two-list). */
function* putUnderExec(sim: Sim, b: VmBo, holder: string): Generator<Effect, void, unknown> {
  const vm = b.vm;
  yield* underExec(sim, vm, [b.obj], function* () {
    if (vm.flags.immediateMode) yield* b.put(holder);
    else yield* b.putLocked(holder);
  });
}

describe("GPUVM core under exhaustive exploration", () => {
  it("a deferred put racing the deferred cleanup (the VmBo holds the GEM's last reference) is clean", { timeout: 120_000 }, () => {
    clean((sim) => {
      const w = world(sim, "immediateMode");
      const bo = w.bo("bo");
      sim.spawn("setup", "process", function* () {
        const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
        yield* vb.get("b");
        yield* bo.put("creator");
        const done = { n: 0 };
        const finish = function* () {
          if (++done.n < 3) return;
          yield* w.vm.boDeferredCleanup();
          yield* w.vm.put("creator");
          yield* w.root.put("creator");
        };
        sim.spawn("put-a", "process", function* () {
          yield* vb.putDeferred("a");
          yield* finish();
        });
        sim.spawn("put-b", "process", function* () {
          yield* vb.putDeferred("b");
          yield* finish();
        });
        sim.spawn("cleaner", "process", function* () {
          yield* w.vm.boDeferredCleanup();
          yield* finish();
        });
      });
    });
  });

  it("two tasks unlink the two mappings of one VmBo (internal locking) while the GEM's creator lets go: clean", { timeout: 120_000 }, () => {
    clean((sim) => {
      const w = world(sim, "plain");
      const bo = w.bo("bo");
      sim.spawn("setup", "process", function* () {
        const vb = (yield* boObtain(w.vm, bo, "setup")) as VmBo;
        const ms = [0, 0x1000].map((addr) => new Mapping(sim, { addr, range: 0x1000, obj: bo }));
        for (const m of ms) {
          yield* m.insert(w.vm);
          yield* m.link(vb);
        }
        yield* vb.put("setup");
        const done = { n: 0 };
        ms.forEach((m, i) => {
          sim.spawn(`unmap${i}`, "process", function* () {
            yield* m.unlink();
            yield* m.remove();
            yield* kfree(m);
            if (++done.n === 2) {
              yield* w.vm.put("creator");
              yield* w.root.put("creator");
            }
          });
        });
        yield* bo.put("creator");
      });
    });
  });

  for (const mode of VM_MODES) {
    it(`two tasks obtain and put one VmBo (${mode}): clean`, { timeout: 120_000 }, () => {
      clean((sim) => {
        const w = world(sim, mode);
        const bo = w.bo("bo");
        const done = { n: 0 };
        for (const t of ["a", "b"]) {
          sim.spawn(t, "process", function* () {
            const vb = yield* boObtain(w.vm, bo, t);
            if (vb !== "nomem") yield* vb.put(t);
            if (++done.n === 2) {
              yield* bo.put("creator");
              yield* w.vm.put("creator");
              yield* w.root.put("creator");
            }
          });
        }
      });
    });
  }

  it("deferred unlinks and a deferred put from a fence-signalling section race the cleanup and a handle close: clean, nothing leaked", { timeout: 120_000 }, () => {
    const n = clean(
      (sim) => {
        const w = world(sim, "immediateMode");
        const bo = w.bo("bo");
        sim.spawn("setup", "process", function* () {
          yield* bo.open();
          yield* bo.put("creator");
          const vb = (yield* boObtain(w.vm, bo, "drv")) as VmBo;
          const ms = [0, 0x1000].map((addr) => new Mapping(sim, { addr, range: 0x1000, obj: bo }));
          for (const m of ms) {
            yield* m.insert(w.vm);
            yield* m.link(vb);
          }
          let running = 3;
          const done = function* (): Generator<Effect, void, unknown> {
            if (--running > 0) return;
            yield* w.vm.boDeferredCleanup();
            yield* w.vm.put("creator");
            yield* w.root.put("creator");
          };
          sim.spawn("signal", "process", function* () {
            const cookie = dmaFenceBeginSignalling();
            for (const m of ms) yield* m.unlinkDeferred();
            yield* vb.putDeferred("drv");
            dmaFenceEndSignalling(cookie);
            for (const m of ms) {
              yield* m.remove();
              yield* kfree(m);
            }
            yield* done();
          });
          sim.spawn("cleaner", "process", function* () {
            yield* w.vm.boDeferredCleanup();
            yield* done();
          });
          sim.spawn("closer", "process", function* () {
            yield* bo.close();
            yield* done();
          });
        });
      },
      { name: "dfs", reduction: "dpor" },
      20_000,
    );
    expect(n).toBe(10);
  });

  describe("extobj/evict list walks while other tasks add, evict and drop references", () => {
    /**
     * A walker locks the VM and its external objects (execLock: prepareVm +
     * prepareObjects, a walk of the extobj list) and validates (a walk of the
     * evict list, vmBoValidate clearing the flag); meanwhile an adder obtains
     * a third GEM's VmBo, puts it on the extobj list and drops it again, a
     * putter drops the last reference of a listed VmBo, and an evicter marks
     * another listed VmBo evicted. Every task holds what the mode wants
     * (the GEM's resv to evict; the VM's resv too where the lists are the
     * resv's). The last task to finish tidies up.
     */
    const build = (mode: VmMode) => (sim: Sim) => {
      const w = world(sim, mode, {
        ops: {
          *vmBoValidate(vmBo) {
            yield* vmBo.evict(false);
          },
        },
      });
      const gems = [0, 1, 2].map((i) => w.bo(`g${i}`, true));
      const [g0, g1, g2] = gems as [GemObject, GemObject, GemObject];
      sim.spawn("setup", "process", function* () {
        const b0 = yield* obtainExt(sim, w.vm, g0, "drv");
        const b1 = yield* obtainExt(sim, w.vm, g1, "drv");
        let running = 4;
        const done = function* (): Generator<Effect, void, unknown> {
          if (--running > 0) return;
          yield* putUnderExec(sim, b1, "drv");
          if (w.vm.flags.immediateMode) yield* w.vm.boDeferredCleanup();
          for (const g of gems) yield* g.put("creator");
          yield* w.vm.put("creator");
          yield* w.root.put("creator");
        };
        sim.spawn("walker", "process", function* () {
          const ve = new GpuVmExec({ vm: w.vm, numFences: 1 });
          const r = yield* execLock(ve);
          if (r !== "ok") throw new Error(`execLock: ${r}`);
          const v = yield* w.vm.validate(ve.exec);
          if (v !== "ok") throw new Error(`validate: ${v}`);
          yield* ve.exec.fini();
          yield* done();
        });
        sim.spawn("adder", "process", function* () {
          const b2 = yield* obtainExt(sim, w.vm, g2, "adder");
          yield* putUnderExec(sim, b2, "adder");
          yield* done();
        });
        sim.spawn("putter", "process", function* () {
          yield* putUnderExec(sim, b0, "drv");
          yield* done();
        });
        sim.spawn("evicter", "process", function* () {
          const exec = new DrmExec(sim);
          yield* exec.untilAllLocked(function* () {
            return yield* exec.lockObj(g1);
          });
          yield* b1.evict(true);
          yield* exec.fini();
          yield* done();
        });
      });
    };

    for (const mode of ALL_VM_MODES) {
      it(`${mode}: walker, adder, putter and evicter: clean in 300 PCT executions`, { timeout: 120_000 }, () => {
        expect(clean(build(mode), { name: "pct", depth: 3 }, 300)).toBe(300);
      });
    }

    /**
     * Small enough to exhaust (with a preemption bound of 1): a walker
     * locks the VM and its external objects (execLock: prepareObjects walks
     * the extobj list); a putter drops the last reference of a listed VmBo
     * meanwhile.
     */
    const small = (mode: VmMode) => (sim: Sim) => {
      const w = world(sim, mode);
      const gems = [0, 1].map((i) => w.bo(`g${i}`, true));
      const [g0, g1] = gems as [GemObject, GemObject];
      sim.spawn("setup", "process", function* () {
        const b0 = yield* obtainExt(sim, w.vm, g0, "drv");
        const b1 = yield* obtainExt(sim, w.vm, g1, "drv");
        let running = 2;
        const done = function* (): Generator<Effect, void, unknown> {
          if (--running > 0) return;
          yield* putUnderExec(sim, b1, "drv");
          for (const g of gems) yield* g.put("creator");
          yield* w.vm.put("creator");
          yield* w.root.put("creator");
        };
        sim.spawn("walker", "process", function* () {
          // The walk's body must hold what the last put of a visited VmBo
          // needs (its GEM's list lock): prepareObjects does, locking each
          // object in the exec. (A bare walk whose body locks nothing files
          // lock-not-held when the putter's put leaves the walk's reference
          // the last one, in the kernel too: drm_gpuvm_bo_destroy asserts it.)
          const ve = new GpuVmExec({ vm: w.vm, numFences: 1 });
          const r = yield* execLock(ve);
          if (r !== "ok") throw new Error(`execLock: ${r}`);
          yield* ve.exec.fini();
          yield* done();
        });
        sim.spawn("putter", "process", function* () {
          if (w.vm.listMode === "spinlock") yield* b0.put("drv");
          else yield* putUnderExec(sim, b0, "drv");
          yield* done();
        });
      });
    };
    // Executions DFS (DPOR, preemption bound 1) needs to exhaust each program.
    const PINNED: Record<Exclude<VmMode, "immediateMode">, number> = { plain: 1138, resvProtected: 1264, twoList: 1420 };
    for (const mode of ["plain", "resvProtected", "twoList"] as const) {
      it(`${mode}: walker and putter: clean in every schedule (DFS exhausts)`, { timeout: 120_000 }, () => {
        expect(clean(small(mode), { name: "dfs", reduction: "dpor", preemptionBound: 1 }, 3000)).toBe(PINNED[mode]);
      });
    }

    // In immediate mode the walk's own put of the previous VmBo (the kernel's
    // get_next_vm_bo_from_list() does drm_gpuvm_bo_put(prev)) can be the last
    // one once the putter has dropped its reference; drm_gpuvm_bo_destroy()
    // then asserts the GEM's gpuva mutex, which prepareObjects does not hold
    // (it holds the resv). The kernel has the same path: reported, not fixed here.
    it("immediateMode: walker and putter: the walk's last put without the GEM's gpuva mutex is found (lock-not-held)", { timeout: 120_000 }, () => {
      const r = explore(small("immediateMode"), { strategy: { name: "dfs", reduction: "dpor", preemptionBound: 1 }, executions: 3000, stopAtFirst: true, shrink: false });
      const f = r.failures[0];
      expect(f?.report.kind).toBe("lock-not-held");
      expect(JSON.stringify(f?.report)).toContain("gpuva.lock");
      expect(JSON.stringify(f?.report)).toContain("walker");
    });
  });
});
