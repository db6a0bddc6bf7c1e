/**
 * One small program per report kind, run with a fixed seed. The text tests
 * pin their exact output in test/report/__snapshots__/, and docs/reports.md
 * shows those files.
 */
import {
  Gpu,
  PtPrealloc,
  GFP_KERNEL,
  access,
  Completion,
  condResched,
  DmaFence,
  DmaResv,
  FenceContext,
  kfree,
  Lockdep,
  lockMapAcquire,
  lockMapRelease,
  localIrqSave,
  Mutex,
  preemptDisable,
  preemptEnable,
  RcuPointer,
  RwSemaphore,
  Sim,
  SimObject,
  SpinLock,
  WwAcquireCtx,
  WwClass,
  WwMutex,
  Work,
  GemObject,
  GpuVm,
  Mapping,
  Workqueue,
  type Report,
  type ReportKind,
} from "../../src/index.js";
import { Bo, freeIt, leakAtTeardown } from "../fixtures.js";
import { FakeGem, FakeVm } from "../support/fake-gpuvm.js";
import { expectTaskExceptions } from "../support/collecting-sim.js";
import { touch } from "../../src/kernel/heap.js";
import { boObtain } from "../../src/drm/vm-bo.js";
import { PhysMem } from "../../src/device/phys-mem.js";
import { GpuPageTable } from "../../src/device/page-table.js";
import { Mm } from "../../src/device/mm.js";
import { MmuIntervalNotifier } from "../../src/device/mmu-notifier.js";

function collect(seed = 1): Sim {
  // A fresh lockdep boot per program: the text must not depend on what ran before.
  return new Sim({ seed, onReport: "collect", lockdep: new Lockdep() });
}

/**
 * Every report kind has a sample program here, except the made-up kind of
 * the docs example (examples/report-kind.ts), which joins `ReportKind` for
 * the type checker but is registered only where the example is imported.
 */
export type SampledKind = Exclude<ReportKind, "job-timeout">;

/**
 * A job fills the TLB; the PTE is cleared and its frame freed without a TLB
 * invalidate; a second job reaches the frame through the stale entry: free
 * (dma-use-after-free, a write), or handed to process p2 first
 * (dma-cross-owner, a read).
 */
function staleTlbSample(kind: "dma-use-after-free" | "dma-cross-owner"): Report {
  const sim = collect();
  const mem = new PhysMem(sim, { name: "ram", pages: 16 });
  const pt = new GpuPageTable(sim, mem, { name: "vm0" });
  const gpu = new Gpu(sim, { mem });
  const page = [{ va: 0x10000, length: 4096 }];
  sim.run(function* () {
    const pfn = (yield* mem.allocPage({ label: "bo0 backing store", process: "p1" }, GFP_KERNEL)) as number;
    yield* pt.map(0x10000, pfn, 4096, { read: true, write: true });
    const warm = yield* gpu.submit({ name: "warm", pageTable: pt, reads: page });
    yield* warm.finished.wait(false);
    yield* pt.unmap(0x10000, 4096);
    yield* mem.freePage(pfn);
    if (kind === "dma-cross-owner") yield* mem.allocPage({ label: "p2 anon", process: "p2" }, GFP_KERNEL);
    const late = yield* gpu.submit({ name: "late", pageTable: pt, process: "p1", ...(kind === "dma-cross-owner" ? { reads: page } : { writes: page }) });
    yield* late.finished.wait(false);
    yield* warm.finished.put("submit");
    yield* late.finished.put("submit");
  });
  return sim.reports.find((r) => r.kind === kind) as Report;
}

export const programs: Record<SampledKind, () => Report> = {
  "use-after-free": () => {
    // 1. closer: kref_put (last)   2. closer: kfree   3. user: bo.size
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      const closer = sim.spawn("closer", "process", function* () {
        yield* bo.kref.put(freeIt);
      });
      sim.spawn("user", "process", function* () {
        while (closer.state !== "done") yield* condResched();
        return bo.size;
      });
    });
    return sim.reports[0] as Report;
  },
  "double-free": () => {
    const sim = collect();
    sim.run(function* () {
      const o = new SimObject(sim, "Thing", { name: "t" });
      yield* kfree(o);
      yield* kfree(o);
    });
    return sim.reports[0] as Report;
  },
  "refcount-underflow": () => {
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0", "creator");
      yield* bo.kref.put(freeIt, "creator");
      yield* bo.kref.put(freeIt, "creator");
    });
    return sim.reports[0] as Report;
  },
  "refcount-inc-from-zero": () => {
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      yield* bo.kref.put(() => undefined);
      yield* bo.kref.get("late");
    });
    return sim.reports[0] as Report;
  },
  "refcount-saturated": () => {
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      bo.kref.set(0x7fffffff);
      yield* bo.kref.get();
    });
    return sim.reports[0] as Report;
  },
  "refcount-holder-mismatch": () => {
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0", "creator");
      yield* bo.kref.get("vm");
      yield* bo.kref.put(freeIt, "shrinker");
    });
    return sim.reports[0] as Report;
  },
  leak: () => {
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0", "creator");
      yield* bo.kref.get("vm");
      yield* bo.kref.get();
    });
    return leakAtTeardown(sim) as Report;
  },
  deadlock: () => {
    const sim = collect();
    const x = new Completion(sim, { name: "x" });
    const y = new Completion(sim, { name: "y" });
    sim.spawn("A", "process", function* () {
      yield* x.waitForCompletion();
      yield* y.complete();
    });
    sim.spawn("B", "process", function* () {
      yield* y.waitForCompletion();
      yield* x.complete();
    });
    sim.runAll();
    return sim.reports[0] as Report;
  },
  "unstarted-op": () => {
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      bo.kref.put(freeIt);
      yield* condResched();
    });
    return sim.reports[0] as Report;
  },
  "step-limit": () => {
    const sim = new Sim({ onReport: "collect", maxSteps: 6 });
    sim.spawn("spinner", "process", function* () {
      for (;;) yield* condResched();
    });
    sim.runAll();
    return sim.reports[0] as Report;
  },
  "lock-order-cycle": () => {
    // The VM's lock, then a BO's lock, in the bind path; the other way round
    // in the eviction path. Run one after the other: no actual deadlock.
    const sim = new Sim({ seed: 1, onReport: "collect", lockdep: new Lockdep(), strategy: "round-robin" });
    const vm = new Mutex(sim, "vm->update_lock");
    const bo = new Mutex(sim, "bo->lock");
    const bind = sim.spawn("bind", "process", function* () {
      yield* vm.lock();
      yield* bo.lock();
      yield* bo.unlock();
      yield* vm.unlock();
    });
    sim.spawn("evict", "worker", function* () {
      while (bind.state !== "done") yield* condResched();
      yield* bo.lock();
      yield* vm.lock();
      yield* vm.unlock();
      yield* bo.unlock();
    });
    sim.runAll();
    return sim.reports[0] as Report;
  },
  "recursive-locking": () => {
    const sim = collect();
    const a = new Mutex(sim, "bo->lock", { name: "bo0->lock" });
    const b = new Mutex(sim, "bo->lock", { name: "bo1->lock" });
    sim.run(function* () {
      yield* a.lock();
      yield* b.lock();
      yield* b.unlock();
      yield* a.unlock();
    });
    return sim.reports[0] as Report;
  },
  "irq-lock-inversion": () => {
    const sim = collect();
    const lock = new SpinLock(sim, "fence->lock");
    sim.spawn("irq", "hardirq", function* () {
      yield* lock.lock();
      yield* lock.unlock();
    });
    sim.spawn("submit", "process", function* () {
      yield* lock.lock();
      yield* lock.unlock();
    });
    sim.runAll();
    return sim.reports[0] as Report;
  },
  "invalid-wait-context": () => {
    // A reservation lock's class taken under the LRU spinlock without a
    // trylock (through a lock map, so no sleep check reports it first).
    const sim = collect();
    const lru = new SpinLock(sim, "lru_lock");
    sim.run(function* () {
      yield* lru.lock();
      const resv = { lockClass: sim.lockdep.classes.resv, label: "bo->resv" };
      lockMapAcquire(resv);
      lockMapRelease(resv);
      yield* lru.unlock();
    });
    return sim.reports[0] as Report;
  },
  "bad-unlock": () => {
    const sim = collect();
    const m = new Mutex(sim, "vm->update_lock");
    sim.run(function* () {
      yield* m.unlock();
    });
    return sim.reports[0] as Report;
  },
  "lock-held-at-free": () => {
    const sim = collect();
    sim.run(function* () {
      const vm = new SimObject(sim, "Vm", { name: "vm0" });
      const lock = new Mutex(sim, "vm->update_lock", { embeddedIn: vm });
      yield* lock.lock();
      yield* kfree(vm);
    });
    return sim.reports[0] as Report;
  },
  "lock-held-at-exit": () => {
    const sim = collect();
    const m = new Mutex(sim, "vm->update_lock");
    sim.run(function* () {
      yield* m.lock();
    });
    return sim.reports[0] as Report;
  },
  "lock-not-held": () => {
    const sim = collect();
    const mine = new Mutex(sim, "bo->lock", { name: "bo0->lock" });
    const other = new Mutex(sim, "bo->lock", { name: "bo1->lock" });
    sim.run(function* () {
      yield* mine.lock();
      other.assertHeld(); // same class, other instance: not good enough
      yield* mine.unlock();
    });
    return sim.reports[0] as Report;
  },
  usage: () => {
    // A hand-made op announces that it reads the VM and then changes a mutex
    // it never declared (as down_write once joined its writer queue in the
    // step before its own): the footprint check names the op and the mutex.
    const sim = new Sim({ seed: 1, onReport: "collect", lockdep: new Lockdep(), checks: { footprint: true } });
    const vm = new Bo(sim, "vm");
    const m = new Mutex(sim, "vm->update_lock");
    sim.run(function* () {
      yield* access(vm, "read");
      touch(sim, m, true, "vm_update");
      yield* kfree(vm);
    });
    return sim.reports[0] as Report;
  },
  "sleep-in-atomic": () => {
    const sim = collect();
    const spin = new SpinLock(sim, "vm->list_lock");
    const sem = new RwSemaphore(sim, "&mm->mmap_lock");
    sim.run(function* () {
      yield* spin.lock();
      yield* sem.downRead();
      yield* sem.upRead();
      yield* spin.unlock();
    });
    return sim.reports[0] as Report;
  },
  "suspicious-rcu-usage": () => {
    // rcu_dereference() with no read section open and no lock held.
    const sim = collect();
    const ptr = new RcuPointer<Bo>(sim, null, { name: "dev->active" });
    sim.run(function* () {
      yield* ptr.rcuDereference();
    });
    return sim.reports[0] as Report;
  },
  "bad-preempt-enable": () => {
    // One preempt_enable() too many.
    const sim = collect();
    sim.run(function* () {
      preemptDisable();
      preemptEnable();
      preemptEnable();
      yield* condResched();
    });
    return sim.reports[0] as Report;
  },
  "context-at-exit": () => {
    // A task returns inside local_irq_save() and preempt_disable().
    const sim = collect();
    sim.run(function* () {
      preemptDisable();
      localIrqSave();
      yield* condResched();
    });
    return sim.reports.find((r) => r.kind === "context-at-exit") as Report;
  },
  "ww-mutex-misuse": () => {
    // After a back-off the task must drop every lock before lockSlow.
    const sim = collect();
    const cls = new WwClass(sim, "reservation_ww_class", { algorithm: "wait-die", injectBackoffAt: 1 });
    const a = new WwMutex(sim, cls, { name: "boA->resv" });
    const b = new WwMutex(sim, cls, { name: "boB->resv" });
    sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(sim, cls);
      yield* a.lock(ctx);
      if ((yield* b.lock(ctx)) === "backoff") yield* b.lockSlow(ctx); // forgot to unlock a
      yield* b.unlock();
      yield* a.unlock();
      ctx.fini();
    });
    return sim.reports[0] as Report;
  },
  livelock: () => {
    // The holder waits for something that never comes; the poller spins on
    // trylock, making no progress, until the step limit.
    const sim = new Sim({ seed: 1, onReport: "collect", lockdep: new Lockdep(), maxSteps: 200 });
    const m = new Mutex(sim, "vm->update_lock");
    const never = new Completion(sim, { name: "never" });
    sim.spawn("holder", "process", function* () {
      yield* m.lock();
      yield* never.waitForCompletion();
      yield* m.unlock();
    });
    sim.spawn("poller", "worker", function* () {
      for (;;) {
        if (yield* m.trylock()) break;
        yield* condResched();
      }
      yield* m.unlock();
    });
    sim.runAll();
    return sim.reports[0] as Report;
  },
  "task-exception": () => {
    const sim = expectTaskExceptions(collect());
    sim.spawn("crash", "process", function* () {
      yield* condResched();
      throw new RangeError("index 7 out of range");
    });
    sim.runAll();
    const r = sim.reports[0] as Report;
    // The JavaScript stack names files on this machine: keep it out of the pinned text.
    return { ...r, stack: undefined } as unknown as Report;
  },
  "task-misuse": () => {
    // 1. worker: cond_resched   2. worker: yields 42, not an effect
    const sim = collect();
    sim.spawn("worker", "process", function* () {
      yield* condResched();
      yield 42 as never;
    });
    sim.runAll();
    return sim.reports[0] as Report;
  },
  // dma-buf: fences (issue 9).
  "fence-released-with-callbacks": () => {
    // 1. main: add a callback   2. main: put the last reference, unsignalled
    const sim = collect();
    sim.run(function* () {
      const f = new DmaFence(new FenceContext(sim, "ring0"), { name: "job0" });
      yield* f.addCallback(() => undefined);
      yield* f.put();
    });
    return sim.reports[0] as Report;
  },
  "fence-signal-out-of-order": () => {
    const sim = collect();
    sim.run(function* () {
      const ctx = new FenceContext(sim, "ring0");
      const first = new DmaFence(ctx, { name: "job1" });
      const second = new DmaFence(ctx, { name: "job2" });
      yield* second.signal();
      yield* first.signal();
      yield* first.put();
      yield* second.put();
    });
    return sim.reports[0] as Report;
  },
  "fence-set-error-after-signal": () => {
    const sim = collect();
    sim.run(function* () {
      const f = new DmaFence(new FenceContext(sim, "ring0"), { name: "job0" });
      yield* f.signal();
      yield* f.setError(-5);
      yield* f.put();
    });
    return sim.reports[0] as Report;
  },
  "fence-wait-deadlock": () => {
    // 1. gpu: lock, unlock, signal   2. waiter: lock, wait (already signalled), unlock
    const sim = collect();
    const lock = new Mutex(sim, "vm->update_lock");
    const ctx = new FenceContext(sim, "ring0");
    sim.run(function* () {
      let fence: DmaFence | null = null;
      const gpu = sim.spawn("gpu", "process", function* () {
        fence = new DmaFence(ctx, { name: "job0" });
        yield* lock.lock();
        yield* lock.unlock();
        yield* fence.signal();
      });
      while (gpu.state !== "done") yield* condResched();
      const f = fence as unknown as DmaFence;
      yield* lock.lock();
      yield* f.wait(false);
      yield* lock.unlock();
      yield* f.put();
    });
    return sim.reports[0] as Report;
  },
  "fence-never-signalled": () => {
    const sim = collect();
    const ctx = new FenceContext(sim, "ring0");
    const f = new DmaFence(ctx, { name: "job0", static: true });
    sim.spawn("waiter", "process", function* () {
      yield* f.waitTimeout(true, 1_000_000);
    });
    sim.runAll();
    return sim.teardown().find((r) => r.kind === "fence-never-signalled") as Report;
  },
  "resv-no-fence-slot": () => {
    const sim = collect();
    const ctx = new FenceContext(sim, "ring0");
    const resv = new DmaResv(sim, { name: "bo0.resv", static: true });
    sim.spawn("submit", "process", function* () {
      const f = new DmaFence(ctx, { name: "job0" });
      yield* resv.lock(null);
      yield* resv.addFence(f, "write");
      yield* resv.unlock();
      yield* f.signal();
      yield* f.put();
    });
    sim.runAll();
    return sim.reports.find((r) => r.kind === "resv-no-fence-slot") as Report;
  },
  "resv-misuse": () => {
    const sim = collect();
    const resv = new DmaResv(sim, { name: "bo0.resv", static: true });
    sim.spawn("teardown", "process", function* () {
      yield* resv.fini();
      yield* resv.fini();
    });
    sim.runAll();
    return sim.reports.find((r) => r.kind === "resv-misuse") as Report;
  },
  "workqueue-misuse": () => {
    // destroyer: queue_work(slow), destroy_workqueue (draining); late: queue_work(late) on it, then lets slow finish
    const sim = collect();
    const wq = new Workqueue(sim, "wq");
    const go = new Completion(sim, { name: "go", static: true });
    const slow = new Work(sim, "slow", function* () {
      yield* go.waitForCompletion();
    }, { static: true });
    const late = new Work(sim, "late", function* () { /* nothing to do */ }, { static: true });
    sim.spawn("destroyer", "process", function* () {
      yield* wq.queueWork(slow);
      yield* wq.destroy();
    });
    sim.spawn("late", "process", function* () {
      while (wq.drainingSite === null) yield* condResched();
      yield* wq.queueWork(late);
      yield* go.complete();
    });
    sim.runAll();
    return sim.reports.find((r) => r.kind === "workqueue-misuse") as Report;
  },
  "vm-bo-list-concurrent-walk": () => {
    // first: walk extobj, inside its body lets second run; second: walk extobj (reported, "busy")
    const sim = collect();
    const vm = new FakeVm(sim, "vm");
    const started = new Completion(sim, { name: "started", static: true });
    const go = new Completion(sim, { name: "go", static: true });
    sim.spawn("first", "process", function* () {
      const vmBo = yield* vm.obtain(new FakeGem(sim, "bo0"));
      yield* vm.extobj.add(vmBo);
      yield* vm.extobj.walk(function* () {
        yield* started.complete();
        yield* go.waitForCompletion();
      });
    });
    sim.spawn("second", "process", function* () {
      yield* started.waitForCompletion();
      yield* vm.extobj.walk(() => "ok");
      yield* go.complete();
    });
    sim.runAll();
    return sim.reports.find((r) => r.kind === "vm-bo-list-concurrent-walk") as Report;
  },
  "gpuvm-wrong-stage": () => {
    // main: insert a mapping, remove it, then link it (a removed mapping)
    const sim = collect();
    sim.run(function* () {
      const root = new GemObject(sim, { name: "root", size: 4096 });
      const vm = GpuVm.create(sim, { name: "vm", mmStart: 0, mmRange: 0x10000, resvObj: root, ops: { vmFree: (v) => kfree(v) } });
      const va = new Mapping(sim, { addr: 0x1000, range: 0x1000 });
      yield* va.insert(vm);
      yield* va.remove();
      yield* va.remove();
    });
    return sim.reports.find((r) => r.kind === "gpuvm-wrong-stage") as Report;
  },
  "gpuvm-misuse": () => {
    // main: a deferred put on a VM that is not in immediate mode
    const sim = collect();
    sim.run(function* () {
      const root = new GemObject(sim, { name: "root", size: 4096 });
      const vm = GpuVm.create(sim, { name: "vm", mmStart: 0, mmRange: 0x10000, resvObj: root, ops: { vmFree: (v) => kfree(v) } });
      const bo = new GemObject(sim, { name: "bo", size: 4096, resv: root.resv });
      const b = yield* boObtain(vm, bo, "user");
      if (b === "nomem") return;
      yield* b.get("user");
      yield* b.putDeferred("user");
    });
    return sim.reports.find((r) => r.kind === "gpuvm-misuse") as Report;
  },
  "gpuvm-teardown": () => {
    // main: insert a mapping, then drop the VM's reference twice (one put too many): the VM goes with the mapping in its tree
    const sim = collect();
    sim.run(function* () {
      const root = new GemObject(sim, { name: "root", size: 4096 });
      const vm = GpuVm.create(sim, { name: "vm", mmStart: 0, mmRange: 0x10000, resvObj: root, ops: { vmFree: (v) => kfree(v) } });
      const va = new Mapping(sim, { name: "va", addr: 0x1000, range: 0x1000 });
      yield* va.insert(vm);
      yield* vm.put("gpuva");
      yield* vm.put("creator");
    });
    return sim.reports.find((r) => r.kind === "gpuvm-teardown") as Report;
  },
  "gpuvm-invariant": () => {
    // setup: a mapping inserted, then taken out of the tree behind the VM's back
    const sim = collect();
    sim.run(function* () {
      const root = new GemObject(sim, { name: "root", size: 4096 });
      const vm = GpuVm.create(sim, { name: "vm", mmStart: 0, mmRange: 0x10000, resvObj: root, ops: { vmFree: (v) => kfree(v) } });
      const va = new Mapping(sim, { addr: 0x1000, range: 0x1000 });
      yield* va.insert(vm);
      vm.tree.remove(0x1000);
      vm.checkInvariants();
    });
    return sim.reports.find((r) => r.kind === "gpuvm-invariant") as Report;
  },
  "phys-page-still-mapped": () => {
    // main: allocate a frame, map it in a GPU page table, free it (still mapped)
    const sim = collect();
    const mem = new PhysMem(sim, { name: "ram", pages: 16 });
    const pt = new GpuPageTable(sim, mem, { name: "vm0" });
    sim.run(function* () {
      const pfn = (yield* mem.allocPage({ label: "bo0 backing store" }, GFP_KERNEL)) as number;
      yield* pt.map(0x10000, pfn, 4096, { read: true, write: true });
      yield* mem.freePage(pfn);
    });
    return sim.reports.find((r) => r.kind === "phys-page-still-mapped") as Report;
  },
  "phys-page-double-free": () => {
    // main: allocate a frame, free it twice
    const sim = collect();
    const mem = new PhysMem(sim, { name: "ram", pages: 4 });
    sim.run(function* () {
      const pfn = (yield* mem.allocPage({ label: "bo0 backing store" }, GFP_KERNEL)) as number;
      yield* mem.freePage(pfn);
      yield* mem.freePage(pfn);
    });
    return sim.reports.find((r) => r.kind === "phys-page-double-free") as Report;
  },
  "phys-page-misuse": () => {
    // main: allocate a frame, pin it once, unpin it twice
    const sim = collect();
    const mem = new PhysMem(sim, { name: "ram", pages: 4 });
    sim.run(function* () {
      const pfn = (yield* mem.allocPage({ label: "userptr0" }, GFP_KERNEL)) as number;
      yield* mem.pin(pfn);
      yield* mem.unpin(pfn);
      yield* mem.unpin(pfn);
    });
    return sim.reports.find((r) => r.kind === "phys-page-misuse") as Report;
  },
  "pt-prealloc-short": () => {
    // main: preallocate no table pages, then map through the empty pool
    const sim = collect();
    const mem = new PhysMem(sim, { name: "ram", pages: 16 });
    const pt = new GpuPageTable(sim, mem, { name: "vm0" });
    sim.run(function* () {
      const pool = (yield* pt.prealloc(0)) as PtPrealloc;
      yield* pt.map(0x10000, 8, 4096, { read: true, write: true }, 1, { prealloc: pool });
    });
    return sim.reports.find((r) => r.kind === "pt-prealloc-short") as Report;
  },
  "gpu-page-fault": () => {
    // main: submit a job writing an unmapped VA; gpu0-sched faults on it
    const sim = collect();
    const mem = new PhysMem(sim, { name: "ram", pages: 16 });
    const pt = new GpuPageTable(sim, mem, { name: "vm0" });
    const gpu = new Gpu(sim, { mem });
    sim.run(function* () {
      const job = yield* gpu.submit({ name: "draw", pageTable: pt, writes: [{ va: 0x200000, length: 4096 }] });
      yield* job.finished.wait(false);
      yield* job.finished.put("submit");
    });
    return sim.reports.find((r) => r.kind === "gpu-page-fault") as Report;
  },
  // main: a job fills the TLB; the PTE is cleared and the frame freed without a TLB invalidate; a second job writes through the stale entry
  "dma-use-after-free": () => staleTlbSample("dma-use-after-free"),
  // main: as dma-use-after-free, but the frame is handed to process p2 before the second job reads through the stale entry
  "dma-cross-owner": () => staleTlbSample("dma-cross-owner"),
  "mmu-notifier-blockable-fail": () => {
    // main: a notifier whose callback fails a blockable invalidation (munmap)
    const sim = collect();
    const mem = new PhysMem(sim, { name: "ram", pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    sim.run(function* () {
      const addr = (yield* mm.mmap(4096)) as number;
      yield* MmuIntervalNotifier.insert(mm, addr, 4096, { invalidate: () => false }, { name: "userptr0" });
      yield* mm.munmap(addr, 4096);
    });
    return sim.reports.find((r) => r.kind === "mmu-notifier-blockable-fail") as Report;
  },
};
