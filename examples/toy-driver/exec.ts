/**
 * The toy driver's EXEC: submitting a GPU job on a VM.
 *
 * Mirrors: panthor_ioctl_group_submit() / xe_exec_ioctl() on drm_gpuvm:
 * lock the VM's resv and every external object with drm_exec
 * (`execLock` = prepareVm + prepareObjects in the retry loop), validate the
 * evicted objects (`vm.validate`: the VM's `vmBoValidate` makes the pages
 * resident again and rewrites their PTEs), re-pin invalidated userptrs
 * (xe_vm_userptr_pin(), before the locks, since it sleeps), queue the job
 * with the VM's fences as its dependencies, add the job's finished fence to
 * every resv (`resvAddFence`), unlock.
 *
 * Ownership: the returned fence carries the submitter's reference
 * (holder "submit"); userspace puts it when it has waited (or not).
 * Locking: resv locks (ww, via DrmExec) → `dev.vmLock`, under which the
 * userptrs' sequence is checked and the job queued and its fence added, so
 * an mmu notifier either sees that fence or makes this exec retry.
 */
import { execLock, GpuVmExec, type DmaFence, type Effect, type GpuAccessRange } from "../../src/index.js";
import type { ToyFile } from "./device.js";
import { userptrPin } from "./userptr.js";
import { reapBinds, vmLookup } from "./vm.js";

/** What a job does: the ranges of the VM it reads and writes; `userptrs` adds a read of every valid userptr. */
export interface ExecReq {
  readonly reads?: readonly GpuAccessRange[];
  readonly writes?: readonly GpuAccessRange[];
  readonly userptrs?: boolean;
  readonly name?: string;
}

/**
 * EXEC on `vmId`. Returns the job's finished fence (the caller puts it
 * with holder "submit"), "einval" for an unknown VM, "nomem" when
 * validation runs out of memory.
 */
export function* exec(file: ToyFile, vmId: number, req: ExecReq): Generator<Effect, DmaFence | "einval" | "nomem", unknown> {
  const vm = yield* vmLookup(file, vmId);
  if (vm === null) return "einval";
  const dev = vm.dev;
  yield* reapBinds(vm, false);
  for (;;) {
    // Userptrs first, with no lock held: pinning may sleep and allocate.
    if (req.userptrs === true) {
      for (const up of [...vm.userptrs]) {
        if (up.dead) continue;
        yield* dev.vmLock.lock();
        const ok = up.valid();
        yield* dev.vmLock.unlock();
        if (!ok && (yield* userptrPin(up)) === "nomem") return "nomem";
      }
    }
    const ve = new GpuVmExec({ vm: vm.gpuvm, numFences: 1 });
    // drm_gpuvm_exec_lock() finis the exec itself when it fails.
    const locked = yield* execLock(ve);
    if (locked !== "ok") return locked === "nomem" ? "nomem" : "einval";
    if (vm.destroyed) {
      yield* ve.exec.fini();
      return "einval";
    }
    if ((yield* vm.gpuvm.validate(ve.exec)) !== "ok") {
      yield* ve.exec.fini();
      return "nomem";
    }
    // Implicit sync on the VM: every fence of its resv (binds, earlier jobs).
    const deps = yield* vm.root.resv.getFences("bookkeep");
    yield* dev.vmLock.lock();
    const reads = [...(req.reads ?? [])];
    let retry = false;
    if (req.userptrs === true) {
      for (const up of vm.userptrs) {
        if (up.dead) continue;
        if (!up.valid()) retry = true; // invalidated since we pinned: start again (-EAGAIN)
        else reads.push({ va: up.gpuVa, length: up.length });
      }
    }
    let fence: DmaFence | null = null;
    if (!retry) {
      const job = yield* dev.submit({
        name: req.name ?? `exec ${vm.gpuvm.name}`,
        pageTable: vm.pt,
        process: file.process,
        reads,
        writes: req.writes ?? [],
        dependencies: deps,
      });
      yield* vm.gpuvm.resvAddFence(ve.exec, job.finished, "bookkeep", "bookkeep");
      fence = job.finished;
    }
    yield* dev.vmLock.unlock();
    for (const d of deps) yield* d.put();
    yield* ve.exec.fini();
    if (fence !== null) return fence;
    dev.stats.execRetries++;
  }
}
