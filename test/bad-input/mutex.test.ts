/** Mutex refuses bad arguments with typed errors naming them, and changes nothing. */
import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, Mutex } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows, nextId } from "./helpers.js";

describe("Mutex: bad input", () => {
  it("constructor: empty class name, bad options; nothing is made", () => {
    const sim = collectingSim();
    const before = nextId(sim);
    expectThrows(() => new Mutex(sim, ""), ArgumentError, "className");
    expectThrows(() => new Mutex(sim, "m", null as never), ArgumentError, "options");
    expectThrows(() => new Mutex(sim, "m", { embedded: {} } as never), ArgumentError, "embedded");
    expectThrows(() => new Mutex(sim, "m", { static: 1 } as never), ArgumentError, "static");
    expect(nextId(sim)).toBe(before + 1);
  });

  it("lock(subclass) outside [0, 7] and lockNestLock(non-lock) throw before any op exists", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "m");
    sim.run(function* () {
      expectThrows(() => m.lock(8), ArgumentRangeError, "subclass");
      expectThrows(() => m.lock(Number.NaN), ArgumentRangeError, "subclass");
      expectThrows(() => m.lockNestLock(undefined as never), ArgumentError, "nest");
      expectThrows(() => m.lockNestLock({ lockClass: 3 } as never), ArgumentError, "nest");
      yield* m.lock();
      yield* m.unlock();
    });
    expect(sim.reports).toEqual([]);
    expect(m.isLocked()).toBe(false);
  });
});
