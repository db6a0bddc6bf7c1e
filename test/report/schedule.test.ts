/**
 * The schedule tail's interrupt rows: where the interrupt landed. On a CPU
 * with no task running, or whose task was blocked or had not started, it is
 * an idle CPU; else it names the task it interrupts.
 */
import { describe, expect, it } from "vitest";
import { Completion, condResched, formatReport, Mutex, type Report, type Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

/** The irq-enter row of the first report's schedule, as data and as text. */
function irqRow(sim: Sim): { result: string | undefined; text: string } {
  const r = sim.reports[0] as Report;
  expect(r.kind).toBe("bad-unlock");
  const row = r.schedule.rows.find((x) => x.effect.startsWith("irq-enter"));
  const text = formatReport(r).split("\n").find((l) => l.includes("irq-enter")) ?? "";
  return { result: row?.result, text };
}

describe("interrupt rows of the schedule", () => {
  it("say the interrupt landed on an idle CPU when no task was running", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "m");
    sim.spawn("irq", "hardirq", function* () {
      yield* m.unlock(); // not held: a report, to see the schedule
    });
    sim.runAll();
    const { result, text } = irqRow(sim);
    expect(result).toBe("on an idle CPU: no task was running");
    expect(text).toMatch(/^ {2}1 +irq-enter a CPU with irqs enabled -> on an idle CPU: no task was running$/);
  });

  it("say the interrupt landed on an idle CPU when the task there was blocked", () => {
    // 1. main: start, then blocks in wait_for_completion   2. irq: irq-enter on main's (idle) CPU
    const sim = collectingSim();
    const m = new Mutex(sim, "m");
    const c = new Completion(sim, { name: "c" });
    sim.spawn("main", "process", function* () {
      yield* c.waitForCompletion();
    });
    sim.spawn("irq", "hardirq", function* () {
      yield* c.complete();
      yield* m.unlock();
    });
    sim.runAll();
    const { result, text } = irqRow(sim);
    expect(result).toBe("on an idle CPU: main/1 was blocked");
    expect(text).toContain("irq-enter a CPU with irqs enabled -> on an idle CPU: main/1 was blocked");
  });

  it("say the interrupt landed on an idle CPU when the task there had not started", () => {
    // 1. irq: irq-enter, before main/1 ran its first step
    const sim = collectingSim();
    const m = new Mutex(sim, "m");
    sim.spawn("irq", "hardirq", function* () {
      yield* m.unlock();
    });
    sim.spawn("main", "process", function* () {
      yield* condResched();
    });
    sim.runAll();
    const { result, text } = irqRow(sim);
    expect(result).toBe("on an idle CPU: main/2 had not started");
    expect(text).toContain("irq-enter a CPU with irqs enabled -> on an idle CPU: main/2 had not started");
  });

  it("name the task the interrupt stopped when it was running", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "m");
    sim.spawn("main", "process", function* () {
      for (let i = 0; i < 3; i++) yield* condResched();
    });
    sim.spawn("irq", "hardirq", function* () {
      yield* m.unlock();
    });
    sim.runAll();
    const { result, text } = irqRow(sim);
    expect(result).toBe("interrupts main/1");
    expect(text).toContain("irq-enter a CPU with irqs enabled -> interrupts main/1");
  });
});
