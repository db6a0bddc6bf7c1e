import { describe, expect, it } from "vitest";
import { expectTaskExceptions } from "../support/collecting-sim.js";
import {
  ArgumentError,
  ArgumentRangeError,
  Completion,
  condResched,
  current,
  msleep,
  ReportError,
  Sim,
  UsageError,
  type Effect,
  type Report,
} from "../../src/index.js";
import { Bo, freeIt } from "../fixtures.js";

function* spin(n: number): Generator<Effect, void, unknown> {
  for (let i = 0; i < n; i++) yield* condResched();
}

describe("Sim: running tasks", () => {
  it("run() returns the main task's value", () => {
    const sim = new Sim();
    expect(
      sim.run(function* () {
        yield* condResched();
        return 42;
      }),
    ).toBe(42);
  });

  it("runs tasks spawned from inside a task, and runAll() says how it ended", () => {
    const sim = new Sim();
    const seen: string[] = [];
    sim.spawn("parent", "process", function* () {
      sim.spawn("child", "worker", function* () {
        seen.push(`${current().name}:${current().context}`);
      });
      yield* condResched();
    });
    const res = sim.runAll();
    expect(res.outcome).toBe("done");
    expect(res.steps).toBe(sim.step);
    expect(seen).toEqual(["child:worker"]);
    expect(sim.tasks.map((t) => [t.label, t.state])).toEqual([
      ["parent/1", "done"],
      ["child/2", "done"],
    ]);
  });

  it("round-robin runs the enabled tasks in turn, by spawn order", () => {
    // Three tasks, each: start, then two cond_resched.
    // Steps: 1 a:start 2 b:start 3 c:start 4 a 5 b 6 c 7 a 8 b 9 c
    const sim = new Sim({ strategy: "round-robin" });
    const order: string[] = [];
    for (const n of ["a", "b", "c"]) {
      sim.spawn(n, "process", function* () {
        for (let i = 0; i < 2; i++) {
          order.push(n);
          yield* condResched();
        }
      });
    }
    sim.runAll();
    expect(order.join("")).toBe("abcabc");
    expect(sim.step).toBe(9);
  });

  it("knows a task's state: runnable, blocked, done", () => {
    const sim = new Sim({ strategy: "round-robin" });
    const c = new Completion(sim);
    const waiter = sim.spawn("waiter", "process", function* () {
      yield* c.waitForCompletion();
    });
    expect(waiter.state).toBe("runnable");
    const states: string[] = [];
    sim.spawn("observer", "process", function* () {
      yield* condResched();
      states.push(waiter.state);
      yield* c.complete();
      states.push(waiter.state);
    });
    sim.runAll();
    expect(states).toEqual(["blocked", "runnable"]);
    expect(waiter.state).toBe("done");
  });

  it("current() is the running task, and throws outside one", () => {
    const sim = new Sim();
    const name = sim.run(function* () {
      return current().label;
    });
    expect(name).toBe("main/1");
    expect(() => current()).toThrow(UsageError);
  });

  it("moves simulated time only when every task is blocked", () => {
    const sim = new Sim({ strategy: "round-robin" });
    const log: [string, number][] = [];
    sim.spawn("slow", "process", function* () {
      yield* msleep(10);
      log.push(["slow", sim.now]);
    });
    sim.spawn("fast", "process", function* () {
      yield* msleep(2);
      log.push(["fast", sim.now]);
      yield* spin(5);
      log.push(["fast-spun", sim.now]);
    });
    sim.runAll();
    expect(log).toEqual([
      ["fast", 2_000_000],
      ["fast-spun", 2_000_000],
      ["slow", 10_000_000],
    ]);
  });

  it("stops at the step limit with a report naming the live tasks", () => {
    const sim = new Sim({ onReport: "collect", maxSteps: 50 });
    sim.spawn("spinner", "process", function* () {
      for (;;) yield* condResched();
    });
    const res = sim.runAll();
    expect(res.outcome).toBe("step-limit");
    const r = sim.reports[0] as Extract<Report, { kind: "step-limit" }>;
    expect(r.kind).toBe("step-limit");
    expect(r.limit).toBe(50);
    expect(r.live).toEqual([{ task: "spinner/1", next: "resched" }]);
  });

  it("reports a single task blocked forever as a deadlock with no cycle", () => {
    const sim = new Sim({ onReport: "collect" });
    const c = new Completion(sim, { name: "never" });
    sim.spawn("alone", "process", function* () {
      yield* c.waitForCompletion();
    });
    expect(sim.runAll().outcome).toBe("deadlock");
    const r = sim.reports[0] as Extract<Report, { kind: "deadlock" }>;
    expect(r.cycle).toEqual([]);
    expect(r.blocked).toEqual([{ task: "alone/1", blockedIn: "wait-completion", waitsFor: 'Completion#1 "never"', wakers: [], inferred: true }]);
  });

  it("does not file a deadlock report with the deadlock check off", () => {
    const sim = new Sim({ onReport: "collect", checks: { deadlock: false } });
    const c = new Completion(sim);
    sim.spawn("alone", "process", function* () {
      yield* c.waitForCompletion();
    });
    expect(sim.runAll().outcome).toBe("deadlock");
    expect(sim.reports).toEqual([]);
  });
});

describe("Sim: reports and errors", () => {
  it("in throw mode ends the run at the next scheduling point with a ReportError", () => {
    const sim = new Sim();
    let after = false;
    let otherSteps = 0;
    sim.spawn("other", "process", function* () {
      for (;;) {
        otherSteps++;
        yield* condResched();
      }
    });
    let caught: unknown;
    try {
      sim.run(function* () {
        const bo = new Bo(sim);
        yield* bo.kref.put(freeIt);
        yield* bo.kref.put(freeIt);
        after = true; // runs: the report stops the run at the next yield, not mid-task
        yield* condResched();
        throw new Error("not reached");
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ReportError);
    const err = caught as ReportError;
    expect(err.report.kind).toBe("refcount-underflow");
    expect(err.message).toContain("WARNING: refcount_t: underflow; use-after-free");
    expect(after).toBe(true);
    expect(otherSteps).toBeLessThan(100);
  });

  it("in throw mode rethrows a task's own exception unchanged", () => {
    const sim = new Sim();
    const boom = new TypeError("driver bug");
    expect(() =>
      sim.run(function* () {
        yield* condResched();
        throw boom;
      }),
    ).toThrow(boom);
  });

  it("in collect mode records a task's exception as a report and runs the others", () => {
    const sim = expectTaskExceptions(new Sim({ onReport: "collect" }));
    let finished = false;
    sim.spawn("crash", "process", function* () {
      yield* condResched();
      throw new Error("oops");
    });
    sim.spawn("survivor", "process", function* () {
      yield* spin(3);
      finished = true;
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(finished).toBe(true);
    const r = sim.reports[0] as Extract<Report, { kind: "task-exception" }>;
    expect(r).toMatchObject({ kind: "task-exception", task: "crash/1", error: "Error: oops" });
  });

  it("refuses to run inside its own run", () => {
    const sim = new Sim();
    expect(() => { sim.run(function* () {
        sim.runAll();
      }); },
    ).toThrow(UsageError);
  });

  it("throws a UsageError when a task yields something that is not an effect", () => {
    const sim = new Sim();
    expect(() => { sim.run(function* () {
        yield 5 as unknown as Effect;
      }); },
    ).toThrow(/yielded number/);
  });

  it("run() throws when main could not complete in collect mode", () => {
    const sim = new Sim({ onReport: "collect" });
    const c = new Completion(sim);
    expect(() => { sim.run(function* () {
        yield* c.waitForCompletion();
      }); },
    ).toThrow(/did not complete \(deadlock\)/);
  });

  it("validates its options with typed errors naming the option", () => {
    expect(() => new Sim({ seed: 1.5 })).toThrow(ArgumentRangeError);
    expect(() => new Sim({ seed: 2 ** 60 })).toThrow(expect.objectContaining({ argument: "seed" }) as Error);
    expect(() => new Sim({ strategy: "fifo" as never })).toThrow(expect.objectContaining({ argument: "strategy" }) as Error);
    expect(() => new Sim({ maxSteps: 0 })).toThrow(expect.objectContaining({ argument: "maxSteps" }) as Error);
    expect(() => new Sim({ onReport: "log" as never })).toThrow(expect.objectContaining({ argument: "onReport" }) as Error);
    expect(() => new Sim({ replay: "nonsense" })).toThrow(expect.objectContaining({ argument: "replay" }) as Error);
    expect(() => new Sim({ replay: "gpuvm-sim:1:sim:random:3", seed: 4 })).toThrow(ArgumentError);
  });

  it("validates spawn arguments and leaves the Sim usable", () => {
    const sim = new Sim();
    expect(() => sim.spawn("", "process", function* () {
      // nothing to do
    })).toThrow(expect.objectContaining({ argument: "name" }) as Error);
    expect(() => sim.spawn("t", "irq" as never, function* () {
      // nothing to do
    })).toThrow(expect.objectContaining({ argument: "context" }) as Error);
    expect(() => sim.spawn("t", "process", 3 as never)).toThrow(expect.objectContaining({ argument: "body" }) as Error);
    expect(sim.tasks).toEqual([]);
    expect(sim.run(function* () { return 1; })).toBe(1);
  });
});

describe("Sim: determinism and replay", () => {
  function scenario(sim: Sim): void {
    const bo = new Bo(sim);
    for (const n of ["a", "b", "c"]) {
      sim.spawn(n, "process", function* () {
        for (let i = 0; i < 5; i++) {
          yield* bo.kref.get(n);
          yield* bo.kref.put(freeIt, n);
        }
      });
    }
  }

  it("a replay token reproduces the trace", () => {
    const a = new Sim({ seed: 99 });
    scenario(a);
    a.runAll();
    const b = new Sim({ replay: a.replayToken });
    scenario(b);
    b.runAll();
    expect(a.replayToken).toBe("gpuvm-sim:1:sim:random:99");
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.seed).toBe(99);
  });

  it("sim.random() is seeded and does not disturb scheduling", () => {
    const draws = (seed: number) => {
      const s = new Sim({ seed });
      return [s.random(), s.random()];
    };
    expect(draws(1)).toEqual(draws(1));
    expect(draws(1)).not.toEqual(draws(2));
    const plain = new Sim({ seed: 5 });
    scenario(plain);
    plain.runAll();
    const drawing = new Sim({ seed: 5 });
    scenario(drawing);
    drawing.random();
    drawing.runAll();
    expect(drawing.traceHash).toBe(plain.traceHash);
  });
});
