/**
 * Bad input to the ww-mutex API (WwClass, WwMutex, WwAcquireCtx): each case
 * throws the typed error naming the argument and leaves everything as it
 * was: no class stamp taken, no object allocated, no lockdep state, no op
 * made (so no `unstarted-op`), no report, the mutex still free.
 */
import { describe, expect, it } from "vitest";
import { expectThrows } from "./helpers.js";
import { ArgumentError, ArgumentRangeError, SimObject, WwAcquireCtx, WwClass, WwMutex, type Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

interface World {
  readonly sim: Sim;
  readonly other: Sim;
  readonly cls: WwClass;
  readonly m: WwMutex;
  /** An object of `other`, made outside any task. */
  readonly foreignBo: SimObject;
}

function world(): World {
  const sim = collectingSim();
  const other = collectingSim();
  const cls = new WwClass(sim, "test_ww_class", { algorithm: "wait-die" });
  const m = new WwMutex(sim, cls, { name: "m" });
  return { sim, other, cls, m, foreignBo: new SimObject(other, "Bo") };
}

function snapshot(w: World): unknown {
  return {
    stamp: w.cls.stamp,
    live: w.sim.liveObjects().map((o) => o.label),
    step: w.sim.step,
    reports: w.sim.reports.length,
    locked: w.m.isLocked(),
    ctx: w.m.ctx,
    waiters: w.m.waiters.length,
    // How many lock classes this boot knows (private; a WwClass makes two).
    classes: (w.sim.lockdep as unknown as { order: readonly unknown[] }).order.length,
  };
}


type Case = readonly [string, (w: World) => unknown, typeof ArgumentError, string];

const outsideTask: readonly Case[] = [
  ["WwClass: sim not a Sim", () => new WwClass({} as never, "x", { algorithm: "wait-die" }), ArgumentError, "sim"],
  ["WwClass: empty name", (w) => new WwClass(w.sim, "", { algorithm: "wait-die" }), ArgumentError, "name"],
  ["WwClass: name not a string", (w) => new WwClass(w.sim, 7 as never, { algorithm: "wait-die" }), ArgumentError, "name"],
  ["WwClass: no options", (w) => new WwClass(w.sim, "x", undefined as never), ArgumentError, "options"],
  ["WwClass: options null", (w) => new WwClass(w.sim, "x", null as never), ArgumentError, "options"],
  ["WwClass: no algorithm", (w) => new WwClass(w.sim, "x", {} as never), ArgumentError, "algorithm"],
  ["WwClass: unknown algorithm", (w) => new WwClass(w.sim, "x", { algorithm: "fifo" } as never), ArgumentError, "algorithm"],
  ["WwClass: unknown option", (w) => new WwClass(w.sim, "x", { algorithm: "wait-die", injectBackoff: 1 } as never), ArgumentError, "injectBackoff"],
  ["WwClass: injectBackoffAt negative", (w) => new WwClass(w.sim, "x", { algorithm: "wait-die", injectBackoffAt: -1 }), ArgumentRangeError, "injectBackoffAt"],
  ["WwClass: injectBackoffAt fractional", (w) => new WwClass(w.sim, "x", { algorithm: "wait-die", injectBackoffAt: 1.5 }), ArgumentRangeError, "injectBackoffAt"],
  ["WwClass: injectBackoffAt a string", (w) => new WwClass(w.sim, "x", { algorithm: "wait-die", injectBackoffAt: "always" as never }), ArgumentError, "injectBackoffAt"],
  ["WwMutex: sim not a Sim", (w) => new WwMutex(null as never, w.cls), ArgumentError, "sim"],
  ["WwMutex: wwClass not a WwClass", (w) => new WwMutex(w.sim, {} as never), ArgumentError, "wwClass"],
  ["WwMutex: wwClass of another Sim", (w) => new WwMutex(w.other, w.cls), ArgumentError, "wwClass"],
  ["WwMutex: options null", (w) => new WwMutex(w.sim, w.cls, null as never), ArgumentError, "options"],
  ["WwMutex: unknown option", (w) => new WwMutex(w.sim, w.cls, { nmae: "x" } as never), ArgumentError, "nmae"],
  ["WwMutex: name not a string", (w) => new WwMutex(w.sim, w.cls, { name: 3 } as never), ArgumentError, "name"],
  ["WwMutex: static not a boolean", (w) => new WwMutex(w.sim, w.cls, { static: "yes" } as never), ArgumentError, "static"],
  ["WwMutex: embeddedIn not a SimObject", (w) => new WwMutex(w.sim, w.cls, { embeddedIn: {} } as never), ArgumentError, "embeddedIn"],
  ["WwMutex: embeddedIn of another Sim", (w) => new WwMutex(w.sim, w.cls, { embeddedIn: w.foreignBo }), ArgumentError, "embeddedIn"],
  ["init: wwClass not a WwClass", () => WwAcquireCtx.init({} as never), ArgumentError, "wwClass"],
  ["init(sim, cls): wwClass missing", (w) => WwAcquireCtx.init(w.sim, undefined as never), ArgumentError, "wwClass"],
  ["init(sim, cls): class of another Sim", (w) => WwAcquireCtx.init(w.other, w.cls), ArgumentError, "wwClass"],
  ["init: options null", (w) => WwAcquireCtx.init(w.cls, null as never), ArgumentError, "options"],
  ["init: unknown option", (w) => WwAcquireCtx.init(w.cls, { inject: 1 } as never), ArgumentError, "inject"],
  ["init: injectBackoffAt negative", (w) => WwAcquireCtx.init(w.cls, { injectBackoffAt: -2 }), ArgumentRangeError, "injectBackoffAt"],
  ["init(sim, cls, options): injectBackoffAt fractional", (w) => WwAcquireCtx.init(w.sim, w.cls, { injectBackoffAt: 0.5 }), ArgumentRangeError, "injectBackoffAt"],
  ["lock: ctx not a context", (w) => w.m.lock({} as never), ArgumentError, "ctx"],
  ["lock: ctx undefined", (w) => w.m.lock(undefined as never), ArgumentError, "ctx"],
  ["lockInterruptible: ctx a string", (w) => w.m.lockInterruptible("ctx" as never), ArgumentError, "ctx"],
  ["lockSlow: ctx null", (w) => w.m.lockSlow(null as never), ArgumentError, "ctx"],
  ["lockSlowInterruptible: ctx null", (w) => w.m.lockSlowInterruptible(null as never), ArgumentError, "ctx"],
  ["trylock: ctx a number", (w) => w.m.trylock(1 as never), ArgumentError, "ctx"],
];

describe("ww-mutex: bad input", () => {
  for (const [name, call, cls, argument] of outsideTask) {
    it(`${name}: ${cls.name} naming ${argument}, state unchanged`, () => {
      const w = world();
      const before = snapshot(w);
      expectThrows(() => call(w), cls, argument);
      expect(snapshot(w)).toEqual(before);
    });
  }

  it("inside a task: every bad call makes no op, takes no stamp and files nothing", () => {
    const w = world();
    const out = w.sim.run(function* () {
      const before = snapshot(w);
      for (const [, call, cls, argument] of outsideTask) expectThrows(() => call(w), cls, argument);
      const after = snapshot(w);
      return JSON.stringify(after) === JSON.stringify(before);
    });
    expect(out).toBe(true);
    expect(w.sim.reports).toEqual([]);
  });

  it("a context of another Sim is refused at the call, naming ctx; the mutex stays free", () => {
    const w = world();
    const foreignCls = new WwClass(w.other, "test_ww_class", { algorithm: "wait-die" });
    const foreign = w.other.run(function* () {
      const ctx = yield* WwAcquireCtx.init(foreignCls);
      ctx.fini();
      return ctx;
    });
    const before = snapshot(w);
    expectThrows(() => w.m.lock(foreign), ArgumentError, "ctx");
    expectThrows(() => w.m.lockSlow(foreign), ArgumentError, "ctx");
    expectThrows(() => w.m.trylock(foreign), ArgumentError, "ctx");
    expect(snapshot(w)).toEqual(before);
  });

  it("a context of another class of the same Sim is not bad input: it is a class-mismatch report when the op runs", () => {
    const w = world();
    const two = new WwClass(w.sim, "two", { algorithm: "wait-die" });
    w.sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(two);
      expect(yield* w.m.lock(ctx)).toBe("locked");
      yield* w.m.unlock();
      ctx.fini();
    });
    expect(w.sim.reports.map((r) => (r.kind === "ww-mutex-misuse" ? r.problem : r.kind))).toEqual(["class-mismatch"]);
  });
});
