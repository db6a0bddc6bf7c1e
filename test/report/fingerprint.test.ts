/**
 * A failure's identity comes from the report's fields, kind by kind: the
 * same bug on another instance, in another run, closed from another side,
 * is one failure; a different object type or lock class is another.
 */
import { describe, expect, it, vi } from "vitest";
import { condResched, formatReport, Lockdep, Mutex, Sim, SimObject, kfree, type Report } from "../../src/index.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { registeredReportKinds, reportKindDefinition } from "../../src/report/registry.js";
import { fingerprint as fromExplore } from "../../src/explore/execution.js";
import { programs, type SampledKind } from "./reports.js";

/**
 * Two paths take two locks in opposite orders, one after the other.
 * 1. first: lock X, lock Y, unlock both   2. second: lock Y, lock X (closes the cycle)
 */
function abba(x: string, y: string): Report {
  const sim = new Sim({ seed: 1, onReport: "collect", lockdep: new Lockdep(), strategy: "round-robin" });
  const mx = new Mutex(sim, x);
  const my = new Mutex(sim, y);
  const first = sim.spawn("first", "process", function* () {
    yield* mx.lock();
    yield* my.lock();
    yield* my.unlock();
    yield* mx.unlock();
  });
  sim.spawn("second", "process", function* () {
    while (first.state !== "done") yield* condResched();
    yield* my.lock();
    yield* mx.lock();
    yield* mx.unlock();
    yield* my.unlock();
  });
  sim.runAll();
  const r = sim.reports[0];
  if (r?.kind !== "lock-order-cycle") throw new Error(`expected a lock-order cycle, got ${r?.kind ?? "nothing"}`);
  return r;
}

/** 1. setup: allocate an object of `type`   2. kfree   3. kfree again */
function doubleFree(type: string, name: string): Report {
  const sim = new Sim({ seed: 1, onReport: "collect", lockdep: new Lockdep() });
  sim.run(function* () {
    const o = new SimObject(sim, type, { name });
    yield* kfree(o);
    yield* kfree(o);
  });
  return sim.reports[0] as Report;
}

describe("fingerprint", () => {
  it("counts an AB-BA cycle once, whichever side closed it", () => {
    const ab = abba("vm->lock", "bo->lock");
    const ba = abba("bo->lock", "vm->lock");
    // The text differs (who holds what), the failure does not.
    expect(formatReport(ab)).not.toBe(formatReport(ba));
    expect(fingerprint(ab)).toBe(fingerprint(ba));
    expect(fingerprint(ab)).toBe("lock-order-cycle: bo->lock -> vm->lock");
  });

  it("tells apart cycles of other classes", () => {
    expect(fingerprint(abba("vm->lock", "bo->lock"))).not.toBe(fingerprint(abba("vm->lock", "resv")));
  });

  it("tells apart the same kind on different object types", () => {
    expect(fingerprint(doubleFree("Bo", "bo"))).not.toBe(fingerprint(doubleFree("Vm", "bo")));
  });

  it("ignores numbers in names and ids", () => {
    expect(fingerprint(doubleFree("Bo", "bo0"))).toBe(fingerprint(doubleFree("Bo", "bo17")));
    expect(fingerprint(abba("vm3->lock", "bo0->lock"))).toBe(fingerprint(abba("bo12->lock", "vm1->lock")));
    expect(fingerprint(abba("vm3->lock", "bo0->lock"))).not.toMatch(/\d/);
  });

  it("does not read the text: a reworded headline fingerprints the same", () => {
    const report = programs["use-after-free"]();
    const before = fingerprint(report);
    const definition = reportKindDefinition("use-after-free");
    const headline = vi.spyOn(definition, "headline").mockReturnValue("BUG: gpuvm-sim: freed object touched");
    const body = vi.spyOn(definition, "body");
    try {
      expect(fingerprint(report)).toBe(before);
      expect(headline).not.toHaveBeenCalled();
      expect(body).not.toHaveBeenCalled();
      expect(formatReport(report).split("\n")[1]).toBe("BUG: gpuvm-sim: freed object touched");
    } finally {
      vi.restoreAllMocks();
    }
    expect(formatReport(report).split("\n")[1]).toBe("BUG: gpuvm-sim: use-after-free in Bo.size");
  });

  it("is the one explore() uses", () => {
    expect(fromExplore).toBe(fingerprint);
  });

  it("is defined for every registered kind, and every kind has a sample", () => {
    expect([...registeredReportKinds()].sort()).toEqual(Object.keys(programs).sort());
    for (const kind of registeredReportKinds()) {
      const report = programs[kind as SampledKind]();
      const fp = fingerprint(report);
      expect(fp.startsWith(kind)).toBe(true);
      // No object id survives.
      expect(fp).not.toMatch(/#\d/);
    }
  });

  it("pins each sample's fingerprint", () => {
    const all = Object.fromEntries(registeredReportKinds().map((k) => [k, fingerprint(programs[k as SampledKind]())]));
    expect(all).toMatchInlineSnapshot(`
      {
        "bad-preempt-enable": "bad-preempt-enable: preempt_enable",
        "bad-unlock": "bad-unlock: Mutex "vm->update_lock" / unowned",
        "context-at-exit": "context-at-exit: preemption disabled, irqs disabled",
        "deadlock": "deadlock: cycle / wait-completion on Completion "x" -> wait-completion on Completion "y"",
        "dma-cross-owner": "dma-cross-owner: reallocated / read / stale-tlb",
        "dma-use-after-free": "dma-use-after-free: write / stale-tlb / __free_page",
        "double-free": "double-free: Thing / kfree",
        "fence-never-signalled": "fence-never-signalled: ring# / new DmaFence / wait",
        "fence-released-with-callbacks": "fence-released-with-callbacks: ring# / dma_fence_release",
        "fence-set-error-after-signal": "fence-set-error-after-signal: ring# / dma_fence_set_error",
        "fence-signal-out-of-order": "fence-signal-out-of-order: ring# / dma_fence_signal",
        "fence-wait-deadlock": "fence-wait-deadlock: vm->update_lock / ring# / dma_fence_wait",
        "gpu-page-fault": "gpu-page-fault: not-present / write",
        "gpuvm-invariant": "gpuvm-invariant: refcount-holders",
        "gpuvm-misuse": "gpuvm-misuse: wrong-mode / drm_gpuvm_bo_put_deferred",
        "gpuvm-teardown": "gpuvm-teardown: tree",
        "gpuvm-wrong-stage": "gpuvm-wrong-stage: Mapping / drm_gpuva_remove / removed",
        "invalid-wait-context": "invalid-wait-context: reservation_ww_class_mutex / SpinLock "lru_lock"",
        "irq-lock-inversion": "irq-lock-inversion: hardirq / inconsistent / fence->lock / fence->lock",
        "leak": "leak: Bo",
        "livelock": "livelock: resched -> trylock Mutex "vm->update_lock"",
        "lock-held-at-exit": "lock-held-at-exit: vm->update_lock",
        "lock-held-at-free": "lock-held-at-free: Mutex "vm->update_lock" in Vm "vm#" / kfree",
        "lock-not-held": "lock-not-held: Mutex "bo#->lock" / unowned",
        "lock-order-cycle": "lock-order-cycle: bo->lock -> vm->update_lock",
        "mmu-notifier-blockable-fail": "mmu-notifier-blockable-fail: unmap",
        "phys-page-double-free": "phys-page-double-free: __free_page",
        "phys-page-misuse": "phys-page-misuse: unpin-unpinned / unpin_user_page",
        "phys-page-still-mapped": "phys-page-still-mapped: __free_page",
        "pt-prealloc-short": "pt-prealloc-short: GpuPageTable "vm#"",
        "recursive-locking": "recursive-locking: bo->lock / mutex_lock",
        "refcount-holder-mismatch": "refcount-holder-mismatch: Bo / kref_put / shrinker",
        "refcount-inc-from-zero": "refcount-inc-from-zero: Bo / kref_get",
        "refcount-saturated": "refcount-saturated: Bo / kref_get",
        "refcount-underflow": "refcount-underflow: Bo / kref_put",
        "resv-misuse": "resv-misuse: fini-twice / DmaResv / dma_resv_fini",
        "resv-no-fence-slot": "resv-no-fence-slot: DmaResv / dma_resv_add_fence / write",
        "sleep-in-atomic": "sleep-in-atomic: down_read / spinlock / vm->list_lock",
        "step-limit": "step-limit: resched",
        "suspicious-rcu-usage": "suspicious-rcu-usage: dereference-outside-read-section / rcu_dereference",
        "task-exception": "task-exception: RangeError: index # out of range",
        "task-misuse": "task-misuse: bad-yield / number #",
        "unstarted-op": "unstarted-op: kref_put / yield",
        "usage": "usage: undeclared-access / vm_update / Mutex / write",
        "use-after-free": "use-after-free: Bo / Bo.size",
        "vm-bo-list-concurrent-walk": "vm-bo-list-concurrent-walk: extobj",
        "workqueue-misuse": "workqueue-misuse: queue-while-draining / "late"",
        "ww-mutex-misuse": "ww-mutex-misuse: slow-lock-with-locks-held",
      }
    `);
  });
});
