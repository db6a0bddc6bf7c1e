/**
 * The deadlock report's wait-for graph: who could wake each blocked task,
 * and which cycle it names. A completion has no owner: every other live
 * task could still complete it. The cycle is the most certain one: lock
 * edges only, else through a task that holds a lock another waiter needs.
 */
import { describe, expect, it } from "vitest";
import { Completion, formatReport, Mutex, type DeadlockReport } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

function deadlockOf(sim: { reports: readonly { kind: string }[] }): DeadlockReport {
  const r = sim.reports.find((x) => x.kind === "deadlock");
  expect(r?.kind).toBe("deadlock");
  return r as DeadlockReport;
}

describe("deadlock: completion waiters", () => {
  it("names the waiter and the task blocked on the lock it holds, not a bystander spawned in between", () => {
    // reset/1 takes `hw` and waits for `stopped`; idle/2 waits for `unrelated`;
    // sched/3 would complete `stopped`, but first needs `hw`, which reset holds.
    const sim = collectingSim();
    const hw = new Mutex(sim, "hw_lock");
    const stopped = new Completion(sim, { name: "stopped" });
    const unrelated = new Completion(sim, { name: "unrelated" });
    sim.spawn("reset", "worker", function* () {
      yield* hw.lock();
      yield* stopped.waitForCompletion();
      yield* hw.unlock();
    });
    sim.spawn("idle", "process", function* () {
      yield* unrelated.waitForCompletion();
    });
    sim.spawn("sched", "process", function* () {
      yield* hw.lock();
      yield* stopped.complete();
      yield* hw.unlock();
    });
    expect(sim.runAll().outcome).toBe("deadlock");
    const r = deadlockOf(sim);
    expect(r.cycle.map((e) => e.task)).toEqual(["reset/1", "sched/3"]);
    expect(r.cycle).toEqual([
      { task: "reset/1", blockedIn: "wait-completion", waitsFor: 'Completion#2 "stopped"', wakers: ["idle/2", "sched/3"], inferred: true },
      { task: "sched/3", blockedIn: "lock", waitsFor: 'Mutex#1 "hw_lock"', wakers: ["reset/1"], inferred: false },
    ]);
    const text = formatReport(r).split("\n");
    expect(text).toContain("  reset/1 -> sched/3 -> reset/1");
    expect(text).toContain("  (inferred: a completion has no owner, so every other live task counts as a possible waker)");
  });

  it("lists every other live task as a possible waker, those blocked on the same completion too", () => {
    const sim = collectingSim();
    const c = new Completion(sim, { name: "c" });
    const d = new Completion(sim, { name: "d" });
    for (const name of ["a", "b"]) {
      sim.spawn(name, "process", function* () {
        yield* c.waitForCompletion();
        yield* d.complete();
      });
    }
    sim.spawn("z", "process", function* () {
      yield* d.waitForCompletion();
      yield* c.completeAll();
    });
    expect(sim.runAll().outcome).toBe("deadlock");
    const r = deadlockOf(sim);
    expect(r.blocked.map((e) => [e.task, e.wakers])).toEqual([
      ["a/1", ["b/2", "z/3"]],
      ["b/2", ["a/1", "z/3"]],
      ["z/3", ["a/1", "b/2"]],
    ]);
    expect(r.blocked.every((e) => e.inferred)).toBe(true);
    // No lock edges: the two earliest completion waiters.
    expect(r.cycle.map((e) => e.task)).toEqual(["a/1", "b/2"]);
  });

  it("prefers a cycle of lock edges over any inferred one, starting at the earliest spawned", () => {
    const sim = collectingSim();
    const A = new Mutex(sim, "A");
    const B = new Mutex(sim, "B");
    const never = new Completion(sim, { name: "never" });
    sim.spawn("waiter", "process", function* () {
      yield* never.waitForCompletion();
    });
    sim.spawn("ab", "process", function* () {
      yield* A.lock();
      yield* never.tryWaitForCompletion();
      yield* B.lock();
    });
    sim.spawn("ba", "process", function* () {
      yield* B.lock();
      yield* never.tryWaitForCompletion();
      yield* A.lock();
    });
    expect(sim.runAll().outcome).toBe("deadlock");
    const r = deadlockOf(sim);
    expect(r.cycle.map((e) => [e.task, e.inferred])).toEqual([
      ["ab/2", false],
      ["ba/3", false],
    ]);
    expect(r.blocked.find((e) => e.task === "waiter/1")?.wakers).toEqual(["ab/2", "ba/3"]);
  });

  it("a lone waiter has no possible waker and no cycle", () => {
    const sim = collectingSim();
    const c = new Completion(sim, { name: "c" });
    sim.spawn("alone", "process", function* () {
      yield* c.waitForCompletion();
    });
    sim.runAll();
    const r = deadlockOf(sim);
    expect(r.cycle).toEqual([]);
    expect(r.blocked).toEqual([{ task: "alone/1", blockedIn: "wait-completion", waitsFor: 'Completion#1 "c"', wakers: [], inferred: true }]);
  });
});
