import { describe, expect, it } from "vitest";
import {
  ArgumentError,
  ArgumentRangeError,
  cancelWorkSync,
  flushWork,
  ForeignSimError,
  Sim,
  systemWq,
  UsageError,
  Work,
  Workqueue,
  WQ_MAX_ACTIVE,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

const fn = function* () { /* nothing to do */ };

describe("bad input: Work", () => {
  it("new Work(): a bad sim, name, fn or options names the argument; nothing is allocated", () => {
    const sim = new Sim();
    expectThrows(() => new Work(null as never, "w", fn), ArgumentError, "sim");
    expectThrows(() => new Work({} as never, "w", fn), ArgumentError, "sim");
    expectThrows(() => new Work(sim, "", fn), ArgumentError, "name");
    expectThrows(() => new Work(sim, 3 as never, fn), ArgumentError, "name");
    expectThrows(() => new Work(sim, "w", null as never), ArgumentError, "fn");
    expectThrows(() => new Work(sim, "w", fn, null as never), ArgumentError, "options");
    expectThrows(() => new Work(sim, "w", fn, { lockclass: "x" } as never), ArgumentError, "lockclass");
    expectThrows(() => new Work(sim, "w", fn, { lockClass: "" }), ArgumentError, "lockClass");
    expectThrows(() => new Work(sim, "w", fn, { static: "yes" } as never), ArgumentError, "static");
    expectThrows(() => new Work(sim, "w", fn, { embeddedIn: {} } as never), ArgumentError, "embeddedIn");
    expect(sim.liveObjects()).toEqual([]);
  });
});

describe("bad input: Workqueue", () => {
  it("new Workqueue(): a bad sim, name or options names the argument; nothing is allocated", () => {
    const sim = new Sim();
    expectThrows(() => new Workqueue(undefined as never, "wq"), ArgumentError, "sim");
    expectThrows(() => new Workqueue(sim, ""), ArgumentError, "name");
    expectThrows(() => new Workqueue(sim, "wq", null as never), ArgumentError, "options");
    expectThrows(() => new Workqueue(sim, "wq", { maxactive: 2 } as never), ArgumentError, "maxactive");
    expectThrows(() => new Workqueue(sim, "wq", { ordered: 1 } as never), ArgumentError, "ordered");
    expectThrows(() => new Workqueue(sim, "wq", { maxActive: "2" } as never), ArgumentError, "maxActive");
    for (const n of [0, -1, 1.5, NaN]) expectThrows(() => new Workqueue(sim, "wq", { maxActive: n }), ArgumentRangeError, "maxActive");
    expectThrows(() => new Workqueue(sim, "wq", { maxActive: WQ_MAX_ACTIVE + 1 }), ArgumentRangeError, "maxActive");
    expectThrows(() => new Workqueue(sim, "wq", { ordered: true, maxActive: 2 }), ArgumentError, "maxActive");
    expectThrows(() => new Workqueue(sim, "wq", { static: null } as never), ArgumentError, "static");
    expect(sim.liveObjects()).toEqual([]);
  });

  it("queueWork(), flushWork(), cancelWorkSync() of something that is not a Work name 'work'; nothing is queued", () => {
    const sim = collectingSim();
    const wq = new Workqueue(sim, "wq", { static: true });
    sim.run(function* () {
      for (const bad of [null, {}, wq]) {
        expectThrows(() => wq.queueWork(bad as never), ArgumentError, "work");
        expectThrows(() => flushWork(bad as never), ArgumentError, "work");
        expectThrows(() => cancelWorkSync(bad as never), ArgumentError, "work");
      }
      yield* wq.flushWorkqueue();
    });
    expect([wq.worklist.length, wq.seq, sim.tasks.length]).toEqual([0, 0, 1]);
    expect(sim.reports).toEqual([]);
  });

  it("queueWork() of another Sim's work is a ForeignSimError naming 'work'; nothing is queued", () => {
    const sim = collectingSim();
    const wq = new Workqueue(sim, "wq", { static: true });
    const other = new Work(new Sim(), "w", fn, { static: true });
    sim.run(function* () {
      let e: unknown;
      try {
        yield* wq.queueWork(other);
      } catch (error) {
        e = error;
      }
      expect(e).toBeInstanceOf(ForeignSimError);
      expect((e as ForeignSimError).argument).toBe("work");
    });
    expect([other.isPending(), wq.worklist.length]).toEqual([false, 0]);
  });

  it("queueWork() driven outside a task is a UsageError; nothing is queued", () => {
    const sim = new Sim();
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = new Work(sim, "w", fn, { static: true });
    expectThrows(() => [...wq.queueWork(w)], UsageError);
    expect([w.isPending(), wq.worklist.length]).toEqual([false, 0]);
  });

  it("destroy() of a static workqueue (system_wq) is a UsageError; it stays usable", () => {
    const sim = collectingSim();
    const wq = systemWq(sim);
    expectThrows(() => wq.destroy(), UsageError);
    const w = new Work(sim, "w", fn, { static: true });
    expect(sim.run(() => wq.queueWork(w))).toBe("queued");
    expect(wq.isFreed).toBe(false);
  });

  it("systemWq() of something that is not a Sim names 'sim'", () => {
    expectThrows(() => systemWq(null as never), ArgumentError, "sim");
    expectThrows(() => systemWq({} as never), ArgumentError, "sim");
  });
});
