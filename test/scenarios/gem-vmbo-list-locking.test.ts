import { describe, expect, it } from "vitest";
import { explore, type Scenario } from "../../src/index.js";
import { runOnce, runSeeds } from "../../src/scenarios/scenario.js";
import { gemVmboListLocking } from "../../src/scenarios/gem-vmbo-list-locking.js";
import { expectKind } from "./helpers.js";

const { buggy, fixed } = gemVmboListLocking.variants;
function more(name: string): Scenario {
  const m = gemVmboListLocking.more?.find((x) => x.name === name);
  if (m === undefined) throw new Error(`no variant ${name}`);
  return m.scenario;
}

const GPUVA_LOCK = 'Mutex#13 "drm_gem_object->gpuva.lock" in GemObject#10 "bo"';

describe("gem-vmbo-list-locking, buggy (the resv taken in an immediate-mode VM)", () => {
  it("is reported on the first execution: a list change asserts the GEM's gpuva mutex, held by no one", () => {
    const run = runSeeds(buggy, { seeds: 10 });
    expect(run.executions).toBe(1);
    const r = expectKind(run.firstFailure?.report, "lock-not-held");
    expect(r.lock).toBe(GPUVA_LOCK);
    expect(r.owner).toBeNull();
    // The caller holds the resv instead: the lock that is right in a plain VM.
    expect(r.held.map((h) => h.lock)).toEqual(['WwMutex#12 "bo.resv" in GemObject#10 "bo"']);
    expect(r.held[0]?.acquired.task).toBe(r.task);
    expect(["bind/2", "unbind/3"]).toContain(r.task);
  });

  it("under round-robin the missing lock races: bind/2 obtains the VmBo unbind/3 is dropping, then links it freed", () => {
    const sim = runOnce(buggy, { strategy: "round-robin" });
    const [unlink, inc, , uaf] = sim.reports;
    // unbind/3 unlinks m0 under the resv only: not the list's lock.
    const n = expectKind(unlink, "lock-not-held");
    expect(n).toMatchObject({ lock: GPUVA_LOCK, task: "unbind/3" });
    // bind/2, correctly under the gpuva mutex, finds the VmBo whose last reference unbind/3 just dropped.
    const i = expectKind(inc, "refcount-inc-from-zero");
    expect(i.object.type).toBe("VmBo");
    expect(i.get.task).toBe("bind/2");
    expect(i.zeroedBy).toMatchObject({ task: "unbind/3", op: "kref_put" });
    // ...and links m1 to it after unbind/3 freed it.
    const u = expectKind(uaf, "use-after-free");
    expect(u.object.label).toBe(i.object.label);
    expect(u.access).toBe("drm_gpuva_link");
    expect(u.accessed.task).toBe("bind/2");
  });
});

describe("gem-vmbo-list-locking, clean variants", () => {
  it.each([
    ["fixed: the lock gemGpuvaLock() names", fixed],
    ["internal: link() / unlink()", more("internal")],
    ["plain-vm: the resv, where it is the lock", more("plain-vm")],
  ] as const)("%s: every schedule with up to one preemption, and 50 random seeds", (_name, scenario) => {
    const r = explore(scenario, { strategy: { name: "dfs", reduction: "dpor", preemptionBound: 1 }, executions: 5_000, stopAtFirst: true, shrink: false });
    expect(r.failures.map((f) => f.report.kind)).toEqual([]);
    expect(r.exhausted).toBe(true);
    expect(runSeeds(scenario, { seeds: 50 }).firstFailure).toBeNull();
  });

  it("lists its further variants, each expected clean", () => {
    expect(gemVmboListLocking.more?.map((m) => [m.name, m.expect])).toEqual([
      ["internal", null],
      ["plain-vm", null],
    ]);
  });
});
