/** Lockdep's public entry points refuse bad arguments with typed errors naming them, and change nothing. */
import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, Lockdep, lockdepSetSubclass, Mutex } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

describe("Lockdep: bad input", () => {
  it("lockClass(): empty name or unknown wait type; no class is made", () => {
    const lockdep = new Lockdep();
    const before = lockdep.lockClass("probe", "spin").id;
    expectThrows(() => lockdep.lockClass("", "spin"), ArgumentError, "name");
    expectThrows(() => lockdep.lockClass("x", "spinning" as never), ArgumentError, "waitType");
    expect(lockdep.lockClass("probe2", "spin").id).toBe(before + 1);
  });

  it("lockdepSetSubclass(): not a lock, or a subclass outside [0, 7]; the lock keeps its subclass", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "m");
    lockdepSetSubclass(m, 2);
    expectThrows(() => { lockdepSetSubclass(null as never, 1); }, ArgumentError, "lock");
    expectThrows(() => { lockdepSetSubclass({ label: "x" } as never, 1); }, ArgumentError, "lock");
    expectThrows(() => { lockdepSetSubclass(m, 8); }, ArgumentRangeError, "subclass");
    expectThrows(() => { lockdepSetSubclass(m, -1); }, ArgumentRangeError, "subclass");
    expectThrows(() => { lockdepSetSubclass(m, "1" as never); }, ArgumentError, "subclass");
    expect(m.defaultSubclass).toBe(2);
  });
});
