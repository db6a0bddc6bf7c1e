/**
 * Gpu and GpuJob: a GPU engine with one job queue, in the manner of
 * drm_sched, and the DMA checks on every page a job touches.
 *
 * Mirrors: drivers/gpu/drm/scheduler/ — drm_sched_job_init() +
 *   drm_sched_job_arm() + drm_sched_entity_push_job() (submit), the
 *   scheduler thread (drm_sched_run_job_work: pick the next job in order,
 *   wait for its dependencies, ops->run_job(), then the hardware runs it
 *   and drm_sched_fence_finished() signals `finished`); the GPU MMU's
 *   translation (TLB, page-table walk, IOMMU) as the hardware does it.
 * Ownership: the Gpu is hardware (static). A job's `finished` fence is
 *   refcounted: the submitter holds the first reference (put it when done,
 *   or hand it to a resv, which takes its own); the engine holds one from
 *   submit until it signalled the fence, and one on each dependency from
 *   submit until it waited for it. The Gpu owns its TLBs (one per
 *   page table, made on first use) and its fence context.
 * Locking: submit and the engine's pop are steps writing the Gpu (the
 *   queue). Each access range of a job is one step declaring the page table
 *   (read), its TLB (write: fills), the IOMMU domain (read) and Iommu
 *   (write: IOTLB fills) when present, and the PhysMem (read).
 * States: a job is queued → running → done (finished signalled, with an
 *   error when it faulted or its runJob failed).
 * Invariants: jobs run one at a time in submission order; runJob and the
 *   fault handler run inside a fence-signalling section in the engine task,
 *   which owes `finished` (claimSignalling) and has published it, so the
 *   fence checks (allocation in signalling, a wait under a lock the engine
 *   takes) apply to them. The engine task exists only while jobs are queued
 *   (spawned on demand, named like the drm_sched thread `${gpu}-sched`).
 * Errors: a faulting job's `finished` gets -EINVAL, as panfrost's
 *   panfrost_job_handle_err() and panthor's
 *   cs_slot_process_fault_event_locked() set on the hardware fence that
 *   drm_sched_job_done_cb() copies into `finished` (xe differs: see
 *   docs/kernel-differences.md); a runJob that throws gets its error set as
 *   drm_sched_run_job_work does for an ERR_PTR from run_job (here -EINVAL),
 *   and a `task-exception` report is filed; the engine goes on.
 */
import { ArgumentError, ArgumentRangeError, UsageError } from "../errors.js";
import { DmaFence } from "../dma-buf/dma-fence.js";
import { FenceContext } from "../dma-buf/fence-context.js";
import { runResultCallback, runVoidCallback } from "../drm/driver-callback.js";
import { dmaFenceBeginSignalling, dmaFenceEndSignalling } from "../kernel/context.js";
import { currentOrNull } from "../kernel/current.js";
import { defineEffectKind, Effect, READ, WRITE, type Access } from "../kernel/effect.js";
import { LIBRARY_CLASS, noteTouched, SimObject, siteRef, touch } from "../kernel/heap.js";
import { PAGE_SIZE } from "../kernel/memory.js";
import { krefGetFresh } from "../kernel/kref.js";
import { makeOp, type Op } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import type { Task } from "../kernel/task.js";
import type { DmaPathStep } from "../report/device-kinds.js";
import { arg, checkOptions, describeValue, is, thrownText, type Spec } from "../validate.js";
import { IommuDomain } from "./iommu.js";
import { GPU_VA_LIMIT, GpuPageTable } from "./page-table.js";
import { PhysMem } from "./phys-mem.js";
import { GpuTlb } from "./tlb.js";

/** -EINVAL: the error a failed job's finished fence carries. */
export const GPU_JOB_EINVAL = -22;

/** One range a job reads or writes: `length` bytes from GPU VA `va`. */
export interface GpuAccessRange {
  readonly va: number;
  readonly length: number;
}

/** What the driver's fault handler is told: the job, the faulting VA, the access and why it faulted. */
export interface GpuFault {
  readonly job: GpuJob;
  readonly va: number;
  readonly access: "read" | "write";
  readonly reason: "not-present" | "permission" | "iommu";
}

/** The driver's fault handler: install a translation and say "retry", or "fail". May yield ops (it runs in the fence-signalling section). */
export type GpuFaultHandler = (fault: GpuFault) => Op<"retry" | "fail"> | Iterable<Effect, "retry" | "fail", unknown> | "retry" | "fail";

/** Options of `new Gpu()`. */
export interface GpuOptions {
  /** A name for reports and the engine task (default "gpu0"). */
  readonly name?: string;
  /** The machine's memory: what accesses land on (required). */
  readonly mem: PhysMem;
  /** The IOMMU domain the GPU sits behind; with one, PTEs hold IOVA page numbers. */
  readonly iommu?: IommuDomain;
  /** Capacity of each TLB (default 64 translations). */
  readonly tlbEntries?: number;
  /** Called on a missing translation; without it a fault is a `gpu-page-fault` report. */
  readonly faultHandler?: GpuFaultHandler;
}

/** What a job is: its address space, what it reads and writes, what it waits for, the driver's run_job. */
export interface GpuJobSpec {
  /** A name for reports (default `job<n>`). */
  readonly name?: string;
  /** The address space the job's VAs are in. */
  readonly pageTable: GpuPageTable;
  /** The process the job runs for: its accesses to another process's frames are `dma-cross-owner`. */
  readonly process?: string;
  readonly reads?: readonly GpuAccessRange[];
  readonly writes?: readonly GpuAccessRange[];
  /** Fences the engine waits for before running the job (drm_sched_job_add_dependency). */
  readonly dependencies?: readonly DmaFence[];
  /** The driver's run_job: runs in the engine task inside a fence-signalling section, before the accesses. */
  readonly runJob?: (job: GpuJob) => Op<void> | Iterable<Effect, void, unknown> | undefined;
}

/** A submitted job (struct drm_sched_job). */
export class GpuJob {
  /** @internal Kinds of DMA report already filed for this job (one of each). */ readonly filed = new Set<string>();
  constructor(
    /** The job's name. */
    readonly name: string,
    /** The GPU it runs on. */
    readonly gpu: Gpu,
    /** Signalled when the job is done (with an error when it failed). */
    readonly finished: DmaFence,
    /** @internal */ readonly spec: GpuJobSpec,
  ) {}

  /**
   * queued → running → done (a query): "queued" while in the Gpu's queue,
   * "done" once `finished` is signalled, "running" in between. Worked out
   * from noted reads of the Gpu and the fence, so a driver's read joins
   * its step's footprint.
   */
  get state(): "queued" | "running" | "done" {
    noteTouched(this.gpu.sim, this.gpu, false);
    if (this.gpu.queue.includes(this)) return "queued";
    return this.finished.isSignaled() ? "done" : "running";
  }
}

/** Submitting a job: writes the Gpu's queue. */
export const GPU_SUBMIT = defineEffectKind({ name: "gpu-submit" });
/** The engine taking the next job (or leaving when none). */
export const GPU_SCHED_POP = defineEffectKind({ name: "gpu-sched-pop" });
/** One access range of a job: translations and the DMA checks. */
export const GPU_ACCESS = defineEffectKind({ name: "gpu-access" });

const RANGE_RULE = (argument: string, v: unknown): void => {
  if (!Array.isArray(v)) throw new ArgumentError(argument, `must be an array of { va, length }, got ${describeValue(v)}`);
  v.forEach((r: unknown, i) => {
    const name = `${argument}[${i}]`;
    if (typeof r !== "object" || r === null) throw new ArgumentError(name, `must be { va, length }, got ${describeValue(r)}`);
    checkOptions(name, r as GpuAccessRange, { va: is.count, length: is.positiveInteger });
    const { va, length } = r as Partial<GpuAccessRange>;
    if (va === undefined) throw new ArgumentError(`${name}.va`, "is required");
    if (length === undefined) throw new ArgumentError(`${name}.length`, "is required");
    if (va + length > GPU_VA_LIMIT) throw new ArgumentRangeError(name, `[${va}, ${va + length}) leaves the 48-bit VA space`);
  });
};
const FENCES_RULE = (argument: string, v: unknown): void => {
  if (!Array.isArray(v)) throw new ArgumentError(argument, `must be an array of DmaFence, got ${describeValue(v)}`);
  v.forEach((f: unknown, i) => { is.instanceOf(DmaFence)(`${argument}[${i}]`, f); });
};
const OPTIONS: Spec<GpuOptions> = {
  name: is.string,
  mem: is.instanceOf(PhysMem),
  iommu: is.instanceOf(IommuDomain),
  tlbEntries: is.positiveInteger,
  faultHandler: is.function,
};
const JOB_SPEC: Spec<GpuJobSpec> = {
  name: is.string,
  pageTable: is.instanceOf(GpuPageTable),
  process: is.string,
  reads: RANGE_RULE,
  writes: RANGE_RULE,
  dependencies: FENCES_RULE,
  runJob: is.function,
};

export class Gpu extends SimObject {
  /** @internal A library class: its operations declare their own footprints. */
  static readonly [LIBRARY_CLASS] = true;
  readonly mem: PhysMem;
  readonly iommu: IommuDomain | null;
  /** Capacity of each TLB. */
  readonly tlbEntries: number;
  /** @internal */ readonly faultHandler: GpuFaultHandler | null;
  /** @internal The timeline of the jobs' finished fences. */ readonly fenceContext: FenceContext;
  /** @internal TLBs by page table. */ readonly tlbs = new Map<GpuPageTable, GpuTlb>();
  /** @internal Jobs submitted and not yet taken by the engine, oldest first. */ readonly queue: GpuJob[] = [];
  /** @internal The engine task while it runs. */ engine: Task | null = null;
  /** @internal Jobs submitted so far. */ submitted = 0;
  /** @internal Engine tasks spawned so far. */ engines = 0;
  /** @internal Pages translated so far: for the bench only (not simulated state; no step reads it). */ translations = 0;
  /** @internal */ readonly popEffect: Effect;
  /** @internal */ readonly submitEffect: Effect;
  /** @internal The GPU's name, for the engine task. */ readonly gpuName: string;

  /**
   * @throws ArgumentError naming `options` (missing, not an object, an
   *   unknown key), `mem` (missing, not a PhysMem of `sim`), `iommu`,
   *   `name`, `tlbEntries` or `faultHandler`. Nothing is made then.
   */
  constructor(sim: Sim, options: GpuOptions) {
    if ((options as GpuOptions | undefined) === undefined) throw new ArgumentError("options", "must be an object with `mem`, got undefined");
    checkOptions("options", options, OPTIONS);
    if ((options.mem as PhysMem | undefined) === undefined) throw new ArgumentError("mem", "is required: a PhysMem");
    if (options.mem.sim !== sim) throw new ArgumentError("mem", `${options.mem.label} belongs to another Sim`);
    if (options.iommu !== undefined && options.iommu.sim !== sim) throw new ArgumentError("iommu", `${options.iommu.label} belongs to another Sim`);
    if (options.iommu !== undefined && options.iommu.iommu.mem !== null && options.iommu.iommu.mem !== options.mem) {
      throw new ArgumentError("iommu", `${options.iommu.label} maps frames of ${options.iommu.iommu.mem.label}, not of ${options.mem.label}`);
    }
    const name = options.name ?? "gpu0";
    super(sim, "Gpu", { name, static: true });
    this.gpuName = name;
    this.mem = options.mem;
    this.iommu = options.iommu ?? null;
    this.tlbEntries = options.tlbEntries ?? 64;
    this.faultHandler = options.faultHandler ?? null;
    this.fenceContext = new FenceContext(sim, `${name}-sched`);
    this.popEffect = new Effect(GPU_SCHED_POP, this, WRITE);
    this.submitEffect = new Effect(GPU_SUBMIT, this, WRITE);
  }

  /**
   * The TLB the GPU uses for address space `pt`, made on first use (the
   * driver invalidates through it). @throws ArgumentError naming `pt`.
   */
  tlb(pt: GpuPageTable): GpuTlb {
    arg("pt", is.instanceOf(GpuPageTable), pt);
    if (pt.sim !== this.sim) throw new ArgumentError("pt", `${pt.label} belongs to another Sim`);
    // The map is simulated state: its read (and the first use's write) joins the caller's step.
    let t = this.tlbs.get(pt);
    noteTouched(this.sim, this, t === undefined);
    if (t === undefined) {
      const caller = currentOrNull();
      const made = caller?.keysMade ?? 0;
      t = new GpuTlb(this.sim, { name: `${this.gpuName} tlb ${pt.name}`.trimEnd(), entries: this.tlbEntries });
      // Which call makes the TLB depends on the schedule: do not count its key as the caller's.
      if (caller !== null) caller.keysMade = made;
      this.tlbs.set(pt, t);
    }
    return t;
  }

  /**
   * Mirrors drm_sched_job_init() + drm_sched_job_arm() +
   * drm_sched_entity_push_job(): make the job and its finished fence (the
   * caller holds its first reference), queue it, start the engine task if
   * none runs. Returns at once.
   * @throws ArgumentError naming `spec` (not an object, an unknown key) or
   *   the key at fault (`pageTable` missing, of another Sim, or addressing
   *   that does not match the GPU: IOVA page numbers need an IOMMU,
   *   physical frames need none; `reads[i]`, `writes[i]`, `dependencies[i]`,
   *   `runJob`, `name`, `process`); ArgumentRangeError naming a range that
   *   leaves the VA space.
   */
  submit(given: GpuJobSpec): Op<GpuJob> {
    if (typeof given !== "object" || (given as GpuJobSpec | null) === null) throw new ArgumentError("spec", `must be a GpuJobSpec object, got ${describeValue(given)}`);
    // Checked and kept as copies, read once: a caller's later change (or a getter) cannot reach the engine.
    const spec = copySpec(given);
    checkOptions("spec", spec, JOB_SPEC);
    const pt = spec.pageTable as GpuPageTable | undefined;
    if (pt === undefined) throw new ArgumentError("spec.pageTable", "is required: a GpuPageTable");
    if (pt.sim !== this.sim) throw new ArgumentError("spec.pageTable", `${pt.label} belongs to another Sim`);
    if (pt.addresses === "iova" && this.iommu === null) throw new ArgumentError("spec.pageTable", `${pt.label} holds IOVA page numbers, but ${this.label} has no IOMMU`);
    if (pt.addresses === "physical" && this.iommu !== null) throw new ArgumentError("spec.pageTable", `${pt.label} holds physical frames, but ${this.label} sits behind an IOMMU (make the table with addresses: "iova")`);
    if (pt.addresses === "physical" && pt.mem !== this.mem) throw new ArgumentError("spec.pageTable", `${pt.label} maps frames of ${pt.mem.label}, not of ${this.mem.label}`);
    (spec.dependencies ?? []).forEach((f, i) => {
      if (f.sim !== this.sim) throw new ArgumentError(`spec.dependencies[${i}]`, `${f.label} belongs to another Sim`);
    });
    return makeOp("drm_sched_entity_push_job", this, submitBody, spec);
  }

  /** Jobs queued and not yet taken by the engine (a query). */
  get queued(): number {
    noteTouched(this.sim, this, false);
    return this.queue.length;
  }
}

/** A copy of `spec` whose arrays (and ranges) are fresh: what submit() checks is what the engine uses. */
function copySpec(spec: GpuJobSpec): GpuJobSpec {
  const copy: Record<string, unknown> = { ...spec };
  for (const key of ["reads", "writes"] as const) {
    const v = copy[key];
    if (Array.isArray(v)) copy[key] = Array.from(v as unknown[], (r) => (typeof r === "object" && r !== null ? { ...r } : r));
  }
  const deps = copy["dependencies"];
  if (Array.isArray(deps)) copy["dependencies"] = Array.from(deps as unknown[]);
  return copy as unknown as GpuJobSpec;
}

function* submitBody(this: Gpu, spec: GpuJobSpec): Generator<Effect, GpuJob, unknown> {
  // The engine's reference on each dependency until it was waited for
  // (drm_sched_job_add_dependency takes one); the caller holds its own.
  for (const dep of spec.dependencies ?? []) yield* dep.get("gpu-sched");
  // ORDER: arm (the fence's seqno) and push in one step, as drm_sched wants
  // them under one lock: two submitters cannot queue seqnos out of order.
  yield this.submitEffect;
  touch(this.sim, this, true, "drm_sched_entity_push_job");
  const n = ++this.submitted;
  const name = spec.name ?? `job${n}`;
  const finished = new DmaFence(this.fenceContext, { name: `${name} finished`, holder: "submit" });
  // The engine's own reference, dropped once it signalled: taken in this
  // step, before any other task (the engine) can see the fence.
  krefGetFresh(finished.refcount, "gpu-sched", "drm_sched_job_arm");
  // The submitter does not signal it: the engine task will (claimSignalling when it takes the job).
  finished.dropSignaller();
  const job = new GpuJob(name, this, finished, spec);
  this.queue.push(job);
  // Armed and pushed: others may wait for it from now on, so it must be signalled.
  finished.markPublished("drm_sched");
  if (this.engine === null) spawnEngine(this);
  return job;
}

function spawnEngine(gpu: Gpu): void {
  const caller = currentOrNull();
  const made = caller?.keysMade ?? 0;
  gpu.engines++;
  gpu.engine = gpu.sim.spawn(`${gpu.gpuName}-sched`, "worker", () => engineBody(gpu));
  // Whether this submit spawns depends on the schedule (as queue_work's workers).
  if (caller !== null) caller.keysMade = made;
}

function* engineBody(gpu: Gpu): Generator<Effect, void, unknown> {
  for (;;) {
    yield gpu.popEffect;
    touch(gpu.sim, gpu, true, "drm_sched_run_job_work");
    const job = gpu.queue.shift();
    if (job === undefined) {
      gpu.engine = null;
      return;
    }
    yield* runOne(gpu, job);
  }
}

function fileException(gpu: Gpu, e: unknown): void {
  // thrownText never throws, whatever the driver threw (an object without toString, a revoked Proxy).
  const t = thrownText(e);
  gpu.sim.file({ kind: "task-exception", error: `${t.name}: ${t.message}`, ...(t.stack === null ? {} : { stack: t.stack }) });
}

function* runOne(gpu: Gpu, job: GpuJob): Generator<Effect, void, unknown> {
  const f = job.finished;
  yield* f.claimSignalling();
  for (const dep of job.spec.dependencies ?? []) {
    yield* dep.wait(false);
    yield* dep.put("gpu-sched");
  }
  const cookie = dmaFenceBeginSignalling();
  let error = 0;
  if (job.spec.runJob !== undefined) {
    try {
      yield* runVoidCallback(job.spec.runJob(job), `runJob of ${job.name}`);
    } catch (e) {
      fileException(gpu, e);
      error = GPU_JOB_EINVAL;
    }
  }
  if (error === 0) error = yield* performAccesses(gpu, job);
  if (error !== 0) yield* f.setError(error);
  yield* f.signal();
  dmaFenceEndSignalling(cookie);
  yield* f.put("gpu-sched");
}

function* performAccesses(gpu: Gpu, job: GpuJob): Generator<Effect, number, unknown> {
  const pt = job.spec.pageTable;
  const tlb = gpu.tlb(pt);
  const also: Access[] = [{ object: tlb, mode: "write" }, { object: gpu.mem, mode: "read" }];
  if (gpu.iommu !== null) also.push({ object: gpu.iommu, mode: "read" }, { object: gpu.iommu.iommu, mode: "write" });
  const effect = new Effect(GPU_ACCESS, gpu, READ, pt, null, Infinity, null, also);
  const ranges: [GpuAccessRange, "read" | "write"][] = [];
  for (const r of job.spec.reads ?? []) ranges.push([r, "read"]);
  for (const r of job.spec.writes ?? []) ranges.push([r, "write"]);
  for (const [r, access] of ranges) {
    let va = r.va;
    const end = r.va + r.length;
    let retriedAt = -1;
    while (va < end) {
      yield effect;
      touch(gpu.sim, pt, false, "gpu access");
      touch(gpu.sim, tlb, true, "gpu access");
      touch(gpu.sim, gpu.mem, false, "gpu access");
      const fault = translateRange(gpu, job, tlb, pt, va, end, access);
      if (fault === null) break;
      va = fault.va;
      if (gpu.faultHandler !== null && retriedAt !== va) {
        retriedAt = va;
        let answer: string | null = "fail";
        try {
          answer = yield* runResultCallback(gpu.faultHandler({ job, va, access, reason: fault.reason }), `faultHandler of ${gpu.label}`);
          if (answer !== "retry" && answer !== "fail") {
            // A driver bug (it answers "retry" or "fail"): reported, and the fault stands.
            throw new UsageError(`faultHandler of ${gpu.label} returned ${answer === null ? "nothing" : describeValue(answer)}: it returns "retry" or "fail"`);
          }
        } catch (e) {
          fileException(gpu, e);
        }
        if (answer === "retry") continue;
      }
      gpu.sim.file({ kind: "gpu-page-fault", gpu: gpu.label, job: job.name, va, access, reason: fault.reason, path: fault.path });
      return GPU_JOB_EINVAL;
    }
  }
  return 0;
}

interface Fault {
  readonly va: number;
  readonly reason: "not-present" | "permission" | "iommu";
  readonly path: DmaPathStep[];
}

/**
 * Translate and check every page of [va, end) for `access` (inside the
 * access step): null when all went through, else the first fault. A
 * translation of a 64 KiB or 2 MiB page that is current (a fresh TLB hit,
 * or a walk) serves every 4 KiB page of it in the range at once, as the
 * per-page lookups would (they would hit the same entry), unless a smaller
 * TLB entry inside that page would answer first for its part; the IOMMU
 * translation and the DMA checks stay per 4 KiB page.
 */
function translateRange(gpu: Gpu, job: GpuJob, tlb: GpuTlb, pt: GpuPageTable, va: number, end: number, access: "read" | "write"): Fault | null {
  const mem = gpu.mem;
  const write = access === "write";
  const physical = gpu.iommu === null;
  while (va < end) {
    let first: DmaPathStep;
    let base: number;
    let size: number;
    let expectGen = -1;
    let batch: boolean;
    const hit = tlb.lookupRaw(va);
    if (hit !== undefined) {
      const now = pt.walkRaw(va);
      const fresh = now !== null && now.pfn === hit.pfn && now.size === hit.size && now.write === hit.write;
      first = fresh ? "tlb" : "stale-tlb";
      if (write && !hit.write) return { va, reason: "permission", path: [first] };
      base = hit.pfn;
      size = hit.size;
      if (!fresh && physical && hit.gen !== undefined && hit.size === PAGE_SIZE) expectGen = hit.gen;
      batch = fresh && size > PAGE_SIZE;
    } else {
      const pte = pt.walkRaw(va);
      first = "pte";
      if (pte === null) return { va, reason: "not-present", path: [first] };
      if (write ? !pte.write : !pte.read) return { va, reason: "permission", path: [first] };
      tlb.fillRaw(va, pte.pfn, pte.write, pte.size, physical && pte.size === PAGE_SIZE && pte.pfn < mem.pages ? (mem.generations[pte.pfn] as number) : -1);
      base = pte.pfn;
      size = pte.size;
      batch = size > PAGE_SIZE;
    }
    const pageStart = va - (va % size);
    const stop = batch && !smallerEntryInside(tlb, pageStart, size) ? Math.min(end, pageStart + size) : Math.min(end, (Math.floor(va / PAGE_SIZE) + 1) * PAGE_SIZE);
    // The first page went the way found above; the others of a walked page would hit the entry just filled.
    const fault = checkPages(gpu, job, va, stop, end, access, first, first === "pte" ? "tlb" : first, base + Math.floor((va - pageStart) / PAGE_SIZE), expectGen);
    if (fault !== null) return fault;
    va = stop;
  }
  return null;
}

/** Whether `tlb` holds an entry smaller than `size` inside [start, start + size): a lookup there would answer with it first. */
function smallerEntryInside(tlb: GpuTlb, start: number, size: number): boolean {
  for (const e of tlb.cache.values()) if (e.size < size && e.va >= start && e.va < start + size) return true;
  return false;
}

/**
 * The 4 KiB pages of [va, stop) reached through one GPU translation, the
 * first via `first`, the others via `rest`, from DMA page `dmaPage` on:
 * the IOMMU translation when there is one, then the DMA checks, per page.
 */
function checkPages(gpu: Gpu, job: GpuJob, va: number, stop: number, end: number, access: "read" | "write", first: DmaPathStep, rest: DmaPathStep, dmaPage: number, expectGen: number): Fault | null {
  const mem = gpu.mem;
  const iommu = gpu.iommu;
  for (let step = first; va < stop; va = Math.min(end, (Math.floor(va / PAGE_SIZE) + 1) * PAGE_SIZE), dmaPage++, step = rest) {
    const path: DmaPathStep[] = [step];
    gpu.translations++;
    let pfn = dmaPage;
    let gen = expectGen;
    if (iommu !== null) {
      const t = iommu.translate(dmaPage * PAGE_SIZE, access);
      if ("fault" in t) return { va, reason: t.fault === "permission" ? "permission" : "iommu", path };
      path.push(t.via === "table" ? "iommu-table" : t.via);
      pfn = t.pfn;
      const g = "gen" in t ? (t as { gen: number }).gen : -1;
      gen = typeof g === "number" ? g : -1;
    }
    if (pfn >= mem.pages) return { va, reason: "not-present", path };
    dmaCheck(gpu, job, va, access, Math.min(end, (Math.floor(va / PAGE_SIZE) + 1) * PAGE_SIZE) - va, path, pfn, gen);
  }
  return null;
}

/** The DMA checks on the frame an access landed on; at most one report of each kind per job. */
function dmaCheck(gpu: Gpu, job: GpuJob, va: number, access: "read" | "write", bytes: number, path: DmaPathStep[], pfn: number, expectGen: number): void {
  const mem = gpu.mem;
  const process = job.spec.process ?? null;
  let kind: "dma-use-after-free" | "dma-cross-owner" | null = null;
  let why: "reallocated" | "other-process" = "reallocated";
  const owner = mem.owners[pfn] ?? null;
  if (mem.states[pfn] !== 1) kind = "dma-use-after-free";
  else if (expectGen >= 0 && mem.generations[pfn] !== expectGen) kind = "dma-cross-owner";
  else if (process !== null && owner?.process !== undefined && owner.process !== process) {
    kind = "dma-cross-owner";
    why = "other-process";
  }
  if (kind === null || job.filed.has(kind)) return;
  job.filed.add(kind);
  const freed = mem.freeSites.get(pfn);
  const common = {
    gpu: gpu.label,
    job: job.name,
    va,
    access,
    bytes,
    path,
    pfn,
    owner: owner === null ? null : owner.label,
    ownerProcess: owner?.process ?? null,
    process,
    freedBy: freed === undefined ? null : siteRef(freed),
    mappedBy: mem.mappers[pfn] ?? null,
  };
  if (kind === "dma-use-after-free") gpu.sim.file({ kind, ...common });
  else gpu.sim.file({ kind, why, ...common });
}
