/**
 * Mapping: one GPU VA mapping (a range of a VM, backed by a GEM object or not).
 *
 * Mirrors: struct drm_gpuva — drm_gpuva_init(), drm_gpuva_init_from_op(),
 *   drm_gpuva_insert(), drm_gpuva_remove(), drm_gpuva_link(),
 *   drm_gpuva_unlink(), drm_gpuva_unlink_defer(), drm_gpuva_invalidate().
 * Ownership: made and freed by the driver (it is not refcounted). Once
 *   inserted it holds one reference of its VM ("gpuva"), dropped by
 *   remove(); once linked, one reference of its VmBo ("gpuva"), dropped by
 *   the unlink.
 * Locking: the VM's tree is the driver's to protect (insert/remove assert
 *   nothing, as in the kernel); the VmBo's mapping list is protected by
 *   gemGpuvaLock(vm, obj), asserted by linkLocked/unlinkLocked; link, unlink
 *   and unlinkDeferred take it themselves.
 * States: prepared → inserted → removed; independently unlinked ⇄ linked
 *   (`vmBo`). An operation in the wrong stage (insert twice, remove a
 *   prepared mapping, link a removed one, unlink an unlinked one) is a
 *   `gpuvm-wrong-stage` report and does nothing.
 * Invariants: an inserted mapping is in its VM's tree at [addr, addr+range);
 *   a linked one is on its VmBo's mapping list, and vmBo.obj === gem.obj.
 */
import { ArgumentError, ArgumentRangeError } from "../errors.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";
import { defineEffectKind, Effect, WRITE } from "../kernel/effect.js";
import { guardLive, LIBRARY_CLASS, noteTouched, SimObject, touch } from "../kernel/heap.js";
import { makeOp, type Op } from "../kernel/op.js";
import { Sim } from "../kernel/sim.js";
import { GemObject, gemGpuvaLock, gpuvmMisuse, wrongStage } from "./gem-object.js";
import { checkLiveVm, GPUVA_TREE, GPUVM_HOLDER, type GpuVm, inKernelNode, rangeValidNow } from "./gpuvm.js";
import { VM_BO_GPUVA_HOLDER, VM_BO_PUT_HOLDER, VmBo, zombieSteps } from "./vm-bo.js";
import type { DrmExecObject } from "./drm-exec.js";

/** A mapping's lifecycle stage. */
export type MappingState = "prepared" | "inserted" | "removed";

/** What drm_gpuva_init() takes. */
export interface MappingInit {
  /** A name for reports. */
  readonly name?: string;
  /** Start address (bytes, integer >= 0). */
  readonly addr: number;
  /** Length (bytes, integer >= 1). */
  readonly range: number;
  /** The backing GEM object, or null/absent for none (a sparse or NULL mapping). */
  readonly obj?: GemObject | null;
  /** Offset into the GEM object (bytes, integer >= 0; default 0). */
  readonly offset?: number;
  /** DRM_GPUVA_SPARSE. Default false. */
  readonly sparse?: boolean;
}

const INIT_SPEC: Spec<MappingInit> = {
  name: is.string,
  addr: is.count,
  range: is.positiveInteger,
  obj: (argument, v) => {
    if (v !== null && !(v instanceof GemObject)) throw new ArgumentError(argument, `must be a GemObject or null, got ${describeValue(v)}`);
  },
  offset: is.count,
  sparse: is.boolean,
};

/** A step that changes a VmBo's mapping list (drm_gpuva_link / drm_gpuva_unlink). */
export const GPUVA_LINK = defineEffectKind({ name: "gpuva-link" });
/** drm_gpuva_invalidate(). */
export const GPUVA_INVALIDATE = defineEffectKind({ name: "gpuva-invalidate" });

/**
 * The map half of a split/merge op, as Mapping.fromOp() reads it. `obj` is
 * typed as split/merge types it (the op a step callback receives), and must
 * be a GemObject or null at run time.
 */
export interface GpuVaOpMapLike {
  readonly map: { readonly va: { readonly addr: number; readonly range: number }; readonly gem: { readonly obj: DrmExecObject | null; readonly offset: number } };
}

export class Mapping extends SimObject {
  /** @internal A library class: its operations declare their own footprints (heap.ts). */
  static readonly [LIBRARY_CLASS] = true;
  readonly addr: number;
  readonly range: number;
  readonly gem: { readonly obj: GemObject | null; readonly offset: number };
  readonly sparse: boolean;
  /** @internal `invalidated`, for this file's steps that declare the mapping. */
  invalidatedNow = false;
  /** @internal `state`, for this file's steps that declare the mapping. */
  stateNow: MappingState = "prepared";
  /** @internal `vm`, for this file's steps that declare the mapping. */
  vmNow: GpuVm | null = null;
  /** @internal `vmBo`, for this file's steps that declare the mapping. */
  vmBoNow: VmBo | null = null;

  // The four below are accessors of each instance (see NOTED_FIELDS): a
  // read joins the current step's footprint, and, like a plain field, stays
  // readable after the driver frees the mapping (no use-after-free report).
  /** DRM_GPUVA_INVALIDATED (set by invalidate()). */
  declare readonly invalidated: boolean;
  /** Its lifecycle stage (readable after the driver frees it). */
  declare readonly state: MappingState;
  /** The VM it was inserted in, or null (set by insert(); kept after remove()). */
  declare readonly vm: GpuVm | null;
  /** The VmBo it is linked to, or null. */
  declare readonly vmBo: VmBo | null;

  /**
   * Mirrors drm_gpuva_init(): `new Mapping(sim, { addr, range, obj, offset })`, prepared.
   * @throws ArgumentError naming `sim`, `init` (not an object; an unknown
   *   key), `init.name`, `init.addr` (ArgumentRangeError unless an integer
   *   >= 0), `init.range` (unless an integer >= 1, also when addr + range
   *   overflows), `init.obj` (not a GemObject or null), `obj` (of another
   *   Sim, or freed), `init.offset` (ArgumentRangeError unless an integer
   *   >= 0 whose offset + range stays a safe integer), `init.sparse`.
   */
  constructor(sim: Sim, init: MappingInit) {
    arg("sim", is.instanceOf(Sim), sim);
    if ((init as MappingInit | null) === null || typeof init !== "object") throw new ArgumentError("init", `must be { addr, range, obj?, offset?, sparse? }, got ${describeValue(init)}`);
    checkOptions("init", init, INIT_SPEC);
    if ((init.addr as number | undefined) === undefined) throw new ArgumentError("init.addr", "is required");
    if ((init.range as number | undefined) === undefined) throw new ArgumentError("init.range", "is required");
    if (!Number.isSafeInteger(init.addr + init.range)) throw new ArgumentRangeError("init.range", `addr + range must stay a safe integer, got ${init.addr} + ${init.range}`);
    const obj = init.obj ?? null;
    if (obj !== null && obj.sim !== sim) throw new ArgumentError("obj", `${obj.label} belongs to another Sim`);
    if (obj !== null && (obj.isFreed || obj.refcount.count <= 0)) throw new ArgumentError("obj", `${obj.label} is freed or being released`);
    if (!Number.isSafeInteger((init.offset ?? 0) + init.range)) throw new ArgumentRangeError("init.offset", `offset + range must stay a safe integer, got ${init.offset ?? 0} + ${init.range}`);
    super(sim, "Mapping", init.name === undefined ? {} : { name: init.name });
    this.addr = init.addr;
    this.range = init.range;
    this.gem = Object.freeze({ obj, offset: init.offset ?? 0 });
    this.sparse = init.sparse ?? false;
    Object.defineProperties(this, NOTED_FIELDS);
  }

  /**
   * Mirrors drm_gpuva_init_from_op(): a step callback's `Mapping.fromOp(sim, op)`. The op is read once, here.
   * @throws ArgumentError naming `op` when it is not `{ map: { va: { addr,
   *   range }, gem: { obj, offset } } }`; otherwise as the constructor
   *   (`init.obj` when the op's GEM is no GemObject).
   */
  static fromOp(sim: Sim, op: GpuVaOpMapLike): Mapping {
    const bad = (): ArgumentError => new ArgumentError("op", `must be a map op { map: { va: { addr, range }, gem: { obj, offset } } }, got ${describeValue(op)}`);
    if (typeof op !== "object" || (op as GpuVaOpMapLike | null) === null) throw bad();
    const map = op.map as GpuVaOpMapLike["map"] | null | undefined;
    if (typeof map !== "object" || map === null) throw bad();
    const va = map.va as GpuVaOpMapLike["map"]["va"] | null | undefined;
    const gem = map.gem as GpuVaOpMapLike["map"]["gem"] | null | undefined;
    if (typeof va !== "object" || va === null || typeof gem !== "object" || gem === null) throw bad();
    // The constructor checks that obj is a GemObject (or null): `init.obj` otherwise.
    return new Mapping(sim, { addr: va.addr, range: va.range, obj: gem.obj as GemObject | null, offset: gem.offset });
  }

  /**
   * Mirrors drm_gpuva_insert(): into `vm`'s tree, then a VM reference
   * ("gpuva"). A mapping that is not prepared: `gpuvm-wrong-stage`.
   * @throws ArgumentError naming `vm` (not a GpuVm, another Sim, or
   *   freed); ArgumentRangeError naming `range` when the mapping lies
   *   outside the VM or overlaps its kernel-reserved range (-EINVAL);
   *   ArgumentError naming `addr` when it overlaps a mapping (-EEXIST).
   *   Nothing changed then. (If another task inserts an overlapping mapping
   *   between the call and the step, the step throws the same error.)
   */
  insert(vm: GpuVm): Op<void> {
    checkLiveVm("vm", vm, this.sim);
    // The stage and the tree are read in the caller's step (noted there), and again in the insert's step.
    if (this.state === "prepared") {
      noteTouched(this.sim, vm.tree, false);
      checkInsert(this, vm);
    }
    return makeOp("drm_gpuva_insert", this, insertBody, vm);
  }

  /** Mirrors drm_gpuva_remove(): out of the tree, then the VM reference dropped. Not inserted: `gpuvm-wrong-stage`. */
  remove(): Op<void> {
    return makeOp("drm_gpuva_remove", this, removeBody);
  }

  /**
   * Mirrors drm_gpuva_link(): takes a `vmBo` reference ("gpuva") and adds
   * the mapping to its list, asserting gemGpuvaLock(vm, obj). No GEM: does
   * nothing. Not inserted, already linked, or a zombie/freed VmBo:
   * `gpuvm-wrong-stage`.
   * @throws ArgumentError naming `vmBo` (not a VmBo, of another Sim, of
   *   another VM than the mapping's, or linking another GEM object).
   *   Nothing changed then. (If another task inserts the mapping into
   *   another VM between the call and the step, the step throws the same
   *   error; link() releases the lock first.)
   */
  linkLocked(vmBo: VmBo): Op<void> {
    checkVmBo(this, vmBo);
    return makeOp("drm_gpuva_link", this, linkLockedBody, vmBo);
  }

  /** linkLocked() with gemGpuvaLock taken and released here. @throws as {@link linkLocked}. */
  link(vmBo: VmBo): Op<void> {
    checkVmBo(this, vmBo);
    return makeOp("drm_gpuva_link_unlocked", this, linkBody, vmBo);
  }

  /**
   * Mirrors drm_gpuva_unlink(): off its VmBo's list (asserting the lock),
   * then putLocked() of the VmBo's "gpuva" reference (which may destroy
   * it). No GEM: does nothing. Not linked: `gpuvm-wrong-stage`.
   */
  unlinkLocked(): Op<void> {
    return makeOp("drm_gpuva_unlink", this, unlinkLockedBody);
  }

  /** unlinkLocked() with the GEM reference dance: GEM reference, lock, unlink, unlock, GEM put. */
  unlink(): Op<void> {
    return makeOp("drm_gpuva_unlink_unlocked", this, unlinkBody);
  }

  /**
   * Mirrors drm_gpuva_unlink_defer() (immediate mode; a wrong-mode report
   * otherwise): takes the GEM's gpuvaLock, unlinks, drops the VmBo's
   * reference; the last one makes it a zombie, queued for
   * vm.boDeferredCleanup() after the mutex is released.
   */
  unlinkDeferred(): Op<void> {
    return makeOp("drm_gpuva_unlink_defer", this, unlinkDeferredBody);
  }

  /** Mirrors drm_gpuva_invalidate(). @throws ArgumentError naming `flag` (not a boolean). */
  invalidate(flag: boolean): Op<void> {
    arg("flag", is.boolean, flag);
    return makeOp("drm_gpuva_invalidate", this, invalidateBody, flag);
  }
}

/** A public field read by a driver: noted as a read of the mapping (heap.ts noteTouched()). */
function noted(read: (va: Mapping) => unknown): PropertyDescriptor {
  return {
    get(this: Mapping): unknown {
      noteTouched(this.sim, this, false);
      return read(this);
    },
    enumerable: true,
  };
}

/**
 * The mapping's public state fields, defined on each instance rather than
 * the prototype: the heap's trap on a freed object reports every prototype
 * member, and these stay readable after the free, as plain fields were.
 */
const NOTED_FIELDS: PropertyDescriptorMap = {
  invalidated: noted((va) => va.invalidatedNow),
  state: noted((va) => va.stateNow),
  vm: noted((va) => va.vmNow),
  vmBo: noted((va) => va.vmBoNow),
};

function setState(va: Mapping, s: MappingState): void {
  va.stateNow = s;
}

function span(va: Mapping): string {
  return `[0x${va.addr.toString(16)}, +0x${va.range.toString(16)})`;
}

function checkInsert(va: Mapping, vm: GpuVm): void {
  if (inKernelNode(vm, va.addr, va.range)) throw new ArgumentRangeError("range", `${va.label} ${span(va)} overlaps ${vm.label}'s kernel-reserved range`);
  if (!rangeValidNow(vm, va.addr, va.range)) throw new ArgumentRangeError("range", `${va.label} ${span(va)} lies outside ${vm.label}'s range [0x${vm.mmStart.toString(16)}, +0x${vm.mmRange.toString(16)})`);
  const other = vm.tree.firstOverlap(va.addr, va.range);
  if (other !== undefined) throw new ArgumentError("addr", `${va.label} ${span(va)} overlaps ${other.label} ${span(other)} in ${vm.label}`);
}

function checkVmBo(va: Mapping, vmBo: VmBo): void {
  arg("vmBo", is.instanceOf(VmBo), vmBo);
  if (vmBo.sim !== va.sim) throw new ArgumentError("vmBo", `${vmBo.label} belongs to another Sim`);
  // `va.vm` (noted by the getter) may change before the step, which checks it again.
  const other = otherVm(va, va.vm, vmBo);
  if (other !== null) throw other;
  if (va.gem.obj !== null && vmBo.obj !== va.gem.obj) throw new ArgumentError("vmBo", `${vmBo.label} links ${vmBo.obj.label}, but ${va.label} maps ${va.gem.obj.label}`);
}

/** The error for linking `vmBo` to a mapping inserted in another VM than the VmBo's, or null. */
function otherVm(va: Mapping, vm: GpuVm | null, vmBo: VmBo): ArgumentError | null {
  return vm !== null && vmBo.vm !== vm ? new ArgumentError("vmBo", `${vmBo.label} belongs to ${vmBo.vm.label}, not to ${vm.label}`) : null;
}

function* insertBody(this: Mapping, vm: GpuVm): Generator<Effect, void, unknown> {
  yield new Effect(GPUVA_TREE, this, WRITE, vm.tree, null, Infinity, null, [{ object: this, mode: "write" }]);
  touch(this.sim, vm.tree, true, "drm_gpuva_insert");
  if (!guardLive(this, "drm_gpuva_insert") || !guardLive(vm, "drm_gpuva_insert")) return;
  if (this.stateNow !== "prepared") {
    wrongStage(this, this.stateNow, "drm_gpuva_insert", "a prepared mapping");
    return;
  }
  checkInsert(this, vm);
  vm.tree.insert(this.addr, this.range, this);
  this.vmNow = vm;
  setState(this, "inserted");
  yield* vm.get(GPUVM_HOLDER.gpuva);
}

function* removeBody(this: Mapping): Generator<Effect, void, unknown> {
  // Which VM (and whether there is one) is read in a step of its own that
  // declares the mapping: an insert changes both.
  yield new Effect(GPUVA_TREE, this, WRITE);
  if (!guardLive(this, "drm_gpuva_remove")) return;
  const vm = this.vmNow;
  if (vm === null || this.stateNow !== "inserted") {
    wrongStage(this, this.stateNow, "drm_gpuva_remove", "an inserted mapping");
    return;
  }
  yield new Effect(GPUVA_TREE, this, WRITE, vm.tree, null, Infinity, null, [{ object: this, mode: "write" }]);
  touch(this.sim, vm.tree, true, "drm_gpuva_remove");
  if (!guardLive(this, "drm_gpuva_remove") || !guardLive(vm, "drm_gpuva_remove")) return;
  // Another remove may have run between the two steps.
  if ((this.stateNow as MappingState) !== "inserted") {
    wrongStage(this, this.stateNow, "drm_gpuva_remove", "an inserted mapping");
    return;
  }
  vm.tree.remove(this.addr);
  setState(this, "removed");
  yield* vm.put(GPUVM_HOLDER.gpuva);
}

/** The wrong-stage checks of a link, in the link's first step; false when it must not go on. */
function linkAllowed(va: Mapping, vmBo: VmBo, op: string): boolean {
  if (va.stateNow !== "inserted") {
    wrongStage(va, va.stateNow, op, "an inserted mapping");
    return false;
  }
  const linked = va.vmBoNow;
  if (linked !== null) {
    wrongStage(va, "linked", op, `a mapping not linked yet (it is linked to ${linked.label})`);
    return false;
  }
  if (vmBo.state === "zombie" || vmBo.state === "freed") {
    wrongStage(vmBo, vmBo.state, op, "a live VmBo (prealloc or linked)");
    return false;
  }
  return true;
}

/**
 * The link's step: the checks (the VM again, as at the call, since an
 * insert may have run since), then onto the list and the VmBo reference.
 * Returns the error to throw (a VmBo of another VM), or null.
 */
function* linkStep(va: Mapping, vmBo: VmBo, obj: GemObject): Generator<Effect, ArgumentError | null, unknown> {
  yield new Effect(GPUVA_LINK, va, WRITE, vmBo.gpuva, null, Infinity, null, [
    { object: va, mode: "write" },
    { object: vmBo, mode: "read" },
  ]);
  if (!guardLive(va, "drm_gpuva_link") || !guardLive(vmBo, "drm_gpuva_link")) return null;
  const other = otherVm(va, va.vmNow, vmBo);
  if (other !== null) return other;
  if (!linkAllowed(va, vmBo, "drm_gpuva_link")) return null;
  gemGpuvaLock(vmBo.vm, obj).assertHeld();
  touch(va.sim, vmBo.gpuva, true, "drm_gpuva_link");
  vmBo.gpuva.push(va);
  va.vmBoNow = vmBo;
  // The kernel takes the reference first; taking it right after, in the
  // same thread under the same lock, is the same to every other task.
  yield* vmBo.get(VM_BO_GPUVA_HOLDER);
  return null;
}

function* linkLockedBody(this: Mapping, vmBo: VmBo): Generator<Effect, void, unknown> {
  const obj = this.gem.obj;
  if (obj === null) return;
  const refused = yield* linkStep(this, vmBo, obj);
  if (refused !== null) throw refused;
}

function* linkBody(this: Mapping, vmBo: VmBo): Generator<Effect, void, unknown> {
  const obj = this.gem.obj;
  if (obj === null) return;
  const lock = gemGpuvaLock(vmBo.vm, obj);
  yield* lock.lock();
  const refused = yield* linkStep(this, vmBo, obj);
  yield* lock.unlock();
  if (refused !== null) throw refused;
}

/** Take the mapping off its VmBo's list, asserting the lock; returns the VmBo, or null (reported). */
function* unlinkStep(va: Mapping, op: string, assertLock: boolean): Generator<Effect, VmBo | null, unknown> {
  const b = va.vmBoNow;
  if (b === null) {
    yield new Effect(GPUVA_LINK, va, WRITE);
    if (guardLive(va, op)) wrongStage(va, "not linked", op, "a linked mapping");
    return null;
  }
  yield new Effect(GPUVA_LINK, va, WRITE, b.gpuva, null, Infinity, null, [{ object: va, mode: "write" }]);
  if (!guardLive(va, op) || !guardLive(b, op)) return null;
  if (va.vmBoNow !== b) {
    wrongStage(va, "not linked", op, "a linked mapping");
    return null;
  }
  if (assertLock) gemGpuvaLock(b.vm, b.obj).assertHeld();
  touch(va.sim, b.gpuva, true, op);
  const i = b.gpuva.indexOf(va);
  if (i >= 0) b.gpuva.splice(i, 1);
  va.vmBoNow = null;
  return b;
}

function* unlinkLockedBody(this: Mapping): Generator<Effect, void, unknown> {
  if (this.gem.obj === null) return;
  const b = yield* unlinkStep(this, "drm_gpuva_unlink", true);
  if (b !== null) yield* b.putLocked(VM_BO_GPUVA_HOLDER);
}

/**
 * The first step of an unlink that takes the lock itself: which VmBo (and
 * so which lock) is read in a step that declares the mapping. Not linked:
 * `gpuvm-wrong-stage` in that step, and null.
 */
function* linkedVmBo(va: Mapping, op: string): Generator<Effect, VmBo | null, unknown> {
  yield new Effect(GPUVA_LINK, va, WRITE);
  if (!guardLive(va, op)) return null;
  const b = va.vmBoNow;
  if (b === null) wrongStage(va, "not linked", op, "a linked mapping");
  return b;
}

function* unlinkBody(this: Mapping): Generator<Effect, void, unknown> {
  const obj = this.gem.obj;
  if (obj === null) return;
  const b = yield* linkedVmBo(this, "drm_gpuva_unlink");
  if (b === null) return;
  // ORDER: a GEM reference before the lock: the unlink may drop the VmBo's
  // last reference, and with it the GEM's, and free the lock held here.
  yield* obj.get(VM_BO_PUT_HOLDER);
  // Any VmBo the mapping may be linked to by now is of the same VM and GEM: the same lock.
  const lock = gemGpuvaLock(b.vm, obj);
  yield* lock.lock();
  yield* unlinkLockedBody.call(this);
  yield* lock.unlock();
  yield* obj.put(VM_BO_PUT_HOLDER);
}

function* unlinkDeferredBody(this: Mapping): Generator<Effect, void, unknown> {
  const obj = this.gem.obj;
  if (obj === null) return;
  const b = yield* linkedVmBo(this, "drm_gpuva_unlink_defer");
  if (b === null) return;
  if (!b.vm.flags.immediateMode) gpuvmMisuse(b.vm, this, "wrong-mode", "drm_gpuva_unlink_defer", "deferred unlinks are for immediate-mode VMs");
  yield* obj.gpuvaLock.lock();
  const got = yield* unlinkStep(this, "drm_gpuva_unlink_defer", false);
  if (got === null) {
    yield* obj.gpuvaLock.unlock();
    return;
  }
  const zombie = yield* got.refcount.put(zombieSteps.intoZombie, VM_BO_GPUVA_HOLDER);
  yield* obj.gpuvaLock.unlock();
  if (zombie) yield* zombieSteps.deferZombie(got);
}

function* invalidateBody(this: Mapping, flag: boolean): Generator<Effect, void, unknown> {
  yield new Effect(GPUVA_INVALIDATE, this, WRITE);
  if (!guardLive(this, "drm_gpuva_invalidate")) return;
  this.invalidatedNow = flag;
}
