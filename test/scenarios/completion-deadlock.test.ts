import { describe, expect, it } from "vitest";
import { completionDeadlock } from "../../src/scenarios/completion-deadlock.js";
import { runOnce, runSeeds } from "../../src/scenarios/scenario.js";
import { expectKind } from "./helpers.js";

const { buggy, fixed } = completionDeadlock.variants;

const STOPPED = 'Completion#1 "stopped"';
const RESET_DONE = 'Completion#2 "reset_done"';

describe("completion-deadlock, buggy", () => {
  it("follows the drawn schedule under round-robin: both block, cycle reset -> sched -> reset", () => {
    const sim = runOnce(buggy, { strategy: "round-robin" });
    const r = expectKind(sim.reports[0], "deadlock");
    // 1. reset waits for `stopped`; 2. sched waits for `reset_done`; nothing can run after step 2.
    expect(r.step).toBe(2);
    expect(r.schedule.rows.map((row) => [row.step, row.column, row.effect])).toEqual([
      [1, 0, "start"],
      [2, 1, "start"],
    ]);
    expect(r.cycle).toEqual([
      { task: "reset/1", blockedIn: "wait-completion", waitsFor: STOPPED, wakers: ["sched/2"], inferred: true },
      { task: "sched/2", blockedIn: "wait-completion", waitsFor: RESET_DONE, wakers: ["reset/1"], inferred: true },
    ]);
    expect(r.blocked.map((e) => e.task)).toEqual(["reset/1", "sched/2"]);

    // Neither task reached its kfree, but after a deadlock the run does not
    // check for leaks: what the stuck tasks hold is a consequence.
    expect(sim.reports).toHaveLength(1);
    expect(sim.liveObjects().map((o) => o.label)).toEqual(['Completion#1 "stopped"', 'Completion#2 "reset_done"']);
  });

  it("deadlocks on every seed, with the same cycle", () => {
    for (let seed = 0; seed < 50; seed++) {
      const sim = runOnce(buggy, { seed });
      const r = expectKind(sim.reports[0], "deadlock");
      expect(r.cycle.map((e) => e.task)).toEqual(["reset/1", "sched/2"]);
      expect(r.cycle.map((e) => e.waitsFor)).toEqual([STOPPED, RESET_DONE]);
    }
  });

  it("is caught by the first execution of the seed loop", () => {
    const run = runSeeds(buggy, { seeds: 10 });
    expect(run.executions).toBe(1);
    expect(run.firstFailure?.seed).toBe(0);
    expect(run.firstFailure?.executionIndex).toBe(0);
    const r = expectKind(run.firstFailure?.report, "deadlock");
    expect(r.cycle.map((e) => e.task)).toEqual(["reset/1", "sched/2"]);
    expect(run.firstFailure?.reports.map((x) => x.kind)).toEqual(["deadlock"]);
  });
});

describe("completion-deadlock, fixed", () => {
  it("passes the whole budget", () => {
    const run = runSeeds(fixed, { seeds: 200 });
    expect(run.firstFailure).toBeNull();
    expect(run.executions).toBe(200);
  });

  it("runs both tasks to the end and frees both completions", () => {
    // 1. sched completes `stopped`, 2. waits; 3. reset passes its wait,
    // 4. completes `reset_done` and frees `stopped`; 5. sched wakes, frees `reset_done`.
    const sim = runOnce(fixed, { strategy: "round-robin" });
    expect(sim.reports).toEqual([]);
    expect(sim.tasks.map((t) => [t.label, t.state])).toEqual([
      ["reset/1", "done"],
      ["sched/2", "done"],
    ]);
  });
});
