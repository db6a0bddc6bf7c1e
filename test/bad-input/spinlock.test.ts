/** SpinLock and RawSpinLock refuse bad arguments with typed errors naming them, and change nothing. */
import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, RawSpinLock, SpinLock } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectArgError, nextId } from "./lock-helpers.js";

for (const Lock of [SpinLock, RawSpinLock]) {
  describe(`${Lock.name}: bad input`, () => {
    it("constructor: empty class name, bad options; nothing is made", () => {
      const sim = collectingSim();
      const before = nextId(sim);
      expectArgError(() => new Lock(sim, ""), ArgumentError, "className");
      expectArgError(() => new Lock(sim, 7 as unknown as string), ArgumentError, "className");
      expectArgError(() => new Lock(null as never, "l"), ArgumentError, "sim");
      expectArgError(() => new Lock(sim, "l", null as never), ArgumentError, "options");
      expectArgError(() => new Lock(sim, "l", { nmae: "x" } as never), ArgumentError, "nmae");
      expectArgError(() => new Lock(sim, "l", { name: 5 } as never), ArgumentError, "name");
      expectArgError(() => new Lock(sim, "l", { static: "yes" } as never), ArgumentError, "static");
      expectArgError(() => new Lock(sim, "l", { embeddedIn: {} } as never), ArgumentError, "embeddedIn");
      expect(nextId(sim)).toBe(before + 1);
    });

    it("lock(subclass) outside [0, 7] and lockNestLock(non-lock) throw before any op exists", () => {
      const sim = collectingSim();
      const l = new Lock(sim, "l");
      sim.run(function* () {
        expectArgError(() => l.lock(8), ArgumentRangeError, "subclass");
        expectArgError(() => l.lock(-1), ArgumentRangeError, "subclass");
        expectArgError(() => l.lock(1.5), ArgumentRangeError, "subclass");
        expectArgError(() => l.lock("1" as never), ArgumentError, "subclass");
        expectArgError(() => l.lockNestLock(null as never), ArgumentError, "nest");
        expectArgError(() => l.lockNestLock({} as never), ArgumentError, "nest");
        yield* l.lock();
        yield* l.unlock();
      });
      // No unstarted op, nothing held.
      expect(sim.reports).toEqual([]);
      expect(l.isLocked()).toBe(false);
    });
  });
}
