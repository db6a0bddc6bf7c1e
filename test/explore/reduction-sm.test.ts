/**
 * Split/merge walks declare their reads of the VM's tree
 * (noteTouched(sim, vm, false) in every step that reads it): DFS with DPOR
 * reaches the same outcomes as the unreduced search when another task
 * changes the tree while a walk runs. Without the declaration the
 * reduction would take the walk's step as independent of the insert and
 * try one order only.
 */
import { describe, expect, it } from "vitest";
import { access, type Sim } from "../../src/index.js";
import { smMap, smUnmapOpsCreate, type GpuVaOp } from "../../src/drm/split-merge.js";
import { FakeVa, FakeVm } from "../support/fake-sm-vm.js";
import { reached, type ReductionProgram } from "../support/reduction.js";

const U = 0x1000;

function describeOps(ops: readonly GpuVaOp[]): string {
  return ops.map((o) => o.op).join(",");
}

const PROGRAMS: Record<string, ReductionProgram> = {
  "ops-create in one step vs an insert into the range": (sim: Sim, seen) => {
    const vm = new FakeVm(sim);
    vm.place(0, U);
    const other = new FakeVa(sim, { addr: 2 * U, range: U });
    const mark = { n: 0 };
    sim.share(mark);
    sim.spawn("walker", "process", function* () {
      yield* access(mark, "write");
      seen(`walker:${describeOps(smUnmapOpsCreate(vm, 0, 4 * U))}`);
    });
    sim.spawn("inserter", "process", function* () {
      yield* other.insert(vm);
    });
  },
  "smMap with yielding callbacks vs an insert ahead of the walk and a remove": (sim: Sim, seen) => {
    const vm = new FakeVm(sim);
    vm.place(0, U);
    const far = vm.place(4 * U, U);
    const other = new FakeVa(sim, { addr: 2 * U, range: U });
    const log: string[] = [];
    sim.share(log);
    vm.ops = {
      *smStepMap(op) {
        yield* access(log, "write");
        log.push(`map@${op.map.va.addr / U}`);
      },
      *smStepRemap() {
        yield* access(log, "write");
        log.push("remap");
      },
      *smStepUnmap(op) {
        yield* access(log, "write");
        log.push(`unmap@${op.unmap.va.addr / U}`);
      },
    };
    sim.spawn("walker", "process", function* () {
      const r = yield* smMap(vm, { map: { va: { addr: 0, range: 6 * U }, gem: { obj: null, offset: 0 } } });
      seen(`walker:${r}:${log.join(",")}`);
    });
    sim.spawn("changer", "process", function* () {
      yield* other.insert(vm);
      if (far.state === "inserted") yield* far.remove();
    });
  },
};

describe("reduction: split/merge walks", () => {
  for (const [name, program] of Object.entries(PROGRAMS)) {
    it(`${name}: DPOR reaches what the unreduced search does`, () => {
      const full = reached(program, "none");
      expect(reached(program, "dpor")).toEqual(full);
      expect(full.length).toBeGreaterThan(1);
    });
  }
});
