import { expect, it } from "vitest";
import { kfree } from "../../src/kernel/heap.js";
import { GemObject } from "../../src/drm/gem-object.js";
import { GpuVm } from "../../src/drm/gpuvm.js";
import { boObtain } from "../../src/drm/vm-bo.js";
import { Mapping } from "../../src/drm/mapping.js";
import { collectingSim } from "../support/collecting-sim.js";

for (const mode of [{}, { resvProtected: true }, { immediateMode: true }]) {
  it(`smoke ${JSON.stringify(mode)}`, () => {
    const sim = collectingSim();
    sim.run(function* () {
      const root = new GemObject(sim, { name: "root", size: 4096 });
      const vm = GpuVm.create(sim, { name: "vm", mmStart: 0, mmRange: 1 << 20, resvObj: root, ops: { vmFree: (v) => kfree(v) }, ...mode });
      const bo = new GemObject(sim, "resvProtected" in mode ? { name: "bo", size: 8192, resv: root.resv } : { name: "bo", size: 8192 });
      const b = yield* boObtain(vm, bo);
      if (b === "nomem") throw new Error("nomem");
      const va = new Mapping(sim, { addr: 0x1000, range: 0x2000, obj: bo });
      yield* va.insert(vm);
      yield* va.link(b);
      yield* b.put();
      expect(vm.checkInvariants()).toEqual([]);
      yield* va.unlink();
      yield* va.remove();
      yield* bo.put("creator");
      yield* vm.put("creator");
      yield* root.put("creator");
    });
    expect(sim.reports).toEqual([]);
  });
}
