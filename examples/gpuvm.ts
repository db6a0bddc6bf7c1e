/**
 * docs/gpuvm.md: an immediate-mode VM with one GEM object mapped twice; the
 * mappings are unlinked with deferred cleanup (as a fence-signalling path
 * would), the zombie VmBo is cleaned up later, and everything is freed.
 * Run it with `npx tsx examples/gpuvm.ts`.
 */
import { boObtain, GemObject, GpuVm, kfree, Mapping, Sim, type VmBo } from "../src/index.js";

export function main(): string {
  const sim = new Sim({ onReport: "collect" });
  const lines: string[] = [];
  sim.run(function* () {
    // The VM's resv object, and the VM over [0, 1 MiB) with [0, 4 KiB) reserved.
    const root = new GemObject(sim, { name: "root", size: 4096 });
    const vm = GpuVm.create(sim, {
      name: "vm",
      immediateMode: true,
      mmStart: 0,
      mmRange: 0x100000,
      reserveOffset: 0,
      reserveRange: 0x1000,
      resvObj: root,
      ops: { vmFree: (v) => kfree(v) },
    });
    const bo = new GemObject(sim, { name: "bo", size: 0x4000 });
    const vmBo = (yield* boObtain(vm, bo, "driver")) as VmBo;
    const maps = [0x10000, 0x20000].map((addr) => new Mapping(sim, { addr, range: 0x2000, obj: bo }));
    for (const m of maps) {
      yield* m.insert(vm);
      yield* m.link(vmBo);
    }
    yield* vmBo.put("driver");
    lines.push(`vm refs ${vm.refcount.read()}, vmBo refs ${vmBo.refcount.read()}, bo refs ${bo.refcount.read()}`);
    lines.push(`invariants: ${vm.checkInvariants().length === 0 ? "hold" : "broken"}`);
    // Userspace closes its handle; the mappings keep the GEM object alive.
    yield* bo.put("creator");
    for (const m of maps) {
      yield* m.unlinkDeferred();
      yield* m.remove();
      yield* kfree(m);
    }
    lines.push(`after the unlinks: vmBo ${vmBo.state}, deferred ${vm.deferredVmBos().length}, bo freed ${String(bo.isFreed)}`);
    yield* vm.boDeferredCleanup();
    lines.push(`after cleanup: vmBo ${vmBo.state}, bo freed ${String(bo.isFreed)}`);
    yield* vm.put("creator");
    yield* root.put("creator");
  });
  lines.push(`reports: ${sim.reports.length}, leaks: ${sim.teardown().length}`);
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("gpuvm.ts") === true) console.log(main());
