/**
 * The reduction is sound for the GPUVM core's effect kinds (gem-handle,
 * gem-gpuva-list, gpuva-tree, gpuva-link, vm-bo-defer, vm-bo-destroy,
 * gpuvm-fini, gpuva-invalidate, and the TEMP vm-bo-list): for small
 * programs of two tasks obtaining and putting one VmBo, a deferred put
 * racing the deferred cleanup, two tasks inserting into one VM while a
 * third queries it, two tasks linking and unlinking mappings of one GEM,
 * and handles opened and closed while the creator drops its reference,
 * DFS with DPOR reaches the same outcomes as the unreduced search.
 */
import { describe, expect, it } from "vitest";
import { boObtain, GemObject, Mapping, VmBo, type Sim } from "../../src/index.js";
import { reached as reachedIn, type ReductionProgram } from "../support/reduction.js";
import { world } from "../support/gpuvm-world.js";

function reached(build: ReductionProgram, reduction: "dpor" | "none"): string[] {
  return reachedIn(build, reduction, { executions: 100_000 });
}

type Build = (sim: Sim, seen: (s: string) => void) => void;

const PROGRAMS: Record<string, Build> = {
  "two tasks obtain and put the same VmBo (plain mode)": (sim, seen) => {
    const w = world(sim, "plain");
    const bo = w.bo("bo");
    for (const t of ["a", "b"]) {
      sim.spawn(t, "process", function* () {
        const vb = yield* boObtain(w.vm, bo, t);
        if (vb === "nomem") return;
        seen(`${t}: refs ${vb.refcount.read()}`);
        seen(`${t}: destroyed ${String(yield* vb.put(t))}`);
      });
    }
  },
  "a deferred put of the last reference races the deferred cleanup (immediate mode)": (sim, seen) => {
    const w = world(sim, "immediateMode");
    const bo = w.bo("bo");
    sim.spawn("setup", "process", function* () {
      const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
      sim.spawn("putter", "process", function* () {
        seen(`zombie ${String(yield* vb.putDeferred("a"))}`);
      });
      sim.spawn("cleaner", "process", function* () {
        yield* w.vm.boDeferredCleanup();
        seen(`cleaned: on the GEM's list ${bo.vmBos().length}, deferred ${w.vm.deferredVmBos().length}`);
      });
    });
  },
  "two tasks insert into one VM while a third queries it": (sim, seen) => {
    const w = world(sim, "plain");
    const ms = [0, 0x1000].map((addr) => new Mapping(sim, { addr, range: 0x1000 }));
    ms.forEach((m, i) => {
      sim.spawn(`ins${i}`, "process", function* () {
        yield* m.insert(w.vm);
        yield* m.invalidate(true);
      });
    });
    sim.spawn("query", "process", function* () {
      yield* w.vm.get("q");
      seen(`found ${w.vm.vasInRange(0, 0x2000).length}`);
      yield* w.vm.put("q");
    });
  },
  "two tasks link and unlink mappings of one GEM (internal locking)": (sim, seen) => {
    const w = world(sim, "plain");
    const bo = w.bo("bo");
    sim.spawn("setup", "process", function* () {
      const vb = (yield* boObtain(w.vm, bo, "setup")) as VmBo;
      const ms = [0, 0x1000].map((addr) => new Mapping(sim, { addr, range: 0x1000, obj: bo }));
      for (const m of ms) yield* m.insert(w.vm);
      ms.forEach((m, i) => {
        sim.spawn(`t${i}`, "process", function* () {
          yield* m.link(vb);
          seen(`t${i}: linked ${vb.mappings().length}`);
          yield* m.unlinkLocked();
        });
      });
    });
  },
  "handles open and close while the creator drops its reference": (sim, seen) => {
    const obj = new GemObject(sim, { size: 4096 });
    sim.spawn("user", "process", function* () {
      yield* obj.open();
      yield* obj.close();
      seen(`user: freed ${String(obj.isFreed)}`);
    });
    sim.spawn("creator", "process", function* () {
      seen(`creator: freed ${String(yield* obj.put("creator"))}`);
    });
  },
};

describe("DPOR reaches the unreduced outcomes: GPUVM core", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, { timeout: 300_000 }, () => {
      const full = reached(build, "none");
      expect(reached(build, "dpor")).toEqual(full);
      expect(full.length).toBeGreaterThan(0);
    });
  }
});
