/**
 * Bad input to the DmaResv API (the locking half) and reservationWwClass():
 * each case throws the typed error naming the argument and leaves
 * everything as it was: nothing allocated, no op made (so no
 * `unstarted-op`), no step, no report, the lock free, no slots reserved.
 */
import { describe, expect, it } from "vitest";
import { expectThrows, nextId } from "./helpers.js";
import { ArgumentError, ArgumentRangeError, DmaResv, reservationWwClass, SimObject, WwClass, type Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

interface World {
  readonly sim: Sim;
  readonly other: Sim;
  readonly resv: DmaResv;
  readonly foreignBo: SimObject;
  readonly foreignClass: WwClass;
}

function world(): World {
  const sim = collectingSim();
  const other = collectingSim();
  const resv = new DmaResv(sim, { name: "r", static: true });
  return { sim, other, resv, foreignBo: new SimObject(other, "Bo", { static: true }), foreignClass: new WwClass(other, "c", { algorithm: "wait-die" }) };
}

function snapshot(w: World): unknown {
  return {
    live: w.sim.liveObjects().map((o) => o.label),
    step: w.sim.step,
    reports: w.sim.reports.length,
    locked: w.resv.isLocked(),
    slots: [w.resv.numFences, w.resv.nSlots, w.resv.slotsHold],
  };
}

type Case = readonly [string, (w: World) => unknown, typeof ArgumentError, string];

const cases: readonly Case[] = [
  ["reservationWwClass: sim not a Sim", () => reservationWwClass({} as never), ArgumentError, "sim"],
  ["DmaResv: sim not a Sim", () => new DmaResv(null as never), ArgumentError, "sim"],
  ["DmaResv: options null", (w) => new DmaResv(w.sim, null as never), ArgumentError, "options"],
  ["DmaResv: options a string", (w) => new DmaResv(w.sim, "r" as never), ArgumentError, "options"],
  ["DmaResv: unknown option", (w) => new DmaResv(w.sim, { nmae: "r" } as never), ArgumentError, "nmae"],
  ["DmaResv: name not a string", (w) => new DmaResv(w.sim, { name: 1 } as never), ArgumentError, "name"],
  ["DmaResv: static not a boolean", (w) => new DmaResv(w.sim, { static: 1 } as never), ArgumentError, "static"],
  ["DmaResv: wwClass not a WwClass", (w) => new DmaResv(w.sim, { wwClass: {} } as never), ArgumentError, "wwClass"],
  ["DmaResv: wwClass of another Sim", (w) => new DmaResv(w.sim, { wwClass: w.foreignClass }), ArgumentError, "wwClass"],
  ["DmaResv: embeddedIn not a SimObject", (w) => new DmaResv(w.sim, { embeddedIn: {} } as never), ArgumentError, "embeddedIn"],
  ["DmaResv: embeddedIn of another Sim", (w) => new DmaResv(w.sim, { embeddedIn: w.foreignBo }), ArgumentError, "embeddedIn"],
  ["lock: ctx not a context", (w) => w.resv.lock({} as never), ArgumentError, "ctx"],
  ["lock: ctx undefined", (w) => w.resv.lock(undefined as never), ArgumentError, "ctx"],
  ["lockInterruptible: ctx a string", (w) => w.resv.lockInterruptible("ctx" as never), ArgumentError, "ctx"],
  ["lockSlow: ctx null", (w) => w.resv.lockSlow(null as never), ArgumentError, "ctx"],
  ["lockSlowInterruptible: ctx null", (w) => w.resv.lockSlowInterruptible(null as never), ArgumentError, "ctx"],
  ["reserveFences: numFences a string", (w) => w.resv.reserveFences("1" as never), ArgumentError, "numFences"],
  ["reserveFences: numFences missing", (w) => w.resv.reserveFences(undefined as never), ArgumentError, "numFences"],
  ["reserveFences: numFences negative", (w) => w.resv.reserveFences(-1), ArgumentRangeError, "numFences"],
  ["reserveFences: numFences fractional", (w) => w.resv.reserveFences(1.5), ArgumentRangeError, "numFences"],
  ["reserveFences: numFences infinite", (w) => w.resv.reserveFences(Infinity), ArgumentRangeError, "numFences"],
];

describe("dma-resv: bad input", () => {
  for (const [name, call, cls, argument] of cases) {
    it(`${name}: ${cls.name} naming ${argument}, state unchanged`, () => {
      const w = world();
      const before = snapshot(w);
      const id = nextId(w.sim);
      expectThrows(() => call(w), cls, argument);
      expect(snapshot(w)).toEqual(before);
      // Nothing was allocated: the next object gets the id it would have got (the probe took one).
      expect(nextId(w.sim)).toBe(id + 1);
    });
  }

  it("inside a task, holding the lock: every bad call makes no op and files nothing; the hold and its slots stay", () => {
    const w = world();
    const same = w.sim.run(function* () {
      yield* w.resv.lock(null);
      yield* w.resv.reserveFences(3);
      const before = JSON.stringify(snapshot(w));
      for (const [, call, cls, argument] of cases) expectThrows(() => call(w), cls, argument);
      const after = JSON.stringify(snapshot(w));
      expect(w.resv.maxFences).toBe(4);
      yield* w.resv.unlock();
      return before === after;
    });
    expect(same).toBe(true);
    expect(w.sim.reports).toEqual([]);
  });
});
