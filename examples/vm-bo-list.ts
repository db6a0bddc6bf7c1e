/**
 * docs/vm-bo-list.md: a VM's extobj list walked while another task drops
 * the last reference of one of its VmBos. The kernel's snapshot walk
 * (VmBoList.walk) is clean under every schedule a preemption-bounded DFS
 * tries; a driver's naive loop over the entries, holding no reference, is
 * a use-after-free in some schedule.
 *
 * The VM, GEM and VmBo here are the small stand-ins of the test fixtures
 * (test/support/fake-gpuvm.ts), which have the members VmBoList needs; a
 * GpuVm, GemObject and VmBo are used the same way.
 * Run it with `npx tsx examples/vm-bo-list.ts`.
 */
import { condResched, explore, type Effect, type Sim } from "../src/index.js";
import { FakeGem, FakeVm, type FakeVmBo } from "../test/support/fake-gpuvm.js";

/** Two VmBos on the extobj list; `walk` walks it while a putter drops bo0's last reference. */
function scenario(walk: (vm: FakeVm) => Generator<Effect, void, unknown>) {
  return (sim: Sim) => {
    const vm = new FakeVm(sim, "vm", { listMode: "spinlock" });
    const gems = [new FakeGem(sim, "bo0"), new FakeGem(sim, "bo1")];
    sim.spawn("setup", "process", function* () {
      const vmBos: FakeVmBo[] = [];
      for (const g of gems) vmBos.push(yield* vm.obtain(g));
      for (const b of vmBos) yield* vm.extobj.add(b);
      let running = 2;
      const done = function* (): Generator<Effect, void, unknown> {
        if (--running > 0) return;
        // The last task tidies up: bo1's VmBo, both GEMs, the VM.
        yield* (vmBos[1] as FakeVmBo).putLocked("creator");
        for (const g of gems) yield* g.put("creator");
        yield* vm.put("creator");
      };
      sim.spawn("walker", "process", function* () {
        yield* walk(vm);
        yield* done();
      });
      sim.spawn("putter", "process", function* () {
        yield* (vmBos[0] as FakeVmBo).putLocked("creator");
        yield* done();
      });
    });
  };
}

/** The kernel's walk: each entry moved to a snapshot and held while the body runs. */
function* snapshotWalk(vm: FakeVm): Generator<Effect, void, unknown> {
  yield* vm.extobj.walk(function* (vmBo) {
    yield* condResched();
    if (vmBo.state !== "linked") throw new Error("visited a dead VmBo");
  });
}

/** A driver's own loop: a copy of the entries, no reference, a reschedule point. */
function* naiveWalk(vm: FakeVm): Generator<Effect, void, unknown> {
  for (const vmBo of vm.extobj.entries()) {
    yield* condResched();
    if (vmBo.state !== "linked") throw new Error("visited a dead VmBo");
  }
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
