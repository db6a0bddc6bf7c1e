/**
 * Every allocating function of DmaResv and DrmExec, failed at each of its
 * allocations in turn (test/support/alloc-failure.ts), either succeeds or
 * leaves all state as it was: the fence list and its slots, the fence
 * refcounts, the locks held, the memory charged.
 *
 * The allocations: reserveFences (the new fence list), getSingleton with
 * two fences or more (the fence array), DrmExec's object table (on the
 * first object locked, and when it grows) and prepareObj (table, then the
 * resv's list).
 */
import { describe, expect, it } from "vitest";
import { DmaFence, DmaResv, DrmExec, FenceContext, memoryStats, type Effect, type Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectUnchangedOnFailure, forEachAllocationFailure } from "../support/alloc-failure.js";
import { TestBo } from "../support/test-bo.js";

interface World {
  readonly resv: DmaResv;
  readonly fences: readonly DmaFence[];
  readonly bo: TestBo;
}

/** A resv holding two unsignalled fences (added by a setup task), and a TestBo. */
function setup(): { sim: Sim; world: World } {
  const sim = collectingSim();
  const resv = new DmaResv(sim, { name: "r", static: true });
  const fences = [new DmaFence(new FenceContext(sim, "a"), { name: "fa", static: true }), new DmaFence(new FenceContext(sim, "b"), { name: "fb", static: true })];
  const bo = new TestBo(sim, "bo0");
  sim.run(function* () {
    yield* resv.lock(null);
    yield* resv.reserveFences(2);
    yield* resv.addFence(fences[0] as DmaFence, "write");
    yield* resv.addFence(fences[1] as DmaFence, "read");
    yield* resv.unlock();
  });
  return { sim, world: { resv, fences, bo } };
}

function snapshot(w: World, sim: Sim): unknown {
  return {
    list: w.resv.fenceList.map((e) => [e.fence.name, e.usage]),
    listObject: w.resv.list?.id ?? null,
    slots: w.resv.maxFences,
    refs: w.fences.map((f) => f.refcount.read()),
    boRefs: w.bo.refcount.read(),
    locked: [w.resv.isLocked(), w.bo.resv.isLocked()],
    usage: memoryStats(sim).usageBytes,
  };
}

describe("every allocation of DmaResv and DrmExec failed in turn leaves all state as it was", () => {
  it("reserveFences: the new list", () => {
    const n = forEachAllocationFailure<World, string>({
      setup,
      *body({ resv }): Generator<Effect, string, unknown> {
        yield* resv.lock(null);
        const r = yield* resv.reserveFences(8);
        // Snapshot compares after the unlock: the slots belong to the hold, so compare the list itself.
        yield* resv.unlock();
        return r;
      },
      snapshot,
      check: expectUnchangedOnFailure((r) => r === "ok"),
    });
    expect(n).toBe(1);
  });

  it("getSingleton with two fences: the fence array", () => {
    const n = forEachAllocationFailure<World, string>({
      setup,
      *body({ resv }): Generator<Effect, string, unknown> {
        const s = yield* resv.getSingleton("read");
        if (s === "nomem" || s === null) return String(s);
        // Drop the array again (it holds a reference to each fence) so the states compare.
        yield* s.put();
        return "ok";
      },
      snapshot,
      check: expectUnchangedOnFailure((r) => r === "ok"),
    });
    expect(n).toBe(1);
  });

  it("DrmExec.prepareObj: the object table, then the resv's list", () => {
    const n = forEachAllocationFailure<World, string>({
      setup,
      *body({ bo }): Generator<Effect, string, unknown> {
        const exec = new DrmExec(bo.resv.sim);
        let r = "";
        yield* exec.untilAllLocked(function* () {
          r = yield* exec.prepareObj(bo, 1);
        });
        const locked = exec.objects().length;
        yield* exec.fini();
        return r === "ok" && locked === 1 ? "ok" : r;
      },
      snapshot,
      check: expectUnchangedOnFailure((r) => r === "ok"),
    });
    expect(n).toBe(2);
  });

  it("DrmExec.lockObj past a full table (nr: 1): the growth", () => {
    const n = forEachAllocationFailure<World, string>({
      setup() {
        const s = setup();
        return { sim: s.sim, world: { ...s.world, extra: new TestBo(s.sim, "bo1") } as World & { extra: TestBo } };
      },
      *body(w): Generator<Effect, string, unknown> {
        const { bo, extra } = w as World & { extra: TestBo };
        const exec = new DrmExec(bo.resv.sim, { nr: 1 });
        let r1 = "";
        let r2 = "";
        yield* exec.untilAllLocked(function* () {
          r1 = yield* exec.lockObj(bo);
          r2 = yield* exec.lockObj(extra);
        });
        const locked = exec.objects().length;
        yield* exec.fini();
        return r1 === "ok" && r2 === "ok" && locked === 2 ? "ok" : `${r1}/${r2}`;
      },
      snapshot,
      check: expectUnchangedOnFailure((r) => r === "ok"),
    });
    expect(n).toBe(2);
  });
});
