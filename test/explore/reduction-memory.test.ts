/**
 * The reduction is sound for the memory effects: in small programs that
 * allocate and free (with and without a limit, under fault injection,
 * with direct reclaim through a shrinker and with kswapd), DFS with DPOR
 * reaches the same outcomes as the unreduced search. Without a limit and
 * without fail-nth or explored faults, allocations declare no footprint
 * (they commute); with any of those they write the memory state, and a
 * kfree of a charged object writes it too. Declaring less would make one
 * of these fail.
 */
import { describe, expect, it } from "vitest";
import {
  access,
  configureMemory,
  GFP_ATOMIC,
  GFP_KERNEL,
  kfree,
  kmalloc,
  Mutex,
  PAGE_SIZE,
  Shrinker,
  type Effect,
  type KmallocBuffer,
  type Sim,
} from "../../src/index.js";
import { reached } from "../support/reduction.js";


/** Two tasks allocate one page each (and free it); what each got, joined when both are done. */
function twoAllocators(sim: Sim, seen: (s: string) => void, gfp = GFP_KERNEL): void {
  const got: Record<string, string> = {};
  const d = sim.share({ log: "" });
  for (const name of ["a", "b"]) {
    sim.spawn(name, "process", function* () {
      const buf = yield* kmalloc(PAGE_SIZE, gfp);
      got[name] = buf === null ? "null" : "ok";
      yield* access(d, "write");
      d.log += name;
      if (buf !== null) yield* kfree(buf);
      if (Object.keys(got).length === 2 && d.log.length === 2) seen(`a=${got["a"]} b=${got["b"]} order=${d.log}`);
    });
  }
}

const PROGRAMS: Record<string, (sim: Sim, seen: (s: string) => void) => void> = {
  "no limit: allocations commute (only the access order differs)": (sim, seen) => { twoAllocators(sim, seen); },
  "a one-page limit: who gets the page depends on the order of allocations and frees": (sim, seen) => {
    configureMemory(sim, { limitPages: 1 });
    twoAllocators(sim, seen);
  },
  "a one-page limit, GFP_ATOMIC: fails at once against the other's free": (sim, seen) => {
    configureMemory(sim, { limitPages: 1 });
    twoAllocators(sim, seen, GFP_ATOMIC);
  },
  "fail-nth 1: the first allocation of either task fails": (sim, seen) => {
    configureMemory(sim, { fault: { failNth: 1 } });
    twoAllocators(sim, seen);
  },
  "explored faults, one failure per execution, two tasks": (sim, seen) => {
    configureMemory(sim, { fault: { explore: true } });
    twoAllocators(sim, seen);
  },
  "a one-page limit and a shrinker that frees a cached page under a mutex, against a task using the cache": (sim, seen) => {
    configureMemory(sim, { limitPages: 1 });
    const m = new Mutex(sim, "cache_lock", { static: true });
    const cache: KmallocBuffer[] = [];
    const d = sim.share({ hits: 0 });
    new Shrinker(sim, "cache", {
      countObjects: () => cache.length,
      *scanObjects(): Generator<Effect, number, unknown> {
        if (!(yield* m.trylock())) return 0;
        const b = cache.pop();
        yield* m.unlock();
        if (b === undefined) return 0;
        yield* kfree(b);
        return 1;
      },
    }).register();
    const got: Record<string, string> = {};
    const done = (): void => {
      if (Object.keys(got).length === 2) seen(`filler=${got["filler"]} user=${got["user"]}`);
    };
    sim.spawn("filler", "process", function* () {
      const b = yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
      got["filler"] = b === null ? "null" : "ok";
      if (b !== null) {
        yield* m.lock();
        cache.push(b);
        yield* m.unlock();
      }
      done();
    });
    sim.spawn("user", "process", function* () {
      const b = yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
      yield* m.lock();
      yield* access(d, "write");
      d.hits += cache.length;
      const c = cache.pop();
      yield* m.unlock();
      got["user"] = `${b === null ? "null" : "ok"}/hits=${d.hits}`;
      if (c !== undefined) yield* kfree(c);
      if (b !== null) yield* kfree(b);
      done();
    });
  },
  "kswapd woken by one task while another frees": (sim, seen) => {
    configureMemory(sim, { limitPages: 2, kswapd: true, watermarkPages: 1 });
    const pool: KmallocBuffer[] = [];
    const d = sim.share({ v: 0 });
    new Shrinker(sim, "pool", {
      countObjects: () => pool.length,
      *scanObjects(): Generator<Effect, number, unknown> {
        yield* access(d, "write");
        const b = pool.pop();
        if (b === undefined) return 0;
        yield* kfree(b);
        return 1;
      },
    }).register();
    const got: Record<string, string> = {};
    sim.spawn("a", "process", function* () {
      const b = yield* kmalloc(PAGE_SIZE, GFP_KERNEL);
      yield* access(d, "write");
      if (b !== null) pool.push(b);
      got["a"] = b === null ? "null" : "ok";
      if (Object.keys(got).length === 2) seen(`a=${got["a"]} b=${got["b"]} pool=${pool.length}`);
    });
    sim.spawn("b", "process", function* () {
      const b = yield* kmalloc(PAGE_SIZE, GFP_ATOMIC);
      yield* access(d, "write");
      got["b"] = b === null ? "null" : "ok";
      if (b !== null) pool.push(b);
      if (Object.keys(got).length === 2) seen(`a=${got["a"]} b=${got["b"]} pool=${pool.length}`);
    });
  },
};

describe("DPOR reaches every outcome of the unreduced search, in programs that allocate", () => {
  for (const [name, build] of Object.entries(PROGRAMS)) {
    it(name, () => {
      const all = reached(build, "none");
      expect(all.length).toBeGreaterThan(1);
      expect(reached(build, "dpor")).toEqual(all);
    });
  }
});
