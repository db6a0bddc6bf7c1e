/**
 * The toy driver's device and its open files.
 *
 * Mirrors: the probe of a small DRM driver (panthor_device_init(),
 * xe_device_create()): the machine's memory (`PhysMem`), the IOMMU domain
 * the GPU sits behind (`Iommu` + `IommuDomain`), the GPU with its job queue
 * (`Gpu`), and a shrinker registered with the memory model
 * (drm_gem_shmem / msm / panfrost shrinkers). And the open of the device
 * node (drm_file): one `ToyFile` per process, with its GEM handle table
 * (drm_gem_handle_create()) and its VMs (an xarray of drm_gpuvm).
 *
 * Ownership: the device is static (hardware and the driver's globals live
 * for the whole run); each file is owned by its process, which closes it.
 * Locking: `vmLock` (a mutex: every VM's VA tree and page table, see vm.ts);
 * `lruLock` (a spinlock, as shmem's lru lock) protects the
 * evictable list `lru`; `file.tableLock` (a mutex, as drm_file's
 * table_lock) protects a file's handles and VMs. Driver state is plain
 * JavaScript: each access to it is declared with `access()` so the explorer
 * orders it.
 */
import {
  access,
  Gpu,
  Iommu,
  Mutex,
  PhysMem,
  SpinLock,
  type Effect,
  type GpuJob,
  type GpuJobSpec,
  type IommuDomain,
  type Shrinker,
  type Sim,
} from "../../src/index.js";
import type { ToyBo } from "./bo.js";
import { registerShrinker } from "./evict.js";
import type { ToyVm } from "./vm.js";

/** The deliberate bugs, one at a time (`ToyDeviceOptions.bug`). */
export const TOY_BUGS = ["freeBeforeTlbInvalidate", "skipFenceWaitBeforeEvict", "freeBeforeIommuFlush", "ignoreReadRetry"] as const;

/** One deliberate bug: the driver takes the wrong path there and the correct one everywhere else. */
export type ToyBug = (typeof TOY_BUGS)[number];

/** Options of {@link ToyDevice}. */
export interface ToyDeviceOptions {
  /** Frames of machine memory (default 256). */
  readonly pages?: number;
  /** Whether the GPU sits behind an IOMMU (default true): PTEs then hold IOVA page numbers. */
  readonly iommu?: boolean;
  /** The one deliberate bug, or none (default). */
  readonly bug?: ToyBug | null;
  /** The same as a set of flags (`{ ignoreReadRetry: true }`): at most one may be true. */
  readonly bugs?: Partial<Record<ToyBug, boolean>>;
  /** GPU TLB entries per address space (default 64). */
  readonly tlbEntries?: number;
}

/** The device: memory, IOMMU, GPU, the evictable list and the shrinker. */
export class ToyDevice {
  readonly mem: PhysMem;
  readonly iommu: Iommu | null;
  readonly domain: IommuDomain | null;
  readonly gpu: Gpu;
  readonly bug: ToyBug | null;
  /** The BOs the shrinker may evict (the LRU), under `lruLock`. */
  readonly lru: ToyBo[];
  readonly lruLock: SpinLock;
  /** The toy's op_lock: every VM's VA tree and page table (see vm.ts for the rules). */
  readonly vmLock: Mutex;
  /** Serialises job submission: drm_sched_job_arm() and push_job() must not interleave (fences in seqno order). */
  readonly submitLock: Mutex;
  readonly shrinker: Shrinker;
  /** What happened, for tests and the tour: evictions, busy skips, revalidations, userptr retries and invalidations. */
  readonly stats = { evicted: 0, busy: 0, validated: 0, userptrRetries: 0, userptrZaps: 0, userptrGone: 0, execRetries: 0 };
  /** Handles and names, counted for the whole device. */
  readonly ids = { bo: 0, vm: 0, file: 0 };

  constructor(
    readonly sim: Sim,
    options: ToyDeviceOptions = {},
  ) {
    const flagged = Object.entries(options.bugs ?? {}).filter(([, on]) => on).map(([b]) => b as ToyBug);
    if (flagged.length > 1) throw new Error(`ToyDevice: one deliberate bug at a time, got ${flagged.join(", ")}`);
    if (flagged.some((b) => !(TOY_BUGS as readonly string[]).includes(b))) throw new Error(`ToyDevice: unknown bug ${flagged.join(", ")}; known: ${TOY_BUGS.join(", ")}`);
    this.bug = options.bug ?? flagged[0] ?? null;
    this.mem = new PhysMem(sim, { name: "ram", pages: options.pages ?? 256 });
    if (options.iommu ?? true) {
      this.iommu = new Iommu(sim, { name: "iommu0", mem: this.mem });
      this.domain = this.iommu.domainAlloc("gpu0");
    } else {
      this.iommu = null;
      this.domain = null;
    }
    this.gpu = new Gpu(sim, {
      name: "gpu0",
      mem: this.mem,
      ...(this.domain === null ? {} : { iommu: this.domain }),
      ...(options.tlbEntries === undefined ? {} : { tlbEntries: options.tlbEntries }),
    });
    this.lru = sim.share<ToyBo[]>([]);
    this.lruLock = new SpinLock(sim, "toy->lru_lock", { static: true });
    this.vmLock = new Mutex(sim, "toy->vm_lock", { static: true });
    this.submitLock = new Mutex(sim, "toy->submit_lock", { static: true });
    // Registered at probe, outside any task, as the memory model requires.
    this.shrinker = registerShrinker(this);
  }

  /** Whether the driver takes the wrong path `bug`. */
  has(bug: ToyBug): boolean {
    return this.bug === bug;
  }

  /** Submit a job to the GPU under `submitLock` (arm + push in one critical section, as drm_sched requires). */
  *submit(spec: GpuJobSpec): Generator<Effect, GpuJob, unknown> {
    yield* this.submitLock.lock();
    const job = yield* this.gpu.submit(spec);
    yield* this.submitLock.unlock();
    return job;
  }

  /** drm_open(): a file for `process` (its handles and VMs). */
  open(process: string): ToyFile {
    return new ToyFile(this, process);
  }
}

/** An open DRM file: one process's handles and VMs. */
export class ToyFile {
  readonly handles: Map<number, ToyBo>;
  readonly vms: Map<number, ToyVm>;
  readonly tableLock: Mutex;
  nextHandle = 1;
  nextVm = 1;

  constructor(
    readonly dev: ToyDevice,
    /** The process the file belongs to: its buffers' pages are owned by it. */
    readonly process: string,
  ) {
    this.handles = dev.sim.share(new Map<number, ToyBo>());
    this.vms = dev.sim.share(new Map<number, ToyVm>());
    this.tableLock = new Mutex(dev.sim, "file->table_lock", { static: true, name: `${process} table_lock` });
  }

  /** drm_gem_object_lookup() without the reference: the BO behind `handle`, or null. Caller holds `tableLock`. */
  *lookupBo(handle: number): Generator<Effect, ToyBo | null, unknown> {
    yield* access(this.handles, "read");
    return this.handles.get(handle) ?? null;
  }
}
