import { describe, expect, it } from "vitest";
import { explore, type Scenario } from "../../src/index.js";
import { runSeeds } from "../../src/scenarios/scenario.js";
import { gpuvmListWalk } from "../../src/scenarios/gpuvm-list-walk.js";
import { expectKind } from "./helpers.js";

const { buggy, fixed } = gpuvmListWalk.variants;
function more(name: string): Scenario {
  const m = gpuvmListWalk.more?.find((x) => x.name === name);
  if (m === undefined) throw new Error(`no variant ${name}`);
  return m.scenario;
}

/** Every schedule with at most `preemptionBound` preemptions (DFS with DPOR). */
function bounded(scenario: Scenario, preemptionBound: number) {
  return explore(scenario, { strategy: { name: "dfs", reduction: "dpor", preemptionBound }, executions: 5_000, stopAtFirst: true, shrink: false });
}

describe("gpuvm-list-walk, buggy (a copy of the entries used after the spinlock is dropped)", () => {
  it("is caught by the seed loop: walker/3 touches the VmBo churn/2 freed", () => {
    const run = runSeeds(buggy, { seeds: 50 });
    const r = expectKind(run.firstFailure?.report, "use-after-free");
    expect(r.object.type).toBe("VmBo");
    expect(r.access).toBe("Kref.getUnlessZero");
    expect(r.accessed.task).toBe("walker/3");
    expect(r.freed).toMatchObject({ task: "churn/2", op: "kfree" });
    expect(r.allocated).toMatchObject({ task: "setup/1", op: "new VmBo" });
    // The put that freed it was the driver's own (the unbind), not the walker's.
    expect(r.refHistory.at(-1)).toMatchObject({ task: "churn/2", op: "put-release", count: 0, holder: "driver" });
  });

  it("is caught by DFS with one preemption", () => {
    const r = bounded(buggy, 1);
    expect(r.failures[0]?.report.kind).toBe("use-after-free");
  });
});

describe("gpuvm-list-walk, clean walks", () => {
  it.each([
    ["fixed: the snapshot walk (spinlock mode)", fixed],
    ["resv-protected", more("resv-protected")],
    ["two-list", more("two-list")],
  ] as const)("%s: every schedule with up to one preemption, and 50 random seeds", (_name, scenario) => {
    const r = bounded(scenario, 1);
    expect(r.failures.map((f) => f.report.kind)).toEqual([]);
    expect(r.exhausted).toBe(true);
    expect(runSeeds(scenario, { seeds: 50 }).firstFailure).toBeNull();
  });
});

describe("gpuvm-list-walk, concurrent-walks", () => {
  it("expects the list's concurrent-walk report", () => {
    expect(gpuvmListWalk.more?.map((m) => [m.name, m.expect])).toEqual([
      ["resv-protected", null],
      ["two-list", null],
      ["concurrent-walks", "vm-bo-list-concurrent-walk"],
    ]);
  });

  it("is caught by the seed loop: the second walker of the extobj list is refused, naming both", () => {
    const run = runSeeds(more("concurrent-walks"), { seeds: 50 });
    const r = expectKind(run.firstFailure?.report, "vm-bo-list-concurrent-walk");
    expect(r.list).toBe('GpuVm#5 "vm".extobj');
    expect(r.which).toBe("extobj");
    expect([r.firstWalker, r.secondWalker].sort()).toEqual(["walker0/3", "walker1/4"]);
    expect(r.firstWalk.op).toBe("for_each_vm_bo_in_list");
    // Refused, not corrupted: nothing else goes wrong in that execution.
    expect(run.firstFailure?.reports).toHaveLength(1);
  });
});
