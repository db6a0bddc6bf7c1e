/**
 * A fake VM for the split/merge unit tests: the real VaTree under an
 * SmVm, and FakeVa mappings whose insert / remove are ops that declare a
 * write of the VM (as Mapping.insert / remove will) and keep a VM
 * reference count, so the tests see the apply helpers' reference balance.
 * FakeGem is a TestBo (resv + kref): what DrmExec and the ops need.
 * FakeVm and FakeVa are marked library classes, as GpuVm and Mapping
 * will be, so the explorer sees only what the walks declare.
 * Stays as a unit-test fixture once GpuVm / Mapping exist.
 */
import { ArgumentError, ArgumentRangeError, SimObject, VaTree, type Op, type Sim } from "../../src/index.js";
import type { GpuVaOpMapBody, SmGem, SmOps, SmVa, SmVm, SmVmBo } from "../../src/drm/split-merge.js";
import { Effect, WRITE } from "../../src/kernel/effect.js";
import { LIBRARY_CLASS } from "../../src/kernel/heap.js";
import { ACCESS } from "../../src/kernel/access.js";
import { TestBo } from "./test-bo.js";

export { TestBo as FakeGem };

export interface FakeVmOptions {
  readonly mmStart?: number;
  readonly mmRange?: number;
  readonly reserveOffset?: number;
  readonly reserveRange?: number;
  readonly ops?: SmOps<FakeVa>;
}

export class FakeVm extends SimObject implements SmVm<FakeVa> {
  /** As GpuVm: a library class, so its uses are not watched and the split/merge walk must declare its reads itself. */
  static readonly [LIBRARY_CLASS] = true;
  readonly mmStart: number;
  readonly mmRange: number;
  readonly reserveOffset: number;
  readonly reserveRange: number;
  readonly tree = new VaTree<FakeVa>();
  ops: SmOps<FakeVa>;
  /** References held by inserted mappings. */
  refs = 0;

  constructor(sim: Sim, name = "vm", options: FakeVmOptions = {}) {
    super(sim, "FakeVm", { name });
    this.mmStart = options.mmStart ?? 0;
    this.mmRange = options.mmRange ?? 1 << 30;
    this.reserveOffset = options.reserveOffset ?? 0;
    this.reserveRange = options.reserveRange ?? 0;
    this.ops = options.ops ?? {};
    sim.heap.share(this.tree, this);
  }

  rangeValid(addr: number, range: number): boolean {
    const end = addr + range;
    if (!(range > 0 && addr >= this.mmStart && end <= this.mmStart + this.mmRange)) return false;
    if (this.reserveRange === 0) return true;
    return end <= this.reserveOffset || addr >= this.reserveOffset + this.reserveRange;
  }

  /** The tree as `[addr, range, gem label | "-", offset]` rows, address order. */
  layout(): [number, number, string, number][] {
    return this.tree.entries().map(({ value: v }) => [v.addr, v.range, v.gem.obj === null ? "-" : v.gem.obj.label, v.gem.offset]);
  }

  /** Insert a mapping directly (setup, outside any task). */
  place(addr: number, range: number, obj: SmGem | null = null, offset = 0): FakeVa {
    const va = new FakeVa(this.sim, { addr, range, obj, offset });
    va.placeIn(this);
    return va;
  }
}

export interface FakeVaInit {
  readonly addr: number;
  readonly range: number;
  readonly obj?: SmGem | null;
  readonly offset?: number;
}

let vaCount = 0;

export class FakeVa extends SimObject implements SmVa {
  /** As Mapping: a library class (see FakeVm). */
  static readonly [LIBRARY_CLASS] = true;
  readonly addr: number;
  readonly range: number;
  readonly gem: { readonly obj: SmGem | null; readonly offset: number };
  state: "prepared" | "inserted" | "removed" = "prepared";
  vm: FakeVm | null = null;

  constructor(sim: Sim, init: FakeVaInit) {
    super(sim, "FakeVa", { name: `va${vaCount++}` });
    this.addr = init.addr;
    this.range = init.range;
    this.gem = { obj: init.obj ?? null, offset: init.offset ?? 0 };
  }

  /** As Mapping.fromOp (drm_gpuva_init_from_op). */
  static fromOp(sim: Sim, op: GpuVaOpMapBody): FakeVa {
    return new FakeVa(sim, { addr: op.va.addr, range: op.va.range, obj: op.gem.obj, offset: op.gem.offset });
  }

  placeIn(vm: FakeVm): void {
    if (this.state !== "prepared") throw new ArgumentError("this", `is ${this.state}`);
    if (!vm.rangeValid(this.addr, this.range)) throw new ArgumentRangeError("range", "invalid");
    vm.tree.insert(this.addr, this.range, this);
    this.vm = vm;
    this.state = "inserted";
    vm.refs++;
  }

  insert(vm: FakeVm): Op<void> {
    if (this.state !== "prepared") throw new ArgumentError("this", `is ${this.state}`);
    if (!vm.rangeValid(this.addr, this.range)) throw new ArgumentRangeError("range", "invalid");
    if (vm.tree.firstOverlap(this.addr, this.range) !== undefined) throw new ArgumentError("range", "taken");
    return (function* (va: FakeVa) {
      yield new Effect(ACCESS, va, WRITE, vm.tree, null, Infinity, null, [{ object: va, mode: "write" }]);
      va.placeIn(vm);
    })(this) as unknown as Op<void>;
  }

  remove(): Op<void> {
    if (this.state !== "inserted" || this.vm === null) throw new ArgumentError("this", `is ${this.state}`);
    const vm = this.vm;
    return (function* (va: FakeVa) {
      yield new Effect(ACCESS, va, WRITE, vm.tree, null, Infinity, null, [{ object: va, mode: "write" }]);
      vm.tree.remove(va.addr);
      va.state = "removed";
      vm.refs--;
    })(this) as unknown as Op<void>;
  }
}

/** A fake VmBo: its mappings, and a settable answer to the lock assertion. */
export class FakeVmBo extends SimObject implements SmVmBo<FakeVa> {
  readonly vas: FakeVa[] = [];
  lockHeld = true;
  asserted = 0;

  constructor(
    sim: Sim,
    readonly vm: FakeVm,
    readonly obj: SmGem,
  ) {
    super(sim, "FakeVmBo", { name: `${vm.label}/${obj.label}` });
  }

  mappings(): Iterable<FakeVa> {
    return this.vas;
  }

  assertGpuvaLockHeld(): boolean {
    this.asserted++;
    return this.lockHeld;
  }
}
