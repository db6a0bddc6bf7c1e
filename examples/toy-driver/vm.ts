/**
 * The toy driver's VMs: VM_CREATE, VM_BIND (map / unmap, synchronous and
 * asynchronous) and VM_DESTROY.
 *
 * Mirrors: panthor_mmu.c / xe_vm.c / nouveau_uvmm.c on drm_gpuvm in
 * immediate mode (DRM_GPUVM_IMMEDIATE_MODE, as panthor): a `GpuVm` for the
 * VA space, a `GpuPageTable` for the GPU's page table (IOVA page numbers
 * behind an IOMMU) and the Gpu's TLB for it. A bind is split and merged by
 * `smMap` / `smUnmap`; the page-table work happens in the step callbacks:
 * a map step writes the PTEs of the new mapping, a remap or unmap step
 * clears the PTEs of what goes away and invalidates the TLB before anything
 * can free the pages behind them.
 *
 * Synchronous binds run in the ioctl with the VM's resv (and the BO's)
 * locked. An asynchronous bind (panthor's VM_BIND job) preallocates
 * everything before it is queued, the VmBo (`boCreate`, consumed by
 * `boObtainPrealloc`), the page-table pages (`pt.prealloc`), then the job's
 * runJob does `smMap` and the PTE writes inside the fence-signalling
 * section, where it may neither allocate nor take a resv. Unlinks are
 * deferred (`unlinkDeferred`), and the zombie VmBos are cleaned up by the
 * next ioctl outside that section (`boDeferredCleanup`).
 *
 * Ownership (who refcounts whom): the file holds the VM's "creator"
 * reference; every mapping holds the VM ("gpuva") and, through its VmBo,
 * the GEM ("vm_bo"); the VM holds its resv object. VM_DESTROY unmaps
 * everything (dropping the mappings' references), cleans the zombies
 * (dropping the VmBos'), frees the page-table pages, then drops the
 * creator's reference (the VM is freed) and the resv object's.
 * Locking: `dev.vmLock` (a mutex, the toy's op_lock, one for the whole
 * device) protects every VM's VA tree and page table; it is taken inside
 * the fence-signalling section (by async binds) and by reclaim (eviction,
 * mmu notifiers), so nothing allocates or waits for a fence while holding
 * it. Order: resv → vmLock → a GEM's gpuvaLock.
 */
import {
  boCreate,
  boObtainPrealloc,
  DrmExec,
  GemObject,
  gpuvaMap,
  gpuvaRemap,
  gpuvaUnmap,
  GpuPageTable,
  GpuVm,
  kfree,
  Mapping,
  access,
  type DrmExecResult,
  type Effect,
  type GpuJob,
  type GpuTlb,
  type GpuVaOpMap,
  type GpuVaOpRemap,
  type GpuVaOpUnmap,
  type PtPrealloc,
  type SmMapReq,
  type VmBo,
} from "../../src/index.js";
import { boLookup, boPopulate, toBo, type ToyBo } from "./bo.js";
import type { ToyDevice, ToyFile } from "./device.js";
import { userptrDestroy, type ToyUserptr } from "./userptr.js";

/** The VA space of every toy VM: [0, 2^32) with the first 64 KiB reserved. */
export const VM_START = 0;
export const VM_RANGE = 2 ** 32;
const RESERVED = 0x1_0000;
const PAGE = 4096;
const RW = { read: true, write: true };

/** An async bind waiting for its job: what to give back once the job ran (drm_sched's free_job). */
interface PendingBind {
  readonly job: GpuJob;
  readonly bo: ToyBo;
  readonly ctx: BindCtx;
}

/** A VM of the toy driver. */
export class ToyVm {
  readonly tlb: GpuTlb;
  /** Async binds not yet reaped. */
  readonly pending: PendingBind[];
  /** The userptr ranges bound in this VM. */
  readonly userptrs: ToyUserptr[];
  /** TLB invalidations the buggy eviction left for the next page-table update (ToyBug "freeBeforeTlbInvalidate"). */
  readonly lazyInvalidations: (() => Generator<Effect, void, unknown>)[];
  destroyed = false;

  constructor(
    readonly file: ToyFile,
    readonly id: number,
    readonly gpuvm: GpuVm,
    readonly pt: GpuPageTable,
    readonly root: GemObject,
  ) {
    this.tlb = file.dev.gpu.tlb(pt);
    this.pending = file.dev.sim.share<PendingBind[]>([]);
    this.userptrs = file.dev.sim.share<ToyUserptr[]>([]);
    this.lazyInvalidations = file.dev.sim.share<(() => Generator<Effect, void, unknown>)[]>([]);
  }

  get dev(): ToyDevice {
    return this.file.dev;
  }
}

/** What a bind hands its step callbacks (smMap's priv). */
interface BindCtx {
  readonly vm: ToyVm;
  /** The VmBo of the BO being mapped, obtained at prepare time with a "bind" reference (dropped by finishCtx). */
  vmBo: VmBo | null;
  /** Preallocated page-table pages for the map step (async binds). */
  pool: PtPrealloc | null;
}

const toyVms = new WeakMap<GpuVm, ToyVm>();

/** container_of(gpuvm, struct toy_vm, base). */
export function toVm(gpuvm: GpuVm): ToyVm {
  const vm = toyVms.get(gpuvm);
  if (vm === undefined) throw new Error(`${gpuvm.name} is not a toy VM`);
  return vm;
}

/** The DMA pages (what PTEs hold) of `range` bytes of `bo` from `offset`. */
function dmaPages(bo: ToyBo, offset: number, range: number): number[] {
  const first = offset / PAGE;
  return Array.from({ length: range / PAGE }, (_, i) => bo.store.dmaPage(first + i));
}

/** Write the PTEs of one mapping (its BO must be resident). Caller holds vmLock. */
export function* writePtes(vm: ToyVm, va: Mapping, pool: PtPrealloc | null): Generator<Effect, "ok" | "nomem", unknown> {
  const obj = va.gem.obj;
  if (obj === null) return "ok";
  const bo = toBo(obj);
  if (!bo.store.populated) return "ok"; // evicted: the next exec validates it and writes them
  return yield* vm.pt.mapPages(va.addr, dmaPages(bo, va.gem.offset, va.range), RW, pool === null ? {} : { prealloc: pool });
}

/** Issue the TLB invalidations a buggy eviction left behind (empty on the correct path). Caller holds vmLock. */
function* lazyFlush(vm: ToyVm): Generator<Effect, void, unknown> {
  yield* access(vm.lazyInvalidations, "write");
  for (const f of vm.lazyInvalidations.splice(0)) yield* f();
}

/** Clear the PTEs of [addr, addr + range) and invalidate the TLB for it. Caller holds vmLock. */
export function* clearPtes(vm: ToyVm, addr: number, range: number, invalidate = true): Generator<Effect, void, unknown> {
  if (range === 0) return;
  yield* vm.pt.unmap(addr, range);
  if (invalidate) yield* vm.tlb.invalidate(addr, range);
}

/** The VM's step callbacks: the page-table half of split and merge. */
function vmOps(dev: ToyDevice, vmRef: { vm: ToyVm | null }) {
  const sim = dev.sim;
  return {
    vmFree: (v: GpuVm) => kfree(v),
    *smStepMap(op: GpuVaOpMap<GemObject>, priv: unknown): Generator<Effect, string | undefined, unknown> {
      const ctx = priv as BindCtx;
      const va = Mapping.fromOp(sim, op);
      yield* gpuvaMap(ctx.vm.gpuvm, va, op.map);
      // The VmBo was obtained (and put on the extobj list) when the bind was prepared: only link here.
      if (op.map.gem.obj !== null && ctx.vmBo !== null) yield* va.link(ctx.vmBo);
      const r = yield* writePtes(ctx.vm, va, ctx.pool);
      return r === "ok" ? undefined : r;
    },
    *smStepRemap(op: GpuVaOpRemap<Mapping>, priv: unknown): Generator<Effect, undefined, unknown> {
      const ctx = priv as BindCtx;
      const old = op.remap.unmap.va;
      const prev = op.remap.prev;
      const next = op.remap.next;
      // Only the part that goes away loses its PTEs; prev and next keep theirs.
      const from = prev === null ? old.addr : prev.va.addr + prev.va.range;
      const to = next === null ? old.addr + old.range : next.va.addr;
      yield* clearPtes(ctx.vm, from, to - from);
      const p = prev === null ? null : Mapping.fromOp(sim, { map: prev });
      const n = next === null ? null : Mapping.fromOp(sim, { map: next });
      yield* gpuvaRemap(p, n, op.remap);
      const vmBo = old.vmBo;
      if (vmBo !== null) {
        if (p !== null) yield* p.link(vmBo);
        if (n !== null) yield* n.link(vmBo);
      }
      yield* old.unlinkDeferred();
      yield* kfree(old);
      return undefined;
    },
    *smStepUnmap(op: GpuVaOpUnmap<Mapping>, priv: unknown): Generator<Effect, undefined, unknown> {
      const ctx = priv as BindCtx;
      const va = op.unmap.va;
      yield* clearPtes(ctx.vm, va.addr, va.range);
      yield* gpuvaUnmap(op.unmap);
      yield* va.unlinkDeferred();
      yield* kfree(va);
      return undefined;
    },
    *vmBoValidate(vmBo: VmBo): Generator<Effect, string | undefined, unknown> {
      // Called by vm.validate() with every resv locked: make the pages resident, rewrite the PTEs.
      const bo = toBo(vmBo.obj);
      if ((yield* boPopulate(bo)) !== "ok") return "nomem";
      dev.stats.validated++;
      const vm = vmRef.vm as ToyVm;
      yield* dev.vmLock.lock();
      yield* vmBo.obj.gpuvaLock.lock();
      const maps = vmBo.mappings();
      yield* vmBo.obj.gpuvaLock.unlock();
      let r: "ok" | "nomem" = "ok";
      for (const va of maps) {
        // The tables are still there (eviction does not free them): no allocation under vmLock.
        if (r === "ok" && vm.pt.walk(va.addr) === null) r = yield* writePtes(vm, va, null);
      }
      yield* dev.vmLock.unlock();
      if (r !== "ok") return r;
      yield* vmBo.evict(false);
      return undefined;
    },
  };
}

/** VM_CREATE: a new VM in `file`; returns its id. */
export function* vmCreate(file: ToyFile): Generator<Effect, number, unknown> {
  const dev = file.dev;
  const sim = dev.sim;
  const n = ++dev.ids.vm;
  const root = new GemObject(sim, { name: `vm${n}-root`, size: PAGE });
  const ref: { vm: ToyVm | null } = { vm: null };
  const gpuvm = GpuVm.create(sim, {
    name: `vm${n}`,
    immediateMode: true,
    mmStart: VM_START,
    mmRange: VM_RANGE,
    reserveOffset: 0,
    reserveRange: RESERVED,
    resvObj: root,
    ops: vmOps(dev, ref),
  });
  const pt = new GpuPageTable(sim, dev.mem, { name: `vm${n}-pt`, addresses: dev.domain === null ? "physical" : "iova" });
  yield* file.tableLock.lock();
  yield* access(file.vms, "write");
  const id = file.nextVm++;
  const vm = new ToyVm(file, id, gpuvm, pt, root);
  ref.vm = vm;
  toyVms.set(gpuvm, vm);
  file.vms.set(id, vm);
  yield* file.tableLock.unlock();
  return id;
}

/** Look a VM up in the file (under its table lock); null when there is none. */
export function* vmLookup(file: ToyFile, id: number): Generator<Effect, ToyVm | null, unknown> {
  yield* file.tableLock.lock();
  yield* access(file.vms, "read");
  const vm = file.vms.get(id) ?? null;
  yield* file.tableLock.unlock();
  return vm;
}

/** A map request: `range` bytes of the BO behind `handle`, from `offset`, at GPU VA `addr`. */
export interface BindMap {
  readonly handle: number;
  readonly addr: number;
  readonly range: number;
  readonly offset?: number;
}

function mapReq(bo: ToyBo, m: BindMap): SmMapReq<GemObject> {
  return { map: { va: { addr: m.addr, range: m.range }, gem: { obj: bo.gem, offset: m.offset ?? 0 } } };
}

/**
 * Lock the VM's resv and what the walk touches, make the BO resident and
 * preallocate the VmBo and (for an async bind) the page-table pages. On
 * success the caller owns `exec` (locked) and `ctx`.
 */
function* prepareMap(vm: ToyVm, bo: ToyBo, req: SmMapReq<GemObject>, withPool: boolean): Generator<Effect, { exec: DrmExec<GemObject>; ctx: BindCtx } | "nomem" | "einval", unknown> {
  const sim = vm.dev.sim;
  const exec = new DrmExec<GemObject>(sim, { ignoreDuplicates: true });
  const locked = yield* exec.untilAllLocked(function* (): Generator<Effect, DrmExecResult, unknown> {
    const r = yield* vm.gpuvm.prepareVm(exec, 1);
    if (r !== "ok") return r;
    return yield* vm.gpuvm.smMapExecLock(exec, 1, req);
  });
  if (locked !== "ok" || vm.destroyed) {
    yield* exec.fini();
    return locked === "nomem" ? "nomem" : "einval";
  }
  // drm_gem_shmem_get_pages() under the BO's resv, before anything that must not allocate.
  const pre = (yield* boPopulate(bo)) === "ok" ? yield* boCreate(vm.gpuvm, bo.gem, "bind") : null;
  let pool: PtPrealloc | null = null;
  if (pre !== null && withPool) {
    pool = yield* vm.pt.prealloc(vm.pt.tablesNeeded(req.map.va.addr, req.map.va.range, PAGE));
    if (pool === null) yield* pre.put("bind");
  }
  if (pre === null || (withPool && pool === null)) {
    yield* exec.fini();
    return "nomem";
  }
  // As panthor: obtain the VmBo and put it on the extobj list now, under the resvs, so an exec
  // that runs before the bind job locks and validates the BO like any other.
  const vmBo = yield* boObtainPrealloc(pre, "bind");
  yield* vmBo.extobjAdd();
  return { exec, ctx: { vm, vmBo, pool } };
}

/** Give back what a bind preallocated and did not use. */
function* finishCtx(ctx: BindCtx): Generator<Effect, void, unknown> {
  if (ctx.vmBo !== null) {
    yield* ctx.vmBo.put("bind");
    ctx.vmBo = null;
  }
  if (ctx.pool !== null) {
    yield* ctx.pool.release();
    ctx.pool = null;
  }
}

/**
 * VM_BIND map, synchronous: under the VM's and the BO's resv and vmLock,
 * split and merge, writing the PTEs in the map step. "einval" for an
 * unknown handle or VM, "nomem" when memory runs out.
 */
export function* vmBind(file: ToyFile, vmId: number, m: BindMap): Generator<Effect, "ok" | "nomem" | "einval", unknown> {
  const vm = yield* vmLookup(file, vmId);
  if (vm === null) return "einval";
  yield* reapBinds(vm, false);
  const bo = yield* boLookup(file, m.handle, "bind");
  if (bo === null) return "einval";
  const req = mapReq(bo, m);
  const p = yield* prepareMap(vm, bo, req, true);
  if (typeof p === "string") {
    yield* bo.gem.put("bind");
    return p;
  }
  yield* vm.dev.vmLock.lock();
  yield* lazyFlush(vm);
  const r = yield* vm.gpuvm.smMap(req, p.ctx);
  yield* vm.dev.vmLock.unlock();
  yield* finishCtx(p.ctx);
  yield* p.exec.fini();
  yield* vm.gpuvm.boDeferredCleanup();
  yield* bo.gem.put("bind");
  return r === "ok" ? "ok" : "nomem";
}

/**
 * VM_BIND map, asynchronous (immediate mode): prepare and preallocate now,
 * queue a bind job whose runJob maps and writes the PTEs inside the
 * fence-signalling section, add its fence to the VM's and the BO's resv.
 * The job's own fence reference stays with the VM until `reapBinds` (the
 * engine runs jobs in submission order, so later execs see the mapping).
 */
export function* vmBindAsync(file: ToyFile, vmId: number, m: BindMap): Generator<Effect, "ok" | "nomem" | "einval", unknown> {
  const vm = yield* vmLookup(file, vmId);
  if (vm === null) return "einval";
  yield* reapBinds(vm, false);
  const bo = yield* boLookup(file, m.handle, "bind job");
  if (bo === null) return "einval";
  const req = mapReq(bo, m);
  const p = yield* prepareMap(vm, bo, req, true);
  if (typeof p === "string") {
    yield* bo.gem.put("bind job");
    return p;
  }
  const dev = vm.dev;
  const ctx = p.ctx;
  const job = yield* dev.submit({
    name: `bind ${vm.gpuvm.name}`,
    pageTable: vm.pt,
    process: file.process,
    // run_job: no allocation, no resv; the VmBo and table pages were preallocated.
    *runJob() {
      yield* dev.vmLock.lock();
      yield* lazyFlush(vm);
      yield* vm.gpuvm.smMap(req, ctx);
      yield* dev.vmLock.unlock();
    },
  });
  // The job's fence goes in every resv it touches: eviction and exec wait for it.
  yield* vm.gpuvm.resvAddFence(p.exec, job.finished, "bookkeep", "bookkeep");
  yield* p.exec.fini();
  yield* access(vm.pending, "write");
  vm.pending.push({ job, bo, ctx });
  return "ok";
}

/**
 * drm_sched's free_job for the async binds of `vm`: give back what each
 * finished job did not use and drop its GEM reference; with `wait`, wait
 * for every one first. Then clean the zombie VmBos. Never in a
 * fence-signalling section.
 */
export function* reapBinds(vm: ToyVm, wait: boolean): Generator<Effect, void, unknown> {
  yield* access(vm.pending, "write");
  const all = vm.pending.splice(0);
  const keep: PendingBind[] = [];
  for (const b of all) {
    if (wait) yield* b.job.finished.wait(false);
    if (!b.job.finished.isSignaled()) {
      keep.push(b);
      continue;
    }
    yield* finishCtx(b.ctx);
    yield* b.job.finished.put("submit");
    yield* b.bo.gem.put("bind job");
  }
  vm.pending.push(...keep);
  yield* vm.gpuvm.boDeferredCleanup();
}

/** VM_BIND unmap, synchronous: clear [addr, addr + range) of `vmId`, under its resv and vmLock. */
export function* vmUnbind(file: ToyFile, vmId: number, addr: number, range: number): Generator<Effect, "ok" | "einval", unknown> {
  const vm = yield* vmLookup(file, vmId);
  if (vm === null) return "einval";
  yield* reapBinds(vm, false);
  const exec = new DrmExec<GemObject>(vm.dev.sim, { ignoreDuplicates: true });
  const locked = yield* exec.untilAllLocked(function* (): Generator<Effect, DrmExecResult, unknown> {
    return yield* vm.gpuvm.prepareVm(exec, 1);
  });
  if (locked !== "ok" || vm.destroyed) {
    yield* exec.fini();
    return "einval";
  }
  const ctx: BindCtx = { vm, vmBo: null, pool: null };
  yield* vm.dev.vmLock.lock();
  yield* lazyFlush(vm);
  yield* vm.gpuvm.smUnmap(addr, range, ctx);
  yield* vm.dev.vmLock.unlock();
  yield* exec.fini();
  // The zombies go now, outside every lock: a VmBo's last put may free its GEM (and wait for its fences).
  yield* vm.gpuvm.boDeferredCleanup();
  return "ok";
}

/**
 * VM_DESTROY: out of the file's table, wait for the bind jobs, unbind the
 * userptrs and every mapping, clean the zombies, free the page-table
 * pages, then drop the creator's reference (the VM goes) and the resv
 * object's.
 */
export function* vmDestroy(file: ToyFile, vmId: number): Generator<Effect, "ok" | "einval", unknown> {
  yield* file.tableLock.lock();
  yield* access(file.vms, "write");
  const vm = file.vms.get(vmId) ?? null;
  if (vm !== null) file.vms.delete(vmId);
  yield* file.tableLock.unlock();
  if (vm === null) return "einval";
  yield* reapBinds(vm, true);
  yield* access(vm.userptrs, "write");
  for (const up of vm.userptrs.splice(0)) yield* userptrDestroy(up);
  const exec = new DrmExec<GemObject>(vm.dev.sim, {});
  yield* exec.untilAllLocked(function* (): Generator<Effect, DrmExecResult, unknown> {
    return yield* vm.gpuvm.prepareVm(exec, 1);
  });
  vm.destroyed = true;
  const ctx: BindCtx = { vm, vmBo: null, pool: null };
  yield* vm.dev.vmLock.lock();
  yield* lazyFlush(vm);
  yield* vm.gpuvm.smUnmap(VM_START + RESERVED, VM_RANGE - RESERVED, ctx);
  yield* vm.pt.unmap(VM_START, VM_RANGE, { freeTables: true });
  yield* vm.tlb.invalidateAll();
  yield* vm.dev.vmLock.unlock();
  yield* exec.fini();
  yield* vm.gpuvm.boDeferredCleanup();
  yield* vm.gpuvm.put("creator");
  yield* vm.root.put("creator");
  return "ok";
}
