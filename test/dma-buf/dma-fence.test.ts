import { describe, expect, it } from "vitest";
import {
  access,
  condResched,
  current,
  DmaFence,
  explore,
  formatReport,
  FenceContext,
  kfree,
  Mutex,
  RwSemaphore,
  SimObject,
  SpinLock,
  type DeadlockReport,
  type DmaFenceCallback,
  type Effect,
  type FenceNeverSignalledReport,
  type FenceReleasedWithCallbacksReport,
  type FenceSetErrorAfterSignalReport,
  type FenceSignalOutOfOrderReport,
  type FenceWaitDeadlockReport,
  type Report,
  type Sim,
  type SleepInAtomicReport,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { main as fenceExample } from "../../examples/fence-wait-deadlock.js";

function ofKind<K extends Report["kind"]>(sim: Sim, kind: K): Extract<Report, { kind: K }>[] {
  return sim.reports.filter((r) => r.kind === kind) as Extract<Report, { kind: K }>[];
}

/** Spin (yielding) until `f` says so. */
function* until(f: () => boolean): Generator<Effect, void, unknown> {
  while (!f()) yield* condResched();
}

describe("FenceContext and dma_fence_init()", () => {
  it("numbers contexts from 1 per Sim and seqnos from 1 per context; an explicit seqno moves the counter on", () => {
    const sim = collectingSim();
    const a = new FenceContext(sim, "a");
    const b = new FenceContext(sim, "b");
    expect([a.context, b.context]).toEqual([1, 2]);
    expect(new FenceContext(collectingSim(), "other").context).toBe(1);
    sim.run(function* () {
      const f1 = new DmaFence(a);
      const f2 = new DmaFence(a, { seqno: 10 });
      const f3 = new DmaFence(a);
      const g = new DmaFence(b);
      expect([f1.seqno, f2.seqno, f3.seqno, g.seqno]).toEqual([1, 10, 11, 1]);
      expect([f1.context, g.context]).toEqual([1, 2]);
      expect(f1.refcount.read()).toBe(1);
      expect(f1.signallerTask?.name).toBe("main");
      for (const f of [f1, f2, f3, g]) {
        yield* f.signal();
        yield* f.put();
      }
    });
    expect(sim.reports).toEqual([]);
    expect(sim.teardown()).toEqual([]);
  });

  it("references balance: get/put pairs leave the creator's reference, the last put frees the fence", () => {
    const sim = collectingSim();
    const ctx = new FenceContext(sim, "ring");
    let fence: DmaFence | null = null;
    sim.run(function* () {
      const f = new DmaFence(ctx, { holder: "job" });
      fence = f;
      yield* f.get("resv");
      expect(yield* f.getRcu("lookup")).toBe(true);
      expect(f.refcount.read()).toBe(3);
      expect(yield* f.put("lookup")).toBe(false);
      expect(yield* f.put("resv")).toBe(false);
      yield* f.signal();
      expect(yield* f.put("job")).toBe(true);
    });
    expect((fence as unknown as DmaFence).isFreed).toBe(true);
    expect(sim.reports).toEqual([]);
    expect(sim.teardown()).toEqual([]);
  });

  it("an embedded fence is released through ops.release, which frees its container", () => {
    const sim = collectingSim();
    const ctx = new FenceContext(sim, "ring");
    const job = new SimObject(sim, "Job", { name: "job0" });
    const fence = new DmaFence(ctx, { embeddedIn: job, ops: { release: () => kfree(job) } });
    sim.run(function* () {
      yield* fence.signal();
      yield* fence.put();
    });
    expect(job.isFreed).toBe(true);
    expect(sim.teardown()).toEqual([]);
  });
});

describe("signal", () => {
  it("signals once: a second signal is 'already-signalled' and changes nothing", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const f = new DmaFence(new FenceContext(sim, "ring"));
      expect([f.isSignaled(), f.getStatus()]).toEqual([false, 0]);
      expect(yield* f.signal()).toBe("signalled");
      expect(yield* f.signal()).toBe("already-signalled");
      expect([f.isSignaled(), f.getStatus(), f.error]).toEqual([true, 1, 0]);
      yield* f.put();
    });
    expect(sim.reports).toEqual([]);
  });

  it("in seqno order is clean; a fence signalled after a later one of its context is fence-signal-out-of-order", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const ctx = new FenceContext(sim, "ring");
      const other = new FenceContext(sim, "other");
      const [f1, f2, f3] = [new DmaFence(ctx, { name: "f1" }), new DmaFence(ctx, { name: "f2" }), new DmaFence(ctx, { name: "f3" })];
      const g = new DmaFence(other, { seqno: 1 });
      yield* f1.signal();
      yield* f3.signal();
      yield* g.signal(); // another context: no order against ctx
      expect(sim.reports).toEqual([]);
      expect(yield* f2.signal()).toBe("signalled");
      for (const f of [f1, f2, f3, g]) yield* f.put();
    });
    const [r] = ofKind(sim, "fence-signal-out-of-order") as [FenceSignalOutOfOrderReport];
    expect(sim.reports).toHaveLength(1);
    expect(r.fence).toMatchObject({ seqno: 2, context: 1, timeline: "ring", object: { name: "f2" } });
    expect(r.later).toMatchObject({ seqno: 3, object: { name: "f3" } });
    expect(r.signal.op).toBe("dma_fence_signal");
    expect(r.laterSignalled.task).toBe("main/1");
  });

  it("setError before the signal shows in the status; after it, fence-set-error-after-signal (and the error is set, as the kernel does)", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const ctx = new FenceContext(sim, "ring");
      const ok = new DmaFence(ctx);
      yield* ok.setError(-5);
      yield* ok.signal();
      expect([ok.error, ok.getStatus()]).toEqual([-5, -5]);
      const late = new DmaFence(ctx, { name: "late" });
      yield* late.signal();
      expect(sim.reports).toEqual([]);
      yield* late.setError(-110);
      expect(late.error).toBe(-110);
      yield* ok.put();
      yield* late.put();
    });
    const [r] = ofKind(sim, "fence-set-error-after-signal") as [FenceSetErrorAfterSignalReport];
    expect(sim.reports).toHaveLength(1);
    expect(r).toMatchObject({ error: -110, fence: { object: { name: "late" } }, setError: { op: "dma_fence_set_error" }, signalled: { op: "dma_fence_signal" } });
  });
});

describe("callbacks", () => {
  it("run in the signalling task at the signal, in the order added; too late is 'already-signalled'", () => {
    const sim = collectingSim();
    const ran: string[] = [];
    const shared = sim.share({});
    const ctx = new FenceContext(sim, "ring");
    sim.run(function* () {
      const f = new DmaFence(ctx);
      const removed: DmaFenceCallback = () => {
        ran.push("removed");
        return undefined;
      };
      const adder = sim.spawn("adder", "process", function* () {
        expect(yield* f.addCallback((fence) => void ran.push(`a:${fence.seqno}:${current().name}`))).toBe("added");
        expect(yield* f.addCallback(removed)).toBe("added");
        // A generator callback may run ops that do not sleep.
        expect(
          yield* f.addCallback(function* () {
            yield* access(shared, "write");
            ran.push("b");
          }),
        ).toBe("added");
        expect(yield* f.removeCallback(removed)).toBe(true);
        expect(yield* f.removeCallback(removed)).toBe(false);
      });
      yield* until(() => adder.state === "done");
      expect(ran).toEqual([]);
      yield* f.signal();
      expect(ran).toEqual(["a:1:main", "b"]);
      expect(yield* f.addCallback(() => void ran.push("late"))).toBe("already-signalled");
      expect(yield* f.removeCallback(removed)).toBe(false);
      yield* f.put();
    });
    expect(ran).toEqual(["a:1:main", "b"]);
    expect(sim.reports).toEqual([]);
  });

  it("run with irqs off, as under fence->lock: a callback that sleeps is sleep-in-atomic", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "driver->lock");
    sim.run(function* () {
      const f = new DmaFence(new FenceContext(sim, "ring"));
      yield* f.addCallback(function* () {
        yield* m.lock();
        yield* m.unlock();
      });
      yield* f.signal();
      yield* f.put();
    });
    const [r] = ofKind(sim, "sleep-in-atomic") as [SleepInAtomicReport];
    expect(r).toMatchObject({ op: "mutex_lock", reason: "irqs-disabled" });
  });

  it("releasing a fence with callbacks pending is fence-released-with-callbacks; it is signalled with -EDEADLK (they run) and freed", () => {
    const sim = collectingSim();
    const errors: number[] = [];
    let fence: DmaFence | null = null;
    sim.run(function* () {
      const f = new DmaFence(new FenceContext(sim, "ring"), { name: "job" });
      fence = f;
      yield* f.addCallback((x) => void errors.push(x.error));
      yield* f.addCallback(() => undefined);
      yield* f.put();
    });
    const [r] = ofKind(sim, "fence-released-with-callbacks") as [FenceReleasedWithCallbacksReport];
    expect(r.fence.object.name).toBe("job");
    expect(r.callbacks.map((c) => c.op)).toEqual(["dma_fence_add_callback", "dma_fence_add_callback"]);
    expect(r.released.op).toBe("dma_fence_release");
    expect(r.refHistory.at(-1)?.op).toBe("put-release");
    expect(errors).toEqual([-35]);
    expect((fence as unknown as DmaFence).isFreed).toBe(true);
    // Signalled on release: not a never-signalled fence at teardown, and nothing leaked.
    expect(sim.teardown()).toEqual([]);
  });
});

describe("wait and waitTimeout", () => {
  it("a waiter blocks until the signaller signals", () => {
    const sim = collectingSim();
    const ctx = new FenceContext(sim, "ring");
    const log: string[] = [];
    sim.run(function* () {
      const f = new DmaFence(ctx);
      sim.spawn("waiter", "process", function* () {
        log.push("wait");
        expect(yield* f.wait(false)).toBe("signalled");
        log.push(`woke at ${sim.now}`);
      });
      yield* until(() => log.length > 0);
      yield* condResched();
      log.push("signal");
      yield* f.signal();
      yield* f.put();
    });
    expect(log).toEqual(["wait", "signal", "woke at 0"]);
    expect(sim.teardown()).toEqual([]);
  });

  it("waitTimeout: 'timed-out' after the simulated timeout, 'signalled' when signalled first", () => {
    const sim = collectingSim();
    const ctx = new FenceContext(sim, "ring");
    sim.run(function* () {
      const f = new DmaFence(ctx);
      expect(yield* f.waitTimeout(false, 1000)).toBe("timed-out");
      expect(sim.now).toBe(1000);
      yield* f.signal();
      expect(yield* f.waitTimeout(true, 1000)).toBe("signalled");
      expect(yield* f.waitTimeout(false, 0)).toBe("signalled");
      expect(sim.now).toBe(1000);
      yield* f.put();
    });
    expect(sim.reports).toEqual([]);
  });

  it("an interruptible wait ends 'interrupted' on kill(); an uninterruptible one does not", () => {
    const sim = collectingSim();
    const ctx = new FenceContext(sim, "ring");
    const results: string[] = [];
    sim.run(function* () {
      const f = new DmaFence(ctx);
      const a = sim.spawn("intr", "process", function* () {
        results.push(`intr:${yield* f.wait(true)}`);
      });
      const b = sim.spawn("plain", "process", function* () {
        results.push(`plain:${yield* f.wait(false)}`);
      });
      yield* until(() => a.state === "blocked" && b.state === "blocked");
      a.kill();
      b.kill();
      yield* until(() => a.state === "done");
      expect(b.state).toBe("blocked");
      yield* f.signal();
      yield* until(() => b.state === "done");
      yield* f.put();
    });
    expect(results).toEqual(["intr:interrupted", "plain:signalled"]);
  });

  it("waiting may sleep: under a spinlock it is sleep-in-atomic, even on a signalled fence", () => {
    const sim = collectingSim();
    const spin = new SpinLock(sim, "ring->lock");
    sim.run(function* () {
      const f = new DmaFence(new FenceContext(sim, "ring"));
      yield* f.signal();
      yield* spin.lock();
      yield* f.wait(false);
      yield* spin.unlock();
      yield* f.put();
    });
    const [r] = ofKind(sim, "sleep-in-atomic") as [SleepInAtomicReport];
    expect(r).toMatchObject({ op: "dma_fence_wait", reason: "spinlock" });
  });

  it("waiting inside a signalling section is a lock-order cycle through dma_fence_map", async () => {
    const { dmaFenceBeginSignalling, dmaFenceEndSignalling } = await import("../../src/index.js");
    const sim = collectingSim();
    const m = new Mutex(sim, "driver->lock");
    sim.run(function* () {
      const f = new DmaFence(new FenceContext(sim, "ring"));
      yield* f.signal();
      // Waiting under m, and taking m in a signalling section.
      yield* m.lock();
      yield* f.wait(false);
      yield* m.unlock();
      const cookie = dmaFenceBeginSignalling();
      yield* m.lock();
      yield* m.unlock();
      dmaFenceEndSignalling(cookie);
      yield* f.put();
    });
    expect(sim.reports.map((r) => r.kind)).toContain("lock-order-cycle");
  });
});

describe("exact wait edges: waiting for a fence under a lock its signaller needs", () => {
  it("found in a run where the signaller ran first and nothing deadlocked", () => {
    const sim = collectingSim();
    const lock = new Mutex(sim, "vm->update_lock");
    const ctx = new FenceContext(sim, "ring");
    sim.run(function* () {
      const f = new DmaFence(ctx, { name: "job" });
      const gpu = sim.spawn("gpu", "process", function* () {
        yield* f.claimSignalling();
        yield* lock.lock();
        yield* lock.unlock();
        yield* f.signal();
      });
      yield* until(() => gpu.state === "done");
      yield* lock.lock();
      expect(yield* f.wait(false)).toBe("signalled");
      yield* lock.unlock();
      yield* f.put();
    });
    const [r] = ofKind(sim, "fence-wait-deadlock") as [FenceWaitDeadlockReport];
    expect(sim.reports).toHaveLength(1);
    expect(r).toMatchObject({
      lock: 'Mutex#1 "vm->update_lock"',
      lockClass: "vm->update_lock",
      fence: { object: { name: "job" } },
      waiter: { task: "main/1", holds: { lockClass: "vm->update_lock" }, wait: { op: "dma_fence_wait" } },
      signaller: { task: "gpu/2", takes: { task: "gpu/2", op: "mutex_lock" } },
      actual: false,
    });
  });

  it("found when the waiter waits first; the run deadlocks and the cycle names the signaller", () => {
    const sim = collectingSim();
    const lock = new Mutex(sim, "vm->update_lock");
    const ctx = new FenceContext(sim, "ring");
    const f = new DmaFence(ctx, { name: "job", static: true });
    sim.spawn("waiter", "process", function* () {
      yield* lock.lock();
      yield* f.wait(false);
      yield* lock.unlock();
    });
    sim.spawn("gpu", "process", function* () {
      yield* f.claimSignalling();
      yield* until(() => lock.isLocked());
      yield* lock.lock();
      yield* lock.unlock();
      yield* f.signal();
    });
    expect(sim.runAll().outcome).toBe("deadlock");
    const [r] = ofKind(sim, "fence-wait-deadlock") as [FenceWaitDeadlockReport];
    expect(r).toMatchObject({ waiter: { task: "waiter/1" }, signaller: { task: "gpu/2" }, actual: true });
    const [d] = ofKind(sim, "deadlock") as [DeadlockReport];
    expect(d.cycle.map((e) => [e.task, e.blockedIn, e.wakers])).toEqual([
      ["waiter/1", "fence-wait", ["gpu/2"]],
      ["gpu/2", "lock", ["waiter/1"]],
    ]);
    expect(d.cycle.every((e) => !e.inferred)).toBe(true);
  });

  it("is clean when the waiter drops the lock before waiting, or holds another lock, or both sides only read", () => {
    const sim = collectingSim();
    const lock = new Mutex(sim, "vm->update_lock");
    const other = new Mutex(sim, "other");
    const sem = new RwSemaphore(sim, "mmap_lock");
    const ctx = new FenceContext(sim, "ring");
    sim.run(function* () {
      const f = new DmaFence(ctx);
      const gpu = sim.spawn("gpu", "process", function* () {
        yield* f.claimSignalling();
        yield* lock.lock();
        yield* lock.unlock();
        yield* sem.downRead();
        yield* sem.upRead();
        yield* f.signal();
      });
      yield* until(() => gpu.state === "done");
      yield* lock.lock();
      yield* lock.unlock();
      yield* other.lock();
      yield* sem.downRead();
      yield* f.wait(false);
      yield* sem.upRead();
      yield* other.unlock();
      yield* f.put();
    });
    expect(sim.reports).toEqual([]);
  });

  it("locks the maker took before a scheduler claimed the fence do not count; the claimer's do", () => {
    const sim = collectingSim();
    const resv = new Mutex(sim, "resv");
    const ring = new Mutex(sim, "ring->lock");
    const ctx = new FenceContext(sim, "ring");
    const jobs: DmaFence[] = [];
    // The submit path makes the fence and takes the resv lock to publish it;
    // the scheduler claims the fence, takes the ring lock and signals.
    const submit = sim.spawn("submit", "process", function* () {
      const job = new DmaFence(ctx, { name: "job", static: true });
      jobs.push(job);
      yield* resv.lock();
      yield* resv.unlock();
    });
    sim.spawn("sched", "process", function* () {
      yield* until(() => submit.state === "done");
      const job = jobs[0] as DmaFence;
      yield* job.claimSignalling();
      yield* ring.lock();
      yield* ring.unlock();
      yield* job.signal();
    });
    sim.spawn("waiter", "process", function* () {
      yield* until(() => jobs[0]?.signallerTask?.name === "sched");
      yield* resv.lock(); // the maker's lock: fine
      yield* (jobs[0] as DmaFence).wait(false);
      yield* resv.unlock();
      yield* ring.lock(); // the claimer's lock: reported
      yield* (jobs[0] as DmaFence).wait(false);
      yield* ring.unlock();
    });
    sim.runAll();
    const reports = ofKind(sim, "fence-wait-deadlock");
    expect(sim.reports).toHaveLength(1);
    expect(reports.map((r) => [r.lockClass, r.signaller.task])).toEqual([["ring->lock", "sched/2"]]);
  });

  it("locks the signaller took before the fence existed, or after signalling it, do not count", () => {
    const sim = collectingSim();
    const lock = new Mutex(sim, "vm->update_lock");
    const ctx = new FenceContext(sim, "ring");
    let fence: DmaFence | null = null;
    sim.run(function* () {
      const gpu = sim.spawn("gpu", "process", function* () {
        yield* lock.lock();
        yield* lock.unlock();
        const f = new DmaFence(ctx);
        fence = f;
        yield* f.signal();
        yield* lock.lock();
        yield* lock.unlock();
      });
      yield* until(() => gpu.state === "done");
      const f = fence as unknown as DmaFence;
      yield* lock.lock();
      yield* f.wait(false);
      yield* lock.unlock();
      yield* f.put();
    });
    expect(sim.reports).toEqual([]);
  });

  it("a deadlock between two tasks each waiting for the other's fence names both signallers", () => {
    const sim = collectingSim();
    const ctx = new FenceContext(sim, "ring");
    const fences: DmaFence[] = [];
    const body = (mine: number) =>
      function* (): Generator<Effect, void, unknown> {
        yield* (fences[1 - mine] as DmaFence).wait(false);
        yield* (fences[mine] as DmaFence).signal();
      };
    const a = sim.spawn("a", "process", body(0));
    const b = sim.spawn("b", "process", body(1));
    fences.push(new DmaFence(ctx, { name: "a-fence", signaller: a, static: true }), new DmaFence(ctx, { name: "b-fence", signaller: b, static: true }));
    sim.runAll();
    const [d] = ofKind(sim, "deadlock") as [DeadlockReport];
    expect(d.cycle.map((e) => [e.task, e.blockedIn, e.wakers])).toEqual([
      ["a/1", "fence-wait", ["b/2"]],
      ["b/2", "fence-wait", ["a/1"]],
    ]);
    expect(d.cycle.every((e) => !e.inferred)).toBe(true);
    const never = sim.teardown().filter((r): r is FenceNeverSignalledReport => r.kind === "fence-never-signalled");
    expect(never.map((r) => r.signaller).sort()).toEqual(["a/1", "b/2"]);
  });
});

describe("exact wait edges under exploration", () => {
  it("every execution reports the wait under the signaller's lock, whichever side came first", () => {
    const r = explore(
      (sim) => {
        const lock = new Mutex(sim, "vm->update_lock", { static: true });
        const ctx = new FenceContext(sim, "ring");
        const fences: DmaFence[] = [];
        const gpu = sim.spawn("gpu", "process", function* () {
          yield* lock.lock();
          yield* lock.unlock();
          yield* (fences[0] as DmaFence).signal();
        });
        sim.spawn("waiter", "process", function* () {
          yield* lock.lock();
          yield* (fences[0] as DmaFence).wait(false);
          yield* lock.unlock();
        });
        fences.push(new DmaFence(ctx, { static: true, signaller: gpu }));
      },
      { strategy: { name: "dfs" }, executions: 1000, stopAtFirst: false, shrink: false },
    );
    expect(r.exhausted).toBe(true);
    // Each execution ends at its first report: the potential deadlock, in the
    // schedules that then deadlock as in those that finish.
    // (An execution the reduction cut short repeated an explored schedule.)
    expect(r.failed + r.pruned).toBe(r.executions);
    expect(new Set(r.failures.map((f) => f.report.kind))).toEqual(new Set(["fence-wait-deadlock"]));
  });
});

describe("fence-never-signalled at teardown", () => {
  it("names the creator, the signaller and who waits, for a fence waited for or given a callback", () => {
    const sim = collectingSim();
    const ctx = new FenceContext(sim, "ring");
    const f = new DmaFence(ctx, { name: "job", static: true });
    const g = new DmaFence(ctx, { name: "quiet", static: true }); // never published: no report
    sim.spawn("waiter", "process", function* () {
      expect(yield* f.waitTimeout(false, 10)).toBe("timed-out");
    });
    sim.spawn("cb", "process", function* () {
      yield* f.addCallback(() => undefined);
    });
    sim.runAll();
    expect(g.isSignaled()).toBe(false);
    const reports = sim.teardown();
    const never = reports.filter((r): r is FenceNeverSignalledReport => r.kind === "fence-never-signalled");
    expect(never).toHaveLength(1);
    expect(never[0]).toMatchObject({
      fence: { object: { name: "job" }, seqno: 1 },
      created: { task: null, op: "new DmaFence" },
      signaller: null,
      published: ["wait", "callback"],
      waiters: [
        { how: "wait", site: { task: "waiter/1", op: "dma_fence_wait_timeout" } },
        { how: "callback", site: { task: "cb/2", op: "dma_fence_add_callback" } },
      ],
      freed: false,
    });
  });

  it("covers a fence the resv code marked published, and none once it is signalled", () => {
    const sim = collectingSim();
    const ctx = new FenceContext(sim, "ring");
    sim.run(function* () {
      const a = new DmaFence(ctx, { name: "kept" });
      const b = new DmaFence(ctx, { name: "done" });
      a.markPublished("resv");
      b.markPublished("resv");
      yield* b.signal();
      yield* b.put();
      yield* a.put();
    });
    const never = sim.teardown().filter((r): r is FenceNeverSignalledReport => r.kind === "fence-never-signalled");
    expect(never.map((r) => [r.fence.object.name, r.published, r.signaller, r.freed])).toEqual([["kept", ["resv"], "main/1", true]]);
  });
});

describe("DmaFence.isLater", () => {
  it("compares seqnos of one context", () => {
    const sim = collectingSim();
    const ctx = new FenceContext(sim, "ring");
    const a = new DmaFence(ctx, { static: true });
    const b = new DmaFence(ctx, { static: true });
    expect([DmaFence.isLater(b, a), DmaFence.isLater(a, b), DmaFence.isLater(a, a)]).toEqual([true, false, false]);
  });
});

describe("docs/fences.md example", () => {
  it("reports the wait under a lock the signaller needs, without a deadlock", () => {
    const text = fenceExample();
    expect(text).toContain("possible deadlock: a fence waited for under a lock its signaller needs");
    expect(text).toContain("(no deadlock happened in this run)");
  });
});

describe("a task waiting for a fence it owes itself", () => {
  it("deadlocks, and the schedule says how to name the real signaller", () => {
    const sim = collectingSim();
    const ctx = new FenceContext(sim, "ring");
    sim.spawn("submit", "process", function* () {
      const f = new DmaFence(ctx, { name: "job0" });
      yield* f.wait(false);
      yield* f.put();
    });
    sim.runAll();
    const r = sim.reports.find((x) => x.kind === "deadlock");
    expect(r).toMatchObject({ kind: "deadlock" });
    const text = formatReport(r as Report);
    expect(text).toContain('DmaFence#1 "job0" is owed by this task itself: if another task signals it, call claimSignalling() there');
    expect(text).toContain("woken by submit/1");
  });
});
