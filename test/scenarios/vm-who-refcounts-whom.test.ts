import { describe, expect, it } from "vitest";
import { explore, type Scenario } from "../../src/index.js";
import type { GpuPageTable } from "../../src/device/page-table.js";
import type { PhysMem } from "../../src/device/phys-mem.js";
import { runOnce, runSeeds } from "../../src/scenarios/scenario.js";
import { BackingStore, closeDefersClear, closeScenario, vmWhoRefcountsWhom } from "../../src/scenarios/vm-who-refcounts-whom.js";
import { expectKind } from "./helpers.js";

const { buggy, fixed } = vmWhoRefcountsWhom.variants;
const more = new Map((vmWhoRefcountsWhom.more ?? []).map((m) => [m.name, m.scenario] as const));
function variant(name: string): Scenario {
  const s = more.get(name);
  if (s === undefined) throw new Error(`no variant ${name}`);
  return s;
}

/** Every schedule (DFS with DPOR); returns the exploration. */
function exhaust(scenario: Scenario) {
  return explore(scenario, { strategy: { name: "dfs", reduction: "dpor" }, executions: 5_000, stopAtFirst: false, shrink: false });
}

describe("vm-who-refcounts-whom, buggy: the VM freed by the driver's own count", () => {
  it("evict/3's move notification looks the mapping up in the VM postclose/2 freed (seed 0)", () => {
    const failure = runSeeds(buggy, { seeds: 50 }).firstFailure;
    expect(failure?.seed).toBe(0);
    const u = expectKind(failure?.report, "use-after-free");
    expect(u.object.label).toBe('GpuVm#5 "vm"');
    expect(u.access).toBe("GpuVm.find");
    expect(u.accessed.task).toBe("evict/3");
    expect(u.freed.task).toBe("postclose/2");
    expect(u.freed.op).toBe("kfree");
  });

  it("every schedule ends in a use-after-free of the VM: in the eviction, or in the unmap that follows", { timeout: 60_000 }, () => {
    const r = exhaust(buggy);
    expect(r.exhausted).toBe(true);
    expect(runSeeds(buggy, { seeds: 30 }).executions).toBe(1);
    expect(r.failures.length).toBeGreaterThan(0);
    // When evict/3 runs first, the BO's close (run by the last task) is the first to reach the freed VM:
    // the VmBo's destroy takes it off the VM's extobj list.
    const late = Array.from({ length: 50 }, (_, seed) => runOnce(buggy, { seed }).reports[0]).filter((x) => x?.kind === "use-after-free" && x.object.label !== 'GpuVm#5 "vm"');
    expect(late.length).toBeGreaterThan(0);
    for (const x of late) expect(x?.kind === "use-after-free" && x.object.label).toBe('SpinLock#7 "extobj.lock" in GpuVm#5 "vm"');
    for (const f of r.failures) {
      const u = expectKind(f.reports[0], "use-after-free");
      expect(u.object.label).toContain('GpuVm#5 "vm"');
      expect(u.freed.task).toBe("postclose/2");
    }
  });
});

describe("vm-who-refcounts-whom, destroy-under-resv", () => {
  it("vm_destroy runs inside the VmBo's put, under the VM's resv, and locks it again", () => {
    const failure = runSeeds(variant("destroy-under-resv"), { seeds: 50 }).firstFailure;
    const r = expectKind(failure?.report, "recursive-locking");
    expect(r.lock).toBe('WwMutex#3 "root.resv" in GemObject#1 "root"');
    expect(r.second.task).toBe("unbind/2");
    expect(r.second.op).toBe("ww_mutex_lock");
    expect(r.first.acquired.task).toBe("unbind/2");
  });

  it("only when the unbind's put is the VM's last: postclose last is clean", () => {
    const r = exhaust(variant("destroy-under-resv"));
    expect(r.exhausted).toBe(true);
    expect(r.failures.length).toBeGreaterThan(0);
    expect(r.failures.length).toBeLessThan(r.executions);
    for (const f of r.failures) expect(f.reports[0]?.kind).toBe("recursive-locking");
  });
});

describe("vm-who-refcounts-whom, close-frees-pages", () => {
  it("the close frees a page its PTE still maps", () => {
    const sim = runOnce(variant("close-frees-pages"), { seed: 1 });
    const r = expectKind(sim.reports[0], "phys-page-still-mapped");
    expect(r.owner).toBe('BackingStore#13 "bo backing store"');
    expect(r.mappedBy).toBe('GpuPageTable#2 "vm page table"');
    expect(r.mapCount).toBe(1);
    expect(r.freed.task).toBe("killed/2");
    // One report per page of the BO, then nothing else.
    expect(sim.reports.map((x) => x.kind)).toEqual(Array(4).fill("phys-page-still-mapped"));
  });
});

describe("vm-who-refcounts-whom, fixed variants", () => {
  it.each([
    ["fixed (drm_gpuvm_put)", fixed],
    ["destroy-ref-dance", variant("destroy-ref-dance")],
    ["close-deferred-clear", variant("close-deferred-clear")],
  ] as const)("%s is clean in every schedule", { timeout: 60_000 }, (_name, scenario) => {
    const r = exhaust(scenario);
    expect(r.exhausted).toBe(true);
    expect(r.failures).toEqual([]);
  });

  it("close-deferred-clear: the PTEs are cleared and the BO's pages freed, in every schedule", () => {
    let seen: { mem: PhysMem; pt: GpuPageTable; store: BackingStore } | null = null;
    const scenario = closeScenario(closeDefersClear, (w) => {
      seen = w;
    });
    for (let seed = 0; seed < 20; seed++) {
      const sim = runOnce(scenario, { seed });
      expect(sim.reports).toEqual([]);
      const w = seen as { mem: PhysMem; pt: GpuPageTable; store: BackingStore } | null;
      expect(w).not.toBeNull();
      if (w === null) return;
      expect(w.store.pages).toEqual([]);
      for (let i = 0; i < 4; i++) {
        expect(w.pt.walk(0x10000 + i * 4096)).toBeNull();
        expect(w.mem.state(i)).toBe("free");
      }
    }
  });

  it("lists its further variants with their kinds", () => {
    expect(vmWhoRefcountsWhom.more?.map((m) => [m.name, m.expect])).toEqual([
      ["destroy-under-resv", "recursive-locking"],
      ["destroy-ref-dance", null],
      ["close-frees-pages", "phys-page-still-mapped"],
      ["close-deferred-clear", null],
    ]);
  });
});
