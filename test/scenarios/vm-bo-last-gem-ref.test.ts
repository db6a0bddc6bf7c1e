import { describe, expect, it } from "vitest";
import { explore, type Scenario } from "../../src/index.js";
import { runSeeds } from "../../src/scenarios/scenario.js";
import { vmBoLastGemRef } from "../../src/scenarios/vm-bo-last-gem-ref.js";
import { expectKind } from "./helpers.js";

const { buggy, fixed } = vmBoLastGemRef.variants;
const more = new Map((vmBoLastGemRef.more ?? []).map((m) => [m.name, m] as const));

/** Every schedule (DFS with DPOR); returns the exploration. */
function exhaust(scenario: Scenario) {
  return explore(scenario, { strategy: { name: "dfs", reduction: "dpor" }, executions: 5_000, stopAtFirst: false, shrink: false });
}

describe("vm-bo-last-gem-ref, buggy", () => {
  it("is caught by the seed loop: the resv finalised and freed under unbind/2, then its unlock", () => {
    const run = runSeeds(buggy, { seeds: 50 });
    const failure = run.firstFailure;
    expect(failure).not.toBeNull();
    const [fini, freed, uaf] = failure?.reports ?? [];
    // The GEM's release finalises its resv while unbind/2 holds it...
    const f = expectKind(fini, "resv-misuse");
    expect(f.problem).toBe("fini-while-locked");
    expect(f.resv.label).toBe('DmaResv#11 "bo.resv" in GemObject#10 "bo"');
    // ...frees the lock under its holder...
    const h = expectKind(freed, "lock-held-at-free");
    expect(h.lock).toBe('WwMutex#12 "bo.resv" in GemObject#10 "bo"');
    expect(h.holder).toBe("unbind/2");
    // ...and unbind/2's unlock touches freed memory.
    const u = expectKind(uaf, "use-after-free");
    expect(u.object.label).toBe('WwMutex#12 "bo.resv" in GemObject#10 "bo"');
    expect(u.access).toBe("WwMutex.unlock");
    expect(u.accessed.task).toBe("unbind/2");
    expect(u.freed.op).toBe("kfree");
    expect(failure?.reports).toHaveLength(3);
  });

  it("the GEM's last put is in whichever task runs second: both orders free it under the lock, or not at all", () => {
    const r = exhaust(buggy);
    expect(r.exhausted).toBe(true);
    expect(r.failures.length).toBeGreaterThan(0);
    for (const f of r.failures) expect(f.reports.map((x) => x.kind)).toEqual(["resv-misuse", "lock-held-at-free", "use-after-free"]);
    // The close after the unlock frees the GEM safely: some schedules are clean.
    expect(r.failures.length).toBeLessThan(r.executions);
  });
});

describe("vm-bo-last-gem-ref, fixed and further variants", () => {
  it.each([
    ["fixed (the dance)", fixed],
    ["internal-put", more.get("internal-put")?.scenario],
    ["internal-unlink", more.get("internal-unlink")?.scenario],
  ] as const)("%s is clean in every schedule", (_name, scenario) => {
    expect(scenario).toBeDefined();
    if (scenario === undefined) return;
    const r = exhaust(scenario);
    expect(r.exhausted).toBe(true);
    expect(r.failures).toEqual([]);
    expect(runSeeds(scenario, { seeds: 100 }).firstFailure).toBeNull();
  });

  it("lists its further variants, each expected clean", () => {
    expect(vmBoLastGemRef.more?.map((m) => [m.name, m.expect])).toEqual([
      ["internal-put", null],
      ["internal-unlink", null],
    ]);
  });
});
