/**
 * The scheduler's own rules: who is enabled, when time moves, where an
 * interrupt may land, and how a deadlock's wait-for graph is drawn.
 */
import { describe, expect, it } from "vitest";
import {
  access,
  Completion,
  condResched,
  explore,
  formatReport,
  Lockdep,
  msleep,
  Mutex,
  Sim,
  SpinLock,
  WwClass,
  WwMutex,
  type Report,
  type Scenario,
} from "../../src/index.js";
import { SPIN_STEPS } from "../../src/kernel/scheduler.js";

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
      yield* access(lock, "read");
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
        yield* access(lock, "read");
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

/**
 * Spinning and fairness (issue 7, section 5), on the shapes of the kernel's
 * kernel/locking/test-ww_mutex.c __test_mutex(): a worker that spins on
 * ww_mutex_trylock(NULL) while the main task holds the mutex.
 */
describe("scheduler: spinning tasks", () => {
  const TIMEOUT_NS = 62_500_000; // the kernel test's HZ / 16: 1/16 s, in ns

  /**
   * "Trylock, no spin": the main task waits with a timeout for a completion
   * only the worker would make, and the worker cannot make it before the
   * main task lets go. The wait must time out (as in the kernel, where the
   * timeout is the pass condition), not end in livelock.
   */
  const trylockNoSpin: Scenario = (s) => {
    const cls = new WwClass(s, "test_ww_class", { algorithm: "wound-wait" });
    const m = new WwMutex(s, cls, { name: "mtx", static: true });
    const go = new Completion(s, { name: "go", static: true });
    const done = new Completion(s, { name: "done", static: true });
    s.spawn("main", "process", function* () {
      yield* m.lock(null);
      yield* go.complete();
      const completed = yield* done.waitForCompletionTimeout(TIMEOUT_NS);
      if (completed) throw new Error("mutual exclusion failure: done while main held the mutex");
      yield* m.unlock();
    });
    s.spawn("worker", "worker", function* () {
      yield* go.waitForCompletion();
      while (!(yield* m.trylock(null))) yield* condResched();
      yield* done.complete();
      yield* m.unlock();
    });
  };

  it.each(["random", "pct", "dfs"] as const)("trylock, no spin: the main task's wait times out and everything completes (%s)", (strategy) => {
    const r = explore(trylockNoSpin, { strategy, executions: 30, stopAtFirst: false });
    expect(r.failures.map((f) => f.report.kind)).toEqual([]);
    expect(r.stepBoundHits).toBe(0);
  });

  it("trylock, no spin: the clock moves to the main task's deadline while the worker is parked", () => {
    const s = sim({ strategy: "round-robin" });
    trylockNoSpin(s);
    expect(s.runAll().outcome).toBe("done");
    expect(s.now).toBe(TIMEOUT_NS);
    expect(s.reports).toEqual([]);
  });

  /**
   * "Trylock, both spin": the main task, holding the mutex, polls a flag
   * for a bounded number of rounds (the kernel's loop is bounded by jiffies)
   * with cond_resched; the worker spins on trylock. Neither sleeps. Under a
   * strategy that always prefers one task (PCT's priorities, DFS's first
   * schedule) the spinner used to starve the other: a livelock report where
   * a fair scheduler makes progress.
   */
  const bothSpin: Scenario = (s) => {
    const m = new Mutex(s, "mtx", { static: true });
    const go = new Completion(s, { name: "go", static: true });
    const flag = s.share({ done: false });
    s.spawn("main", "process", function* () {
      yield* m.lock();
      yield* go.complete();
      for (let i = 0; i < 3 * SPIN_STEPS; i++) {
        yield* access(flag, "read");
        if (flag.done) throw new Error("mutual exclusion failure");
        yield* condResched();
      }
      yield* m.unlock();
    });
    s.spawn("worker", "worker", function* () {
      yield* go.waitForCompletion();
      while (!(yield* m.trylock())) yield* condResched();
      yield* access(flag, "write");
      flag.done = true;
      yield* m.unlock();
    });
  };

  it.each(["random", "pct", "dfs"] as const)("trylock, both spin: no livelock where a fair scheduler progresses (%s)", (strategy) => {
    const r = explore(bothSpin, { strategy, executions: 10, stopAtFirst: false, maxSteps: 5000 });
    expect(r.failures.map((f) => f.report.kind)).toEqual([]);
    expect(r.stepBoundHits).toBe(0);
  });

  it("a loop that can never make progress is still a livelock, naming the loop", () => {
    const never: Scenario = (s) => {
      const m = new Mutex(s, "m", { static: true });
      const c = new Completion(s, { name: "never", static: true });
      const go = new Completion(s, { name: "go", static: true });
      s.spawn("holder", "process", function* () {
        yield* m.lock();
        yield* go.complete();
        yield* c.waitForCompletion();
        yield* m.unlock();
      });
      s.spawn("poller", "process", function* () {
        yield* go.waitForCompletion();
        while (!(yield* m.trylock())) yield* condResched();
        yield* m.unlock();
      });
    };
    for (const strategy of ["random", "pct", "dfs"] as const) {
      const r = explore(never, { strategy, executions: 3, maxSteps: 400 });
      expect([strategy, r.failures[0]?.report]).toMatchObject([strategy, { kind: "livelock", spinning: [{ task: "poller/2", loop: ["resched", 'trylock Mutex#1 "m"'] }] }]);
    }
  });
});

describe("scheduler: time and timeouts", () => {
  it("tasks that keep making progress keep time still: a step-limit, with the waiter's timeout still ahead", () => {
    // Two tasks take and drop a lock forever (an unlock is progress): nobody
    // blocks or spins a budget, so time never moves and the waiter's timeout
    // cannot expire. A step-limit, not a livelock: work is being done.
    const s = sim({ maxSteps: 300, strategy: "round-robin" });
    const m = new Mutex(s, "m", { static: true });
    const c = new Completion(s, { name: "c", static: true });
    s.spawn("waiter", "process", function* () {
      yield* c.waitForCompletionTimeout(1_000_000);
    });
    for (const name of ["a", "b"]) {
      s.spawn(name, "process", function* () {
        for (;;) if (yield* m.trylock()) yield* m.unlock();
      });
    }
    s.runAll();
    expect(s.reports[0]).toMatchObject({ kind: "step-limit", limit: 300 });
    expect(s.now).toBe(0);
  });

  it("a livelock report lists the tasks whose timeout had not expired", () => {
    const text = formatReport({
      kind: "livelock",
      step: 9,
      task: null,
      limit: 9,
      spinning: [{ task: "poller/2", steps: 8, loop: ["resched"] }],
      live: [{ task: "waiter/1", next: 'wait-completion Completion#1 "c"' }],
      timeouts: [{ task: "waiter/1", deadlineNs: 1_000_000 }],
      schedule: { tasks: [], rows: [] },
      replay: "gpuvm-sim:1:sim:random:0",
    });
    expect(text).toContain("Waiting with a timeout that has not expired");
    expect(text).toContain("waiter/1        until 1000000 ns");
  });
});
