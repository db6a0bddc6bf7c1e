import { describe, expect, it } from "vitest";
import { Bo, uafLastReference } from "../../src/scenarios/uaf-last-reference.js";
import { runOnce, runSeeds } from "../../src/scenarios/scenario.js";
import { kfree, Sim } from "../../src/index.js";
import { expectKind } from "./helpers.js";

const { buggy, fixed } = uafLastReference.variants;

describe("uaf-last-reference, buggy", () => {
  it("follows the drawn schedule under round-robin and reports the use at step 6", () => {
    const sim = runOnce(buggy, { strategy: "round-robin" });
    expect(sim.reports).toHaveLength(1);
    const r = expectKind(sim.reports[0], "use-after-free");

    expect(r.object).toMatchObject({ type: "Bo", name: "bo0" });
    expect(r.access).toBe("Bo.size");
    // The BO was made by the world-building code, before any task ran.
    expect(r.allocated).toEqual({ task: null, step: 0, op: "new Bo" });
    // 5. kfree(bo), from the release that the handle's put started at 3.
    expect(r.freed).toEqual({ task: "closer/1", step: 5, op: "kfree" });
    // 6. access(bo, read); bo.size: the user's second read.
    expect(r.accessed).toEqual({ task: "user/2", step: 6, op: "Bo.size" });
    expect(r.task).toBe("user/2");
    expect(r.step).toBe(6);

    // The only counted reference was the handle's; 3. its put was the last.
    expect(r.refHistory).toEqual([
      { step: 0, task: null, op: "init", count: 1, holder: "handle" },
      { step: 3, task: "closer/1", op: "put-release", count: 0, holder: "handle" },
    ]);

    expect(r.schedule.tasks).toEqual(["closer/1", "user/2"]);
    expect(r.schedule.rows.map((row) => [row.step, row.column, row.effect])).toEqual([
      [1, 0, "start"], // 1. closer spawns user, passes bo without a reference
      [2, 1, "start"], // 2. user starts
      [3, 0, 'kref-put Bo#1 "bo0"'], // 3. closer: kref_put, 1 -> 0, release starts
      [4, 1, 'access Bo#1 "bo0"'], // 4. user: bo.size, count 0 but not freed yet
      [5, 0, 'free Bo#1 "bo0"'], // 5. closer: kfree(bo)
      [6, 1, 'access Bo#1 "bo0"'], // 6. user: bo.size => use-after-free
    ]);
  });

  it("is caught by the seed loop within a small budget", () => {
    const run = runSeeds(buggy, { seeds: 20 });
    expect(run.firstFailure).not.toBeNull();
    const r = expectKind(run.firstFailure?.report, "use-after-free");
    expect(r.object.type).toBe("Bo");
    expect(r.access).toBe("Bo.size");
    expect(r.allocated.op).toBe("new Bo");
    expect(r.freed).toMatchObject({ task: "closer/1", op: "kfree" });
    expect(r.accessed.task).toBe("user/2");
    // Only the one report: the first bad access is the bug, later reads are not reported again.
    expect(run.firstFailure?.reports).toHaveLength(1);
  });

  it("files nothing but use-after-free on any seed, and only after the free", () => {
    let failures = 0;
    for (let seed = 0; seed < 100; seed++) {
      const reports = runOnce(buggy, { seed }).reports;
      if (reports.length === 0) continue;
      failures++;
      expect(reports).toHaveLength(1);
      const r = expectKind(reports[0], "use-after-free");
      expect(r.accessed.step).toBeGreaterThan(r.freed.step);
    }
    // Some schedules let the user finish first; most do not.
    expect(failures).toBeGreaterThan(10);
    expect(failures).toBeLessThan(100);
  });
});

describe("uaf-last-reference, fixed", () => {
  it("passes the whole budget", () => {
    const run = runSeeds(fixed, { seeds: 200 });
    expect(run.firstFailure).toBeNull();
    expect(run.executions).toBe(200);
  });

  it("lets the user read all three times and frees the BO exactly once", () => {
    const sim = runOnce(fixed, { strategy: "round-robin" });
    expect(sim.reports).toEqual([]);
    const [closer, user] = sim.tasks;
    expect(closer?.state).toBe("done");
    // 16 pages, read three times.
    expect(user?.result).toBe(48);
  });
});

describe("Bo", () => {
  it("reports a read of its size after kfree, naming the access", () => {
    const sim = new Sim({ onReport: "collect" });
    const bo = new Bo(sim, "b", 8192);
    sim.run(function* () {
      expect(bo.size).toBe(8192);
      yield* bo.kref.put(function* (b) {
        yield* kfree(b);
      }, "handle");
      // Like KASAN, the read is reported and still returns what was there.
      expect(bo.size).toBe(8192);
    });
    expect(sim.reports).toHaveLength(1);
    const r = expectKind(sim.reports[0], "use-after-free");
    expect(r.object.label).toBe('Bo#1 "b"');
    expect(r.access).toBe("Bo.size");
    expect(r.accessed.task).toBe("main/1");
  });
});
