/**
 * A small GPUVM world for the core's tests: a root GEM object, a VM over
 * [0, 1 MiB) in one of the three modes, and a maker of GEM objects (VM-private
 * in resvProtected mode, so that putting VmBos needs only the VM's resv).
 * `"twoList"` (in ALL_VM_MODES only, so that existing users of VM_MODES are
 * unchanged) is the two-list list mode without resvProtected.
 * `privateBo` makes a GEM object that shares the VM's resv in every mode.
 */
import { GemObject, GpuVm, kfree, type GpuVmOps, type Sim } from "../../src/index.js";

export type VmMode = "plain" | "resvProtected" | "immediateMode" | "twoList";
export const VM_MODES: readonly VmMode[] = ["plain", "resvProtected", "immediateMode"];
/** VM_MODES and the two-list list mode. */
export const ALL_VM_MODES: readonly VmMode[] = [...VM_MODES, "twoList"];

export interface World {
  readonly root: GemObject;
  readonly vm: GpuVm;
  bo(name: string, external?: boolean): GemObject;
  /** A GEM object sharing the VM's resv (not external), in every mode. */
  privateBo(name: string): GemObject;
}

export function world(sim: Sim, mode: VmMode, extra: { ops?: Partial<GpuVmOps>; reserveOffset?: number; reserveRange?: number } = {}): World {
  const root = new GemObject(sim, { name: "root", size: 4096 });
  const vm = GpuVm.create(sim, {
    name: "vm",
    mmStart: 0,
    mmRange: 0x100000,
    resvObj: root,
    ...(mode === "resvProtected" ? { resvProtected: true } : {}),
    ...(mode === "immediateMode" ? { immediateMode: true } : {}),
    ...(mode === "twoList" ? { listMode: "two-list" as const } : {}),
    ...(extra.reserveOffset === undefined ? {} : { reserveOffset: extra.reserveOffset }),
    ...(extra.reserveRange === undefined ? {} : { reserveRange: extra.reserveRange }),
    ops: { vmFree: (v) => kfree(v), ...extra.ops },
  });
  return {
    root,
    vm,
    bo: (name, external = false) =>
      new GemObject(sim, mode === "resvProtected" && !external ? { name, size: 0x10000, resv: root.resv } : { name, size: 0x10000 }),
    privateBo: (name) => new GemObject(sim, { name, size: 0x10000, resv: root.resv }),
  };
}
