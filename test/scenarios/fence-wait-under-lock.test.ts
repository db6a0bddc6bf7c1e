import { describe, expect, it } from "vitest";
import { explore, Lockdep } from "../../src/index.js";
import { fenceWaitUnderLock } from "../../src/scenarios/fence-wait-under-lock.js";
import { runOnce, runSeeds } from "../../src/scenarios/scenario.js";
import { expectKind } from "./helpers.js";

const { buggy, fixed } = fenceWaitUnderLock.variants;

const JOB = { type: "DmaFence", name: "job0" };
const LOCK = 'Mutex#1 "vm->update_lock"';

describe("fence-wait-under-lock, buggy", () => {
  it("follows the drawn schedule under round-robin: the wait under the lock is reported, then the deadlock", () => {
    const sim = runOnce(buggy, { strategy: "round-robin" });
    expect(sim.outcome).toBe("deadlock");
    expect(sim.reports.map((r) => r.kind)).toEqual(["fence-wait-deadlock", "deadlock"]);
    const r = expectKind(sim.reports[0], "fence-wait-deadlock");
    expect(r.fence).toMatchObject({ object: JOB, context: 1, seqno: 1, timeline: "gfx-ring" });
    expect(r.lock).toBe(LOCK);
    expect(r.lockClass).toBe("vm->update_lock");
    // 3. unbind takes the lock and waits under it; 2. sched asked for the lock before.
    expect(r.waiter).toMatchObject({ task: "unbind/1", holds: { lock: LOCK, acquired: { task: "unbind/1", step: 3, op: "mutex_lock" } }, wait: { task: "unbind/1", step: 3, op: "dma_fence_wait" } });
    expect(r.signaller).toMatchObject({ task: "sched/2", takes: { task: "sched/2", step: 2 } });
    expect(r.actual).toBe(true);
    // The deadlock's cycle names the signaller as the fence waiter's waker.
    const d = expectKind(sim.reports[1], "deadlock");
    expect(d.cycle.map((e) => [e.task, e.blockedIn, e.wakers])).toEqual([
      ["unbind/1", "fence-wait", ["sched/2"]],
      ["sched/2", "lock", ["unbind/1"]],
    ]);
  });

  it("reports the pair on every seed, also where the scheduler was done before anyone waited", () => {
    const outcomes = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const sim = runOnce(buggy, { seed, lockdep: new Lockdep() });
      const r = expectKind(sim.reports[0], "fence-wait-deadlock");
      expect([r.waiter.task, r.signaller.task, r.lock]).toEqual(["unbind/1", "sched/2", LOCK]);
      expect(r.actual).toBe(sim.outcome === "deadlock");
      outcomes.add(sim.outcome);
    }
    expect([...outcomes].sort()).toEqual(["deadlock", "done"]);
  });

  it("is caught by the first execution of the seed loop", () => {
    const run = runSeeds(buggy, { seeds: 10 });
    expect(run.executions).toBe(1);
    expect(run.firstFailure?.report.kind).toBe("fence-wait-deadlock");
  });
});

describe("fence-wait-under-lock, fixed", () => {
  it("passes the whole seed budget", () => {
    const run = runSeeds(fixed, { seeds: 200 });
    expect(run.firstFailure).toBeNull();
    expect(run.executions).toBe(200);
  });

  it("passes every schedule", () => {
    const r = explore(fixed, { strategy: { name: "dfs", reduction: "dpor" }, executions: 20_000, stopAtFirst: false, shrink: false });
    expect(r.exhausted).toBe(true);
    expect(r.failures).toEqual([]);
  });

  it("signals the fence and frees it (after a grace period, as dma_fence_free's kfree_rcu): every task ends, nothing left", () => {
    const sim = runOnce(fixed, { strategy: "round-robin" });
    expect(sim.reports).toEqual([]);
    expect(sim.tasks.map((t) => [t.label, t.state])).toEqual([
      ["unbind/1", "done"],
      ["sched/2", "done"],
      ["rcu_gp/3", "done"],
    ]);
    expect(sim.liveObjects().map((o) => o.label)).toEqual([]);
  });
});
