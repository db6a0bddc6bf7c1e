/**
 * VmBoList: a GPU VM's extobj or evict list of VmBos, and the VM's
 * functions that walk them.
 *
 * Mirrors: the extobj/evict members of struct drm_gpuvm and their helpers
 *   in drm_gpuvm.c — get_next_vm_bo_from_list(), for_each_vm_bo_in_list(),
 *   restore_vm_bo_list(), drm_gpuvm_bo_list_add()/_del()/_del_init(),
 *   drm_gpuvm_bo_is_zombie(); and drm_gpuvm_prepare_vm(), _prepare_objects()
 *   (+ _locked), _prepare_range(), _exec_lock(), _exec_lock_array(),
 *   _exec_lock_range(), _validate() (+ _locked), _resv_add_fence(),
 *   drm_gpuvm_bo_extobj_add(), drm_gpuvm_bo_evict(), drm_gpuvm_bo_gem_evict().
 * Ownership: a list holds no references to its entries; an entry's destroy
 *   path removes it. A snapshot walk holds one reference (holder tag
 *   `"vm_bo list walk"`) to the entry it is visiting.
 * Locking, by the VM's `listMode`:
 *   "spinlock": the list's own SpinLock (`lock`); walks move each entry to a
 *     local snapshot under it and run the body without it.
 *   "resv":     the VM's resv (asserted by add, del and walk).
 *   "two-list": new entries go to a spinlock-protected side list; a walk,
 *     under the VM's resv, splices it into the resv-protected main list.
 * States: an entry is on the main list, the walk's snapshot, the side list
 *   (two-list), or none (`entry.listLinks`).
 * Invariants: an entry is on at most one of the three per list; at most
 *   one snapshot walk per list at a time (a second is reported); walks skip
 *   zombies (refcount 0).
 *
 * docs/vm-bo-list.md draws the three modes and the snapshot walk's race.
 */
import { ArgumentError, ForeignSimError, ArgumentRangeError, UsageError } from "../errors.js";
import { arg, checkOptions, describeValue, is, type Spec } from "../validate.js";
import { defineEffectKind, Effect, READ, WRITE, type Access } from "../kernel/effect.js";
import { guardLive, LIBRARY_CLASS, noteTouched, siteRef, SimObject, touch, type Site } from "../kernel/heap.js";
import { makeOp, type Op } from "../kernel/op.js";
import { checkedBody } from "../kernel/checked-body.js";
import { current } from "../kernel/task.js";
import { SpinLock } from "../locking/spinlock.js";
import { DmaResv, type DmaResvUsage } from "../dma-buf/dma-resv.js";
import { DmaFence } from "../dma-buf/dma-fence.js";
import { runCallbackResult, runResultCallback } from "./driver-callback.js";
import { DrmExec, type DrmExecObject, type DrmExecOptions, type DrmExecResult } from "./drm-exec.js";

/** How a VM's extobj and evict lists are protected (see the file header). */
export type VmBoListMode = "spinlock" | "resv" | "two-list";

/** Which of a VM's lists. */
export type VmBoListWhich = "extobj" | "evict";

/** What a driver callback returns: undefined or "ok" = 0; any other string is an error code that stops the walk and is returned. */
// A callback that returns nothing returns void, hence the void.
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type
export type VmBoListResult = void | "ok" | (string & {});

/** What a VM's lists need of a GEM object (structural: a GemObject satisfies it). */
export interface VmBoListGem extends DrmExecObject {
  /** The mutex that protects the GEM's VmBo list in immediate mode (drm_gem_object.gpuva.lock). */
  readonly gpuvaLock: { assertHeld(): boolean };
  /** Its VmBos in list order (drm_gem_for_each_gpuvm_bo); a query. */
  vmBos(): readonly VmBoListEntry[];
}

/** The VM's driver ops the lists call. */
export interface VmBoListOps<E extends VmBoListEntry = VmBoListEntry> {
  /** drm_gpuvm_ops.vm_bo_validate: make an evicted VmBo's backing valid again; a string other than "ok" is an error. */
  vmBoValidate?(vmBo: E, exec: DrmExec): Iterable<Effect, VmBoListResult, unknown> | VmBoListResult;
}

/** What the lists need of their VM (structural: a GpuVm satisfies it). */
export interface VmBoListOwner<E extends VmBoListEntry = VmBoListEntry> extends SimObject {
  readonly label: string;
  readonly listMode: VmBoListMode;
  readonly flags: { readonly resvProtected: boolean; readonly immediateMode: boolean };
  /** The VM's common reservation object: resvObj.resv. */
  readonly resv: DmaResv;
  /** The GEM object whose resv the VM shares (r_obj). */
  readonly resvObj: DrmExecObject;
  readonly extobj: VmBoList<E>;
  readonly evict: VmBoList<E>;
  readonly ops: VmBoListOps<E>;
  /** drm_gpuvm_is_extobj(): the object's resv is not the VM's. */
  isExtobj(obj: DrmExecObject): boolean;
  /** The mappings overlapping [addr, addr+range), address order (drm_gpuvm_for_each_va_range). */
  vasInRange(addr: number, range: number): readonly { readonly gem: { readonly obj: DrmExecObject | null } }[];
}

/** What a list entry is (structural: a VmBo satisfies it). A SimObject. */
export interface VmBoListEntry extends SimObject {
  readonly label: string;
  /** "prealloc" | "linked" | "zombie" | "freed": a walk skips zombies. */
  readonly state: string;
  readonly vm: VmBoListOwner;
  readonly obj: VmBoListGem;
  /** Whether its GEM is evicted; written under the evict list's protection. */
  evicted: boolean;
  /** Its count (kref_read()): a resv-protected walk skips an entry at zero (drm_gpuvm_bo_is_zombie()). */
  readonly refcount: { read(): number };
  /** kref_get_unless_zero(). */
  getUnlessZero(holder?: string): Op<boolean>;
  /** drm_gpuvm_bo_put(): the caller holds the GEM's VmBo-list lock if this may be the last reference. */
  putLocked(holder?: string): Op<boolean>;
  /** @internal Owned by this module. */
  listLinks: VmBoListLinks;
}

/** Where an entry is, per list: the main list, a walk's snapshot, the two-list scheme's side list, or none. */
export type VmBoListPlace = "list" | "local" | "pending" | null;

/**
 * @internal Which of its VM's lists an entry is on: the kernel's
 * `list.entry.extobj` / `list.entry.evict` heads. Owned by this module;
 * a VmBo makes one with `new VmBoListLinks()`.
 */
export class VmBoListLinks {
  extobj: VmBoListPlace = null;
  evict: VmBoListPlace = null;
}

/** The holder tag of the reference a snapshot walk holds on the entry it visits. */
export const VM_BO_LIST_WALK_HOLDER = "vm_bo list walk";

/** drm_gpuvm_bo_list_add(): writes the list and the entry's links. */
export const VM_BO_LIST_ADD = defineEffectKind({ name: "vm-bo-list-add" });
/** drm_gpuvm_bo_list_del(): writes the list and the entry's links. */
export const VM_BO_LIST_DEL = defineEffectKind({ name: "vm-bo-list-del" });
/** One step of a walk: takes the next entry (snapshot walk: moves it, writes the list; locked walk: reads). */
export const VM_BO_LIST_NEXT = defineEffectKind({ name: "vm-bo-list-next" });
/** restore_vm_bo_list(), or the two-list splice: moves a whole list back (or over), writes the list and the moved entries. */
export const VM_BO_LIST_SPLICE = defineEffectKind({ name: "vm-bo-list-splice" });
/** drm_gpuvm_bo_evict()'s flag write: writes the VmBo. */
export const VM_BO_EVICT = defineEffectKind({ name: "vm-bo-evict" });

/** A body of {@link VmBoList.walk}: "break" stops early; another string other than "ok" is an error returned by the walk. */
export type VmBoListWalkBody<E> = (vmBo: E) => Iterable<Effect, VmBoListResult | "break", unknown> | VmBoListResult | "break";

/** @internal One snapshot walk: its local list and where it began. */
interface Walk<E> {
  readonly task: string;
  readonly site: Site;
  readonly local: E[];
}

const MODES: readonly VmBoListMode[] = ["spinlock", "resv", "two-list"];

function checkEntry(argument: string, list: VmBoList, vmBo: unknown): void {
  const e = vmBo as Partial<VmBoListEntry> | null;
  if (!(vmBo instanceof SimObject) || typeof e?.getUnlessZero !== "function" || typeof e.putLocked !== "function" || !(e.listLinks instanceof VmBoListLinks)) {
    throw new ArgumentError(argument, `must be a VmBo (a SimObject with getUnlessZero, putLocked and listLinks), got ${describeValue(vmBo)}`);
  }
  if (e.vm !== list.owner) throw new ArgumentError(argument, `${vmBo.label} belongs to ${describeOwner(e.vm)}, not to ${list.owner.label}`);
}

/**
 * Liveness and stage of a VmBo an operation is about to put on a list, in
 * the operation's own step (after its effect declared the VmBo): a freed
 * VmBo is a use-after-free report, a zombie (or one freed by a driver that
 * kept the object) a `gpuvm-wrong-stage` report. Returns false then: the
 * operation does nothing.
 */
function liveEntry(vmBo: VmBoListEntry, operation: string): boolean {
  if (!guardLive(vmBo, operation)) return false;
  if (vmBo.state !== "zombie" && vmBo.state !== "freed") return true;
  const sim = vmBo.sim;
  sim.file({ kind: "gpuvm-wrong-stage", object: vmBo.label, objectType: vmBo.typeName, stage: vmBo.state, operation, expected: "a live VmBo (prealloc or linked) the caller holds a reference of", site: siteRef(sim.site(operation)) });
  return false;
}

function describeOwner(vm: unknown): string {
  return vm instanceof SimObject ? vm.label : describeValue(vm);
}

/**
 * One of a VM's two VmBo lists (struct drm_gpuvm's `extobj` or `evict`),
 * protected as the VM's `listMode` says. Embedded in the VM.
 */
export class VmBoList<E extends VmBoListEntry = VmBoListEntry> extends SimObject {
  static readonly [LIBRARY_CLASS] = true;
  readonly which: VmBoListWhich;
  readonly mode: VmBoListMode;
  /** The internal spinlock (modes "spinlock" and "two-list"; unused in "resv"). */
  readonly lock: SpinLock;
  /** @internal The main list. */ readonly list: E[] = [];
  /** @internal The two-list scheme's spinlock-protected side list. */ readonly pending: E[] = [];
  /** @internal The snapshot walk in progress (the kernel's `local_list`), or null. */ walking: Walk<E> | null = null;

  /**
   * `new VmBoList(vm, "extobj")`: mode `vm.listMode`, protected by
   * `vm.resv` in "resv" mode; label `${vm.label}.extobj`.
   * @throws ArgumentError naming `owner` (not a SimObject with a DmaResv
   *   `resv` and a known `listMode`) or `which`.
   */
  constructor(
    readonly owner: VmBoListOwner<E>,
    which: VmBoListWhich,
  ) {
    if (!(owner instanceof SimObject)) throw new ArgumentError("owner", `must be a GpuVm, got ${describeValue(owner)}`);
    if (!MODES.includes(owner.listMode)) throw new ArgumentError("owner.listMode", `must be one of "spinlock", "resv", "two-list", got ${describeValue(owner.listMode)}`);
    arg("which", is.oneOf("extobj", "evict"), which);
    super(owner.sim, "VmBoList", { name: which, embeddedIn: owner });
    this.which = which;
    this.mode = owner.listMode;
    this.lock = new SpinLock(owner.sim, `&gpuvm->${which}.lock`, { name: `${which}.lock`, embeddedIn: owner });
  }

  /** `GpuVm#2 "vm".extobj`. */
  override get label(): string {
    return `${this.owner.label}.${this.which}`;
  }

  /** The VM's reservation object (the lock of "resv" mode and of the two-list main list). */
  get resv(): DmaResv {
    return this.owner.resv;
  }

  /** Whether `vmBo` is on this list (main, snapshot or side list). A query. */
  contains(vmBo: E): boolean {
    checkEntry("vmBo", this, vmBo);
    noteTouched(this.sim, this, false);
    noteTouched(this.sim, vmBo, false);
    return vmBo.listLinks[this.which] !== null;
  }

  /** The entries, in walk order: a running walk's snapshot first, then the main list, then the side list. A query; a copy. */
  entries(): readonly E[] {
    noteTouched(this.sim, this, false);
    return [...(this.walking?.local ?? []), ...this.list, ...this.pending];
  }

  /** How many entries {@link entries} returns. A query. */
  get size(): number {
    noteTouched(this.sim, this, false);
    return (this.walking?.local.length ?? 0) + this.list.length + this.pending.length;
  }

  /**
   * Mirrors drm_gpuvm_bo_list_add(): append `vmBo` unless it is on the list
   * already. "spinlock": `lock` true takes the list's spinlock, false
   * asserts it held; "resv": asserts the VM's resv (`lock` ignored);
   * "two-list": `lock` true adds to the side list under the spinlock, false
   * to the main list under the asserted VM resv. A failed assertion files
   * `lock-not-held` and the add happens anyway, as in the kernel.
   * @throws ArgumentError naming `vmBo` (no VmBo, or of another VM) or `lock`.
   */
  add(vmBo: E, lock = true): Op<void> {
    checkEntry("vmBo", this, vmBo);
    arg("lock", is.boolean, lock);
    return makeOp("drm_gpuvm_bo_list_add", this, listAdd, vmBo, lock);
  }

  /**
   * Mirrors drm_gpuvm_bo_list_del() / _del_init(): remove `vmBo` wherever
   * it is (main list, a walk's snapshot, the side list); nothing if it is
   * on none. Locking as {@link add}; in "two-list" an entry on the main
   * list also needs the VM resv, asserted.
   * @throws ArgumentError naming `vmBo` or `lock`.
   */
  del(vmBo: E, lock = true): Op<void> {
    checkEntry("vmBo", this, vmBo);
    arg("lock", is.boolean, lock);
    return makeOp("drm_gpuvm_bo_list_del", this, listDel, vmBo, lock);
  }

  /**
   * Walk the list: for_each_vm_bo_in_list() + restore_vm_bo_list() in
   * "spinlock" mode (each entry moved to the walk's snapshot and taken with
   * getUnlessZero under the spinlock, the body run without it holding a
   * reference, dropped with putLocked before the next; dying entries
   * dropped from the list; the snapshot spliced back at the head at the
   * end; entries added meanwhile wait for the next walk); in "resv" mode a
   * plain walk under the asserted VM resv; in "two-list" the side list is
   * spliced into the main list under the spinlock, then as "resv". Zombies
   * are skipped in every mode. `body` returns "break" to stop early; any
   * other string but "ok" stops the walk and is returned.
   *
   * Returns "ok", the body's error, or "busy" when another snapshot walk of
   * this list is running: that is a `vm-bo-list-concurrent-walk` report,
   * and this walk changes nothing.
   * @throws ArgumentError naming `body` (not a function).
   */
  walk(body: VmBoListWalkBody<E>): Op<"ok" | "busy" | (string & {})> {
    arg("body", is.function, body);
    return makeOp("for_each_vm_bo_in_list", this, walk, body);
  }

  /** @internal Assert the lock that protects the main list in this mode; whether it is held. */
  assertListLock(): boolean {
    return this.mode === "spinlock" ? this.lock.assertHeld() : this.resv.assertHeld();
  }

  /** @internal The array an entry's place names. */
  arrayOf(place: VmBoListPlace): E[] | null {
    switch (place) {
      case "list":
        return this.list;
      case "pending":
        return this.pending;
      case "local":
        return this.walking?.local ?? null;
      default:
        return null;
    }
  }

  /** @internal Remove `vmBo` from wherever it is; its links say none afterwards. */
  unlinkEntry(vmBo: E): void {
    const arr = this.arrayOf(vmBo.listLinks[this.which]);
    if (arr !== null) {
      const i = arr.indexOf(vmBo);
      if (i >= 0) arr.splice(i, 1);
    }
    vmBo.listLinks[this.which] = null;
  }
}

/** An effect that writes the list and the entry. */
function listEffect(kind: typeof VM_BO_LIST_ADD, list: VmBoList, vmBo: VmBoListEntry, mode = WRITE): Effect {
  const also: Access[] = [{ object: vmBo, mode: mode === WRITE ? "write" : "read" }];
  return new Effect(kind, list, mode, list, null, Infinity, null, also);
}

function* listAdd<E extends VmBoListEntry>(this: VmBoList<E>, vmBo: E, lock: boolean): Generator<Effect, void, unknown> {
  const self = this as VmBoList;
  if (this.mode === "resv") {
    this.resv.assertHeld();
    yield* addStep(self, vmBo, "list");
  } else if (this.mode === "two-list" && !lock) {
    this.resv.assertHeld();
    yield* addStep(self, vmBo, "list");
  } else if (lock) {
    yield* this.lock.lock();
    yield* addStep(self, vmBo, this.mode === "two-list" ? "pending" : "list");
    yield* this.lock.unlock();
  } else {
    this.lock.assertHeld();
    yield* addStep(self, vmBo, "list");
  }
}

function* addStep(list: VmBoList, vmBo: VmBoListEntry, place: "list" | "pending"): Generator<Effect, void, unknown> {
  yield listEffect(VM_BO_LIST_ADD, list, vmBo);
  touch(list.sim, list, true, "drm_gpuvm_bo_list_add");
  touch(list.sim, vmBo, true, "drm_gpuvm_bo_list_add");
  // A freed or zombie VmBo never goes (back) on a list: the list would outlive it.
  if (!liveEntry(vmBo, "drm_gpuvm_bo_list_add")) return;
  // list_empty(entry): already on a list (a walk's snapshot included) means nothing to do.
  if (vmBo.listLinks[list.which] !== null) return;
  (place === "list" ? list.list : list.pending).push(vmBo);
  vmBo.listLinks[list.which] = place;
}

function* listDel<E extends VmBoListEntry>(this: VmBoList<E>, vmBo: E, lock: boolean): Generator<Effect, void, unknown> {
  const self = this as VmBoList;
  if (this.mode === "resv") {
    this.resv.assertHeld();
    yield* delStep(self, vmBo);
  } else if (this.mode === "two-list") {
    if (lock) yield* this.lock.lock();
    yield listEffect(VM_BO_LIST_DEL, self, vmBo);
    touch(this.sim, this, true, "drm_gpuvm_bo_list_del");
    touch(this.sim, vmBo, true, "drm_gpuvm_bo_list_del");
    const place = vmBo.listLinks[this.which];
    // The side list is the spinlock's, the main list the VM resv's.
    if (place === "list") this.resv.assertHeld();
    else if (place === "pending" && !lock) this.lock.assertHeld();
    this.unlinkEntry(vmBo);
    if (lock) yield* this.lock.unlock();
  } else if (lock) {
    yield* this.lock.lock();
    yield* delStep(self, vmBo);
    yield* this.lock.unlock();
  } else {
    this.lock.assertHeld();
    yield* delStep(self, vmBo);
  }
}

function* delStep(list: VmBoList, vmBo: VmBoListEntry): Generator<Effect, void, unknown> {
  yield listEffect(VM_BO_LIST_DEL, list, vmBo);
  touch(list.sim, list, true, "drm_gpuvm_bo_list_del");
  touch(list.sim, vmBo, true, "drm_gpuvm_bo_list_del");
  list.unlinkEntry(vmBo);
}

/** Run a walk body: a plain value, or a generator run with its yields checked (driver-callback.ts). */
function runBody(result: unknown, what: string): Generator<Effect, unknown, unknown> {
  return runCallbackResult(result, what);
}

/** The body's verdict: null to go on, "break" to stop with "ok", else the error. */
function verdict(r: unknown, what: string): string | null {
  if (r === undefined || r === "ok") return null;
  if (typeof r !== "string") throw new UsageError(`${what} returned ${describeValue(r)}: return nothing, "ok", "break" or an error string`);
  return r;
}

function* walk<E extends VmBoListEntry>(this: VmBoList<E>, body: VmBoListWalkBody<E>): Generator<Effect, string, unknown> {
  if (this.mode === "spinlock") return yield* snapshotWalk(this, body);
  if (this.mode === "two-list") yield* splicePending(this);
  return yield* lockedWalk(this, body);
}

const WALK_BODY = "the body of VmBoList.walk()";

/** get_next_vm_bo_from_list() loop + restore_vm_bo_list(). */
function* snapshotWalk<E extends VmBoListEntry>(list: VmBoList<E>, body: VmBoListWalkBody<E>): Generator<Effect, string, unknown> {
  const me: Walk<E> = { task: current().label, site: list.sim.site("for_each_vm_bo_in_list"), local: [] };
  let prev: E | null = null;
  let result = "ok";
  for (;;) {
    if (prev !== null) yield* prev.putLocked(VM_BO_LIST_WALK_HOLDER);
    prev = null;
    const next = yield* getNext(list, me);
    if (next === "busy") return "busy";
    if (next === null) break;
    prev = next;
    const v = verdict(yield* runBody(body(next), WALK_BODY), WALK_BODY);
    if (v !== null) {
      if (v !== "break") result = v;
      break;
    }
  }
  // Drop the reference in case the loop stopped early.
  if (prev !== null) yield* prev.putLocked(VM_BO_LIST_WALK_HOLDER);
  yield* restore(list, me);
  return result;
}

/** Mirrors get_next_vm_bo_from_list() after its put: the next live entry, moved to the snapshot with a reference; null at the end; "busy" (reported) if another walk owns the list's snapshot. */
function* getNext<E extends VmBoListEntry>(list: VmBoList<E>, me: Walk<E>): Generator<Effect, E | null | "busy", unknown> {
  yield* list.lock.lock();
  yield new Effect(VM_BO_LIST_NEXT, list, WRITE);
  touch(list.sim, list, true, "get_next_vm_bo_from_list");
  const other = list.walking;
  if (other !== null && other !== me) {
    list.sim.file({
      kind: "vm-bo-list-concurrent-walk",
      list: list.label,
      which: list.which,
      firstWalker: other.task,
      firstWalk: siteRef(other.site),
      secondWalker: me.task,
      secondWalk: siteRef(me.site),
    });
    yield* list.lock.unlock();
    return "busy";
  }
  list.walking = me;
  let found: E | null = null;
  while (list.list.length > 0) {
    const first = list.list[0] as E;
    const got = yield* first.getUnlessZero(VM_BO_LIST_WALK_HOLDER);
    yield listEffect(VM_BO_LIST_NEXT, list, first);
    touch(list.sim, list, true, "get_next_vm_bo_from_list");
    touch(list.sim, first, true, "get_next_vm_bo_from_list");
    // RELIES ON: the spinlock is held, so `first` is still the head.
    list.list.shift();
    if (got) {
      me.local.push(first);
      first.listLinks[list.which] = "local";
      found = first;
      break;
    }
    // Dying: its destroy path is waiting for this lock to unlink it; list_del_init() it now.
    first.listLinks[list.which] = null;
  }
  yield* list.lock.unlock();
  return found;
}

/** Mirrors restore_vm_bo_list(): splice the snapshot back at the head of the list. */
function* restore<E extends VmBoListEntry>(list: VmBoList<E>, me: Walk<E>): Generator<Effect, void, unknown> {
  yield* list.lock.lock();
  const moved: Access[] = me.local.map((e) => ({ object: e, mode: "write" }));
  yield new Effect(VM_BO_LIST_SPLICE, list, WRITE, list, null, Infinity, null, moved);
  touch(list.sim, list, true, "restore_vm_bo_list");
  if (list.walking === me) {
    for (const e of me.local) {
      touch(list.sim, e, true, "restore_vm_bo_list");
      e.listLinks[list.which] = "list";
    }
    list.list.unshift(...me.local);
    me.local.length = 0;
    list.walking = null;
  }
  yield* list.lock.unlock();
}

/** The two-list scheme: assert the VM resv, then move the side list to the main list's tail under the spinlock. */
function* splicePending(list: VmBoList): Generator<Effect, void, unknown> {
  list.resv.assertHeld();
  yield* list.lock.lock();
  const moved: Access[] = list.pending.map((e) => ({ object: e, mode: "write" }));
  yield new Effect(VM_BO_LIST_SPLICE, list, WRITE, list, null, Infinity, null, moved);
  touch(list.sim, list, true, "vm_bo_list_splice");
  for (const e of list.pending) {
    touch(list.sim, e, true, "vm_bo_list_splice");
    e.listLinks[list.which] = "list";
    list.list.push(e);
  }
  list.pending.length = 0;
  yield* list.lock.unlock();
}

/** list_for_each_entry_safe() under the VM resv (asserted), skipping zombies. */
function* lockedWalk<E extends VmBoListEntry>(list: VmBoList<E>, body: VmBoListWalkBody<E>): Generator<Effect, string, unknown> {
  if (list.mode === "resv") list.resv.assertHeld();
  // The walk's start reads the list in a step of its own (and an empty list ends it there).
  yield new Effect(VM_BO_LIST_NEXT, list, READ);
  touch(list.sim, list, false, "for_each_vm_bo_in_list");
  const snap = list.list.slice();
  for (const vmBo of snap) {
    yield listEffect(VM_BO_LIST_NEXT, list, vmBo, READ);
    touch(list.sim, list, false, "for_each_vm_bo_in_list");
    touch(list.sim, vmBo, false, "for_each_vm_bo_in_list");
    // Removed by the body (or by anyone, if the resv is not held) since the walk began.
    if (vmBo.listLinks[list.which] !== "list") continue;
    // drm_gpuvm_bo_is_zombie() reads the count: a putDeferred() brings it to
    // zero a step before the VmBo is marked a zombie, and the walk must not
    // hand the driver an object on its way out in that window either.
    if (vmBo.state === "zombie" || vmBo.refcount.read() === 0) continue;
    const v = verdict(yield* runBody(body(vmBo), WALK_BODY), WALK_BODY);
    if (v !== null) return v === "break" ? "ok" : v;
  }
  return "ok";
}

// ---------------------------------------------------------------------------
// The VM's list functions.

function checkVm(vm: unknown): VmBoListOwner {
  const v = vm as Partial<VmBoListOwner> | null;
  if (!(vm instanceof SimObject) || !(v?.extobj instanceof VmBoList) || !(v.evict instanceof VmBoList) || !(v.resv instanceof DmaResv)) {
    throw new ArgumentError("vm", `must be a GpuVm, got ${describeValue(vm)}`);
  }
  if (vm.isFreed) throw new ArgumentError("vm", `${vm.label} is freed`);
  return vm as unknown as VmBoListOwner;
}

/** An object handed to a VM's entry point: of the VM's Sim and, when a SimObject, not freed. @throws ArgumentError naming `argument`. */
function checkSimObject(argument: string, vm: VmBoListOwner, obj: object): void {
  const sim = (obj as { sim?: { label?: unknown } }).sim;
  if (sim !== vm.sim) {
    const label = obj instanceof SimObject ? obj.label : describeValue(obj);
    throw new ForeignSimError(argument, `${vm.label}'s ${argument}`, label, typeof sim?.label === "string" ? sim.label : "another Sim", vm.sim.label);
  }
  if (obj instanceof SimObject && obj.isFreed) throw new ArgumentError(argument, `${obj.label} is freed`);
}

function checkExec(vm: VmBoListOwner, exec: unknown): DrmExec {
  if (!(exec instanceof DrmExec)) throw new ArgumentError("exec", `must be a DrmExec, got ${describeValue(exec)}`);
  if (exec.sim !== vm.sim) throw new ArgumentError("exec", `belongs to another Sim than ${vm.label}`);
  return exec as DrmExec;
}

/** exec_prepare_obj(): prepareObj with fences, lockObj without. */
function execPrepareObj(exec: DrmExec, obj: DrmExecObject, numFences: number): Op<DrmExecResult> {
  return numFences > 0 ? exec.prepareObj(obj, numFences) : exec.lockObj(obj);
}

/**
 * Mirrors drm_gpuvm_prepare_vm(): lock the VM's resv object in `exec`
 * (and reserve `numFences` slots when > 0). Returns the DrmExec result.
 * @throws ArgumentError naming `vm`, `exec` or `numFences`.
 */
export function prepareVm(vm: VmBoListOwner, exec: DrmExec, numFences: number): Op<DrmExecResult> {
  const v = checkVm(vm);
  checkExec(v, exec);
  arg("numFences", is.count, numFences);
  return execPrepareObj(exec, v.resvObj, numFences);
}

/**
 * Mirrors drm_gpuvm_prepare_objects(): lock every external object's resv
 * in `exec`. "spinlock": a snapshot walk of the extobj list;
 * "resv" (drm_gpuvm_prepare_objects_locked()): the VM resv asserted, a
 * plain walk that also moves each evicted VmBo to the evict list (marking
 * an external object evicted only sets its flag in this mode);
 * "two-list": splice, then as "resv". Stops at the first result that is
 * not "ok" and returns it.
 * @throws ArgumentError naming `vm`, `exec` or `numFences`.
 */
export function prepareObjects(vm: VmBoListOwner, exec: DrmExec, numFences: number): Op<DrmExecResult | "busy"> {
  const v = checkVm(vm);
  checkExec(v, exec);
  arg("numFences", is.count, numFences);
  return makeOp("drm_gpuvm_prepare_objects", undefined, prepareObjectsBody, v, exec, numFences);
}

function* prepareObjectsBody(this: undefined, vm: VmBoListOwner, exec: DrmExec, numFences: number): Generator<Effect, DrmExecResult | "busy", unknown> {
  const moveEvicted = vm.listMode !== "spinlock";
  const r = yield* vm.extobj.walk(function* (vmBo) {
    const p = yield* execPrepareObj(exec, vmBo.obj, numFences);
    if (p !== "ok") return p;
    if (moveEvicted && vmBo.evicted) yield* vm.evict.add(vmBo, false);
    return "ok";
  });
  return r as DrmExecResult | "busy";
}

/**
 * Mirrors drm_gpuvm_prepare_range(): lock the resv of every GEM mapped in
 * [addr, addr+range) in `exec` (sparse mappings skipped). Stops at the
 * first result that is not "ok" and returns it.
 * @throws ArgumentError naming `vm`, `exec`; ArgumentRangeError naming
 *   `addr`, `range` (not integers >= 0, or the end beyond 2^53) or `numFences`.
 */
export function prepareRange(vm: VmBoListOwner, exec: DrmExec, addr: number, range: number, numFences: number): Op<DrmExecResult> {
  const v = checkVm(vm);
  checkExec(v, exec);
  checkRange(addr, range);
  arg("numFences", is.count, numFences);
  return makeOp("drm_gpuvm_prepare_range", v, prepareRangeBody, exec, [addr, range] as const, numFences);
}

function checkRange(addr: number, range: number): void {
  arg("addr", is.count, addr);
  arg("range", is.count, range);
  if (!Number.isSafeInteger(addr + range)) throw new ArgumentRangeError("range", `addr + range must be a safe integer, got ${addr} + ${range}`);
}

function* prepareRangeBody(this: VmBoListOwner, exec: DrmExec, span: readonly [number, number], numFences: number): Generator<Effect, DrmExecResult, unknown> {
  noteTouched(this.sim, this, false);
  // An empty range overlaps nothing: "ok", as drm_gpuvm_prepare_range() returns 0.
  if (span[1] === 0) return "ok";
  for (const va of this.vasInRange(span[0], span[1])) {
    const obj = va.gem.obj;
    if (obj === null) continue;
    const r = yield* execPrepareObj(exec, obj, numFences);
    if (r !== "ok") return r;
  }
  return "ok";
}

/** The extra locking step of a {@link GpuVmExec} (struct drm_gpuvm_exec's `extra`). */
export interface GpuVmExecExtra {
  /** Lock more objects inside the drm_exec loop; typically exec.prepareObj() calls. */
  readonly fn: (vmExec: GpuVmExec) => Iterable<Effect, DrmExecResult, unknown>;
  /** Driver data for `fn`. */
  readonly priv?: unknown;
}

/** What a GpuVmExec is made of (struct drm_gpuvm_exec). */
export interface GpuVmExecInit {
  readonly vm: VmBoListOwner;
  /** drm_exec_init()'s flags. Default {}. */
  readonly flags?: DrmExecOptions;
  /** Fence slots to reserve in each object's resv (0, the default: lock only). */
  readonly numFences?: number;
  readonly extra?: GpuVmExecExtra;
}

const EXEC_INIT: Spec<GpuVmExecInit> = { vm: is.any, flags: is.any, numFences: is.count, extra: is.any };

/**
 * Mirrors struct drm_gpuvm_exec: a VM, the DrmExec flags, the fence count
 * and an optional extra locking step. {@link execLock} and its variants
 * make the DrmExec (`exec`); the caller finishes it with `exec.fini()`.
 */
export class GpuVmExec {
  readonly vm: VmBoListOwner;
  readonly flags: DrmExecOptions;
  readonly numFences: number;
  extra: GpuVmExecExtra | null;
  /** @internal */ execObj: DrmExec | null = null;

  /**
   * @throws ArgumentError naming `options` (not an object), an unknown
   *   key, `vm`, `flags` or `flags.<key>` (checked as DrmExec options),
   *   `numFences` (ArgumentRangeError when not an integer >= 0), `extra`
   *   or `extra.fn`.
   */
  constructor(options: GpuVmExecInit) {
    if (typeof options !== "object" || (options as GpuVmExecInit | null) === null) throw new ArgumentError("options", `must be { vm, flags?, numFences?, extra? }, got ${describeValue(options)}`);
    checkOptions("options", options, EXEC_INIT);
    const vm = checkVm(options.vm);
    const flags = options.flags ?? {};
    try {
      // The DrmExec constructor checks the flags: a throwaway one checks them now, before anything is kept.
      new DrmExec(vm.sim, flags);
    } catch (e) {
      if (e instanceof ArgumentError) throw new ArgumentError(e.argument === "options" ? "flags" : `flags.${e.argument}`, e.message);
      throw e;
    }
    if (options.extra !== undefined) checkExtra(options.extra);
    this.vm = vm;
    // A copy: the flags were checked now, and the DrmExec made later must see those.
    this.flags = Object.freeze({ ...flags });
    this.numFences = options.numFences ?? 0;
    this.extra = options.extra === undefined ? null : Object.freeze({ fn: options.extra.fn, priv: options.extra.priv });
  }

  /** The DrmExec, once execLock() (or a variant) made it. @throws UsageError before. */
  get exec(): DrmExec {
    if (this.execObj === null) throw new UsageError("GpuVmExec.exec before execLock(): no DrmExec yet");
    return this.execObj;
  }
}

function checkExtra(extra: unknown): void {
  if (typeof extra !== "object" || extra === null) throw new ArgumentError("extra", `must be { fn, priv? }, got ${describeValue(extra)}`);
  checkOptions("extra", extra as GpuVmExecExtra, { fn: is.function, priv: is.any });
}

function checkVmExec(vmExec: unknown): GpuVmExec {
  if (!(vmExec instanceof GpuVmExec)) throw new ArgumentError("vmExec", `must be a GpuVmExec, got ${describeValue(vmExec)}`);
  if (vmExec.execObj !== null && vmExec.execObj.phase !== "finished") throw new UsageError("execLock(): the GpuVmExec's DrmExec is still in use; fini() it first");
  return vmExec;
}

/**
 * Mirrors drm_gpuvm_exec_lock(): make the DrmExec and, in its retry loop,
 * prepareVm, prepareObjects and the extra step. On a result other than
 * "ok" the DrmExec is finished (every lock dropped) and the result
 * returned; on "ok" everything stays locked until `vmExec.exec.fini()`.
 * @throws ArgumentError naming `vmExec`; UsageError if its DrmExec is still in use.
 */
export function execLock(vmExec: GpuVmExec): Op<DrmExecResult | "busy"> {
  const ve = checkVmExec(vmExec);
  return makeOp("drm_gpuvm_exec_lock", undefined, execLockBody, ve);
}

function* execLockBody(this: undefined, ve: GpuVmExec): Generator<Effect, DrmExecResult | "busy", unknown> {
  const exec = new DrmExec(ve.vm.sim, ve.flags);
  ve.execObj = exec;
  const state = { busy: false };
  const r: DrmExecResult = yield* exec.untilAllLocked(function* () {
    const a = yield* prepareVm(ve.vm, exec, ve.numFences);
    if (a !== "ok") return a;
    const b = yield* prepareObjects(ve.vm, exec, ve.numFences);
    if (b === "busy") {
      state.busy = true;
      return "ok";
    }
    if (b !== "ok") return b;
    const extra = ve.extra;
    if (extra !== null) {
      const c = yield* checkedBody(extra.fn(ve), "the extra.fn of a GpuVmExec");
      if (c !== "ok") return c;
    }
    return "ok";
  });
  const busy = state.busy;
  if (r !== "ok" || busy) {
    yield* exec.fini();
    return busy ? "busy" : r;
  }
  return r;
}

/**
 * Mirrors drm_gpuvm_exec_lock_array(): execLock with `objs` prepared as its
 * extra step (replacing `vmExec.extra`).
 * @throws ArgumentError naming `vmExec`, `objs` or `objs[i]`.
 */
export function execLockArray(vmExec: GpuVmExec, objs: readonly DrmExecObject[]): Op<DrmExecResult | "busy"> {
  const ve = checkVmExec(vmExec);
  if (!Array.isArray(objs)) throw new ArgumentError("objs", `must be an array of GEM objects, got ${describeValue(objs)}`);
  objs.forEach((o: unknown, i) => {
    if (typeof o !== "object" || o === null || !((o as Partial<DrmExecObject>).resv instanceof DmaResv)) throw new ArgumentError(`objs[${i}]`, `must be a GEM object, got ${describeValue(o)}`);
    checkSimObject(`objs[${i}]`, ve.vm, o);
  });
  const list = objs.slice();
  ve.extra = { fn: (x) => x.exec.prepareArray(list, x.numFences), priv: list };
  return makeOp("drm_gpuvm_exec_lock_array", undefined, execLockBody, ve);
}

/**
 * Mirrors drm_gpuvm_exec_lock_range(): make the DrmExec and lock, in its
 * retry loop, every GEM mapped in [addr, addr+range). On a result other
 * than "ok" the DrmExec is finished and the result returned.
 * @throws ArgumentError naming `vmExec`; ArgumentRangeError naming `addr` or `range`.
 */
export function execLockRange(vmExec: GpuVmExec, addr: number, range: number): Op<DrmExecResult> {
  const ve = checkVmExec(vmExec);
  checkRange(addr, range);
  return makeOp("drm_gpuvm_exec_lock_range", undefined, execLockRangeBody, ve, addr, range);
}

function* execLockRangeBody(this: undefined, ve: GpuVmExec, addr: number, range: number): Generator<Effect, DrmExecResult, unknown> {
  const exec = new DrmExec(ve.vm.sim, ve.flags);
  ve.execObj = exec;
  const r = yield* exec.untilAllLocked(function* () {
    return yield* prepareRange(ve.vm, exec, addr, range, ve.numFences);
  });
  if (r !== "ok") yield* exec.fini();
  return r;
}

/**
 * Mirrors drm_gpuvm_validate(): call `vm.ops.vmBoValidate(vmBo, exec)` for
 * each VmBo on the evict list. "spinlock": a snapshot walk (the callback
 * normally calls evict(vmBo, false), which takes it off the list);
 * "resv"/"two-list" (drm_gpuvm_validate_locked()): under the asserted VM
 * resv, each validated VmBo whose `evicted` flag is now clear is removed
 * (its GEM's resv asserted). Stops at the first error and returns it.
 * @throws ArgumentError naming `vm` or `exec`; UsageError naming
 *   `ops.vmBoValidate` when the VM has none (the kernel's -EOPNOTSUPP).
 */
export function validate(vm: VmBoListOwner, exec: DrmExec): Op<"ok" | (string & {})> {
  const v = checkVm(vm);
  checkExec(v, exec);
  if (typeof v.ops.vmBoValidate !== "function") throw new UsageError(`validate(): ${v.label} has no ops.vmBoValidate callback`);
  return makeOp("drm_gpuvm_validate", undefined, validateBody, v, exec);
}

const VALIDATE_CB = "ops.vmBoValidate";

function* validateBody(this: undefined, vm: VmBoListOwner, exec: DrmExec): Generator<Effect, string, unknown> {
  const locked = vm.listMode !== "spinlock";
  return yield* vm.evict.walk(function* (vmBo) {
    const ops = vm.ops;
    if (ops.vmBoValidate === undefined) throw new UsageError(`validate(): ${vm.label} lost its ops.vmBoValidate callback`);
    const r = yield* runResultCallback(ops.vmBoValidate(vmBo, exec), `${VALIDATE_CB} of ${vm.label}`);
    if (r !== null) return r;
    if (locked) {
      vmBo.obj.resv.assertHeld();
      if (!vmBo.evicted) yield* vm.evict.del(vmBo, false);
    }
    return "ok";
  });
}

/**
 * Mirrors drm_gpuvm_resv_add_fence(): add `fence` to every object locked in
 * `exec`, with `extobjUsage` for external objects and `privateUsage` for
 * the VM's own (each resv asserted held, as DmaResv.addFence does).
 * @throws ArgumentError naming `vm`, `exec`, `fence`, `privateUsage` or `extobjUsage`.
 */
export function resvAddFence(vm: VmBoListOwner, exec: DrmExec, fence: DmaFence, privateUsage: DmaResvUsage, extobjUsage: DmaResvUsage): Op<void> {
  const v = checkVm(vm);
  checkExec(v, exec);
  arg("fence", is.instanceOf(DmaFence), fence);
  checkSimObject("fence", v, fence);
  arg("privateUsage", USAGE, privateUsage);
  arg("extobjUsage", USAGE, extobjUsage);
  return makeOp("drm_gpuvm_resv_add_fence", v, resvAddFenceBody, exec, fence, [privateUsage, extobjUsage] as const);
}

const USAGE = is.oneOf("kernel", "write", "read", "bookkeep");

function* resvAddFenceBody(this: VmBoListOwner, exec: DrmExec, fence: DmaFence, usage: readonly [DmaResvUsage, DmaResvUsage]): Generator<Effect, void, unknown> {
  for (const obj of exec.objects()) {
    obj.resv.assertHeld();
    yield* obj.resv.addFence(fence, this.isExtobj(obj) ? usage[1] : usage[0]);
  }
}

/**
 * Mirrors drm_gpuvm_bo_extobj_add(): put `vmBo` on its VM's extobj list if
 * its GEM is external and it is not there yet. "resv": the VM resv is
 * asserted and the add made without the spinlock; otherwise with it.
 * @throws ArgumentError naming `vmBo`.
 */
export function extobjAdd(vmBo: VmBoListEntry): Op<void> {
  checkVmBo(vmBo);
  return makeOp("drm_gpuvm_bo_extobj_add", vmBo, extobjAddBody);
}

function checkVmBo(vmBo: unknown): VmBoListEntry {
  const e = vmBo as Partial<VmBoListEntry> | null;
  if (!(vmBo instanceof SimObject) || !(e?.listLinks instanceof VmBoListLinks) || !(e.vm?.extobj instanceof VmBoList)) {
    throw new ArgumentError("vmBo", `must be a VmBo, got ${describeValue(vmBo)}`);
  }
  return vmBo as VmBoListEntry;
}

function* extobjAddBody(this: VmBoListEntry): Generator<Effect, void, unknown> {
  const vm = this.vm;
  // Freed and zombie are final stages: a VmBo seen in one now is in it at the step below, which reports it.
  if (this.life.freeSite !== null || this.state === "zombie" || this.state === "freed") {
    yield listEffect(VM_BO_LIST_ADD, vm.extobj, this, READ);
    liveEntry(this, "drm_gpuvm_bo_extobj_add");
    return;
  }
  const lock = !vm.flags.resvProtected;
  noteTouched(this.sim, vm, false);
  const external = vm.isExtobj(this.obj);
  // Without the spinlock the list's add asserts the VM resv itself: assert
  // here only when no add follows, so a missing resv is one report, not two.
  if (!lock && !external) vm.resv.assertHeld();
  if (external) yield* vm.extobj.add(this, lock);
}

/**
 * Mirrors drm_gpuvm_bo_evict(): set `vmBo.evicted` (its GEM's resv
 * asserted) and put it on / take it off the VM's evict list. In "resv"
 * mode an external object only gets the flag: prepareObjects moves it.
 * @throws ArgumentError naming `vmBo` or `flag`.
 */
export function evict(vmBo: VmBoListEntry, flag: boolean): Op<void> {
  checkVmBo(vmBo);
  arg("flag", is.boolean, flag);
  return makeOp("drm_gpuvm_bo_evict", vmBo, evictBody, flag);
}

function* evictBody(this: VmBoListEntry, flag: boolean): Generator<Effect, void, unknown> {
  const vm = this.vm;
  const lock = !vm.flags.resvProtected;
  yield new Effect(VM_BO_EVICT, this, WRITE);
  touch(this.sim, this, true, "drm_gpuvm_bo_evict");
  if (!liveEntry(this, "drm_gpuvm_bo_evict")) return;
  this.obj.resv.assertHeld();
  this.evicted = flag;
  // The evict list of a resv-protected VM is the VM resv's, which an
  // external object's holder need not hold: prepareObjects moves it.
  if (!lock && vm.isExtobj(this.obj)) return;
  if (flag) yield* vm.evict.add(this, lock);
  else yield* vm.evict.del(this, lock);
}

/**
 * Mirrors drm_gpuvm_bo_gem_evict(): {@link evict} for every VmBo of `obj`
 * but zombies,
 * each after asserting the lock of the GEM's VmBo list for its VM (the
 * GEM's `gpuvaLock` in immediate mode, else its resv).
 * @throws ArgumentError naming `obj` (no `vmBos()`, `resv` or `gpuvaLock`) or `flag`.
 */
export function gemEvict(obj: VmBoListGem, flag: boolean): Op<void> {
  const o = obj as Partial<VmBoListGem> | null;
  if (typeof o !== "object" || o === null || typeof o.vmBos !== "function" || !(o.resv instanceof DmaResv) || typeof o.gpuvaLock?.assertHeld !== "function") {
    throw new ArgumentError("obj", `must be a GEM object, got ${describeValue(obj)}`);
  }
  if (obj instanceof SimObject && obj.isFreed) throw new ArgumentError("obj", `${obj.label} is freed`);
  arg("flag", is.boolean, flag);
  return makeOp("drm_gpuvm_bo_gem_evict", obj, gemEvictBody, flag);
}

function* gemEvictBody(this: VmBoListGem, flag: boolean): Generator<Effect, void, unknown> {
  for (const vmBo of this.vmBos()) {
    // A zombie is off its GEM's list in the kernel (drm_gpuvm_bo_into_zombie()).
    if (vmBo.state === "zombie") continue;
    if (vmBo.vm.flags.immediateMode) this.gpuvaLock.assertHeld();
    else this.resv.assertHeld();
    yield* evictBody.call(vmBo, flag);
  }
}
