/** RwSemaphore refuses bad arguments with typed errors naming them, and changes nothing. */
import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, RwSemaphore } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows, nextId } from "./helpers.js";

describe("RwSemaphore: bad input", () => {
  it("constructor: empty class name, bad options; nothing is made", () => {
    const sim = collectingSim();
    const before = nextId(sim);
    expectThrows(() => new RwSemaphore(sim, ""), ArgumentError, "className");
    expectThrows(() => new RwSemaphore(sim, "s", [] as never), ArgumentError, "options");
    expectThrows(() => new RwSemaphore(sim, "s", { nam: "x" } as never), ArgumentError, "nam");
    expect(nextId(sim)).toBe(before + 1);
  });

  it("downWrite(subclass) outside [0, 7] throws before any op exists", () => {
    const sim = collectingSim();
    const s = new RwSemaphore(sim, "s");
    sim.run(function* () {
      expectThrows(() => s.downWrite(9), ArgumentRangeError, "subclass");
      expectThrows(() => s.downWrite("x" as never), ArgumentError, "subclass");
      yield* s.downWrite();
      yield* s.upWrite();
    });
    expect(sim.reports).toEqual([]);
    expect(s.isLocked()).toBe(false);
  });
});
