/**
 * Bad input to the DrmExec API: each case throws the typed error naming the
 * argument (or a UsageError for a call the DrmExec's state refuses) and
 * leaves everything as it was: no op made (so no `unstarted-op`), no step,
 * no report, no lock taken, no reference, the DrmExec in the same phase.
 */
import { describe, expect, it } from "vitest";
import { expectThrows } from "./helpers.js";
import { ArgumentError, ArgumentRangeError, DrmExec, UsageError, WwClass, type Effect, type Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { TestBo } from "../support/test-bo.js";

interface World {
  readonly sim: Sim;
  readonly other: Sim;
  readonly exec: DrmExec<TestBo>;
  readonly bo: TestBo;
  readonly foreignClass: WwClass;
}

function world(): World {
  const sim = collectingSim();
  const other = collectingSim();
  return { sim, other, exec: new DrmExec<TestBo>(sim), bo: new TestBo(sim, "bo0"), foreignClass: new WwClass(other, "c", { algorithm: "wait-die" }) };
}

function snapshot(w: World): unknown {
  return {
    live: w.sim.liveObjects().map((o) => o.label),
    step: w.sim.step,
    reports: w.sim.reports.length,
    locked: w.bo.resv.isLocked(),
    refs: w.bo.refcount.read(),
    phase: w.exec.phase,
    objects: w.exec.numObjects,
    ticket: w.exec.ticket?.label ?? null,
  };
}

type Case = readonly [string, (w: World) => unknown, typeof ArgumentError | typeof UsageError, string | undefined];

const ctorCases: readonly Case[] = [
  ["DrmExec: sim not a Sim", () => new DrmExec({} as never), ArgumentError, "sim"],
  ["DrmExec: options null", (w) => new DrmExec(w.sim, null as never), ArgumentError, "options"],
  ["DrmExec: unknown option", (w) => new DrmExec(w.sim, { interruptible: true } as never), ArgumentError, "interruptible"],
  ["DrmExec: interruptibleWait not a boolean", (w) => new DrmExec(w.sim, { interruptibleWait: 1 } as never), ArgumentError, "interruptibleWait"],
  ["DrmExec: ignoreDuplicates not a boolean", (w) => new DrmExec(w.sim, { ignoreDuplicates: "yes" } as never), ArgumentError, "ignoreDuplicates"],
  ["DrmExec: nr not a number", (w) => new DrmExec(w.sim, { nr: "4" } as never), ArgumentError, "nr"],
  ["DrmExec: nr negative", (w) => new DrmExec(w.sim, { nr: -1 }), ArgumentRangeError, "nr"],
  ["DrmExec: nr fractional", (w) => new DrmExec(w.sim, { nr: 0.5 }), ArgumentRangeError, "nr"],
  ["DrmExec: wwClass not a WwClass", (w) => new DrmExec(w.sim, { wwClass: {} } as never), ArgumentError, "wwClass"],
  ["DrmExec: wwClass of another Sim", (w) => new DrmExec(w.sim, { wwClass: w.foreignClass }), ArgumentError, "wwClass"],
];

/** Bad arguments, whatever the phase. */
const argCases: readonly Case[] = [
  ["untilAllLocked: body not a function", (w) => w.exec.untilAllLocked("body" as never), ArgumentError, "body"],
  ["lockObj: obj null", (w) => w.exec.lockObj(null as never), ArgumentError, "obj"],
  ["lockObj: obj without a resv", (w) => w.exec.lockObj({ get: (h?: string) => w.bo.get(h), put: (h?: string) => w.bo.put(h), label: "x" } as never), ArgumentError, "obj"],
  ["lockObj: obj whose resv is no DmaResv", (w) => w.exec.lockObj({ resv: {}, get: (h?: string) => w.bo.get(h), put: (h?: string) => w.bo.put(h) } as never), ArgumentError, "obj"],
  ["lockObj: obj without put", (w) => w.exec.lockObj({ resv: w.bo.resv, get: (h?: string) => w.bo.get(h) } as never), ArgumentError, "obj"],
  ["prepareObj: obj a number", (w) => w.exec.prepareObj(3 as never, 1), ArgumentError, "obj"],
  ["prepareObj: numFences negative", (w) => w.exec.prepareObj(w.bo, -1), ArgumentRangeError, "numFences"],
  ["prepareObj: numFences a string", (w) => w.exec.prepareObj(w.bo, "1" as never), ArgumentError, "numFences"],
  ["prepareArray: objs not an array", (w) => w.exec.prepareArray(w.bo as never, 1), ArgumentError, "objs"],
  ["prepareArray: a bad element", (w) => w.exec.prepareArray([w.bo, {} as never], 1), ArgumentError, "objs[1]"],
  ["prepareArray: numFences fractional", (w) => w.exec.prepareArray([w.bo], 1.5), ArgumentRangeError, "numFences"],
  ["unlockObj: obj undefined", (w) => w.exec.unlockObj(undefined as never), ArgumentError, "obj"],
];

/** Calls the phase "new" (no loop yet) refuses. */
const beforeLoop: readonly Case[] = [
  ["lockObj before the loop", (w) => w.exec.lockObj(w.bo), UsageError, undefined],
  ["prepareObj before the loop", (w) => w.exec.prepareObj(w.bo, 1), UsageError, undefined],
  ["prepareArray before the loop", (w) => w.exec.prepareArray([w.bo], 1), UsageError, undefined],
];

describe("drm-exec: bad input", () => {
  for (const [name, call, cls, argument] of [...ctorCases, ...argCases, ...beforeLoop]) {
    it(`${name}: ${cls.name}${argument === undefined ? "" : ` naming ${argument}`}, state unchanged`, () => {
      const w = world();
      const before = snapshot(w);
      expectThrows(() => call(w), cls, argument);
      expect(snapshot(w)).toEqual(before);
    });
  }

  it("inside the loop, holding a lock: bad arguments make no op and change nothing", () => {
    const w = world();
    w.sim.run(function* () {
      const r = yield* w.exec.untilAllLocked(function* () {
        yield* w.exec.lockObj(w.bo);
        const before = snapshot(w);
        for (const [, call, cls, argument] of argCases) expectThrows(() => call(w), cls, argument);
        expect(snapshot(w)).toEqual(before);
      });
      expect(r).toBe("ok");
      yield* w.exec.fini();
      yield* w.bo.put("creator");
    });
    expect(w.sim.reports).toEqual([]);
  });

  it("a second loop, and every call after fini, is a UsageError that changes nothing", () => {
    const w = world();
    w.sim.run(function* (): Generator<Effect, void, unknown> {
      yield* w.exec.untilAllLocked(function* () {
        yield* w.exec.lockObj(w.bo);
      });
      let before = snapshot(w);
      expectThrows(() => w.exec.untilAllLocked(function* () {
        return "ok" as const;
      }), UsageError);
      expect(snapshot(w)).toEqual(before);
      yield* w.exec.fini();
      before = snapshot(w);
      expectThrows(() => w.exec.fini(), UsageError);
      expectThrows(() => w.exec.lockObj(w.bo), UsageError);
      expectThrows(() => w.exec.prepareObj(w.bo, 1), UsageError);
      expectThrows(() => w.exec.prepareArray([w.bo], 1), UsageError);
      expectThrows(() => w.exec.unlockObj(w.bo), UsageError);
      expectThrows(() => w.exec.untilAllLocked(function* () {
        return "ok" as const;
      }), UsageError);
      expect(snapshot(w)).toEqual(before);
      yield* w.bo.put("creator");
    });
    expect(w.sim.reports).toEqual([]);
  });
});
