/**
 * Bad input to the DmaResv API (the locking half and the fence half),
 * DmaResvIter, dmaFenceArrayCreate() and reservationWwClass():
 * each case throws the typed error naming the argument and leaves
 * everything as it was: nothing allocated, no op made (so no
 * `unstarted-op`), no step, no report, the lock free, no slots reserved.
 */
import { describe, expect, it } from "vitest";
import { expectThrows, nextId } from "./helpers.js";
import {
  ArgumentError,
  ArgumentRangeError,
  DmaFence,
  dmaFenceArrayCreate,
  DmaResv,
  DmaResvIter,
  FenceContext,
  reservationWwClass,
  SimObject,
  WwClass,
  type Sim,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

interface World {
  readonly sim: Sim;
  readonly other: Sim;
  readonly resv: DmaResv;
  readonly foreignBo: SimObject;
  readonly foreignClass: WwClass;
  readonly fence: DmaFence;
}

function world(): World {
  const sim = collectingSim();
  const other = collectingSim();
  const resv = new DmaResv(sim, { name: "r", static: true });
  const fence = new DmaFence(new FenceContext(sim, "c"), { name: "f", static: true });
  return { sim, other, resv, foreignBo: new SimObject(other, "Bo", { static: true }), foreignClass: new WwClass(other, "c", { algorithm: "wait-die" }), fence };
}

function snapshot(w: World): unknown {
  return {
    live: w.sim.liveObjects().map((o) => o.label),
    step: w.sim.step,
    reports: w.sim.reports.length,
    locked: w.resv.isLocked(),
    slots: [w.resv.numFences, w.resv.nSlots, w.resv.slotsHold],
    list: w.resv.list?.id ?? null,
    seq: w.resv.seq,
    fenceRefs: w.fence.refcount.read(),
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
  ["addFence: fence not a DmaFence", (w) => w.resv.addFence({} as never, "read"), ArgumentError, "fence"],
  ["addFence: fence null", (w) => w.resv.addFence(null as never, "read"), ArgumentError, "fence"],
  ["addFence: usage unknown", (w) => w.resv.addFence(w.fence, "shared" as never), ArgumentError, "usage"],
  ["addFence: usage missing", (w) => w.resv.addFence(w.fence, undefined as never), ArgumentError, "usage"],
  ["replaceFences: context a string", (w) => w.resv.replaceFences("1" as never, w.fence, "read"), ArgumentError, "context"],
  ["replaceFences: context negative", (w) => w.resv.replaceFences(-1, w.fence, "read"), ArgumentRangeError, "context"],
  ["replaceFences: replacement not a fence", (w) => w.resv.replaceFences(1, {} as never, "read"), ArgumentError, "replacement"],
  ["replaceFences: usage unknown", (w) => w.resv.replaceFences(1, w.fence, "exclusive" as never), ArgumentError, "usage"],
  ["fences: usage unknown", (w) => w.resv.fences("all" as never), ArgumentError, "usage"],
  ["getFences: usage a number", (w) => w.resv.getFences(1 as never), ArgumentError, "usage"],
  ["getSingleton: usage missing", (w) => w.resv.getSingleton(undefined as never), ArgumentError, "usage"],
  ["testSignaled: usage unknown", (w) => w.resv.testSignaled("READ" as never), ArgumentError, "usage"],
  ["waitTimeout: usage unknown", (w) => w.resv.waitTimeout("x" as never, false, 1), ArgumentError, "usage"],
  ["waitTimeout: intr not a boolean", (w) => w.resv.waitTimeout("read", 1 as never, 1), ArgumentError, "intr"],
  ["waitTimeout: timeoutNs a string", (w) => w.resv.waitTimeout("read", false, "1" as never), ArgumentError, "timeoutNs"],
  ["waitTimeout: timeoutNs negative", (w) => w.resv.waitTimeout("read", false, -1), ArgumentRangeError, "timeoutNs"],
  ["waitTimeout: timeoutNs infinite", (w) => w.resv.waitTimeout("read", false, Infinity), ArgumentRangeError, "timeoutNs"],
  ["waitTimeout: timeoutNs NaN", (w) => w.resv.waitTimeout("read", false, NaN), ArgumentRangeError, "timeoutNs"],
  ["DmaResvIter: resv not a DmaResv", () => new DmaResvIter({} as never, "read"), ArgumentError, "resv"],
  ["DmaResvIter: usage unknown", (w) => new DmaResvIter(w.resv, "any" as never), ArgumentError, "usage"],
  ["dmaFenceArrayCreate: fences empty", () => dmaFenceArrayCreate([]), ArgumentError, "fences"],
  ["dmaFenceArrayCreate: fences not an array", (w) => dmaFenceArrayCreate(w.fence as never), ArgumentError, "fences"],
  ["dmaFenceArrayCreate: a bad element", (w) => dmaFenceArrayCreate([w.fence, {} as never]), ArgumentError, "fences[1]"],
  ["dmaFenceArrayCreate: name not a string", (w) => dmaFenceArrayCreate([w.fence], 3 as never), ArgumentError, "name"],
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

describe("dma-resv: a fence of another Sim", () => {
  it("addFence and replaceFences throw ForeignSimError naming the fence into the task; the list, the slots and both refcounts stay", () => {
    const w = world();
    const foreign = new DmaFence(new FenceContext(w.other, "c2"), { name: "g", static: true });
    const errors: unknown[] = [];
    w.sim.run(function* () {
      yield* w.resv.lock(null);
      yield* w.resv.reserveFences(1);
      const before = JSON.stringify([snapshot(w), foreign.refcount.read()]);
      try {
        yield* w.resv.addFence(foreign, "read");
      } catch (e) {
        errors.push(e);
      }
      try {
        yield* w.resv.replaceFences(w.fence.context, foreign, "read");
      } catch (e) {
        errors.push(e);
      }
      expect(JSON.stringify([snapshot(w), foreign.refcount.read()])).toBe(before);
      yield* w.resv.unlock();
    });
    expect(errors.map((e) => [(e as Error).constructor.name, (e as { argument?: string }).argument])).toEqual([
      ["ForeignSimError", "fence"],
      ["ForeignSimError", "replacement"],
    ]);
    expect(w.resv.numFences).toBe(0);
    expect(w.sim.reports).toEqual([]);
  });
});
