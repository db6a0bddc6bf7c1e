/**
 * Execution contexts: mightSleep() and "sleeping function called from
 * invalid context", irq and bottom-half sections, and the pseudo-locks
 * (fs_reclaim, dma_fence_map, lock_map_acquire) with the order lockdep is
 * primed with at boot.
 */
import { describe, expect, it } from "vitest";
import { collectingSim as newSim, expectTaskExceptions } from "../support/collecting-sim.js";
import {
  access,
  Completion,
  condResched,
  dmaFenceBeginSignalling,
  dmaFenceEndSignalling,
  dmaFenceMightWait,
  fsReclaimAcquire,
  fsReclaimRelease,
  hardirqEnter,
  hardirqExit,
  localBhDisable,
  localBhEnable,
  localIrqRestore,
  localIrqSave,
  lockMapAcquire,
  lockMapRelease,
  Lockdep,
  lockdepSetSubclass,
  mightSleep,
  msleep,
  Mutex,
  preemptCount,
  preemptDisable,
  preemptEnable,
  RwSemaphore,
  Sim,
  SimObject,
  softirqEnter,
  softirqExit,
  SpinLock,
  UsageError,
  current,
  type Report,
  type ReportKind,
  type TaskBody,
} from "../../src/index.js";

function onlyReport<K extends ReportKind>(sim: Sim, kind: K): Extract<Report, { kind: K }> {
  expect(sim.reports.map((r) => r.kind)).toEqual([kind]);
  return sim.reports[0] as Extract<Report, { kind: K }>;
}

function cycleClasses(r: Extract<Report, { kind: "lock-order-cycle" }>): string[] {
  return r.cycle.map((e) => e.from);
}

describe("mightSleep: sleeping in atomic context", () => {
  it("is silent in process context with nothing held", () => {
    const sim = newSim();
    const result = sim.run(function* () {
      yield* msleep(0);
      return mightSleep();
    });
    expect(result).toBe(true);
    expect(sim.reports).toEqual([]);
  });

  it("mutex_lock under a spinlock is sleep-in-atomic naming the spinlock, and not also an invalid wait context", () => {
    const sim = newSim();
    const spin = new SpinLock(sim, "vm->list_lock");
    const m = new Mutex(sim, "vm->update_lock");
    sim.run(function* () {
      yield* spin.lock();
      yield* m.lock();
      yield* m.unlock();
      yield* spin.unlock();
    });
    const r = onlyReport(sim, "sleep-in-atomic");
    expect(r).toMatchObject({ op: "mutex_lock", reason: "spinlock", lock: { lock: spin.label, lockClass: "vm->list_lock" } });
    expect(r.held.map((h) => h.lock)).toEqual([spin.label]);
  });

  it.each([
    ["down_read", (s: RwSemaphore) => s.downRead(), (s: RwSemaphore) => s.upRead()],
    ["down_write", (s: RwSemaphore) => s.downWrite(), (s: RwSemaphore) => s.upWrite()],
  ] as const)("%s under a spinlock is sleep-in-atomic", (op, down, up) => {
    const sim = newSim();
    const spin = new SpinLock(sim, "S");
    const sem = new RwSemaphore(sim, "&mm->mmap_lock");
    sim.run(function* () {
      yield* spin.lock();
      yield* down(sem);
      yield* up(sem);
      yield* spin.unlock();
    });
    expect(onlyReport(sim, "sleep-in-atomic")).toMatchObject({ op, reason: "spinlock", lock: { lock: spin.label } });
  });

  it("mutex_trylock under a spinlock or in a hardirq is fine: a trylock never waits", () => {
    // As the kernel's check_wait_context() does: trylocks are exempt (TTM
    // trylocks resvs under its LRU spinlock).
    const sim = newSim();
    const spin = new SpinLock(sim, "vm->list_lock");
    const m = new Mutex(sim, "vm->update_lock");
    sim.spawn("irq", "hardirq", function* () {
      if (yield* m.trylock()) yield* m.unlock();
    });
    sim.run(function* () {
      yield* spin.lock();
      expect(yield* m.trylock()).toBe(true);
      yield* m.unlock();
      yield* spin.unlock();
    });
    expect(sim.reports).toEqual([]);
  });

  it("a sleeping class taken through a lock map under a spinlock is an invalid wait context", () => {
    const sim = newSim();
    const spin = new SpinLock(sim, "lru_lock");
    sim.run(function* () {
      yield* spin.lock();
      const resv = { lockClass: sim.lockdep.classes.resv, label: "bo->resv" };
      lockMapAcquire(resv);
      lockMapRelease(resv);
      yield* spin.unlock();
    });
    const r = onlyReport(sim, "invalid-wait-context");
    expect(r).toMatchObject({ lock: "bo->resv", lockClass: "reservation_ww_class_mutex", forbiddenBy: spin.label });
  });

  it("a sleeping class taken through a lock map in a hardirq is forbidden by the hardirq", () => {
    const sim = newSim();
    sim.spawn("irq", "hardirq", function* () {
      const resv = { lockClass: sim.lockdep.classes.resv, label: "bo->resv" };
      lockMapAcquire(resv);
      lockMapRelease(resv);
    });
    sim.runAll();
    expect(onlyReport(sim, "invalid-wait-context")).toMatchObject({ lock: "bo->resv", forbiddenBy: "hardirq" });
  });

  it("mutex_lock in a hardirq is sleep-in-atomic, reason hardirq", () => {
    const sim = newSim();
    const m = new Mutex(sim, "M");
    sim.spawn("irq", "hardirq", function* () {
      yield* m.lock();
      yield* m.unlock();
    });
    sim.runAll();
    expect(onlyReport(sim, "sleep-in-atomic")).toMatchObject({ op: "mutex_lock", reason: "hardirq", lock: null, task: "irq/1" });
  });

  const contexts: readonly [string, "process" | "softirq", () => void, string, () => void][] = [
    ["irqs-disabled", "process", localIrqSave, "local_irq_save()", localIrqRestore],
    ["bh-disabled", "process", localBhDisable, "local_bh_disable()", localBhEnable],
    ["softirq", "softirq", () => undefined, "a softirq handler", () => undefined],
  ];
  for (const [reason, ctx, enter, where, leave] of contexts) {
    it(`mightSleep() in ${where} is sleep-in-atomic, reason ${reason}`, () => {
      const sim = newSim();
      let result: boolean | undefined;
      sim.spawn("t", ctx, function* () {
        if (ctx === "process") yield* condResched(); // (in a softirq it would itself be sleep-in-atomic)
        enter();
        result = mightSleep("my_op");
        leave();
      });
      sim.runAll();
      expect(result).toBe(false);
      expect(onlyReport(sim, "sleep-in-atomic")).toMatchObject({ op: "my_op", reason, lock: null, held: [], task: "t/1" });
    });
  }

  // cond_resched() runs the kernel's __might_resched(): in every atomic
  // context it is sleep-in-atomic with op cond_resched, and still a step.
  const resched: readonly [string, "process" | "softirq" | "hardirq", (s: SpinLock) => Generator<unknown, void, unknown> | void][] = [
    ["spinlock", "process", function* (s) {
      yield* s.lock();
    }],
    ["preempt-disabled", "process", () => {
      preemptDisable();
    }],
    ["irqs-disabled", "process", () => {
      localIrqSave();
    }],
    ["bh-disabled", "process", () => {
      localBhDisable();
    }],
    ["hardirq", "process", () => {
      hardirqEnter();
    }],
    ["softirq", "process", () => {
      softirqEnter();
    }],
    ["softirq", "softirq", () => undefined],
    ["hardirq", "hardirq", () => undefined],
  ];
  for (const [reason, ctx, enter] of resched) {
    it(`condResched() with ${reason} (a ${ctx} task) is sleep-in-atomic, op cond_resched`, () => {
      const sim = newSim();
      const spin = new SpinLock(sim, "S");
      let steps = 0;
      sim.spawn("t", ctx, function* () {
        const g = enter(spin);
        if (g !== undefined) yield* g as Generator<never, void, unknown>;
        const before = sim.step;
        yield* condResched();
        steps = sim.step - before;
      });
      sim.runAll();
      expect(steps).toBe(1);
      const r = sim.reports.find((x) => x.kind === "sleep-in-atomic");
      expect(r).toMatchObject({ op: "cond_resched", reason, task: "t/1" });
      expect(r?.kind === "sleep-in-atomic" && r.lock?.lock).toBe(reason === "spinlock" ? spin.label : undefined);
    });
  }

  it("condResched() in plain process context files nothing", () => {
    const sim = newSim();
    sim.run(function* () {
      yield* condResched();
    });
    expect(sim.reports).toEqual([]);
  });

  it("msleep under a spinlock is sleep-in-atomic (scheduling while atomic)", () => {
    const sim = newSim();
    const spin = new SpinLock(sim, "S");
    sim.run(function* () {
      yield* spin.lock();
      yield* msleep(1);
      yield* spin.unlock();
    });
    expect(onlyReport(sim, "sleep-in-atomic")).toMatchObject({ op: "msleep", reason: "spinlock", lock: { lock: spin.label } });
  });

  it("wait_for_completion under a spinlock is sleep-in-atomic, even when it would not wait", () => {
    const sim = newSim();
    const spin = new SpinLock(sim, "S");
    const done = new Completion(sim, { name: "done" });
    sim.run(function* () {
      yield* done.complete();
      yield* spin.lock();
      yield* done.waitForCompletion();
      yield* spin.unlock();
    });
    expect(onlyReport(sim, "sleep-in-atomic")).toMatchObject({ op: "wait_for_completion", reason: "spinlock", lock: { lock: spin.label } });
  });

  it("try_wait_for_completion never sleeps: no report under a spinlock", () => {
    const sim = newSim();
    const spin = new SpinLock(sim, "S");
    const done = new Completion(sim);
    sim.run(function* () {
      yield* spin.lock();
      expect(yield* done.tryWaitForCompletion()).toBe(false);
      yield* spin.unlock();
    });
    expect(sim.reports).toEqual([]);
  });

  it("the context check can be switched off", () => {
    const sim = newSim({ checks: { context: false } });
    const result = sim.run(function* () {
      localIrqSave();
      const ok = mightSleep();
      localIrqRestore();
      yield* msleep(0);
      return ok;
    });
    expect(result).toBe(true);
    expect(sim.reports).toEqual([]);
  });
});

describe("irq and bottom-half sections", () => {
  it("local_irq_save nests; restore re-enables at the outermost level", () => {
    const sim = newSim();
    const seen: number[] = [];
    sim.run(function* () {
      const t = current();
      localIrqSave();
      localIrqSave();
      seen.push(t.irqsOff);
      localIrqRestore();
      seen.push(t.irqsOff);
      localIrqRestore();
      seen.push(t.irqsOff);
      yield* msleep(0);
    });
    expect(seen).toEqual([2, 1, 0]);
    expect(sim.reports).toEqual([]);
  });

  it.each([
    ["localIrqRestore", "process", localIrqRestore],
    ["localIrqRestore", "hardirq", localIrqRestore],
    ["localBhEnable", "process", localBhEnable],
    ["localBhEnable", "softirq", localBhEnable],
  ] as const)("%s without a matching save in a %s task is a usage error", (_name, ctx, restore) => {
    const sim = expectTaskExceptions(newSim());
    const t = sim.spawn("t", ctx, function* () {
      restore();
      yield* msleep(0);
    });
    sim.runAll();
    expect(t.error).toBeInstanceOf(UsageError);
  });

  it("a hardirq task runs with irqs off, a softirq task with bottom halves off", () => {
    const sim = newSim();
    const states: [string, number, number][] = [];
    const body: TaskBody<void> = function* () {
      const t = current();
      states.push([t.context, t.irqsOff, t.bhOff]);
      yield* msleep(0);
    };
    sim.spawn("hard", "hardirq", body);
    sim.runAll();
    sim.spawn("soft", "softirq", body);
    sim.runAll();
    expect(states).toEqual([
      ["hardirq", 1, 0],
      ["softirq", 0, 1],
    ]);
  });
});

describe("boot-time lockdep maps and classes, and their order", () => {
  it("a fresh Lockdep is primed as dma_resv_lockdep() does: mmap_lock -> resv acquire ctx -> resv -> fs_reclaim -> mmu notifier -> dma_fence_map", () => {
    const ld = new Lockdep();
    const { mmapLock, resvAcquire, resv } = ld.classes;
    const { fsReclaim, mmuNotifier, dmaFence } = ld.maps;
    expect(ld.edgeCount).toBe(5);
    expect(ld.hasEdge(mmapLock, resvAcquire)).toBe(true);
    expect(ld.hasEdge(resvAcquire, resv)).toBe(true);
    expect(ld.hasEdge(resv, fsReclaim.lockClass)).toBe(true);
    expect(ld.hasEdge(fsReclaim.lockClass, mmuNotifier.lockClass)).toBe(true);
    expect(ld.hasEdge(mmuNotifier.lockClass, dmaFence.lockClass)).toBe(true);
  });

  it("taking a resv under fs_reclaim closes a cycle with the boot-primed resv -> fs_reclaim at once", () => {
    const sim = newSim();
    const resv = { lockClass: sim.lockdep.classes.resv, label: "resv" };
    sim.run(function* () {
      fsReclaimAcquire();
      lockMapAcquire(resv);
      lockMapRelease(resv);
      fsReclaimRelease();
      yield* msleep(0);
    });
    const r = onlyReport(sim, "lock-order-cycle");
    expect(cycleClasses(r)).toEqual(["fs_reclaim", "reservation_ww_class_mutex"]);
    expect(r.cycle[0]?.toSite).toMatchObject({ task: "main/1", op: "lock_map_acquire", replay: sim.replayToken });
    expect(r.cycle[1]).toMatchObject({ from: "reservation_ww_class_mutex", to: "fs_reclaim", fromSite: { replay: "boot" }, toSite: { replay: "boot" } });
    expect(r.held.map((h) => h.lock)).toEqual(["fs_reclaim"]);
  });

  it("a mutex of the resv class is the resv class: mmap_lock taken under it is a cycle with the boot order", () => {
    const sim = newSim();
    const resv = new Mutex(sim, "reservation_ww_class_mutex", { name: "bo0->resv" });
    const mm = new RwSemaphore(sim, "&mm->mmap_lock");
    sim.run(function* () {
      yield* resv.lock();
      yield* mm.downRead();
      yield* mm.upRead();
      yield* resv.unlock();
    });
    const r = onlyReport(sim, "lock-order-cycle");
    expect(cycleClasses(r)).toEqual(["reservation_ww_class_mutex", "&mm->mmap_lock", "reservation_ww_class_acquire"]);
    expect(r.cycle[1]?.fromSite.replay).toBe("boot");
  });

  it("the primed order itself is fine: mmap_lock, then a resv, then fs_reclaim", () => {
    const sim = newSim();
    const resv = new Mutex(sim, "reservation_ww_class_mutex");
    const mm = new RwSemaphore(sim, "&mm->mmap_lock");
    sim.run(function* () {
      yield* mm.downRead();
      yield* resv.lock();
      fsReclaimAcquire();
      fsReclaimRelease();
      yield* resv.unlock();
      yield* mm.upRead();
    });
    expect(sim.reports).toEqual([]);
  });

  it.each([
    ["signalling section first", true],
    ["fence wait first", false],
  ] as const)("a mutex taken in a fence signalling section and held across a fence wait is a cycle through dma_fence_map (%s)", (_title, signalFirst) => {
    const sim = newSim();
    const m = new Mutex(sim, "M");
    const signal: TaskBody<void> = function* () {
      const cookie = dmaFenceBeginSignalling();
      yield* m.lock();
      yield* m.unlock();
      dmaFenceEndSignalling(cookie);
    };
    const wait: TaskBody<void> = function* () {
      yield* m.lock();
      dmaFenceMightWait();
      yield* m.unlock();
    };
    sim.spawn("first", "process", signalFirst ? signal : wait);
    sim.runAll();
    sim.spawn("second", "worker", signalFirst ? wait : signal);
    sim.runAll();
    const r = onlyReport(sim, "lock-order-cycle");
    expect(cycleClasses(r)).toEqual(signalFirst ? ["M", "dma_fence_map"] : ["dma_fence_map", "M"]);
    expect(r.task).toBe("second/2");
  });

  it("signalling sections nest by cookie; a fence wait inside one is not a cycle by itself", () => {
    const sim = newSim();
    const cookies: boolean[] = [];
    sim.run(function* () {
      const outer = dmaFenceBeginSignalling();
      const inner = dmaFenceBeginSignalling();
      cookies.push(outer, inner);
      dmaFenceMightWait();
      expect(current().held.map((h) => [h.map.label, h.read])).toEqual([["dma_fence_map", true]]);
      dmaFenceEndSignalling(inner);
      dmaFenceEndSignalling(outer);
      expect(current().held.length).toBe(0);
      yield* msleep(0);
    });
    expect(cookies).toEqual([false, true]);
    expect(sim.reports).toEqual([]);
  });

  it("dmaFenceEndSignalling outside a section is a usage error", () => {
    const sim = expectTaskExceptions(newSim());
    const t = sim.spawn("t", "process", function* () {
      dmaFenceEndSignalling(false);
      yield* msleep(0);
    });
    sim.runAll();
    expect(t.error).toBeInstanceOf(UsageError);
  });

  it("lockMapRelease of a map not held is a bad unlock", () => {
    const sim = newSim();
    sim.run(function* () {
      fsReclaimRelease();
      yield* msleep(0);
    });
    expect(onlyReport(sim, "bad-unlock")).toMatchObject({ lock: "fs_reclaim", owner: null });
  });
});

describe("preemptDisable / preemptEnable", () => {
  it("nest; sleeping inside is sleep-in-atomic with reason preempt-disabled; balanced sections leave nothing behind", () => {
    const sim = newSim();
    const m = new Mutex(sim, "m");
    sim.run(function* () {
      preemptDisable();
      preemptDisable();
      expect(preemptCount()).toBe(2);
      preemptEnable();
      mightSleep("kmalloc(GFP_KERNEL)");
      preemptEnable();
      expect(preemptCount()).toBe(0);
      yield* m.lock(); // preemption on again: no report
      yield* m.unlock();
    });
    const r = onlyReport(sim, "sleep-in-atomic");
    expect(r).toMatchObject({ op: "kmalloc(GFP_KERNEL)", reason: "preempt-disabled", lock: null });
  });

  it("an unbalanced preemptEnable() is bad-preempt-enable and leaves the count at zero", () => {
    const sim = newSim();
    sim.run(function* () {
      expect(preemptEnable()).toBe(false);
      expect(preemptCount()).toBe(0);
      yield* condResched();
    });
    expect(onlyReport(sim, "bad-preempt-enable")).toMatchObject({ op: "preempt_enable", held: [] });
  });

  it("preemptEnable() cannot cancel a spinlock's own preemption count", () => {
    const sim = newSim();
    const s = new SpinLock(sim, "s");
    sim.run(function* () {
      yield* s.lock();
      preemptEnable();
      mightSleep("msleep");
      yield* s.unlock();
    });
    expect(sim.reports.map((r) => r.kind)).toEqual(["bad-preempt-enable", "sleep-in-atomic"]);
    expect(sim.reports[1]).toMatchObject({ reason: "spinlock" });
  });
});

describe("hardirqEnter / softirqEnter: an irq section inside a task", () => {
  it("hardirqEnter disables irqs and makes the task a hardirq context until hardirqExit", () => {
    const sim = newSim();
    sim.run(function* () {
      hardirqEnter();
      expect(current().irqsOff).toBe(1);
      mightSleep("mutex_lock");
      hardirqExit();
      expect(current().irqsOff).toBe(0);
      mightSleep("mutex_lock"); // process context again: fine
      yield* condResched();
    });
    expect(onlyReport(sim, "sleep-in-atomic")).toMatchObject({ reason: "hardirq" });
  });

  it("softirqEnter disables bottom halves; sleeping inside is reason softirq", () => {
    const sim = newSim();
    sim.run(function* () {
      softirqEnter();
      expect(current().bhOff).toBe(1);
      expect(current().irqsOff).toBe(0);
      mightSleep("msleep");
      softirqExit();
      expect(current().bhOff).toBe(0);
      yield* condResched();
    });
    expect(onlyReport(sim, "sleep-in-atomic")).toMatchObject({ reason: "softirq" });
  });

  it("a spinlock taken in a hardirq section and later with irqs on: inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W}", () => {
    const sim = newSim();
    const s = new SpinLock(sim, "fence->lock");
    sim.run(function* () {
      hardirqEnter();
      yield* s.lock();
      yield* s.unlock();
      hardirqExit();
      yield* s.lock();
      yield* s.unlock();
    });
    const r = onlyReport(sim, "irq-lock-inversion");
    expect(r).toMatchObject({ irq: "hardirq", variant: "inconsistent", safe: { lockClass: "fence->lock" }, unsafe: { lockClass: "fence->lock" } });
  });

  it("a lock held with irqs saved, taken again in a hardirq section, is recursive locking (held locks of every irq context count)", () => {
    const sim = newSim();
    const a = new SpinLock(sim, "a", { name: "a1" });
    const b = new SpinLock(sim, "a", { name: "a2" });
    sim.run(function* () {
      const flags = yield* a.lockIrqsave();
      hardirqEnter();
      yield* b.lock();
      yield* b.unlock();
      hardirqExit();
      yield* a.unlockIrqrestore(flags);
    });
    expect(onlyReport(sim, "recursive-locking")).toMatchObject({ lockClass: "a" });
  });

  it("a hardirq section adds no edge from the locks held outside it (a new irq context), as lockdep's check_prevs_add()", () => {
    const sim = newSim();
    const a = new SpinLock(sim, "A");
    const b = new SpinLock(sim, "B");
    sim.run(function* () {
      const flags = yield* a.lockIrqsave();
      hardirqEnter();
      yield* b.lock();
      yield* b.unlock();
      hardirqExit();
      yield* a.unlockIrqrestore(flags);
    });
    expect(sim.lockdep.hasEdge(a.lockClass, b.lockClass)).toBe(false);
  });

  it("exits without a matching enter throw UsageError and change nothing", () => {
    const sim = newSim();
    sim.run(function* () {
      expect(() => { hardirqExit(); }).toThrow(UsageError);
      expect(() => { softirqExit(); }).toThrow(UsageError);
      expect(current().irqsOff).toBe(0);
      expect(current().bhOff).toBe(0);
      yield* condResched();
    });
    expect(sim.reports).toEqual([]);
  });
});

describe("lockdepSetSubclass", () => {
  it("plain acquisitions of the lock use the subclass: no recursive-locking for the annotated inner lock", () => {
    const sim = newSim();
    const outer = new Mutex(sim, "obj", { name: "outer" });
    const inner = new Mutex(sim, "obj", { name: "inner" });
    lockdepSetSubclass(inner, 1);
    sim.run(function* () {
      yield* outer.lock();
      yield* inner.lock();
      yield* inner.unlock();
      yield* outer.unlock();
    });
    expect(sim.reports).toEqual([]);
    const sub = sim.lockdep.lockClass("obj/1", "sleep");
    expect(sim.lockdep.hasEdge(outer.lockClass, sub)).toBe(true);
  });

  it("reinit() drops the annotation, as mutex_init() makes a fresh map", () => {
    const sim = newSim();
    const outer = new Mutex(sim, "obj", { name: "outer" });
    const inner = new Mutex(sim, "obj", { name: "inner" });
    lockdepSetSubclass(inner, 1);
    sim.run(function* () {
      yield* inner.reinit();
      yield* outer.lock();
      yield* inner.lock();
      yield* inner.unlock();
      yield* outer.unlock();
    });
    expect(onlyReport(sim, "recursive-locking")).toMatchObject({ lockClass: "obj" });
  });
});

describe("context-at-exit: a task that returns with its context unbalanced", () => {
  const cases: readonly [string, "process" | "softirq" | "hardirq", () => void, Record<string, unknown>][] = [
    ["preempt_disable()", "process", preemptDisable, { preemptCount: 1, irqsDisabled: false, bhDisabled: false, hardirqSections: 0, softirqSections: 0 }],
    [
      "preempt_disable() twice",
      "process",
      () => {
        preemptDisable();
        preemptDisable();
      },
      { preemptCount: 2 },
    ],
    ["local_irq_save()", "process", localIrqSave, { preemptCount: 0, irqsDisabled: true, bhDisabled: false }],
    ["local_irq_save() in a hardirq task", "hardirq", localIrqSave, { irqsDisabled: true }],
    ["local_bh_disable()", "process", localBhDisable, { bhDisabled: true, softirqSections: 0 }],
    ["local_bh_disable() in a softirq task", "softirq", localBhDisable, { bhDisabled: true }],
    ["hardirqEnter()", "process", hardirqEnter, { irqsDisabled: true, hardirqSections: 1 }],
    ["softirqEnter()", "process", softirqEnter, { bhDisabled: false, softirqSections: 1 }],
  ];
  for (const [what, ctx, enter, fields] of cases) {
    it(`${what} not undone is context-at-exit naming what was left`, () => {
      const sim = newSim();
      const o = new SimObject(sim, "O");
      sim.spawn("t", ctx, function* () {
        yield* access(o, "read");
        enter();
      });
      sim.runAll();
      expect(onlyReport(sim, "context-at-exit")).toMatchObject({ task: "t/1", ...fields });
    });
  }

  it("a hardirq or softirq task's own context is not left over, and balanced sections file nothing", () => {
    const sim = newSim();
    const o = new SimObject(sim, "O");
    for (const ctx of ["hardirq", "softirq"] as const) {
      sim.spawn(ctx, ctx, function* () {
        yield* access(o, "read");
      });
    }
    sim.spawn("p", "process", function* () {
      preemptDisable();
      localIrqSave();
      localBhDisable();
      hardirqEnter();
      hardirqExit();
      softirqEnter();
      softirqExit();
      localBhEnable();
      localIrqRestore();
      preemptEnable();
      yield* msleep(0);
    });
    sim.runAll();
    expect(sim.reports).toEqual([]);
  });

  it("with a lock still held the report is lock-held-at-exit alone (its locks explain the context)", () => {
    const sim = newSim();
    const spin = new SpinLock(sim, "S");
    sim.run(function* () {
      yield* spin.lockIrqsave();
    });
    expect(onlyReport(sim, "lock-held-at-exit").held.map((h) => h.lock)).toEqual([spin.label]);
  });

  it("spin_unlock() of a spin_lock_irqsave() hold releases the lock and leaves irqs off: context-at-exit", () => {
    const sim = newSim();
    const spin = new SpinLock(sim, "S");
    sim.run(function* () {
      yield* spin.lockIrqsave();
      yield* spin.unlock();
    });
    expect(spin.isLocked()).toBe(false);
    expect(onlyReport(sim, "context-at-exit")).toMatchObject({ preemptCount: 0, irqsDisabled: true });
  });

  it("is not filed with checks.context off", () => {
    const sim = newSim({ checks: { context: false } });
    sim.run(function* () {
      yield* msleep(0);
      preemptDisable();
    });
    expect(sim.reports).toEqual([]);
  });
});
