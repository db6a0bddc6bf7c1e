/** The context functions refuse bad arguments with typed errors, and change nothing. */
import { describe, expect, it } from "vitest";
import {
  ArgumentError,
  current,
  dmaFenceBeginSignalling,
  dmaFenceEndSignalling,
  ForeignSimError,
  Lockdep,
  lockMapRelease,
  Mutex,
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

  it("lockMapRelease(): not a map is an ArgumentError (not a bad-unlock report, not a TypeError); nothing changes", () => {
    const sim = collectingSim();
    sim.run(function* () {
      lockMapAcquire(sim.lockdep.maps.fsReclaim);
      for (const bad of [null, undefined, {}, { label: "x" }, 7]) expectThrows(() => { lockMapRelease(bad as never); }, ArgumentError, "map");
      expect(current().held.length).toBe(1);
      lockMapRelease(sim.lockdep.maps.fsReclaim);
      yield* [];
    });
    expect(sim.reports).toEqual([]);
  });

  it("a map of another Lockdep, or a lock of another Sim, is refused naming map; nothing is held or reported", () => {
    const sim = collectingSim();
    const other = collectingSim();
    const otherBoot = new Lockdep();
    const foreignLock = new Mutex(other, "m");
    sim.run(function* () {
      for (const f of [lockMapAcquire, lockMapRelease]) {
        expectThrows(() => { f(otherBoot.maps.fsReclaim); }, ArgumentError, "map");
        expectThrows(() => { f(other.lockdep.maps.dmaFence); }, ArgumentError, "map");
        expectThrows(() => { f(foreignLock); }, ForeignSimError, "map");
      }
      expect(current().held.length).toBe(0);
      yield* [];
    });
    expect(sim.reports).toEqual([]);
  });

  it("dmaFenceEndSignalling(cookie): the cookie must be a boolean; the section stays open", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const cookie = dmaFenceBeginSignalling();
      for (const bad of ["x", 0, null, undefined]) expectThrows(() => { dmaFenceEndSignalling(bad as never); }, ArgumentError, "cookie");
      expect(current().held.length).toBe(1);
      dmaFenceEndSignalling(cookie);
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
