/**
 * docs/gpuvm.md "Putting it together": a driver's VM_BIND and job submission
 * on the real objects. A VM, an external buffer object and a VM-private page
 * table; each bind locks what it touches in a DrmExec (the VM's resv and the
 * GEMs split/merge will touch), then runs smMap / smUnmap with step
 * callbacks that insert, link and free the mappings under those locks. A job
 * finds its buffer evicted, locks the VM with execLock, validates it and
 * adds its fence. Then everything is unbound, put, and nothing leaks.
 * Run it with `npx tsx examples/gpuvm-together.ts`.
 */
import {
  boObtainLocked,
  DmaFence,
  DrmExec,
  execLock,
  FenceContext,
  GemObject,
  gpuvaMap,
  gpuvaRemap,
  gpuvaUnmap,
  GpuVm,
  GpuVmExec,
  kfree,
  Mapping,
  Sim,
  type DrmExecResult,
  type Effect,
  type SmMapReq,
  type VmBo,
} from "../src/index.js";

const PAGE = 0x1000;

function layout(vm: GpuVm): string {
  return vm
    .vas()
    .map((va) => `${va.gem.obj?.name ?? "-"}[0x${va.addr.toString(16)}, +${va.range / PAGE}p)@${va.gem.offset / PAGE}p`)
    .join(" ");
}

export function main(): string {
  const sim = new Sim({ onReport: "collect" });
  const lines: string[] = [];
  sim.run(function* () {
    const root = new GemObject(sim, { name: "root", size: PAGE });
    const vm: GpuVm = GpuVm.create(sim, {
      name: "vm",
      mmStart: 0,
      mmRange: 0x100000,
      resvObj: root,
      ops: {
        vmFree: (v) => kfree(v),
        // The step callbacks run with the VM's resv and every GEM the walk touches locked (see bind()).
        *smStepMap(op) {
          const va = Mapping.fromOp(sim, op);
          yield* gpuvaMap(vm, va, op.map);
          const obj = va.gem.obj;
          if (obj === null) return;
          const vmBo = yield* boObtainLocked(vm, obj, "bind");
          if (vmBo === "nomem") return "nomem";
          yield* va.linkLocked(vmBo);
          yield* vmBo.extobjAdd();
          yield* vmBo.putLocked("bind");
        },
        *smStepRemap(op) {
          const old = op.remap.unmap.va;
          const prev = op.remap.prev === null ? null : Mapping.fromOp(sim, { map: op.remap.prev });
          const next = op.remap.next === null ? null : Mapping.fromOp(sim, { map: op.remap.next });
          yield* gpuvaRemap(prev, next, op.remap);
          // Link the remainders before unlinking the old mapping: the VmBo never drops to zero.
          if (old.vmBo !== null) {
            if (prev !== null) yield* prev.linkLocked(old.vmBo);
            if (next !== null) yield* next.linkLocked(old.vmBo);
          }
          yield* old.unlinkLocked();
          yield* kfree(old);
        },
        *smStepUnmap(op) {
          const va = op.unmap.va;
          yield* gpuvaUnmap(op.unmap);
          yield* va.unlinkLocked();
          yield* kfree(va);
        },
        *vmBoValidate(vmBo) {
          // Make the backing store resident again, then take it off the evict list.
          yield* vmBo.evict(false);
        },
      },
    });
    const bo = new GemObject(sim, { name: "bo", size: 4 * PAGE }); // its own resv: external to the VM
    const pt = new GemObject(sim, { name: "pt", size: PAGE, resv: root.resv }); // VM-private

    /** VM_BIND: lock the VM and what the walk touches, then split and merge. */
    function* bind(what: { map: SmMapReq<GemObject> } | { unmap: [number, number] }): Generator<Effect, string, unknown> {
      const exec = new DrmExec<GemObject>(sim, { ignoreDuplicates: true });
      const locked = yield* exec.untilAllLocked(function* (): Generator<Effect, DrmExecResult, unknown> {
        const r = yield* vm.prepareVm(exec, 1);
        if (r !== "ok") return r;
        if ("map" in what) return yield* vm.smMapExecLock(exec, 1, what.map);
        return yield* vm.smUnmapExecLock(exec, what.unmap[0], what.unmap[1]);
      });
      const r = locked !== "ok" ? locked : "map" in what ? yield* vm.smMap(what.map) : yield* vm.smUnmap(what.unmap[0], what.unmap[1]);
      yield* exec.fini();
      return r;
    }

    yield* bind({ map: { map: { va: { addr: 0x10000, range: 4 * PAGE }, gem: { obj: bo, offset: 0 } } } });
    yield* bind({ map: { map: { va: { addr: 0x40000, range: PAGE }, gem: { obj: pt, offset: 0 } } } });
    lines.push(`bound: ${layout(vm)}`);
    yield* bind({ unmap: [0x11000, PAGE] });
    lines.push(`after unmapping page 1: ${layout(vm)}`);
    const boVmBo = bo.vmBos()[0] as VmBo;
    lines.push(`bo's VmBo: ${boVmBo.mappings().length} mappings, refcount ${boVmBo.refcount.read()}; extobj ${vm.extobj.size}; vm refcount ${vm.refcount.read()}`);

    // The memory manager evicts bo (under its resv).
    yield* bo.resv.lock(null);
    yield* vm.gemEvict(bo, true);
    yield* bo.resv.unlock();
    lines.push(`evicted: ${vm.evict.size}`);

    // A job: lock the VM and its external objects, validate, add the job's fence.
    const ve = new GpuVmExec({ vm, numFences: 1 });
    const r = yield* execLock(ve);
    lines.push(`execLock: ${r}, locked ${ve.exec.objects().map((o) => o.label).join(", ")}`);
    lines.push(`validate: ${yield* vm.validate(ve.exec)}, evicted: ${vm.evict.size}`);
    const fence = new DmaFence(new FenceContext(sim, "ring"), { name: "job" });
    yield* vm.resvAddFence(ve.exec, fence, "bookkeep", "bookkeep");
    yield* ve.exec.fini();
    yield* fence.signal();
    yield* fence.put();

    // Unbind everything, then drop the references.
    yield* bind({ unmap: [0, 0x100000] });
    lines.push(`unbound: ${vm.vas().length} mappings, bo's VmBo ${boVmBo.state}, vm refcount ${vm.refcount.read()}`);
    lines.push(`invariants: ${vm.checkInvariants().length === 0 ? "hold" : "broken"}`);
    yield* bo.put("creator");
    yield* pt.put("creator");
    yield* vm.put("creator");
    yield* root.put("creator");
  });
  lines.push(`reports: ${sim.reports.length}, leaks: ${sim.teardown().length}`);
  return lines.join("\n");
}

if (process.argv[1]?.endsWith("gpuvm-together.ts") === true) console.log(main());
