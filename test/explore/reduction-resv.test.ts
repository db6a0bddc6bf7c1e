/**
 * The reduction is sound for DmaResv's fence list: for small programs of a
 * writer (lock, reserve, add a fence, unlock: the list replaced and the old
 * one freed with kfreeRcu) against an unlocked reader (testSignaled,
 * getFences: rcu_read_lock, the seqcount, getRcu of each fence, its
 * is_signaled read) or a fence signaller, DFS with DPOR reaches the same
 * outcomes as the unreduced search: what each reader saw, and the kinds of
 * failure. A step that reads a fence's signalled state without declaring
 * it, or a list replaced without declaring the old one, makes DPOR skip a
 * schedule, and one of these fails.
 */
import { describe, expect, it } from "vitest";
import { DmaFence, DmaResv, explore, FenceContext, type Effect, type Sim } from "../../src/index.js";

type Build = (sim: Sim, seen: (s: string) => void) => void;

function reached(build: Build, reduction: "dpor" | "none"): string[] {
  const set = new Set<string>();
  const r = explore(
    (sim) => {
      build(sim, (s) => set.add(s));
    },
    { strategy: { name: "dfs", reduction }, executions: 100_000, stopAtFirst: false, shrink: false, checks: { lifetimes: false } },
  );
  expect(r.exhausted).toBe(true);
  for (const f of r.failures) set.add(`failure:${f.report.kind}`);
  return [...set].sort();
}

function* add(resv: DmaResv, f: DmaFence, usage: "write" | "read"): Generator<Effect, void, unknown> {
  yield* resv.lock(null);
  yield* resv.reserveFences(1);
  yield* resv.addFence(f, usage);
  yield* resv.unlock();
}

const PROGRAMS: Record<string, Build> = {
  "a writer adds a fence; an unlocked reader tests the list": (sim, seen) => {
    const resv = new DmaResv(sim, { name: "r", static: true });
    const f = new DmaFence(new FenceContext(sim, "c"), { name: "f", static: true });
    sim.spawn("writer", "process", function* () {
      yield* add(resv, f, "write");
      yield* f.signal();
    });
    sim.spawn("reader", "process", function* () {
      seen(`reader=${String(yield* resv.testSignaled("read"))}`);
    });
  },
  "a signaller signals a listed fence; an unlocked reader collects the unsignalled ones": (sim, seen) => {
    const resv = new DmaResv(sim, { name: "r", static: true });
    const f = new DmaFence(new FenceContext(sim, "c"), { name: "f", static: true });
    sim.spawn("owner", "process", function* () {
      yield* add(resv, f, "read");
      sim.spawn("reader", "process", function* () {
        const got = yield* resv.getFences("read");
        for (const g of got) yield* g.put();
        seen(`reader=${got.map((g) => g.name).join(",")}`);
      });
      yield* f.signal();
    });
  },
  "two writers add fences of two contexts to one resv (the second replaces the list)": (sim, seen) => {
    const resv = new DmaResv(sim, { name: "r", static: true });
    const fs = ["a", "b"].map((n) => new DmaFence(new FenceContext(sim, n), { name: n, static: true }));
    fs.forEach((f, i) => {
      sim.spawn(`w${i}`, "process", function* () {
        yield* add(resv, f, "read");
        if (resv.numFences === 2) seen(`both: ${resv.fenceList.map((e) => e.fence.name).join(",")}`);
        yield* f.signal();
      });
    });
  },
};

describe("DPOR reaches every outcome of the unreduced search for DmaResv's fence list", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, () => {
      const all = reached(build, "none");
      expect(all.length).toBeGreaterThan(1);
      expect(reached(build, "dpor")).toEqual(all);
    }, 120_000);
  }
});
