/** SpinLock and RawSpinLock refuse bad arguments with typed errors naming them, and change nothing. */
import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, RawSpinLock, SpinLock } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows, nextId } from "./helpers.js";

for (const Lock of [SpinLock, RawSpinLock]) {
  describe(`${Lock.name}: bad input`, () => {
    it("constructor: empty class name, bad options; nothing is made", () => {
      const sim = collectingSim();
      const before = nextId(sim);
      expectThrows(() => new Lock(sim, ""), ArgumentError, "className");
      expectThrows(() => new Lock(sim, 7 as unknown as string), ArgumentError, "className");
      expectThrows(() => new Lock(null as never, "l"), ArgumentError, "sim");
      expectThrows(() => new Lock(sim, "l", null as never), ArgumentError, "options");
      expectThrows(() => new Lock(sim, "l", { nmae: "x" } as never), ArgumentError, "nmae");
      expectThrows(() => new Lock(sim, "l", { name: 5 } as never), ArgumentError, "name");
      expectThrows(() => new Lock(sim, "l", { static: "yes" } as never), ArgumentError, "static");
      expectThrows(() => new Lock(sim, "l", { embeddedIn: {} } as never), ArgumentError, "embeddedIn");
      expect(nextId(sim)).toBe(before + 1);
    });

    it("lock(subclass) outside [0, 7] and lockNestLock(non-lock) throw before any op exists", () => {
      const sim = collectingSim();
      const l = new Lock(sim, "l");
      sim.run(function* () {
        expectThrows(() => l.lock(8), ArgumentRangeError, "subclass");
        expectThrows(() => l.lock(-1), ArgumentRangeError, "subclass");
        expectThrows(() => l.lock(1.5), ArgumentRangeError, "subclass");
        expectThrows(() => l.lock("1" as never), ArgumentError, "subclass");
        expectThrows(() => l.lockNestLock(null as never), ArgumentError, "nest");
        expectThrows(() => l.lockNestLock({} as never), ArgumentError, "nest");
        yield* l.lock();
        yield* l.unlock();
      });
      // No unstarted op, nothing held.
      expect(sim.reports).toEqual([]);
      expect(l.isLocked()).toBe(false);
    });
  });
}
