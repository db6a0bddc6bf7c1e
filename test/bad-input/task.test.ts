import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, condResched, msleep, UsageError } from "../../src/index.js";
import { MAX_NANOSECONDS } from "../../src/validate.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

describe("bad input: tasks (msleep, cond_resched)", () => {
  it("msleep(): a value that is not a number names 'ms' (no string concatenation)", () => {
    for (const ms of ["5", null, undefined, {}]) expectThrows(() => msleep(ms as never), ArgumentError, "ms");
  });

  it("msleep(): negative, NaN, infinite or beyond the simulated clock's range is an ArgumentRangeError naming 'ms'", () => {
    for (const ms of [-1, NaN, Infinity, 1e308, MAX_NANOSECONDS / 1e6 + 1]) expectThrows(() => msleep(ms), ArgumentRangeError, "ms");
  });

  it("msleep() takes hours and weeks, to the limit, and the clock lands exactly on the deadline", () => {
    const sim = collectingSim();
    const three = 3 * 3600 * 1000;
    const max = Math.floor(MAX_NANOSECONDS / 1e6);
    const r = sim.run(function* () {
      yield* msleep(three);
      const after = sim.now;
      yield* msleep(max);
      return [after, sim.now];
    });
    expect(r).toEqual([three * 1e6, three * 1e6 + max * 1e6]);
    expect(Number.isSafeInteger(sim.now)).toBe(true);
    expect(() => msleep(max + 1)).toThrow(/from 0 to 4503599627, got 4503599628/);
  });

  it("msleep(1e308) in a task throws at the call; the clock and the task's state are unchanged", () => {
    const sim = collectingSim();
    const r = sim.run(function* () {
      expectThrows(() => msleep(1e308), ArgumentRangeError, "ms");
      const now = sim.now;
      yield* msleep(1);
      return [now, sim.now];
    });
    expect(r).toEqual([0, 1e6]);
    expect(sim.reports).toEqual([]);
  });

  it("driving cond_resched() by hand, outside any task, is a UsageError", () => {
    const sim = collectingSim();
    expectThrows(() => {
      for (const e of condResched()) expect(e).toBeUndefined();
    }, UsageError);
    expectThrows(() => condResched()[Symbol.iterator]().next(), UsageError);
    expect(sim.step).toBe(0);
  });
});
