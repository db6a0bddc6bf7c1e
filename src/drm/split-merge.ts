/**
 * Split and merge: the sequence of map / remap / unmap steps that fits a map
 * or unmap request into a VM's VA space.
 *
 * Mirrors: drivers/gpu/drm/drm_gpuvm.c __drm_gpuvm_sm_map() (with its
 * madvise variant), __drm_gpuvm_sm_unmap(), op_map_cb / op_remap_cb /
 * op_unmap_cb, drm_gpuvm_sm_map() / _sm_unmap(), the *_ops_create()
 * functions, drm_gpuvm_sm_map_exec_lock() / _sm_unmap_exec_lock(),
 * drm_gpuva_map() / _remap() / _unmap(); struct drm_gpuva_op* and struct
 * drm_gpuvm_map_req.
 *
 * Ownership: none. Ops name mappings (`unmap.va`) without holding a
 * reference, as the kernel's do: a list of ops is valid until the VA space
 * changes. The apply helpers insert and remove mappings through the
 * mappings' own ops, which take and drop the VM references.
 *
 * Locking: none of its own (the kernel's DOC "Locking": the driver protects
 * the VA space). A walk reads the VM's tree in every step it runs in and
 * says so (noteTouched(sim, vm.tree, false): the tree is its own footprint
 * key, the one the mappings' insert / remove declare writing, not the VM's);
 * driver callbacks may yield, and the
 * walk then reads the tree again in the step it resumes in.
 *
 * Structural: the functions work on {@link SmVm} / {@link SmVa} /
 * {@link SmVmBo}, which GpuVm / Mapping / VmBo satisfy; nothing here imports
 * those files.
 *
 * Invariants: a walk visits the mappings overlapping the request in address
 * order, computing each successor before the step on the current one runs
 * (the kernel's _safe iteration), so a step may remove the current mapping
 * and insert its remainders; a successor that a step removed (or removed
 * and freed) is skipped, the tree read again after it. The kernel-reserved range is never visited
 * (requests overlapping it are refused first).
 */
import { ArgumentError, ArgumentRangeError, UsageError } from "../errors.js";
import type { Effect } from "../kernel/effect.js";
import { noteTouched } from "../kernel/heap.js";
import { makeNamedOp, type Op } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import { describeValue, is } from "../validate.js";
import { DrmExec, type DrmExecObject, type DrmExecResult } from "./drm-exec.js";
import type { VaTree } from "./va-tree.js";
import { runResultCallback } from "./driver-callback.js";

// --- shapes ---------------------------------------------------------------

/** The GEM object of a mapping or a request, as split/merge sees it (a GemObject satisfies it). */
export type SmGem = DrmExecObject;

/** What a driver step callback returns: undefined or "ok" = 0; any other string is an error code (e.g. "nomem" for -ENOMEM) that aborts the walk and is returned. */
// A callback that returns nothing returns void, hence the void.
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type
export type SmResult = void | "ok" | (string & {});

/** How smMap / smUnmap end: "ok", or the error string a callback returned. */
export type SmWalkResult = "ok" | (string & {});

/** A driver step callback's return: the result, or a generator (yielding effects) returning it. */
export type SmStepReturn = Iterable<Effect, SmResult, unknown> | SmResult;

/**
 * struct drm_gpuva_op_map: where a new mapping goes (addr + range in bytes)
 * and what backs it (obj null: sparse / no GEM). `G` is the GEM type: a
 * GpuVm's ops carry `GemObject`s.
 */
export interface GpuVaOpMapBody<G extends SmGem = SmGem> {
  readonly va: { readonly addr: number; readonly range: number };
  readonly gem: { readonly obj: G | null; readonly offset: number };
}

/** The GEM type of a mapping type: `GemOf<Mapping>` is `GemObject`. */
export type GemOf<V extends SmVa> = NonNullable<V["gem"]["obj"]>;

/** DRM_GPUVA_OP_MAP. */
export interface GpuVaOpMap<G extends SmGem = SmGem> {
  readonly op: "map";
  readonly map: GpuVaOpMapBody<G>;
}

/** struct drm_gpuva_op_unmap: the mapping to remove, and whether its page-table entries may be kept (`keep`: contiguous with the request). */
export interface GpuVaOpUnmapBody<V extends SmVa = SmVa> {
  readonly va: V;
  readonly keep: boolean;
}

/** DRM_GPUVA_OP_REMAP: remove `unmap.va` and map what is left of it before (`prev`) and after (`next`) the request. */
export interface GpuVaOpRemap<V extends SmVa = SmVa> {
  readonly op: "remap";
  readonly remap: { readonly prev: GpuVaOpMapBody<GemOf<V>> | null; readonly next: GpuVaOpMapBody<GemOf<V>> | null; readonly unmap: GpuVaOpUnmapBody<V> };
}

/** DRM_GPUVA_OP_UNMAP. */
export interface GpuVaOpUnmap<V extends SmVa = SmVa> {
  readonly op: "unmap";
  readonly unmap: GpuVaOpUnmapBody<V>;
}

/** DRM_GPUVA_OP_PREFETCH. */
export interface GpuVaOpPrefetch<V extends SmVa = SmVa> {
  readonly op: "prefetch";
  readonly prefetch: { readonly va: V };
}

/** struct drm_gpuva_op. */
export type GpuVaOp<V extends SmVa = SmVa> = GpuVaOpMap<GemOf<V>> | GpuVaOpRemap<V> | GpuVaOpUnmap<V> | GpuVaOpPrefetch<V>;

/** struct drm_gpuvm_map_req. */
export interface SmMapReq<G extends SmGem = SmGem> {
  readonly map: GpuVaOpMapBody<G>;
}

/** The split/merge callbacks of a VM's ops (struct drm_gpuvm_ops sm_step_*). */
export interface SmOps<V extends SmVa = SmVa> {
  smStepMap?(op: GpuVaOpMap<GemOf<V>>, priv: unknown): SmStepReturn;
  smStepRemap?(op: GpuVaOpRemap<V>, priv: unknown): SmStepReturn;
  smStepUnmap?(op: GpuVaOpUnmap<V>, priv: unknown): SmStepReturn;
}

/** A mapping (drm_gpuva) as split/merge uses it; Mapping satisfies it. */
export interface SmVa {
  readonly sim: Sim;
  readonly addr: number;
  readonly range: number;
  readonly gem: { readonly obj: SmGem | null; readonly offset: number };
  readonly state: "prepared" | "inserted" | "removed";
  /** The VM it is inserted in (null before insert): where gpuvaRemap inserts the remainders. */
  readonly vm: object | null;
  /** drm_gpuva_insert(): typed errors at call for a bad or taken range; takes a VM reference. */
  insert(vm: never): Op<void>;
  /** drm_gpuva_remove(): drops the VM reference. */
  remove(): Op<void>;
}

/** A VM (drm_gpuvm) as split/merge uses it; GpuVm satisfies it. */
export interface SmVm<V extends SmVa = SmVa> {
  readonly sim: Sim;
  readonly label: string;
  readonly mmStart: number;
  readonly mmRange: number;
  /**
   * The VA tree, read only here. A footprint key of its own (shared with
   * sim.share, part of the VM), written only by the mappings' insert /
   * remove, whose steps declare a write of the tree itself: the walks note
   * their reads against it.
   */
  readonly tree: VaTree<V>;
  readonly ops: SmOps<V>;
  /** drm_gpuvm_range_valid(): inside the VM, no overflow, clear of the kernel-reserved range. */
  rangeValid(addr: number, range: number): boolean;
}

/** A VmBo (drm_gpuvm_bo) as boUnmapOpsCreate uses it; VmBo satisfies it with the two members below. */
export interface SmVmBo<V extends SmVa = SmVa> {
  readonly sim: Sim;
  readonly label: string;
  readonly vm: SmVm<V>;
  /** Its mappings in link order (drm_gpuvm_bo_for_each_va). */
  mappings(): Iterable<V>;
  /** drm_gem_gpuva_assert_lock_held(vm, obj): files lock-not-held and returns false when the lock is not held. */
  assertGpuvaLockHeld(): boolean;
}

// --- validation -----------------------------------------------------------

function checkVm(argument: string, vm: unknown): SmVm {
  const v = vm as { rangeValid?: unknown; tree?: unknown; ops?: unknown } | null;
  if (typeof v !== "object" || v === null || typeof v.rangeValid !== "function" || typeof v.tree !== "object" || v.tree === null || typeof v.ops !== "object" || v.ops === null) {
    throw new ArgumentError(argument, `must be a GPU VM (tree, ops, rangeValid), got ${describeValue(vm)}`);
  }
  if ((vm as { isFreed?: unknown }).isFreed === true) throw new ArgumentError(argument, `${(vm as SmVm).label} is freed`);
  return v as SmVm;
}

/** Check a request range: numbers first, then drm_gpuvm_range_valid(), naming `addr` or `range` (the kernel's -EINVAL; zero length refused, see docs/kernel-differences.md). */
function checkRange(vm: SmVm, addrName: string, addr: unknown, rangeName: string, range: unknown): void {
  is.count(addrName, addr);
  is.positiveInteger(rangeName, range);
  const a = addr as number;
  const r = range as number;
  if (!Number.isSafeInteger(a + r)) throw new ArgumentRangeError(rangeName, `${addrName} + ${rangeName} must stay a safe integer, got ${a} + ${r}`);
  if (vm.rangeValid(a, r)) return;
  const end = vm.mmStart + vm.mmRange;
  if (a < vm.mmStart || a >= end) {
    throw new ArgumentRangeError(addrName, `0x${a.toString(16)} is outside ${vm.label} [0x${vm.mmStart.toString(16)}, 0x${end.toString(16)})`);
  }
  throw new ArgumentRangeError(rangeName, `[0x${a.toString(16)}, 0x${(a + r).toString(16)}) reaches outside ${vm.label} or into its kernel-reserved range`);
}

function isGem(obj: unknown): obj is SmGem {
  const o = obj as Partial<SmGem> | null;
  return typeof o === "object" && o !== null && typeof o.get === "function" && typeof o.put === "function" && typeof o.resv === "object";
}

/**
 * Check a struct drm_gpuvm_map_req and the range it asks for; return a
 * frozen copy, which is what the walk reads (the caller may change its
 * object after the call: the op runs what was validated).
 */
function checkReq(vm: SmVm, req: unknown): SmMapReq {
  if (typeof req !== "object" || req === null) throw new ArgumentError("req", `must be { map: { va: { addr, range }, gem: { obj, offset } } }, got ${describeValue(req)}`);
  const map = (req as { map?: unknown }).map;
  if (typeof map !== "object" || map === null) throw new ArgumentError("req.map", `must be { va: { addr, range }, gem: { obj, offset } }, got ${describeValue(map)}`);
  const va = (map as { va?: unknown }).va;
  if (typeof va !== "object" || va === null) throw new ArgumentError("req.map.va", `must be { addr, range }, got ${describeValue(va)}`);
  const gem = (map as { gem?: unknown }).gem;
  if (typeof gem !== "object" || gem === null) throw new ArgumentError("req.map.gem", `must be { obj, offset } (obj null for a mapping without a GEM), got ${describeValue(gem)}`);
  const obj = (gem as { obj?: unknown }).obj;
  if (obj !== null && !isGem(obj)) throw new ArgumentError("req.map.gem.obj", `must be a GEM object or null, got ${describeValue(obj)}`);
  if (obj !== null && (obj as { sim?: unknown }).sim !== undefined && (obj as { sim?: unknown }).sim !== vm.sim) {
    throw new ArgumentError("req.map.gem.obj", `${obj.label} belongs to another Sim than ${vm.label}`);
  }
  is.count("req.map.gem.offset", (gem as { offset?: unknown }).offset);
  const v = va as { addr?: unknown; range?: unknown };
  checkRange(vm, "req.map.va.addr", v.addr, "req.map.va.range", v.range);
  const offset = (gem as { offset: number }).offset;
  return Object.freeze({ map: Object.freeze({ va: Object.freeze({ addr: v.addr as number, range: v.range as number }), gem: Object.freeze({ obj, offset }) }) });
}

const STEP_NAMES = { map: "smStepMap", remap: "smStepRemap", unmap: "smStepUnmap" } as const;

function checkSteps(vm: SmVm, needMap: boolean): void {
  for (const op of needMap ? (["map", "remap", "unmap"] as const) : (["remap", "unmap"] as const)) {
    const name = STEP_NAMES[op];
    if (typeof vm.ops[name] !== "function") {
      throw new ArgumentError(`vm.ops.${name}`, `${vm.label} has no ${name} callback: ${needMap ? "smMap needs smStepMap, smStepRemap and smStepUnmap" : "smUnmap needs smStepRemap and smStepUnmap"} (the kernel's -EINVAL)`);
    }
  }
}

// --- the walks ------------------------------------------------------------

function mapBody<G extends SmGem>(addr: number, range: number, obj: G | null, offset: number): GpuVaOpMapBody<G> {
  return { va: { addr, range }, gem: { obj, offset } };
}

function remapOp<V extends SmVa>(prev: GpuVaOpMapBody<GemOf<V>> | null, next: GpuVaOpMapBody<GemOf<V>> | null, va: V, keep: boolean): GpuVaOpRemap<V> {
  return { op: "remap", remap: { prev, next, unmap: { va, keep } } };
}

function unmapOp<V extends SmVa>(va: V, keep: boolean): GpuVaOpUnmap<V> {
  return { op: "unmap", unmap: { va, keep } };
}

/**
 * The walk's next mapping once a step has run: `following` (fixed before
 * the step, the kernel's _safe iteration) if it is still inserted in this
 * VM's tree; else (the step removed it, or removed and freed it) the next
 * one after its address, read again. A mapping a step removed is never
 * handed to a later step.
 */
function stillInserted<V extends SmVa>(vm: SmVm<V>, following: V | undefined): V | undefined {
  let va = following;
  while (va !== undefined && !(va.state === "inserted" && vm.tree.firstOverlap(va.addr, va.range) === va)) va = vm.tree.next(va.addr);
  return va;
}

/**
 * __drm_gpuvm_sm_map() as a generator of its steps, in the kernel's order.
 * The caller runs each step before resuming it; the tree is read again
 * (and the read declared) after every step. `madvise`: only splits, never
 * unmaps, and visits only mappings without a GEM (the kernel's code).
 */
function* mapWalk<V extends SmVa>(vm: SmVm<V>, req: SmMapReq<GemOf<V>>, madvise: boolean): Generator<GpuVaOpMap<GemOf<V>> | GpuVaOpRemap<V> | GpuVaOpUnmap<V>, void, void> {
  const sim = vm.sim;
  const tree = vm.tree;
  const reqObj = req.map.gem.obj;
  const reqOffset = req.map.gem.offset;
  const reqAddr = req.map.va.addr;
  const reqRange = req.map.va.range;
  const reqEnd = reqAddr + reqRange;
  let opMap: GpuVaOpMapBody<GemOf<V>> | null = madvise ? null : req.map;
  noteTouched(sim, tree, false);
  let va = tree.firstOverlap(reqAddr, reqRange);
  while (va !== undefined && va.addr < reqEnd) {
    // The successor is fixed before the step runs: the step may remove va.
    const following = tree.next(va.addr);
    const obj = va.gem.obj;
    const offset = va.gem.offset;
    const addr = va.addr;
    const range = va.range;
    const end = addr + range;
    let merge = obj !== null;
    let done = false;
    if (madvise && obj !== null) {
      // skipped: madvise splits mappings without a GEM only
    } else if (addr === reqAddr) {
      merge &&= obj === reqObj && offset === reqOffset;
      if (end <= reqEnd) {
        if (!madvise) yield unmapOp(va, merge);
        done = end === reqEnd;
      } else {
        yield remapOp(null, mapBody(reqEnd, range - reqRange, obj, offset + reqRange), va, merge);
        if (madvise) opMap = req.map;
        done = true;
      }
    } else if (addr < reqAddr) {
      const lsRange = reqAddr - addr;
      const prev = mapBody(addr, lsRange, obj, offset);
      merge &&= obj === reqObj && offset + lsRange === reqOffset;
      if (end === reqEnd) {
        yield remapOp(prev, null, va, merge);
        if (madvise) opMap = req.map;
        done = true;
      } else if (end < reqEnd) {
        yield remapOp(prev, null, va, merge);
        if (madvise) yield { op: "map", map: mapBody(reqAddr, end - reqAddr, null, 0) };
      } else {
        yield remapOp(prev, mapBody(reqEnd, end - reqEnd, obj, offset + lsRange + reqRange), va, merge);
        if (madvise) opMap = req.map;
        done = true;
      }
    } else {
      merge &&= obj === reqObj && offset === reqOffset + (addr - reqAddr);
      if (end <= reqEnd) {
        if (!madvise) yield unmapOp(va, merge);
        done = end === reqEnd;
      } else {
        yield remapOp(null, mapBody(reqEnd, end - reqEnd, obj, offset + reqEnd - addr), va, merge);
        if (madvise) {
          yield { op: "map", map: mapBody(addr, reqEnd - addr, null, 0) };
          return;
        }
        done = true;
      }
    }
    if (done) break;
    noteTouched(sim, tree, false);
    va = stillInserted(vm, following);
  }
  if (opMap !== null) yield { op: "map", map: opMap };
}

/** __drm_gpuvm_sm_unmap() as a generator of its steps (see mapWalk). */
function* unmapWalk<V extends SmVa>(vm: SmVm<V>, reqAddr: number, reqRange: number): Generator<GpuVaOpRemap<V> | GpuVaOpUnmap<V>, void, void> {
  const sim = vm.sim;
  const tree = vm.tree;
  const reqEnd = reqAddr + reqRange;
  noteTouched(sim, tree, false);
  let va = tree.firstOverlap(reqAddr, reqRange);
  while (va !== undefined && va.addr < reqEnd) {
    const following = tree.next(va.addr);
    const obj = va.gem.obj;
    const offset = va.gem.offset;
    const addr = va.addr;
    const end = addr + va.range;
    const prev = addr < reqAddr ? mapBody(addr, reqAddr - addr, obj, offset) : null;
    const next = end > reqEnd ? mapBody(reqEnd, end - reqEnd, obj, offset + (reqEnd - addr)) : null;
    yield prev !== null || next !== null ? remapOp(prev, next, va, false) : unmapOp(va, false);
    noteTouched(sim, tree, false);
    va = stillInserted(vm, following);
  }
}

/** Call the VM's callback for `op` (the kernel's op_*_cb). */
function callStep(vm: SmVm, op: GpuVaOp, priv: unknown): unknown {
  const ops = vm.ops;
  // RELIES ON: checkSteps() at call; a driver that drops a callback mid-walk gets a UsageError in its task.
  switch (op.op) {
    case "map":
      if (ops.smStepMap === undefined) break;
      return ops.smStepMap(op, priv);
    case "remap":
      if (ops.smStepRemap === undefined) break;
      return ops.smStepRemap(op, priv);
    case "unmap":
      if (ops.smStepUnmap === undefined) break;
      return ops.smStepUnmap(op, priv);
    default:
      break;
  }
  throw new UsageError(`${vm.label}.ops.${STEP_NAMES[op.op as "map"]} went missing during a walk`);
}

/** Run one driver step (the shared driver-callback rules, driver-callback.ts). Returns null for success, else the error string. */
function* runStep(vm: SmVm, op: GpuVaOp, priv: unknown): Generator<Effect, string | null, unknown> {
  return yield* runResultCallback(callStep(vm, op, priv), `${vm.label}.ops.${STEP_NAMES[op.op as "map"]}`);
}

function* smWalk(this: SmVm, steps: Generator<GpuVaOp, void, void>, priv: unknown): Generator<Effect, SmWalkResult, unknown> {
  for (const op of steps) {
    const err = yield* runStep(this, op, priv);
    if (err !== null) return err;
  }
  return "ok";
}

const SM_NAMES = ["vm", null, null, null] as const;

// --- public entry points --------------------------------------------------

/**
 * Mirrors drm_gpuvm_sm_map(): walk the mappings overlapping `req.map.va` in
 * address order and call `vm.ops.smStepUnmap` / `smStepRemap` for each (prev /
 * next remainders with adjusted offsets, `keep` when contiguous with the
 * request), then `smStepMap` with the request, unless a step returned an
 * error. Callbacks may be plain functions or generators (yielding effects).
 *
 * @returns an op resolving to "ok", or the first error string a callback returned (the walk stops there).
 * @throws (at call, nothing emitted) ArgumentError naming `vm`, `req`, `req.map*`, or `vm.ops.smStepMap` / `smStepRemap` / `smStepUnmap` when missing;
 *   ArgumentRangeError naming `req.map.va.addr` / `req.map.va.range` for a range that is not a positive safe-integer span inside the VM clear of its kernel-reserved range (zero length included).
 */
export function smMap<V extends SmVa>(vm: SmVm<V>, req: SmMapReq<GemOf<V>>, priv?: unknown): Op<SmWalkResult> {
  checkVm("vm", vm);
  checkSteps(vm, true);
  const r = checkReq(vm, req);
  return makeNamedOp("drm_gpuvm_sm_map", SM_NAMES, vm as SmVm, smWalk, mapWalk(vm, r, false) as Generator<GpuVaOp, void, void>, priv);
}

/**
 * Mirrors drm_gpuvm_sm_unmap(): for each mapping overlapping
 * `[addr, addr + range)` in address order, `smStepUnmap` (inside it) or
 * `smStepRemap` (reaching out of it, with its prev / next remainders; `keep`
 * false).
 *
 * @returns an op resolving to "ok" or the first error string a callback returned.
 * @throws (at call) ArgumentError naming `vm`, `vm.ops.smStepRemap` / `smStepUnmap`; ArgumentError / ArgumentRangeError naming `addr` or `range` (see smMap).
 */
export function smUnmap<V extends SmVa>(vm: SmVm<V>, addr: number, range: number, priv?: unknown): Op<SmWalkResult> {
  checkVm("vm", vm);
  checkSteps(vm, false);
  checkRange(vm, "addr", addr, "range", range);
  return makeNamedOp("drm_gpuvm_sm_unmap", SM_NAMES, vm as SmVm, smWalk, unmapWalk(vm, addr, range) as Generator<GpuVaOp, void, void>, priv);
}

/**
 * Mirrors drm_gpuvm_sm_map_ops_create(): the steps smMap would deliver, as
 * a list in the kernel's order. A plain function (it allocates no simulated
 * memory); it reads the tree in the current step.
 * @throws as smMap, except that no callbacks are needed.
 */
export function smMapOpsCreate<V extends SmVa>(vm: SmVm<V>, req: SmMapReq<GemOf<V>>): GpuVaOp<V>[] {
  checkVm("vm", vm);
  return [...mapWalk(vm, checkReq(vm, req), false)];
}

/**
 * Mirrors drm_gpuvm_madvise_ops_create(): splits mappings without a GEM at
 * the request's ends (remap + map steps), never unmaps or merges; mappings
 * backed by a GEM are left alone (the kernel's code).
 * @throws as smMapOpsCreate.
 */
export function madviseOpsCreate<V extends SmVa>(vm: SmVm<V>, req: SmMapReq<GemOf<V>>): GpuVaOp<V>[] {
  checkVm("vm", vm);
  return [...mapWalk(vm, checkReq(vm, req), true)];
}

/**
 * Mirrors drm_gpuvm_sm_unmap_ops_create(): the steps smUnmap would deliver.
 * @throws as smUnmap, except that no callbacks are needed.
 */
export function smUnmapOpsCreate<V extends SmVa>(vm: SmVm<V>, addr: number, range: number): GpuVaOp<V>[] {
  checkVm("vm", vm);
  checkRange(vm, "addr", addr, "range", range);
  return [...unmapWalk(vm, addr, range)];
}

/**
 * Mirrors drm_gpuvm_prefetch_ops_create(): one prefetch op per mapping
 * overlapping `[addr, addr + range)`, in address order. Unlike the kernel,
 * the range is checked as for smUnmap (docs/kernel-differences.md).
 * @throws as smUnmapOpsCreate.
 */
export function prefetchOpsCreate<V extends SmVa>(vm: SmVm<V>, addr: number, range: number): GpuVaOpPrefetch<V>[] {
  checkVm("vm", vm);
  checkRange(vm, "addr", addr, "range", range);
  noteTouched(vm.sim, vm.tree, false);
  const out: GpuVaOpPrefetch<V>[] = [];
  vm.tree.forEachInRange(addr, range, (va) => {
    out.push({ op: "prefetch", prefetch: { va } });
  });
  return out;
}

/**
 * Mirrors drm_gpuvm_bo_unmap_ops_create(): one unmap op (keep false) per
 * mapping linked to `vmBo`, in link order. Asserts the lock protecting the
 * GEM's VmBo list (a lock-not-held report when it is not held; the ops are
 * still made, as the kernel's lockdep only warns).
 * @throws ArgumentError naming `vmBo` when it is not a VmBo.
 */
export function boUnmapOpsCreate<V extends SmVa>(vmBo: SmVmBo<V>): GpuVaOpUnmap<V>[] {
  const b = vmBo as Partial<SmVmBo<V>> | null;
  if (typeof b !== "object" || b === null || typeof b.mappings !== "function" || typeof b.assertGpuvaLockHeld !== "function" || typeof b.vm !== "object") {
    throw new ArgumentError("vmBo", `must be a VmBo (vm, mappings(), assertGpuvaLockHeld()), got ${describeValue(vmBo)}`);
  }
  vmBo.assertGpuvaLockHeld();
  noteTouched(vmBo.sim, vmBo, false);
  const out: GpuVaOpUnmap<V>[] = [];
  for (const va of vmBo.mappings()) out.push(unmapOp(va, false));
  return out;
}

function checkExec(vm: SmVm, exec: unknown): DrmExec {
  if (!(exec instanceof DrmExec)) throw new ArgumentError("exec", `must be a DrmExec, got ${describeValue(exec)}`);
  if (exec.sim !== vm.sim) throw new ArgumentError("exec", `belongs to another Sim than ${vm.label}`);
  return exec as DrmExec;
}

/** drm_gpuva_sm_step_lock(): lock the GEM of a mapping a remap or unmap step would touch. */
function* lockWalk(exec: DrmExec, steps: Generator<GpuVaOp, void, void>): Generator<Effect, DrmExecResult, unknown> {
  for (const op of steps) {
    const va = op.op === "remap" ? op.remap.unmap.va : op.op === "unmap" ? op.unmap.va : null;
    const obj = va === null ? null : va.gem.obj;
    if (obj === null) continue;
    const r = yield* exec.lockObj(obj);
    if (r !== "ok") return r;
  }
  return "ok";
}

function* mapExecLock(this: SmVm, exec: DrmExec, numFences: number, req: SmMapReq): Generator<Effect, DrmExecResult, unknown> {
  const obj = req.map.gem.obj;
  if (obj !== null) {
    const r = yield* exec.prepareObj(obj, numFences);
    if (r !== "ok") return r;
  }
  return yield* lockWalk(exec, mapWalk(this, req, false));
}

function* unmapExecLock(this: SmVm, exec: DrmExec, addr: number, range: number): Generator<Effect, DrmExecResult, unknown> {
  return yield* lockWalk(exec, unmapWalk(this, addr, range));
}

/**
 * Mirrors drm_gpuvm_sm_map_exec_lock(): inside `exec`'s retry loop, prepare
 * (lock and reserve `numFences` slots on) the request's GEM, then lock
 * (exec.lockObj) the GEM of every mapping smMap would remap or unmap.
 * The kernel recommends `ignoreDuplicates` on the DrmExec.
 * @returns an op resolving to the first result that is not "ok" ("backoff", "already-held", "interrupted", "nomem"), or "ok".
 * @throws (at call) ArgumentError naming `vm`, `exec` (not a DrmExec of this Sim), `numFences` (not a count), or the request (see smMap).
 */
export function smMapExecLock<V extends SmVa>(vm: SmVm<V>, exec: DrmExec, numFences: number, req: SmMapReq<GemOf<V>>): Op<DrmExecResult> {
  checkVm("vm", vm);
  const e = checkExec(vm, exec);
  is.count("numFences", numFences);
  const r = checkReq(vm, req);
  return makeNamedOp("drm_gpuvm_sm_map_exec_lock", ["vm", "exec", null, null], vm as SmVm, mapExecLock, e, numFences, r);
}

/**
 * Mirrors drm_gpuvm_sm_unmap_exec_lock(): lock the GEM of every mapping
 * smUnmap would remap or unmap.
 * @returns as smMapExecLock.
 * @throws (at call) ArgumentError naming `vm`, `exec`; ArgumentError / ArgumentRangeError naming `addr` or `range`.
 */
export function smUnmapExecLock<V extends SmVa>(vm: SmVm<V>, exec: DrmExec, addr: number, range: number): Op<DrmExecResult> {
  checkVm("vm", vm);
  const e = checkExec(vm, exec);
  checkRange(vm, "addr", addr, "range", range);
  return makeNamedOp("drm_gpuvm_sm_unmap_exec_lock", ["vm", "exec", null, null], vm as SmVm, unmapExecLock, e, addr, range);
}

// --- applying ops ---------------------------------------------------------

function sameAsBody(va: SmVa, body: GpuVaOpMapBody): boolean {
  return va.addr === body.va.addr && va.range === body.va.range && va.gem.obj === body.gem.obj && va.gem.offset === body.gem.offset;
}

function checkBody(argument: string, body: unknown): GpuVaOpMapBody {
  const b = body as Partial<GpuVaOpMapBody> | null;
  if (typeof b !== "object" || b === null || typeof b.va !== "object" || typeof b.gem !== "object") {
    throw new ArgumentError(argument, `must be a map op body { va: { addr, range }, gem: { obj, offset } }, got ${describeValue(body)}`);
  }
  return b as GpuVaOpMapBody;
}

function checkPrepared(argument: string, va: unknown, body: GpuVaOpMapBody, bodyName: string): SmVa {
  const v = va as Partial<SmVa> | null;
  if (typeof v !== "object" || v === null || typeof v.insert !== "function" || typeof v.remove !== "function" || typeof v.sim !== "object") {
    throw new ArgumentError(argument, `must be a mapping (Mapping.fromOp(sim, op)), got ${describeValue(va)}`);
  }
  // The stage changes (insert / remove write the mapping): the read joins
  // the caller's step, and the insert checks it again in its own step.
  noteTouched(v.sim, v, false);
  if (v.state !== "prepared") throw new ArgumentError(argument, `must be a prepared mapping, got one in state "${String(v.state)}"`);
  if (!sameAsBody(v as SmVa, body)) {
    throw new ArgumentError(argument, `must be made from ${bodyName} (Mapping.fromOp): its addr, range, GEM and offset differ`);
  }
  return v as SmVa;
}

function* mapApply(this: SmVm, va: SmVa): Generator<Effect, void, unknown> {
  yield* va.insert(this as never);
}

/**
 * Mirrors drm_gpuva_map(): insert `va`, a prepared mapping made from `op`
 * (Mapping.fromOp: the kernel's drm_gpuva_init_from_op(), which a mapping
 * here does at construction), into `vm`.
 * @throws (at call, nothing changed) ArgumentError naming `vm`, `op`, or
 *   `va` (not prepared, or not made from `op`); the insert's own errors
 *   (a taken or invalid range).
 */
export function gpuvaMap<V extends SmVa>(vm: SmVm<V>, va: V, op: GpuVaOpMapBody): Op<void> {
  checkVm("vm", vm);
  const body = checkBody("op", op);
  checkPrepared("va", va, body, "op");
  return makeNamedOp("drm_gpuva_map", ["vm", "va", null, null], vm as SmVm, mapApply, va as SmVa);
}

function* remapApply(this: SmVa, prev: SmVa | null, next: SmVa | null): Generator<Effect, void, unknown> {
  // ORDER: as the kernel, the old mapping goes first, so the remainders find their range free.
  // `vm` is set by insert (a write of the mapping): noted in the step that reads it.
  noteTouched(this.sim, this, false);
  const vm = this.vm;
  yield* this.remove();
  if (prev !== null) yield* prev.insert(vm as never);
  if (next !== null) yield* next.insert(vm as never);
}

/**
 * Mirrors drm_gpuva_remap(): remove `op.unmap.va` and insert `prev` (made
 * from `op.prev`) and `next` (made from `op.next`) into its VM. A remainder
 * the op does not have is ignored, as in the kernel.
 * @throws (at call, nothing changed) ArgumentError naming `op` (not a remap
 *   op, or its mapping not inserted), `prev` / `next` (missing where the op
 *   has a remainder, not prepared, or not made from it).
 */
export function gpuvaRemap<V extends SmVa>(prev: V | null, next: V | null, op: GpuVaOpRemap<V>["remap"]): Op<void> {
  const o = op as { prev?: unknown; next?: unknown; unmap?: { va?: unknown } | null } | null;
  if (typeof o !== "object" || o === null || typeof o.unmap !== "object" || o.unmap === null || o.prev === undefined || o.next === undefined) {
    throw new ArgumentError("op", `must be a remap op body { prev, next, unmap }, got ${describeValue(op)}`);
  }
  const va = checkInserted("op.unmap.va", o.unmap.va);
  const p = o.prev === null ? null : checkPrepared("prev", prev, checkBody("op.prev", o.prev), "op.prev");
  const n = o.next === null ? null : checkPrepared("next", next, checkBody("op.next", o.next), "op.next");
  if (p !== null && p === n) throw new ArgumentError("next", "must be another mapping than prev");
  return makeNamedOp("drm_gpuva_remap", ["op.unmap.va", "prev", "next", null], va, remapApply, p, n);
}

function checkInserted(argument: string, va: unknown): SmVa {
  const v = va as Partial<SmVa> | null;
  if (typeof v !== "object" || v === null || typeof v.remove !== "function" || typeof v.sim !== "object") throw new ArgumentError(argument, `must be a mapping, got ${describeValue(va)}`);
  // As checkPrepared: noted in the caller's step; remove() checks it again in its own.
  noteTouched(v.sim, v, false);
  if (v.state !== "inserted") throw new ArgumentError(argument, `must be an inserted mapping, got one in state "${String(v.state)}"`);
  return v as SmVa;
}

function* unmapApply(this: SmVa): Generator<Effect, void, unknown> {
  yield* this.remove();
}

/**
 * Mirrors drm_gpuva_unmap(): remove `op.va` from its VM.
 * @throws (at call) ArgumentError naming `op` / `op.va` (not an inserted mapping).
 */
export function gpuvaUnmap<V extends SmVa>(op: GpuVaOpUnmap<V>["unmap"]): Op<void> {
  if (typeof op !== "object" || (op as unknown) === null) throw new ArgumentError("op", `must be an unmap op body { va, keep }, got ${describeValue(op)}`);
  const va = checkInserted("op.va", op.va);
  return makeNamedOp("drm_gpuva_unmap", ["op.va", null, null, null], va, unmapApply);
}
