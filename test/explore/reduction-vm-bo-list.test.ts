/**
 * The reduction is sound for the VM BO lists (src/drm/vm-bo-list.ts) and
 * their effect kinds (vm-bo-list-add, -del, -next, -splice, vm-bo-evict):
 * for small programs of two tasks, a walk of a list racing an add, a del,
 * a last put, an evict, or a second walk, in each list mode, DFS with DPOR
 * reaches the same outcomes as the unreduced search: what the walk visited
 * and returned, the list's order at the end, and the kinds of failure. A
 * footprint that leaves out what a list step touches (the list, or the
 * entry whose links it changes) makes DPOR skip schedules, and one of these
 * fails.
 */
import { describe, expect, it } from "vitest";
import { evict, type Effect, type Sim, type VmBoListMode } from "../../src/index.js";
import { reached, type ReductionProgram } from "../support/reduction.js";
import { FakeGem, FakeVm, type FakeVmBo } from "../support/fake-gpuvm.js";

type Other = "add" | "del" | "put" | "evict" | "walk" | "add-to-unlocked-walk";

/** A VM with two VmBos; `a` on the extobj (or, for "evict", evict) list, `b` not. */
function program(mode: VmBoListMode, other: Other): ReductionProgram {
  return (sim: Sim, seen: (s: string) => void) => {
    const vm = new FakeVm(sim, "vm", { listMode: mode });
    const gems = [new FakeGem(sim, "bo0"), new FakeGem(sim, "bo1")];
    sim.spawn("setup", "process", function* () {
      const a = yield* vm.obtain(gems[0] as FakeGem);
      const b = yield* vm.obtain(gems[1] as FakeGem);
      const list = other === "evict" ? vm.evict : vm.extobj;
      const underResv = function* <T>(body: () => Generator<Effect, T, unknown> | Iterable<Effect, T, unknown>): Generator<Effect, T, unknown> {
        if (mode === "spinlock") return yield* body();
        yield* vm.resv.lock(null);
        const r = yield* body();
        yield* vm.resv.unlock();
        return r;
      };
      if (mode === "resv") yield* underResv(() => list.add(a, false));
      else yield* list.add(a);
      let running = 2;
      const visits: string[] = [];
      const finish = function* (): Generator<Effect, void, unknown> {
        if (--running > 0) return;
        seen(`${visits.join(",")} | ${list.entries().map((e) => e.obj.name).join(",")}`);
        // Teardown, one task left.
        yield* vm.resv.lock(null);
        for (const x of [a, b]) if (!x.isFreed) yield* x.putLocked("creator");
        yield* vm.resv.unlock();
        for (const g of gems) yield* g.put("creator");
        yield* vm.put("creator");
      };
      const walkOnce = function* (tag: string): Generator<Effect, void, unknown> {
        // A driver bug: walking a resv-protected list without the resv; only the list's own steps order it against the add.
        const lockFor = other === "add-to-unlocked-walk" ? function* <T>(body: () => Iterable<Effect, T, unknown>): Generator<Effect, T, unknown> {
          return yield* body();
        } : underResv;
        const r = yield* lockFor(() =>
          list.walk((x: FakeVmBo) => {
            visits.push(`${tag}:${x.obj.name}`);
          }),
        );
        visits.push(`${tag}=${r}`);
      };
      sim.spawn("walker", "process", function* () {
        yield* walkOnce("w");
        yield* finish();
      });
      sim.spawn("other", "process", function* () {
        switch (other) {
          case "add":
          case "add-to-unlocked-walk":
            if (mode === "resv") yield* underResv(() => list.add(b, false));
            else yield* list.add(b);
            break;
          case "del":
            if (mode === "spinlock") yield* list.del(a);
            else yield* underResv(() => list.del(a, mode === "two-list"));
            break;
          case "put":
            yield* underResv(() => a.putLocked("creator"));
            break;
          case "evict":
            // Both GEMs are external: in resv mode only the flag changes.
            yield* (gems[1] as FakeGem).resv.lock(null);
            yield* evict(b, true);
            yield* (gems[1] as FakeGem).resv.unlock();
            break;
          case "walk":
            yield* walkOnce("v");
            break;
        }
        yield* finish();
      });
    });
  };
}

const CASES: readonly (readonly [VmBoListMode, Other])[] = [
  ["spinlock", "add"],
  ["spinlock", "del"],
  ["spinlock", "put"],
  ["spinlock", "evict"],
  ["spinlock", "walk"],
  ["resv", "add"],
  ["resv", "put"],
  ["resv", "add-to-unlocked-walk"],
  ["two-list", "add"],
  ["two-list", "del"],
  ["two-list", "evict"],
];

describe("DPOR reaches what the unreduced search reaches: VM BO list walks", () => {
  it.each(CASES)("%s mode, a walk racing a %s", (mode, other) => {
    const dpor = reached(program(mode, other), "dpor");
    const none = reached(program(mode, other), "none");
    expect(dpor).toEqual(none);
    expect(none.length).toBeGreaterThan(0);
    if (mode === "spinlock" && other === "walk") expect(none).toContain("failure:vm-bo-list-concurrent-walk");
    if (other === "add-to-unlocked-walk") expect(none).toContain("failure:lock-not-held");
  }, 120_000);
});
