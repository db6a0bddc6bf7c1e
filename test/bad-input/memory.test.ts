import { describe, expect, it } from "vitest";
import {
  ArgumentError,
  ArgumentRangeError,
  configureMemory,
  GFP_KERNEL,
  kmalloc,
  kmallocObject,
  memallocNofsRestore,
  memallocNofsSave,
  memoryStats,
  Shrinker,
  Sim,
  SimObject,
  UsageError,
  type MemoryOptions,
  type ShrinkerSpec,
} from "../../src/index.js";
import { memCharge, memUncharge } from "../../src/kernel/memory.js";
import { shrinkersOf } from "../../src/kernel/shrinker.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

/** Everything a bad call could have changed. */
function state(sim: Sim): unknown {
  return { stats: memoryStats(sim), live: sim.liveObjects().length, step: sim.step };
}

describe("bad input: kmalloc, kmallocObject, memCharge, memUncharge", () => {
  it("kmalloc(): size, gfp and options are checked before anything is allocated", () => {
    const sim = new Sim();
    const before = state(sim);
    expectThrows(() => kmalloc("8" as never, GFP_KERNEL), ArgumentError, "size");
    for (const size of [0, -1, 1.5, NaN, Infinity, 2 ** 53]) expectThrows(() => kmalloc(size, GFP_KERNEL), ArgumentRangeError, "size");
    expectThrows(() => kmalloc(8, "GFP_KERNAL" as never), ArgumentError, "gfp");
    expectThrows(() => kmalloc(8, undefined as never), ArgumentError, "gfp");
    expectThrows(() => kmalloc(8, GFP_KERNEL, null as never), ArgumentError, "options");
    expectThrows(() => kmalloc(8, GFP_KERNEL, { sit: "x" } as never), ArgumentError, "sit");
    expectThrows(() => kmalloc(8, GFP_KERNEL, { site: "" }), ArgumentError, "site");
    expectThrows(() => kmalloc(8, GFP_KERNEL, { name: 3 as never }), ArgumentError, "name");
    expect(state(sim)).toEqual(before);
  });

  it("kmalloc() driven outside a task is a UsageError; nothing is charged", () => {
    const sim = new Sim();
    const before = state(sim);
    expectThrows(() => [...kmalloc(8, GFP_KERNEL)], UsageError);
    expect(state(sim)).toEqual(before);
  });

  it("kmallocObject(): make, gfp and options are checked first; a bad make() result is a UsageError in the task and charges nothing", () => {
    const sim = collectingSim();
    const before = state(sim);
    expectThrows(() => kmallocObject(5 as never, GFP_KERNEL), ArgumentError, "make");
    expectThrows(() => kmallocObject(() => new SimObject(sim, "X"), "GFP_DMA" as never), ArgumentError, "gfp");
    expectThrows(() => kmallocObject(() => new SimObject(sim, "X"), GFP_KERNEL, { size: 0 }), ArgumentRangeError, "size");
    expectThrows(() => kmallocObject(() => new SimObject(sim, "X"), GFP_KERNEL, { bytes: 3 } as never), ArgumentError, "bytes");
    expect(state(sim)).toEqual(before);
    let err: unknown = null;
    sim.run(function* () {
      try {
        yield* kmallocObject(() => ({}) as never, GFP_KERNEL);
      } catch (e) {
        err = e;
      }
    });
    expect(err).toBeInstanceOf(UsageError);
    expect(memoryStats(sim).usageBytes).toBe(0);
  });

  it("memCharge(), memUncharge(): bytes, gfp, site, sim; uncharging more than is charged changes nothing", () => {
    const sim = new Sim();
    const before = state(sim);
    expectThrows(() => memCharge(0, GFP_KERNEL, "s"), ArgumentRangeError, "bytes");
    expectThrows(() => memCharge(8, "x" as never, "s"), ArgumentError, "gfp");
    expectThrows(() => memCharge(8, GFP_KERNEL, ""), ArgumentError, "site");
    expectThrows(() => { memUncharge(null as never, 8); }, ArgumentError, "sim");
    expectThrows(() => { memUncharge(sim, -8); }, ArgumentRangeError, "bytes");
    expectThrows(() => { memUncharge(sim, 8); }, ArgumentError, "bytes");
    expect(state(sim)).toEqual(before);
  });

  it("memallocNofsRestore(): flags not from memallocNofsSave() name 'flags'; the scope stays as it was", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const f = memallocNofsSave();
      expectThrows(() => { memallocNofsRestore(12345); }, ArgumentError, "flags");
      expectThrows(() => { memallocNofsRestore("0" as never); }, ArgumentError, "flags");
      memallocNofsRestore(f);
      yield* [];
    });
    expectThrows(() => memallocNofsSave(), UsageError);
  });
});

describe("bad input: configureMemory", () => {
  it("every option is checked before any is applied", () => {
    const sim = new Sim();
    configureMemory(sim, { limitPages: 4 });
    const before = state(sim);
    const cases: [unknown, typeof ArgumentError | typeof ArgumentRangeError, string][] = [
      [null, ArgumentError, "options"],
      [undefined, ArgumentError, "options"],
      [{ limit: 3 }, ArgumentError, "limit"],
      [{ limitPages: -1 }, ArgumentRangeError, "limitPages"],
      [{ limitPages: "4" }, ArgumentError, "limitPages"],
      [{ kswapd: "yes" }, ArgumentError, "kswapd"],
      [{ kswapd: true }, ArgumentError, "kswapd"],
      [{ watermarkPages: 2 }, ArgumentError, "watermarkPages"],
      [{ limitPages: 2, watermarkPages: 3 }, ArgumentError, "watermarkPages"],
      [{ fault: null }, ArgumentError, "fault"],
      [{ fault: { failNth: 0 } }, ArgumentRangeError, "fault.failNth"],
      [{ fault: { nth: 1 } }, ArgumentError, "fault.nth"],
      [{ fault: { failSites: "x" } }, ArgumentError, "fault.failSites"],
      [{ fault: { failSites: ["ok", ""] } }, ArgumentError, "fault.failSites[1]"],
      [{ fault: { explore: 1 } }, ArgumentError, "fault.explore"],
      [{ fault: { maxFailures: 2 } }, ArgumentError, "fault.maxFailures"],
      [{ fault: { explore: true, maxFailures: 0 } }, ArgumentRangeError, "fault.maxFailures"],
    ];
    for (const [options, cls, argument] of cases) expectThrows(() => { configureMemory(sim, options as MemoryOptions); }, cls, argument);
    expectThrows(() => { configureMemory({} as never, {}); }, ArgumentError, "sim");
    expect(state(sim)).toEqual(before);
    expect(memoryStats(sim).limitBytes).toBe(4 * 4096);
  });

  it("inside a task it is a UsageError; the configuration stays", () => {
    const sim = collectingSim();
    configureMemory(sim, { limitPages: 4 });
    let err: unknown = null;
    sim.run(function* () {
      try {
        configureMemory(sim, { limitPages: 1 });
      } catch (e) {
        err = e;
      }
      yield* [];
    });
    expect(err).toBeInstanceOf(UsageError);
    expect(memoryStats(sim).limitBytes).toBe(4 * 4096);
  });

  it("memoryStats() of a non-Sim names 'sim'", () => {
    expectThrows(() => memoryStats(3 as never), ArgumentError, "sim");
  });
});

describe("bad input: Shrinker", () => {
  it("the constructor checks sim, name and the spec; nothing is registered", () => {
    const sim = new Sim();
    const ok: ShrinkerSpec = { countObjects: () => 0, scanObjects: () => 0 };
    expectThrows(() => new Shrinker(null as never, "s", ok), ArgumentError, "sim");
    expectThrows(() => new Shrinker(sim, "", ok), ArgumentError, "name");
    expectThrows(() => new Shrinker(sim, "s", undefined as never), ArgumentError, "spec");
    expectThrows(() => new Shrinker(sim, "s", null as never), ArgumentError, "spec");
    expectThrows(() => new Shrinker(sim, "s", { scanObjects: () => 0 } as never), ArgumentError, "spec.countObjects");
    expectThrows(() => new Shrinker(sim, "s", { countObjects: () => 0 } as never), ArgumentError, "spec.scanObjects");
    expectThrows(() => new Shrinker(sim, "s", { ...ok, countObjects: 3 as never }), ArgumentError, "spec.countObjects");
    expectThrows(() => new Shrinker(sim, "s", { ...ok, seeks: -1 }), ArgumentRangeError, "spec.seeks");
    expectThrows(() => new Shrinker(sim, "s", { ...ok, batch: 0 }), ArgumentRangeError, "spec.batch");
    expectThrows(() => new Shrinker(sim, "s", { ...ok, bacth: 1 } as never), ArgumentError, "spec.bacth");
    expect(shrinkersOf(sim)).toEqual([]);
  });
});
