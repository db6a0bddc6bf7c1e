import { describe, expect, it } from "vitest";
import { expectTaskExceptions } from "../support/collecting-sim.js";
import { ArgumentRangeError, condResched, current, defineOp, msleep, Sim, type Task } from "../../src/index.js";

describe("Task", () => {
  it("has an id, name, context and label", () => {
    const sim = new Sim();
    const t = sim.spawn("irq", "hardirq", function* () {
      yield* condResched();
    });
    expect([t.id, t.name, t.context, t.label, t.sim]).toEqual([1, "irq", "hardirq", "irq/1", sim]);
  });

  it("starts with a start effect, so spawn order does not decide who runs first", () => {
    const firsts = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      const sim = new Sim({ seed });
      const order: string[] = [];
      for (const n of ["a", "b"]) {
        sim.spawn(n, "process", function* () {
          order.push(n);
          yield* condResched();
        });
      }
      sim.runAll();
      firsts.add(order[0] as string);
    }
    expect([...firsts].sort()).toEqual(["a", "b"]);
  });

  it("keeps the body's return value and exception", () => {
    const sim = expectTaskExceptions(new Sim({ onReport: "collect" }));
    const ok = sim.spawn("ok", "process", function* () {
      yield* condResched();
      return "value";
    });
    const bad = sim.spawn("bad", "process", function* () {
      yield* condResched();
      throw new Error("x");
    });
    sim.runAll();
    expect(ok.result).toBe("value");
    expect((bad.error as Error).message).toBe("x");
  });

  it("accepts a body that returns an Op, called when the task first runs", () => {
    const work = defineOp("work", function* (n: number) {
      yield* condResched();
      return n + 1;
    });
    const sim = new Sim({ onReport: "collect" });
    let t: Task | undefined;
    sim.run(function* () {
      t = sim.spawn("worker", "worker", () => work(1));
      yield* condResched();
    });
    // The op was created by the worker's first step, not by main's spawn call.
    expect(sim.reports).toEqual([]);
    expect(t?.result).toBe(2);
  });

  it("reports a body that returns neither a generator nor an Op (task-misuse), and the run goes on", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.spawn("bad", "process", (() => 42) as never);
    const ok = sim.spawn("ok", "process", function* () {
      yield* condResched();
      return 1;
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(sim.reports).toMatchObject([{ kind: "task-misuse", misuse: "not-a-generator", value: "number 42", task: "bad/1" }]);
    expect(ok.result).toBe(1);
  });

  it("in throw mode, a misused task ends the run with a ReportError carrying the task-misuse report", () => {
    const sim = new Sim();
    sim.spawn("bad", "process", (() => 42) as never);
    expect(() => sim.runAll()).toThrow(expect.objectContaining({ report: expect.objectContaining({ kind: "task-misuse" }) as unknown }) as Error);
  });

  it("msleep blocks for simulated milliseconds", () => {
    const sim = new Sim();
    const at = sim.run(function* () {
      yield* msleep(3);
      return [sim.now, current().name] as const;
    });
    expect(at).toEqual([3_000_000, "main"]);
  });

  it("msleep rejects negative and non-finite durations", () => {
    expect(() => msleep(-1)).toThrow(ArgumentRangeError);
    expect(() => msleep(Number.NaN)).toThrow(expect.objectContaining({ argument: "ms" }) as Error);
  });
});
