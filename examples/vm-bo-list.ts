/**
 * docs/vm-bo-list.md: a VM's extobj list walked, as drm_gpuvm_prepare_objects()
 * does (each external object locked in a DrmExec), while another task drops
 * the last reference of one of its VmBos. The kernel's snapshot walk
 * (VmBoList.walk) is clean under every schedule a preemption-bounded DFS
 * tries; a driver's naive loop over the entries, holding no reference, is
 * a use-after-free in some schedule.
 * Run it with `npx tsx examples/vm-bo-list.ts`.
 */
import { boObtain, condResched, DrmExec, explore, GemObject, GpuVm, kfree, type Effect, type Sim, type VmBo } from "../src/index.js";

/** Two external objects' VmBos on the extobj list; `walk` walks it while a putter drops bo0's VmBo. */
function scenario(walk: (vm: GpuVm, exec: DrmExec<GemObject>) => Generator<Effect, void, unknown>) {
  return (sim: Sim) => {
    const root = new GemObject(sim, { name: "root", size: 4096 });
    const vm = GpuVm.create(sim, { name: "vm", mmStart: 0, mmRange: 0x100000, resvObj: root, ops: { vmFree: (v) => kfree(v) } });
    const gems = [new GemObject(sim, { name: "bo0", size: 4096 }), new GemObject(sim, { name: "bo1", size: 4096 })];
    sim.spawn("setup", "process", function* () {
      const vmBos: VmBo[] = [];
      for (const g of gems) vmBos.push((yield* boObtain(vm, g, "creator")) as VmBo);
      for (const b of vmBos) yield* b.extobjAdd();
      let running = 2;
      const done = function* (): Generator<Effect, void, unknown> {
        if (--running > 0) return;
        // The last task tidies up: bo1's VmBo, both GEMs, the VM.
        yield* (vmBos[1] as VmBo).put("creator");
        for (const g of gems) yield* g.put("creator");
        yield* vm.put("creator");
        yield* root.put("creator");
      };
      sim.spawn("walker", "process", function* () {
        const exec = new DrmExec<GemObject>(sim);
        yield* exec.untilAllLocked(function* () {
          yield* walk(vm, exec);
        });
        yield* exec.fini();
        yield* done();
      });
      sim.spawn("putter", "process", function* () {
        yield* (vmBos[0] as VmBo).put("creator");
        yield* done();
      });
    });
  };
}

/** What the walk does with each VmBo: lock its object, and revalidate its mappings. */
function* visit(vmBo: VmBo, exec: DrmExec<GemObject>): Generator<Effect, void, unknown> {
  yield* condResched();
  for (const va of vmBo.mappings()) yield* va.invalidate(false);
  yield* exec.lockObj(vmBo.obj);
}

/** The kernel's walk (as drm_gpuvm_prepare_objects()): each entry moved to a snapshot and held while the body runs. */
function* snapshotWalk(vm: GpuVm, exec: DrmExec<GemObject>): Generator<Effect, void, unknown> {
  yield* vm.extobj.walk((vmBo) => visit(vmBo, exec));
}

/** A driver's own loop: a copy of the entries, no reference. */
function* naiveWalk(vm: GpuVm, exec: DrmExec<GemObject>): Generator<Effect, void, unknown> {
  for (const vmBo of vm.extobj.entries()) yield* visit(vmBo, exec);
}

export function main(): string {
  const options = { strategy: { name: "dfs", preemptionBound: 2 }, executions: 20_000, shrink: false } as const;
  const good = explore(scenario(snapshotWalk), { ...options, stopAtFirst: false });
  const bad = explore(scenario(naiveWalk), options);
  const f = bad.failures[0];
  return [
    `snapshot walk: ${good.executions} executions, exhausted: ${good.exhausted}, failures: ${good.failures.length}`,
    `naive walk: ${f === undefined ? "nothing found" : `${f.report.kind} after ${bad.executions} executions`}`,
  ].join("\n");
}

if (process.argv[1]?.endsWith("vm-bo-list.ts") === true) console.log(main());
