/**
 * The reduction is sound for DmaResv's fence list: for small programs of a
 * writer (lock, reserve, add a fence, unlock: the list replaced and the old
 * one freed with kfreeRcu) against an unlocked reader (testSignaled,
 * getFences: rcu_read_lock, the seqcount, getRcu of each fence, its
 * is_signaled read) or a fence signaller, DFS with DPOR reaches the same
 * outcomes as the unreduced search: what each reader saw, and the kinds of
 * failure. Also: a fence replaced in place, reserve's list swap (its old
 * list freed with a plain kfree, so the use-after-free is an outcome),
 * waitTimeout against a signal, getSingleton against addFence's writer,
 * fini and replaceFences against a reader, and a DmaFenceArray created
 * while its fences signal (which task signals the array). A step that reads a fence's signalled state without declaring
 * it, or a list replaced without declaring the old one, makes DPOR skip a
 * schedule, and one of these fails.
 */
import { describe, expect, it } from "vitest";
import { DmaFence, DmaFenceArray, dmaFenceArrayCreate, DmaResv, FenceContext, type Effect, type Sim } from "../../src/index.js";
import { reached as reachedIn, type ReductionProgram } from "../support/reduction.js";

type Build = (sim: Sim, seen: (s: string) => void) => void;

/** What an exhaustive DFS reached (test/support/reduction.ts), with this file's limits. */
function reached(build: ReductionProgram, reduction: "dpor" | "none"): string[] {
  return reachedIn(build, reduction, { executions: 100_000, checks: { lifetimes: false } });
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
  "a writer replaces a fence of the same context in place; an unlocked reader collects": (sim, seen) => {
    const resv = new DmaResv(sim, { name: "r", static: true });
    const ctx = new FenceContext(sim, "c");
    const f1 = new DmaFence(ctx, { name: "f1", seqno: 1, static: true });
    const f2 = new DmaFence(ctx, { name: "f2", seqno: 2, static: true });
    sim.spawn("setup", "process", function* () {
      yield* add(resv, f1, "read");
      sim.spawn("reader", "process", function* () {
        seen(`reader=${String(yield* resv.testSignaled("read"))}`);
      });
      yield* resv.lock(null);
      yield* resv.addFence(f2, "read");
      yield* resv.unlock();
      yield* f1.signal();
    });
  },
  "a reserve drops a signalled fence and swaps the list under an unlocked reader (old list freed by plain kfree: a use-after-free DPOR must find too)": (sim, seen) => {
    const resv = new DmaResv(sim, { name: "r", static: true });
    resv.unsafePlainKfree = true;
    const a = new DmaFence(new FenceContext(sim, "a"), { name: "a", static: true });
    sim.spawn("setup", "process", function* () {
      yield* add(resv, a, "read");
      yield* a.signal();
      sim.spawn("reader", "process", function* () {
        seen(`reader=${String(yield* resv.testSignaled("read"))}`);
      });
      yield* resv.lock(null);
      yield* resv.reserveFences(1);
    });
  },
  "waitTimeout against a signaller": (sim, seen) => {
    const resv = new DmaResv(sim, { name: "r", static: true });
    const f = new DmaFence(new FenceContext(sim, "c"), { name: "f", static: true });
    sim.spawn("owner", "process", function* () {
      yield* add(resv, f, "write");
      sim.spawn("waiter", "process", function* () {
        const r = yield* resv.waitTimeout("read", false, 0);
        seen(`waiter=${String(r)}`);
      });
      yield* f.signal();
    });
  },
  "getSingleton of two fences against their signallers": (sim, seen) => {
    const resv = new DmaResv(sim, { name: "r", static: true });
    const [a, b] = ["a", "b"].map((n) => new DmaFence(new FenceContext(sim, n), { name: n, static: true })) as [DmaFence, DmaFence];
    sim.spawn("owner", "process", function* () {
      yield* resv.lock(null);
      yield* resv.reserveFences(2);
      yield* resv.addFence(a, "read");
      yield* resv.addFence(b, "read");
      yield* resv.unlock();
      sim.spawn("getter", "process", function* () {
        const s = yield* resv.getSingleton("read");
        if (s === null || s === "nomem") seen(`getter=${String(s)}`);
        else seen(`getter=${s instanceof DmaFenceArray ? "array" : s.name} signalled=${String(s.isSignaled())}`);
      });
      yield* b.signal();
      yield* a.signal();
    });
  },
  "fini against an unlocked reader": (sim, seen) => {
    const resv = new DmaResv(sim, { name: "r", static: true });
    const f = new DmaFence(new FenceContext(sim, "c"), { name: "f", static: true });
    sim.spawn("owner", "process", function* () {
      yield* add(resv, f, "read");
      sim.spawn("reader", "process", function* () {
        seen(`reader=${String(yield* resv.testSignaled("read"))}`);
      });
      yield* resv.fini();
      yield* f.signal();
    });
  },
  "replaceFences against an unlocked reader": (sim, seen) => {
    const resv = new DmaResv(sim, { name: "r", static: true });
    const f = new DmaFence(new FenceContext(sim, "c"), { name: "f", static: true });
    const g = new DmaFence(new FenceContext(sim, "d"), { name: "g", static: true });
    sim.spawn("owner", "process", function* () {
      yield* add(resv, f, "read");
      sim.spawn("reader", "process", function* () {
        seen(`reader=${String(yield* resv.testSignaled("read"))}`);
      });
      yield* resv.lock(null);
      seen(`replaced=${yield* resv.replaceFences(f.context, g, "read")}`);
    });
  },
  "a fence array is created while a signaller signals its fences (who signals the array)": (sim, seen) => {
    const [a, b] = ["a", "b"].map((n) => new DmaFence(new FenceContext(sim, n), { name: n, static: true })) as [DmaFence, DmaFence];
    sim.spawn("maker", "process", function* () {
      yield* a.get();
      yield* b.get();
      const arr = yield* dmaFenceArrayCreate([a, b]);
      if (arr === null) return;
      sim.spawn("watch", "process", function* () {
        yield* arr.wait(false);
        seen(`array signalled by ${arr.signalSite?.task?.name ?? "?"}`);
        yield* arr.put();
      });
    });
    sim.spawn("signaller", "process", function* () {
      yield* b.signal();
      yield* a.signal();
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
