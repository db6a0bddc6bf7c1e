import { describe, expect, it } from "vitest";
import { ArgumentRangeError, Completion, Sim, type Report } from "../../src/index.js";

describe("Completion", () => {
  it("lets one waiter through per complete()", () => {
    const sim = new Sim({ seed: 3 });
    const order: string[] = [];
    sim.run(function* () {
      const c = new Completion(sim, { name: "c" });
      for (const n of ["w1", "w2"]) {
        sim.spawn(n, "process", function* () {
          yield* c.waitForCompletion();
          order.push(n);
        });
      }
      yield* c.complete();
      expect(c.completionDone()).toBe(true);
      yield* c.complete();
    });
    expect(order.sort()).toEqual(["w1", "w2"]);
  });

  it("blocks a waiter until complete(): the waiter never runs before it", () => {
    for (let seed = 0; seed < 20; seed++) {
      const sim = new Sim({ seed });
      const log: string[] = [];
      sim.run(function* () {
        const c = new Completion(sim);
        sim.spawn("waiter", "process", function* () {
          yield* c.waitForCompletion();
          log.push("woken");
        });
        sim.spawn("completer", "process", function* () {
          log.push("completing");
          yield* c.complete();
        });
      });
      expect(log).toEqual(["completing", "woken"]);
    }
  });

  it("completeAll() passes every present and future waiter until reinit()", () => {
    const sim = new Sim();
    const out = sim.run(function* () {
      const c = new Completion(sim);
      yield* c.completeAll();
      yield* c.waitForCompletion();
      yield* c.waitForCompletion();
      const before = yield* c.tryWaitForCompletion();
      yield* c.reinit();
      const after = yield* c.tryWaitForCompletion();
      return { before, after, done: c.completionDone() };
    });
    expect(out).toEqual({ before: true, after: false, done: false });
  });

  it("tryWaitForCompletion consumes one completion and never blocks", () => {
    const sim = new Sim();
    const out = sim.run(function* () {
      const c = new Completion(sim);
      const empty = yield* c.tryWaitForCompletion();
      yield* c.complete();
      const one = yield* c.tryWaitForCompletion();
      const again = yield* c.tryWaitForCompletion();
      return [empty, one, again];
    });
    expect(out).toEqual([false, true, false]);
  });

  it("waitForCompletionTimeout returns false after the simulated timeout", () => {
    const sim = new Sim();
    const out = sim.run(function* () {
      const c = new Completion(sim);
      const ok = yield* c.waitForCompletionTimeout(5_000);
      return { ok, now: sim.now };
    });
    expect(out).toEqual({ ok: false, now: 5_000 });
  });

  it("waitForCompletionTimeout returns true when completed in time", () => {
    const sim = new Sim();
    const ok = sim.run(function* () {
      const c = new Completion(sim);
      sim.spawn("completer", "process", function* () {
        yield* c.complete();
      });
      return yield* c.waitForCompletionTimeout(1_000_000);
    });
    expect(ok).toBe(true);
    expect(sim.now).toBe(0);
  });

  it("two tasks each waiting for the other's completion deadlock, with the cycle", () => {
    // 1. A waits for x        2. B waits for y
    // (A would complete y, B would complete x, after their waits)
    const sim = new Sim({ onReport: "collect" });
    const x = new Completion(sim, { name: "x" });
    const y = new Completion(sim, { name: "y" });
    sim.spawn("A", "process", function* () {
      yield* x.waitForCompletion();
      yield* y.complete();
    });
    sim.spawn("B", "process", function* () {
      yield* y.waitForCompletion();
      yield* x.complete();
    });
    const res = sim.runAll();
    expect(res.outcome).toBe("deadlock");
    const r = sim.reports[0] as Extract<Report, { kind: "deadlock" }>;
    expect(r.kind).toBe("deadlock");
    expect(r.cycle.map((e) => e.task)).toEqual(["A/1", "B/2"]);
    expect(r.cycle[0]).toEqual({ task: "A/1", blockedIn: "wait-completion", waitsFor: 'Completion#1 "x"', wakers: ["B/2"], inferred: true });
    expect(r.blocked).toHaveLength(2);
  });

  it("rejects a negative timeout", () => {
    const sim = new Sim();
    const c = new Completion(sim);
    expect(() => c.waitForCompletionTimeout(-1)).toThrow(ArgumentRangeError);
  });
});
