/**
 * Bad input to Kref's public API: each case throws the typed error naming
 * the argument, and leaves everything as it was (count, holders, the
 * owner's refcounts, the Sim's steps and reports; no op is made, so no
 * `unstarted-op` either).
 */
import { describe, expect, it } from "vitest";
import { expectThrows } from "./helpers.js";
import { ArgumentError, ArgumentRangeError, Kref, REFCOUNT_MAX, SimObject, type Sim } from "../../src/index.js";
import { Bo } from "../fixtures.js";
import { collectingSim } from "../support/collecting-sim.js";

function snapshot(sim: Sim, bo: Bo): unknown {
  return { count: bo.kref.read(), holders: bo.kref.holderRefs(), krefs: bo.krefs?.length, step: sim.step, reports: sim.reports.length, live: sim.liveObjects().length };
}


describe("Kref: bad input", () => {
  const cases: readonly [string, (bo: Bo) => unknown, typeof ArgumentError, string][] = [
    ["constructor: owner not a SimObject", () => new Kref({} as never), ArgumentError, "owner"],
    ["constructor: options null", (bo) => new Kref(bo, null as never), ArgumentError, "options"],
    ["constructor: options not an object", (bo) => new Kref(bo, "vm" as never), ArgumentError, "options"],
    ["constructor: unknown option", (bo) => new Kref(bo, { holdr: "vm" } as never), ArgumentError, "holdr"],
    ["constructor: holder not a string", (bo) => new Kref(bo, { holder: 3 } as never), ArgumentError, "holder"],
    ["get: holder not a string", (bo) => bo.kref.get(3 as never), ArgumentError, "holder"],
    ["getUnlessZero: holder not a string", (bo) => bo.kref.getUnlessZero({} as never), ArgumentError, "holder"],
    ["put: release missing", (bo) => bo.kref.put(undefined as never), ArgumentError, "release"],
    ["put: release not a function", (bo) => bo.kref.put("free" as never), ArgumentError, "release"],
    ["put: holder not a string", (bo) => bo.kref.put(() => undefined, 5 as never), ArgumentError, "holder"],
    ["set: count not a number", (bo) => { bo.kref.set("2" as never); }, ArgumentError, "count"],
    ["set: count negative", (bo) => { bo.kref.set(-1); }, ArgumentRangeError, "count"],
    ["set: count not an integer", (bo) => { bo.kref.set(1.5); }, ArgumentRangeError, "count"],
    ["set: count NaN", (bo) => { bo.kref.set(NaN); }, ArgumentRangeError, "count"],
    ["set: count past REFCOUNT_MAX", (bo) => { bo.kref.set(REFCOUNT_MAX + 1); }, ArgumentRangeError, "count"],
  ];

  for (const [name, call, cls, argument] of cases) {
    it(`${name}: ${cls.name} naming ${argument}, state unchanged`, () => {
      const sim = collectingSim();
      const bo = new Bo(sim, "bo0", "creator");
      const before = snapshot(sim, bo);
      expectThrows(() => call(bo), cls, argument);
      expect(snapshot(sim, bo)).toEqual(before);
    });
  }

  it("inside a task too: the bad call makes no op (no unstarted-op) and the task goes on", () => {
    const sim = collectingSim();
    const out = sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      yield* bo.kref.get("vm");
      const before = snapshot(sim, bo);
      for (const [, call, cls, argument] of cases) {
        if (call.length === 0) continue;
        expectThrows(() => call(bo), cls, argument);
      }
      const after = snapshot(sim, bo);
      yield* bo.kref.put(() => undefined, "vm");
      return { same: JSON.stringify(after) === JSON.stringify(before), count: bo.kref.read() };
    });
    expect(out).toEqual({ same: true, count: 1 });
    expect(sim.reports).toEqual([]);
  });

  it("a Kref on a plain SimObject with valid options still works", () => {
    const sim = collectingSim();
    const o = new SimObject(sim, "Thing");
    const k = new Kref(o, { holder: "creator" });
    expect(k.holderRefs().map((h) => h.holder)).toEqual(["creator"]);
  });
});
