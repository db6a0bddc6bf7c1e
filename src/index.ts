/**
 * gpuvm-sim: the public API. Every export is named here.
 */
// Loading this copy signs the register of loaded copies (copies.ts), so a second copy in the process can be named.
export { loadedCopies, type LoadedCopy } from "./copies.js";
export { ArgumentError, ArgumentRangeError, ForeignSimError, GpuvmSimError, TokenError, UnknownReportKindError, UsageError } from "./errors.js";
export { ReportError } from "./report/report-error.js";
export { Completion } from "./kernel/completion.js";
export { access } from "./kernel/access.js";
export { defineEffectKind, type AccessMode, type EffectKind, type Effect, type EffectKindSpec, type Waitable } from "./kernel/effect.js";
export { explore, type ExploreOptions, type ExploreResult, type ExploreStrategy, type Failure, type Scenario } from "./explore/explore.js";
export { exploreParallel, ExplorePool, type ParallelExploreOptions, type ScenarioModule } from "./explore/pool.js";
export { replay, withoutStacks, type Divergence, type ReplayOptions, type ReplayResult } from "./explore/replay.js";
export type { DfsOptions } from "./explore/strategy/dfs.js";
export { kfree, SimObject, type SimObjectOptions } from "./kernel/heap.js";
export { Kref, REFCOUNT_MAX, REFCOUNT_SATURATED, type KrefOptions, type Release } from "./kernel/kref.js";
export { defineOp, Op } from "./kernel/op.js";
export type { RunOutcome, StrategyName } from "./kernel/scheduler.js";
export { Sim, type Checks, type RunResult, type SimOptions } from "./kernel/sim.js";
export { condResched, current, msleep, Task, type TaskBody, type TaskContext, type TaskState } from "./kernel/task.js";
export {
  dmaFenceBeginSignalling,
  dmaFenceEndSignalling,
  dmaFenceMightWait,
  fsReclaimAcquire,
  fsReclaimRelease,
  localBhDisable,
  localBhEnable,
  localIrqRestore,
  localIrqSave,
  lockMapAcquire,
  lockMapRelease,
  hardirqEnter,
  hardirqExit,
  lockdepSetSubclass,
  mightSleep,
  preemptCount,
  preemptDisable,
  preemptEnable,
  softirqEnter,
  softirqExit,
} from "./kernel/context.js";
// Memory: kmalloc with GFP kinds, the memory limit, reclaim and shrinkers, fault injection (docs/memory.md).
export {
  configureMemory,
  DEFAULT_OBJECT_SIZE,
  GFP_ATOMIC,
  GFP_KERNEL,
  GFP_NOFS,
  GFP_NOWAIT,
  inReclaim,
  kmalloc,
  KmallocBuffer,
  kmallocObject,
  memallocNofsRestore,
  memallocNofsSave,
  memoryStats,
  PAGE_SIZE,
  type FaultOptions,
  type Gfp,
  type MemoryOptions,
  type MemoryStats,
} from "./kernel/memory.js";
export { forEachAllocationFailure, type AllocationFailureCase, type AllocationFailureMemory, type AllocationRun } from "./kernel/alloc-failure.js";
export { DEFAULT_SEEKS, SHRINK_BATCH, SHRINK_EMPTY, SHRINK_STOP, Shrinker, type ShrinkControl, type ShrinkerSpec, type ShrinkResult } from "./kernel/shrinker.js";
export type { LockObject, LockOptions } from "./locking/lock-object.js";
export { LockClass, Lockdep, type LockdepMap, type KernelLockClasses, type KernelLockMaps, type LockWaitType } from "./kernel/lockdep.js";
export { Mutex, type LockResult } from "./locking/mutex.js";
export { RwSemaphore } from "./locking/rw-semaphore.js";
export { RwLock, type RwLockOptions } from "./locking/rwlock.js";
export { LocalLock } from "./locking/local-lock.js";
export { RawSpinLock, SpinLock, type IrqFlags } from "./locking/spinlock.js";
// RCU (issue 9): read sections, grace periods, call_rcu / kfree_rcu, RCU-protected pointers.
export {
  callRcu,
  kfreeRcu,
  RcuPointer,
  rcuReadLock,
  rcuReadLockHeld,
  rcuReadUnlock,
  synchronizeRcu,
  type RcuCallback,
  type RcuCondition,
} from "./kernel/rcu.js";
export type { SuspiciousRcuProblem, SuspiciousRcuUsageReport } from "./report/rcu-kinds.js";
export {
  WwAcquireCtx,
  WwClass,
  WwMutex,
  type WwAcquireCtxOptions,
  type WwAlgorithm,
  type WwClassOptions,
  type WwLockResult,
  type WwMutexOptions,
} from "./locking/ww-mutex.js";
// dma-buf and drm_exec (issue 9, "exec"): the reservation object's locking half, and DrmExec.
export {
  DmaResv,
  DmaResvIter,
  DmaResvList,
  RESERVATION_WW_CLASS,
  RESV_HOLDER,
  RESV_ITER_HOLDER,
  reservationWwClass,
  type DmaResvEntry,
  type DmaResvOptions,
  type DmaResvUsage,
} from "./dma-buf/dma-resv.js";
export { DmaFenceArray, dmaFenceArrayCreate } from "./dma-buf/dma-fence-array.js";
export {
  DRM_EXEC_CONTENDED_HOLDER,
  DRM_EXEC_HOLDER,
  DrmExec,
  type DrmExecBody,
  type DrmExecObject,
  type DrmExecOptions,
  type DrmExecResult,
} from "./drm/drm-exec.js";
export { REPORT_JSON_VERSION, reportsFromJson, reportsToJson } from "./report/json.js";
export type {
  BadUnlockReport,
  DeadlockReport,
  DependencyRef,
  HeldRef,
  InvalidWaitContextReport,
  IrqLockInversionReport,
  LockHeldAtExitReport,
  LockHeldAtFreeReport,
  LockNotHeldReport,
  LivelockReport,
  LockOrderCycleReport,
  RecursiveLockingReport,
  SleepInAtomicReport,
  Witness,
  WwMutexMisuseReport,
  DoubleFreeReport,
  HolderRef,
  LeakedObject,
  LeakReport,
  ObjectRef,
  RefcountHolderMismatchReport,
  RefcountIncFromZeroReport,
  RefcountSaturatedReport,
  RefcountUnderflowReport,
  RefEvent,
  Report,
  ReportKind,
  ReportKinds,
  ScheduleTail,
  SiteRef,
  StepLimitReport,
  TaskExceptionReport,
  TaskMisuseReport,
  UnstartedOpReport,
  UseAfterFreeReport,
  WaitEdge,
} from "./report/report.js";
export type { ContextAtExitReport, UsageReport } from "./report/runtime-kinds.js";
export type { BadPreemptEnableReport } from "./report/lock-kinds.js";
export { formatReport } from "./report/text.js";
// dma-buf: fences (issue 9).
export {
  DmaFence,
  type DmaFenceCallback,
  type DmaFenceOps,
  type DmaFenceOptions,
  type DmaFenceWaitResult,
  type DmaFenceWaitTimeoutResult,
} from "./dma-buf/dma-fence.js";
export { FenceContext } from "./dma-buf/fence-context.js";
export type {
  DmaBufReportKinds,
  FenceNeverSignalledReport,
  FenceRef,
  FenceReleasedWithCallbacksReport,
  FenceSetErrorAfterSignalReport,
  FenceSignalOutOfOrderReport,
  FenceWaitDeadlockReport,
  FenceWaiterRef,
  ResvMisuseReport,
  ResvNoFenceSlotReport,
} from "./report/fence-kinds.js";
// Workqueues and work items (issue 9, "work").
export {
  cancelWorkSync,
  flushWork,
  systemWq,
  Work,
  Workqueue,
  WQ_DFL_ACTIVE,
  WQ_MAX_ACTIVE,
  type QueueWorkResult,
  type WorkFn,
  type WorkOptions,
  type WorkqueueOptions,
} from "./kernel/workqueue.js";
export type { QueuedByRef } from "./report/report.js";
export type { LeakedLockReport, QueueWhileDrainingReport, WorkqueueMisuseReport } from "./report/work-kinds.js";
// drm: VA tree (issue 10): the VM's ordered set of non-overlapping ranges (docs/va-tree.md).
export { VaTree, type VaEntry, type VaVisitor } from "./drm/va-tree.js";
// drm: split and merge (issue 10, "sm"): map / unmap requests as map, remap and unmap steps (docs/split-merge.md).
export {
  boUnmapOpsCreate,
  gpuvaMap,
  gpuvaRemap,
  gpuvaUnmap,
  madviseOpsCreate,
  prefetchOpsCreate,
  smMap,
  smMapExecLock,
  smMapOpsCreate,
  smUnmap,
  smUnmapExecLock,
  smUnmapOpsCreate,
  type GpuVaOp,
  type GpuVaOpMap,
  type GpuVaOpMapBody,
  type GpuVaOpPrefetch,
  type GpuVaOpRemap,
  type GpuVaOpUnmap,
  type GpuVaOpUnmapBody,
  type SmGem,
  type SmMapReq,
  type SmOps,
  type SmResult,
  type SmStepReturn,
  type SmVa,
  type SmVm,
  type SmVmBo,
  type SmWalkResult,
} from "./drm/split-merge.js";
// drm: the VM's extobj/evict lists and the list functions (issue 10, "lists"; docs/vm-bo-list.md).
export {
  VmBoList,
  GpuVmExec,
  prepareVm,
  prepareObjects,
  prepareRange,
  execLock,
  execLockArray,
  execLockRange,
  validate,
  resvAddFence,
  extobjAdd,
  evict,
  gemEvict,
  VM_BO_LIST_WALK_HOLDER,
  VM_BO_LIST_ADD,
  VM_BO_LIST_DEL,
  VM_BO_LIST_NEXT,
  VM_BO_LIST_SPLICE,
  VM_BO_EVICT,
  type VmBoListMode,
  type VmBoListWhich,
  type VmBoListResult,
  type VmBoListGem,
  type VmBoListOps,
  type VmBoListOwner,
  type VmBoListEntry,
  type VmBoListPlace,
  type VmBoListWalkBody,
  type GpuVmExecExtra,
  type GpuVmExecInit,
} from "./drm/vm-bo-list.js";
export type { VmBoListConcurrentWalkReport, VmBoListReportKinds } from "./report/vm-bo-list-kinds.js";
// drm: the GPUVM core (issue 10, "core"): GEM objects, VMs, VmBos, mappings (docs/gpuvm.md).
export { GemObject, gemGpuvaLock, GEM_GPUVA_LIST, GEM_HANDLE, GEM_HANDLE_HOLDER, type GemGpuvaLock, type GemObjectOptions } from "./drm/gem-object.js";
export {
  GpuVm,
  GPUVA_TREE,
  GPUVM_FINI,
  GPUVM_HOLDER,
  VM_BO_DEFER,
  type GpuVmOps,
  type GpuVmOptions,
  type GpuVmViolation,
} from "./drm/gpuvm.js";
export { boCreate, boFind, boObtain, boObtainLocked, boObtainPrealloc, VmBo, VM_BO_ALLOC_SITE, VM_BO_BYTES, VM_BO_DESTROY, VM_BO_GPUVA_HOLDER, VM_BO_PUT_HOLDER, type VmBoState } from "./drm/vm-bo.js";
export { GPUVA_INVALIDATE, GPUVA_LINK, Mapping, type GpuVaOpMapLike, type MappingInit, type MappingState } from "./drm/mapping.js";
export type { GpuvmInvariantReport, GpuvmLeftover, GpuvmMisuseReport, GpuvmTeardownReport, GpuvmWrongStageReport } from "./report/gpuvm-kinds.js";
// device: the IOMMU and the GPU TLB (issue 11, "iotlb"; docs/device-iommu.md).
export { Iommu, IommuDomain, IOMMU_MAP, IOMMU_UNMAP, IOTLB_FLUSH, IOVA_ALLOC, IOVA_LIMIT, type IommuOptions, type IommuProt, type IommuTranslation } from "./device/iommu.js";
export { GpuTlb, TLB_INVALIDATE, TLB_INVALIDATE_ALL, TLB_PAGE_SIZES, type GpuTlbOptions, type TlbEntry } from "./device/tlb.js";
// device: physical memory and the GPU page table (issue 11, "ptab"; docs/device.md).
export { PhysMem, MAX_PAGES, PHYS_ALLOC, PHYS_FREE, PHYS_FLAGS, type PageOwner, type PageState, type PhysMemOptions } from "./device/phys-mem.js";
export { GpuPageTable, GPU_VA_LIMIT, GPU_PT_MAP, GPU_PT_UNMAP, IOVA_PAGE_LIMIT, PtPrealloc, type GpuPageTableOptions, type PageSize, type Pte, type PtMapOptions } from "./device/page-table.js";
export type { DeviceReportKinds, PhysPageDoubleFreeReport, PhysPageMisuseReport, PhysPageStillMappedReport } from "./report/device-kinds.js";
// device: the GEM backing store (issue 11, "backing"; docs/device-backing-store.md).
export { GemBackingStore, GEM_BACKING, type BackingZap, type GemBackingStoreOptions } from "./device/backing-store.js";
// device: the GPU engine, its job queue and the DMA checks (issue 11, "engine"; docs/device-gpu.md).
export { Gpu, GpuJob, GPU_ACCESS, GPU_JOB_EINVAL, GPU_SCHED_POP, GPU_SUBMIT, type GpuAccessRange, type GpuFault, type GpuFaultHandler, type GpuJobSpec, type GpuOptions } from "./device/gpu.js";
export type { DmaAccessReport, DmaCrossOwnerReport, DmaPathStep, DmaUseAfterFreeReport, GpuPageFaultReport, PtPreallocShortReport } from "./report/device-kinds.js";
// device: the simulated mm and interval notifiers (issue 11, "notifier"; docs/device-mmu-notifier.md).
export { Mm, MM_MMAP, MM_ZAP, MMU_INVALIDATE_START, MMU_INVALIDATE_END, USER_VA_BASE, USER_VA_LIMIT, type MmOptions } from "./device/mm.js";
export { MmuIntervalNotifier, MMU_READ_BEGIN, MMU_NOTIFIER_INSERT, MMU_NOTIFIER_REMOVE, type MmuIntervalNotifierOps, type MmuNotifierRange } from "./device/mmu-notifier.js";
export type { MmReportKinds, MmuNotifierBlockableFailReport } from "./report/mm-kinds.js";
