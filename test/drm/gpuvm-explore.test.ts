/**
 * The GPUVM core under the explorer: every interleaving (exhaustive DFS) of
 * small multi-task programs ends clean (no report, nothing leaked): a
 * deferred put racing the deferred cleanup while the GEM's last reference
 * rides on the VmBo; two tasks unlinking the two mappings of one VmBo with
 * internal locking while the GEM's creator drops its reference; two tasks
 * obtaining and putting one VmBo in each VM mode.
 */
import { describe, expect, it } from "vitest";
import { boObtain, explore, kfree, Mapping, VmBo, type Sim } from "../../src/index.js";
import { VM_MODES, world } from "../support/gpuvm-world.js";

function clean(build: (sim: Sim) => void): void {
  const r = explore(build, { strategy: { name: "dfs", reduction: "dpor" }, executions: 50_000, stopAtFirst: true, shrink: false });
  expect(r.failures.map((f) => f.report.kind)).toEqual([]);
  expect(r.exhausted).toBe(true);
}

describe("GPUVM core under exhaustive exploration", () => {
  it("a deferred put racing the deferred cleanup (the VmBo holds the GEM's last reference) is clean", { timeout: 120_000 }, () => {
    clean((sim) => {
      const w = world(sim, "immediateMode");
      const bo = w.bo("bo");
      sim.spawn("setup", "process", function* () {
        const vb = (yield* boObtain(w.vm, bo, "a")) as VmBo;
        yield* vb.get("b");
        yield* bo.put("creator");
        const done = { n: 0 };
        const finish = function* () {
          if (++done.n < 3) return;
          yield* w.vm.boDeferredCleanup();
          yield* w.vm.put("creator");
          yield* w.root.put("creator");
        };
        sim.spawn("put-a", "process", function* () {
          yield* vb.putDeferred("a");
          yield* finish();
        });
        sim.spawn("put-b", "process", function* () {
          yield* vb.putDeferred("b");
          yield* finish();
        });
        sim.spawn("cleaner", "process", function* () {
          yield* w.vm.boDeferredCleanup();
          yield* finish();
        });
      });
    });
  });

  it("two tasks unlink the two mappings of one VmBo (internal locking) while the GEM's creator lets go: clean", { timeout: 120_000 }, () => {
    clean((sim) => {
      const w = world(sim, "plain");
      const bo = w.bo("bo");
      sim.spawn("setup", "process", function* () {
        const vb = (yield* boObtain(w.vm, bo, "setup")) as VmBo;
        const ms = [0, 0x1000].map((addr) => new Mapping(sim, { addr, range: 0x1000, obj: bo }));
        for (const m of ms) {
          yield* m.insert(w.vm);
          yield* m.link(vb);
        }
        yield* vb.put("setup");
        const done = { n: 0 };
        ms.forEach((m, i) => {
          sim.spawn(`unmap${i}`, "process", function* () {
            yield* m.unlink();
            yield* m.remove();
            yield* kfree(m);
            if (++done.n === 2) {
              yield* w.vm.put("creator");
              yield* w.root.put("creator");
            }
          });
        });
        yield* bo.put("creator");
      });
    });
  });

  for (const mode of VM_MODES) {
    it(`two tasks obtain and put one VmBo (${mode}): clean`, { timeout: 120_000 }, () => {
      clean((sim) => {
        const w = world(sim, mode);
        const bo = w.bo("bo");
        const done = { n: 0 };
        for (const t of ["a", "b"]) {
          sim.spawn(t, "process", function* () {
            const vb = yield* boObtain(w.vm, bo, t);
            if (vb !== "nomem") yield* vb.put(t);
            if (++done.n === 2) {
              yield* bo.put("creator");
              yield* w.vm.put("creator");
              yield* w.root.put("creator");
            }
          });
        }
      });
    });
  }
});
