/**
 * TEMP VmBoList: the smallest version of a VM's extobj / evict list that the
 * pinned interface (briefs/interfaces10.md) allows, so the GPUVM core builds
 * and tests before the "lists" helper delivers the real one, which replaces
 * this file whole.
 *
 * Ownership: embedded in its VM; entries are VmBos, which it does not count.
 * Locking: none modelled here (the real version has the three modes); in
 *   "resv" mode add/del assert the VM's resv when not told to lock.
 */
import { defineEffectKind, Effect, READ, WRITE } from "../kernel/effect.js";
import { noteTouched, touch } from "../kernel/heap.js";
import { makeOp, type Op } from "../kernel/op.js";
import type { Sim } from "../kernel/sim.js";
import type { DmaResv } from "../dma-buf/dma-resv.js";

/** How a VM protects its extobj and evict lists. */
export type VmBoListMode = "spinlock" | "resv" | "two-list";

/** What a driver walk body returns: undefined or "ok" go on; "break" stops; any other string is an error. */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type
export type VmBoWalkResult = void | "ok" | "break" | (string & {});

/** What the list needs of its VM. */
export interface VmBoListOwner {
  readonly sim: Sim;
  readonly label: string;
  readonly listMode: VmBoListMode;
  readonly resv: DmaResv;
}

/** Which of a VM's lists an entry is on. */
export class VmBoListLinks {
  /** @internal */ onExtobj = false;
  /** @internal */ onEvict = false;
}

/** What the list needs of an entry. */
export interface VmBoListEntry {
  readonly label: string;
  readonly sim: Sim;
  listLinks: VmBoListLinks;
}

/** The TEMP list's one effect kind: a change or read of the list. */
export const VM_BO_LIST = defineEffectKind({ name: "vm-bo-list" });

export class VmBoList<E extends VmBoListEntry = VmBoListEntry> {
  readonly mode: VmBoListMode;
  /** @internal */ readonly items: E[] = [];

  constructor(
    readonly owner: VmBoListOwner,
    readonly which: "extobj" | "evict",
  ) {
    this.mode = owner.listMode;
    owner.sim.heap.share(this.items);
  }

  get label(): string {
    return `${this.owner.label}.${this.which}`;
  }

  /** drm_gpuvm_bo_list_add(): no-op if already on it. */
  add(vmBo: E, lock = false): Op<void> {
    return makeOp("drm_gpuvm_bo_list_add", this, listAdd, vmBo, lock);
  }

  /** drm_gpuvm_bo_list_del(): no-op if not on it. */
  del(vmBo: E, lock = false): Op<void> {
    return makeOp("drm_gpuvm_bo_list_del", this, listDel, vmBo, lock);
  }

  contains(vmBo: E): boolean {
    noteTouched(this.owner.sim, this.items, false);
    return this.items.includes(vmBo);
  }

  entries(): readonly E[] {
    noteTouched(this.owner.sim, this.items, false);
    return [...this.items];
  }

  get size(): number {
    noteTouched(this.owner.sim, this.items, false);
    return this.items.length;
  }

  /** A plain walk over a snapshot. */
  walk(body: (vmBo: E) => Iterable<Effect, VmBoWalkResult, unknown> | VmBoWalkResult): Op<string> {
    return makeOp("for_each_vm_bo_in_list", this as VmBoList, listWalk, body as (vmBo: VmBoListEntry) => Iterable<Effect, VmBoWalkResult, unknown> | VmBoWalkResult);
  }
}

function flagOf(which: "extobj" | "evict"): "onExtobj" | "onEvict" {
  return which === "extobj" ? "onExtobj" : "onEvict";
}

function* listAdd(this: VmBoList, vmBo: VmBoListEntry, lock: boolean): Generator<Effect, void, unknown> {
  yield new Effect(VM_BO_LIST, null, WRITE, this.items);
  touch(this.owner.sim, this.items, true, "VmBoList.add");
  if (this.mode === "resv" && !lock) this.owner.resv.assertHeld();
  const f = flagOf(this.which);
  if (vmBo.listLinks[f]) return;
  vmBo.listLinks[f] = true;
  this.items.push(vmBo);
}

function* listDel(this: VmBoList, vmBo: VmBoListEntry, lock: boolean): Generator<Effect, void, unknown> {
  yield new Effect(VM_BO_LIST, null, WRITE, this.items);
  touch(this.owner.sim, this.items, true, "VmBoList.del");
  if (this.mode === "resv" && !lock) this.owner.resv.assertHeld();
  const f = flagOf(this.which);
  if (!vmBo.listLinks[f]) return;
  vmBo.listLinks[f] = false;
  const i = this.items.indexOf(vmBo);
  if (i >= 0) this.items.splice(i, 1);
}

function* listWalk(this: VmBoList, body: (vmBo: VmBoListEntry) => Iterable<Effect, VmBoWalkResult, unknown> | VmBoWalkResult): Generator<Effect, string, unknown> {
  yield new Effect(VM_BO_LIST, null, READ, this.items);
  const snapshot = [...this.items];
  for (const e of snapshot) {
    let r = body(e);
    if (typeof r === "object") r = yield* r;
    if (r === "break") break;
    if (r !== undefined && r !== "ok") return r;
  }
  return "ok";
}
