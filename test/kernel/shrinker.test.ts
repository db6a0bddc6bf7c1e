/**
 * Shrinker: do_shrink_slab()'s count-then-scan-in-batches loop, SHRINK_STOP
 * and SHRINK_EMPTY, seeks, registration order, register/unregister rules,
 * and callbacks that break their contract.
 */
import { describe, expect, it } from "vitest";
import { collectingSim } from "../support/collecting-sim.js";
import {
  configureMemory,
  GFP_KERNEL,
  kfree,
  kmalloc,
  PAGE_SIZE,
  SHRINK_EMPTY,
  SHRINK_STOP,
  Shrinker,
  UsageError,
  type Effect,
  type KmallocBuffer,
  type ShrinkerSpec,
  type Sim,
} from "../../src/index.js";

/**
 * Fill the Sim's one page, then ask for one more byte: direct reclaim runs
 * the registered shrinkers once (they free nothing here, so the
 * allocation fails after that one round).
 */
function pressure(sim: Sim): void {
  configureMemory(sim, { limitPages: 1 });
  sim.run(function* () {
    const a = (yield* kmalloc(PAGE_SIZE, GFP_KERNEL)) as KmallocBuffer;
    yield* kmalloc(1, GFP_KERNEL);
    yield* kfree(a);
  });
}

/** A shrinker that logs its calls; count returns `freeable`; scan returns `scan(nrToScan)`. */
function logging(sim: Sim, name: string, log: string[], freeable: number, scan: (n: number) => number, tuning: Partial<ShrinkerSpec> = {}): Shrinker {
  return new Shrinker(sim, name, {
    countObjects: () => {
      log.push(`${name}:count`);
      return freeable;
    },
    scanObjects: (sc) => {
      log.push(`${name}:scan ${sc.nrToScan}`);
      return scan(sc.nrToScan);
    },
    ...tuning,
  });
}

describe("do_shrink_slab: count, then scan in batches", () => {
  it("300 freeable, batch 128, seeks 2: scans 128 four times (total 600 down to 88, which is below batch and freeable)", () => {
    const sim = collectingSim();
    const log: string[] = [];
    logging(sim, "s", log, 300, () => 0).register();
    pressure(sim);
    expect(log).toEqual(["s:count", "s:scan 128", "s:scan 128", "s:scan 128", "s:scan 128"]);
  });

  it("a batch of 100 and seeks 4 scans freeable once over, in batches of 100 (300: 100, 100, 100)", () => {
    const sim = collectingSim();
    const log: string[] = [];
    logging(sim, "s", log, 300, () => 0, { batch: 100, seeks: 4 }).register();
    pressure(sim);
    expect(log).toEqual(["s:count", "s:scan 100", "s:scan 100", "s:scan 100"]);
  });

  it("seeks 0 scans half of what is freeable (300: 150, one batch of 128, and 22 left is below both); 10: 5 is below both, no scan", () => {
    const sim = collectingSim();
    const log: string[] = [];
    logging(sim, "s", log, 300, () => 0, { seeks: 0 }).register();
    logging(sim, "t", log, 10, () => 0, { seeks: 0 }).register();
    pressure(sim);
    expect(log).toEqual(["s:count", "s:scan 128", "t:count"]);
  });

  it("a small freeable count is scanned in one call (total >= freeable)", () => {
    const sim = collectingSim();
    const log: string[] = [];
    logging(sim, "s", log, 3, () => 0).register();
    pressure(sim);
    expect(log).toEqual(["s:count", "s:scan 6"]);
  });

  it("SHRINK_STOP ends the shrinker's loop; SHRINK_EMPTY and 0 skip its scan", () => {
    const sim = collectingSim();
    const log: string[] = [];
    logging(sim, "stop", log, 1000, () => SHRINK_STOP).register();
    logging(sim, "empty", log, SHRINK_EMPTY, () => 0).register();
    logging(sim, "zero", log, 0, () => 0).register();
    pressure(sim);
    expect(log).toEqual(["stop:count", "stop:scan 128", "empty:count", "zero:count"]);
  });

  it("runs every registered shrinker in registration order; an unregistered one no more", () => {
    const sim = collectingSim();
    const log: string[] = [];
    const a = logging(sim, "a", log, 0, () => 0);
    const b = logging(sim, "b", log, 0, () => 0);
    b.register();
    a.register();
    expect(a.isRegistered && b.isRegistered).toBe(true);
    pressure(sim);
    expect(log).toEqual(["b:count", "a:count"]);
    b.unregister();
    expect(b.isRegistered).toBe(false);
    log.length = 0;
    sim.run(function* () {
      const x = yield* kmalloc(1, GFP_KERNEL);
      if (x !== null) yield* kfree(x);
    });
    // Usage is 0 again: the byte fits, no reclaim.
    expect(log).toEqual([]);
  });

  it("callbacks may be generator functions that yield effects (a count that takes a lock)", () => {
    const sim = collectingSim();
    const log: string[] = [];
    new Shrinker(sim, "g", {
      *countObjects(): Generator<Effect, number, unknown> {
        const b = yield* kmalloc(1, GFP_KERNEL); // PF_MEMALLOC: no recursion; over the limit it fails
        log.push(`count alloc ${b === null ? "failed" : "ok"}`);
        return 1;
      },
      *scanObjects(sc): Generator<Effect, number, unknown> {
        log.push(`scan ${sc.nrToScan}`);
        yield* kmalloc(1, GFP_KERNEL);
        return 0;
      },
    }).register();
    pressure(sim);
    expect(log).toEqual(["count alloc failed", "scan 2"]);
  });
});

describe("Shrinker: misuse", () => {
  it("register twice, unregister when not registered: UsageError, nothing changes", () => {
    const sim = collectingSim();
    const s = logging(sim, "s", [], 0, () => 0);
    expect(() => { s.unregister(); }).toThrow(UsageError);
    s.register();
    expect(() => { s.register(); }).toThrow(UsageError);
    expect(s.isRegistered).toBe(true);
  });

  it("register or unregister inside a task: UsageError in the task, list unchanged", () => {
    const sim = collectingSim();
    const s = logging(sim, "s", [], 0, () => 0);
    let err: unknown = null;
    sim.run(function* () {
      try {
        s.register();
      } catch (e) {
        err = e;
      }
      const x = yield* kmalloc(1, GFP_KERNEL);
      if (x !== null) yield* kfree(x);
    });
    expect(err).toBeInstanceOf(UsageError);
    expect(s.isRegistered).toBe(false);
  });

  it("a callback returning a bad count is a UsageError thrown in the allocating task (a task-exception report)", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    new Shrinker(sim, "bad", { countObjects: () => -5, scanObjects: () => 0 }).register();
    configureMemory(sim, { limitPages: 0 });
    sim.spawn("t", "process", function* () {
      yield* kmalloc(1, GFP_KERNEL);
    });
    sim.runAll();
    const r = sim.reports.find((x) => x.kind === "task-exception");
    expect(r?.kind).toBe("task-exception");
    expect(JSON.stringify(r)).toContain("countObjects() must return");
  });
});
