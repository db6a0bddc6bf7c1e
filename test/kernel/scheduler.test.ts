/**
 * The scheduler's own rules: who is enabled, when time moves, where an
 * interrupt may land, and how a deadlock's wait-for graph is drawn.
 */
import { describe, expect, it } from "vitest";
import { Completion, condResched, Lockdep, msleep, Sim, SpinLock, type Report } from "../../src/index.js";

type Deadlock = Extract<Report, { kind: "deadlock" }>;

function sim(options: ConstructorParameters<typeof Sim>[0] = {}): Sim {
  return new Sim({ onReport: "collect", lockdep: new Lockdep(), ...options });
}

describe("scheduler", () => {
  it("jumps the clock to the earliest deadline when every task is blocked", () => {
    const s = sim({ strategy: "round-robin" });
    const woke: [string, number][] = [];
    for (const [name, ms] of [["late", 7], ["early", 3], ["mid", 5]] as const) {
      s.spawn(name, "process", function* () {
        yield* msleep(ms);
        woke.push([name, s.now]);
      });
    }
    s.runAll();
    expect(woke).toEqual([
      ["early", 3_000_000],
      ["mid", 5_000_000],
      ["late", 7_000_000],
    ]);
  });

  it("starts an interrupt on an idle CPU when no other task is alive", () => {
    const s = sim();
    let ran = false;
    s.spawn("irq", "hardirq", function* () {
      ran = true;
      yield* condResched();
    });
    expect(s.runAll().outcome).toBe("done");
    expect(ran).toBe(true);
  });

  it("holds an interrupt back while every CPU has irqs off, and runs it after", () => {
    // 1. main: spin_lock_irqsave   2. main: cond_resched (irq cannot start)
    // 3. main: spin_unlock_irqrestore   4. irq: irq-enter
    const s = sim({ strategy: "round-robin" });
    const lock = new SpinLock(s, "l");
    const order: string[] = [];
    s.run(function* () {
      const flags = yield* lock.lockIrqsave();
      order.push("irqs off");
      s.spawn("irq", "hardirq", function* () {
        order.push("irq");
        yield* condResched();
      });
      yield* condResched();
      yield* lock.unlockIrqrestore(flags);
      order.push("irqs on");
      yield* condResched();
    });
    expect(order).toEqual(["irqs off", "irqs on", "irq"]);
  });

  it("an interrupted task does not run until its interrupt returns", () => {
    const s = sim({ strategy: "round-robin" });
    const trace: string[] = [];
    s.spawn("worker", "process", function* () {
      for (let i = 0; i < 3; i++) {
        trace.push(`worker ${i}`);
        yield* condResched();
      }
    });
    s.spawn("irq", "hardirq", function* () {
      for (let i = 0; i < 3; i++) {
        trace.push(`irq ${i}`);
        yield* condResched();
      }
    });
    s.runAll();
    // Once the irq has started, the worker's lines stop until the irq is done.
    const firstIrq = trace.indexOf("irq 0");
    expect(trace.slice(firstIrq, firstIrq + 3)).toEqual(["irq 0", "irq 1", "irq 2"]);
  });

  it("draws an interrupted task as waiting for its interrupt in a deadlock", () => {
    // The irq lands on the task holding the spinlock it wants: a real deadlock.
    const s = sim({ strategy: "round-robin" });
    const lock = new SpinLock(s, "l");
    s.spawn("main", "process", function* () {
      yield* lock.lock();
      s.spawn("irq", "hardirq", function* () {
        yield* lock.lock();
        yield* lock.unlock();
      });
      yield* condResched();
      yield* lock.unlock();
    });
    expect(s.runAll().outcome).toBe("deadlock");
    // Lockdep saw it coming: the lock is used in hardirq and with irqs on.
    expect(s.reports.map((x) => x.kind)).toEqual(["irq-lock-inversion", "deadlock"]);
    const r = s.reports[1] as Deadlock;
    expect(r.cycle.map((e) => [e.task, e.blockedIn])).toEqual([
      ["main/1", "interrupted"],
      ["irq/2", "lock"],
    ]);
    expect(r.cycle[1]?.wakers).toEqual(["main/1"]);
    expect(r.cycle.every((e) => !e.inferred)).toBe(true);
  });

  it("names an interrupt's waiters: tasks with irqs off could let it in", () => {
    const s = sim();
    const c = new Completion(s, { name: "never" });
    s.spawn("main", "process", function* () {
      const lock = new SpinLock(s, "l");
      yield* lock.lockIrqsave();
      s.spawn("irq", "hardirq", function* () {
        yield* condResched();
      });
      yield* c.waitForCompletion(); // sleeps with irqs off: also sleep-in-atomic
    });
    expect(s.runAll().outcome).toBe("deadlock");
    expect(s.reports.map((x) => x.kind)).toEqual(["sleep-in-atomic", "deadlock"]);
    const r = s.reports[1] as Deadlock;
    const irq = r.blocked.find((e) => e.task === "irq/2");
    expect(irq).toMatchObject({ blockedIn: "irq-enter", wakers: ["main/1"] });
  });
});
