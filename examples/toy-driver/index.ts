/**
 * The toy driver: a small GPU driver written on gpuvm-sim's public API, as
 * a kernel developer would write a VM_BIND driver (panthor, xe, nouveau).
 * docs/toy-driver.md is its guided tour.
 *
 * - device.ts: the device (memory, IOMMU, GPU, shrinker) and the open files;
 * - bo.ts: GEM create and close, the backing store;
 * - vm.ts: VM create, VM_BIND (sync and async), VM destroy;
 * - exec.ts: EXEC (drm_exec, validate, the job, its fence);
 * - evict.ts: eviction under memory pressure (the shrinker);
 * - userptr.ts: userptr bindings with an mmu interval notifier;
 * - workload.ts: a scenario that runs all of it in parallel tasks.
 *
 * `new ToyDevice(sim, { bug })` (or `{ bugs: { <name>: true } }`) selects one deliberate bug (`TOY_BUGS`);
 * without it every path is the correct one.
 */
export { TOY_BUGS, ToyDevice, ToyFile, type ToyBug, type ToyDeviceOptions } from "./device.js";
export { boLookup, boPopulate, gemClose, gemCreate, toBo, ToyBo } from "./bo.js";
export { reapBinds, toVm, ToyVm, vmBind, vmBindAsync, vmCreate, vmDestroy, vmLookup, vmUnbind, VM_RANGE, VM_START, type BindMap } from "./vm.js";
export { exec, type ExecReq } from "./exec.js";
export { evictBo, registerShrinker, zapBo } from "./evict.js";
export { ToyUserptr, userptrCreate, userptrDestroy, userptrPin } from "./userptr.js";
