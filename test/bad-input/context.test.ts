/** The context functions refuse bad arguments with typed errors, and change nothing. */
import { describe, expect, it } from "vitest";
import {
  ArgumentError,
  current,
  hardirqExit,
  localBhEnable,
  localIrqRestore,
  lockMapAcquire,
  mightSleep,
  softirqExit,
  UsageError,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

describe("context: bad input", () => {
  it("lockMapAcquire(): not a map, bad options; nothing is held", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const map = sim.lockdep.maps.fsReclaim;
      expectThrows(() => { lockMapAcquire(null as never); }, ArgumentError, "map");
      expectThrows(() => { lockMapAcquire({ label: "x" } as never); }, ArgumentError, "map");
      expectThrows(() => { lockMapAcquire(map, null as never); }, ArgumentError, "options");
      expectThrows(() => { lockMapAcquire(map, { reed: true } as never); }, ArgumentError, "reed");
      expectThrows(() => { lockMapAcquire(map, { read: 1 } as never); }, ArgumentError, "read");
      expect(current().held.length).toBe(0);
      yield* [];
    });
    expect(sim.reports).toEqual([]);
  });

  it("mightSleep(op) needs a non-empty op name; nothing is reported", () => {
    const sim = collectingSim();
    sim.run(function* () {
      expectThrows(() => mightSleep(""), ArgumentError, "op");
      expectThrows(() => mightSleep(3 as never), ArgumentError, "op");
      yield* [];
    });
    expect(sim.reports).toEqual([]);
  });

  it("an exit or enable without its enter or disable is a UsageError; the task's state stays as it was", () => {
    const sim = collectingSim();
    sim.run(function* () {
      for (const f of [hardirqExit, softirqExit, localIrqRestore, localBhEnable]) expect(() => { f(); }).toThrow(UsageError);
      const t = current();
      expect([t.irqsOff, t.bhOff, t.hardirqEntered, t.softirqEntered]).toEqual([0, 0, 0, 0]);
      yield* [];
    });
    expect(sim.reports).toEqual([]);
  });
});
