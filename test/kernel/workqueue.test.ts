import { describe, expect, it } from "vitest";
import {
  access,
  cancelWorkSync,
  condResched,
  explore,
  flushWork,
  formatReport,
  kfree,
  Lockdep,
  Mutex,
  reportsFromJson,
  reportsToJson,
  Sim,
  SpinLock,
  systemWq,
  Work,
  Workqueue,
  WQ_DFL_ACTIVE,
  type Effect,
  type LockOrderCycleReport,
  type Report,
  type UseAfterFreeReport,
  type WorkqueueMisuseReport,
} from "../../src/index.js";
import { Bo, freeIt } from "../fixtures.js";
import { collectingSim } from "../support/collecting-sim.js";
import { fingerprint } from "../../src/report/fingerprint.js";
import { main as flushExample } from "../../examples/workqueue-flush.js";
import { main as uafExample } from "../../examples/workqueue-uaf.js";

/** A work function that appends `tag` to `log` (driver state, shared). */
function logging(sim: Sim, log: { items: string[] }, tag: string) {
  return function* (): Generator<Effect, void, unknown> {
    yield* access(log, "write");
    log.items.push(tag);
  };
}

function kinds(sim: Sim): string[] {
  return sim.reports.map((r) => r.kind);
}

describe("queueWork", () => {
  it("runs the function in a worker task named like the kernel's, in worker context, which exits afterwards", () => {
    const sim = collectingSim();
    const seen: string[] = [];
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = new Work(sim, "w", function* (work) {
      yield* condResched();
      const t = sim.tasks.find((x) => x.state === "runnable" && x.name.startsWith("kworker"));
      seen.push(`${work.name} ${t?.context ?? "?"}`);
    }, { static: true });
    const r = sim.run(function* () {
      return yield* wq.queueWork(w);
    });
    expect(r).toBe("queued");
    expect(seen).toEqual(["w worker"]);
    expect(sim.tasks.map((t) => t.name)).toEqual(["main", "kworker/u:1"]);
    expect(sim.tasks.every((t) => t.state === "done")).toBe(true);
    expect(sim.outcome).toBe("done");
    expect(sim.reports).toEqual([]);
    expect(w.isPending()).toBe(false);
  });

  it("a pending work is not queued twice: already-pending, and it runs once", () => {
    const sim = collectingSim();
    const log = sim.share({ items: [] as string[] });
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = new Work(sim, "w", logging(sim, log, "ran"), { static: true });
    const results = sim.run(function* () {
      const a = yield* wq.queueWork(w);
      const pending = w.isPending();
      const b = yield* wq.queueWork(w);
      return [a, pending, b];
    });
    expect(results).toEqual(["queued", true, "already-pending"]);
    expect(log.items).toEqual(["ran"]);
    expect(sim.reports).toEqual([]);
  });

  it("a running work can be queued again, and then runs again (never on two workers at once)", () => {
    const sim = collectingSim();
    const log = sim.share({ items: [] as string[], running: 0, max: 0 });
    const wq = new Workqueue(sim, "wq", { maxActive: 4, static: true });
    const w = new Work(sim, "w", function* () {
      yield* access(log, "write");
      log.running++;
      log.max = Math.max(log.max, log.running);
      log.items.push("run");
      yield* condResched();
      yield* access(log, "write");
      log.running--;
    }, { static: true });
    const second = sim.run(function* () {
      yield* wq.queueWork(w);
      while (!w.isRunning()) yield* condResched();
      const r = yield* wq.queueWork(w);
      yield* flushWork(w);
      return r;
    });
    expect(second).toBe("queued");
    expect(log.items).toEqual(["run", "run"]);
    expect(log.max).toBe(1);
    expect(sim.reports).toEqual([]);
  });

  it("an ordered workqueue runs one work at a time, in queue order", () => {
    const sim = collectingSim();
    const log = sim.share({ items: [] as string[], running: 0, max: 0 });
    const wq = new Workqueue(sim, "ordered", { ordered: true, static: true });
    expect(wq.maxActive).toBe(1);
    const works = ["a", "b", "c"].map(
      (n) =>
        new Work(sim, n, function* () {
          yield* access(log, "write");
          log.running++;
          log.max = Math.max(log.max, log.running);
          yield* condResched();
          yield* access(log, "write");
          log.items.push(n);
          log.running--;
        }, { static: true }),
    );
    sim.run(function* () {
      for (const w of works) yield* wq.queueWork(w);
      yield* wq.flushWorkqueue();
    });
    expect(log.items).toEqual(["a", "b", "c"]);
    expect(log.max).toBe(1);
    expect(sim.tasks.filter((t) => t.name.startsWith("kworker"))).toHaveLength(1);
  });

  it(`an unordered workqueue runs up to maxActive works at once (default ${WQ_DFL_ACTIVE}), under every schedule`, () => {
    let max = 0;
    const r = explore(
      (sim) => {
        const log = sim.share({ running: 0 });
        const wq = new Workqueue(sim, "wq", { maxActive: 2, static: true });
        const works = ["a", "b", "c"].map(
          (n) =>
            new Work(sim, n, function* () {
              yield* access(log, "write");
              log.running++;
              max = Math.max(max, log.running);
              yield* condResched();
              yield* access(log, "write");
              log.running--;
            }, { static: true }),
        );
        sim.spawn("q", "process", function* () {
          for (const w of works) yield* wq.queueWork(w);
        });
      },
      { strategy: { name: "dfs", reduction: "dpor" }, executions: 20_000, stopAtFirst: false, shrink: false },
    );
    expect(r.exhausted).toBe(true);
    expect(r.failures).toEqual([]);
    expect(max).toBe(2);
    expect(new Workqueue(collectingSim(), "d", { static: true }).maxActive).toBe(WQ_DFL_ACTIVE);
  }, 60_000);

  it("freeing a pending work is a use-after-free when a worker reaches it; the function does not run", () => {
    const sim = collectingSim();
    const wq = new Workqueue(sim, "wq", { static: true });
    let ran = false;
    sim.run(function* () {
      const w = new Work(sim, "w", function* () {
        ran = true;
        yield* condResched();
      });
      yield* wq.queueWork(w);
      yield* kfree(w);
      yield* wq.flushWorkqueue();
    });
    expect(ran).toBe(false);
    expect(kinds(sim)).toEqual(["use-after-free"]);
    expect(sim.reports[0]).toMatchObject({ access: "process_one_work", task: "kworker/u:1/2", object: { type: "Work" } });
    expect(sim.outcome).toBe("done");
  });

  it("a work function that is not a generator function is a task exception in the worker", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = new Work(sim, "w", (() => 42) as never, { static: true });
    sim.run(function* () {
      yield* wq.queueWork(w);
    });
    const r = sim.reports.find((x) => x.kind === "task-exception");
    expect(r?.task).toBe("kworker/u:1/2");
  });
});

describe("flushWork", () => {
  it("waits until the last queued instance finished: true; false when the work is idle", () => {
    const sim = collectingSim();
    const log = sim.share({ items: [] as string[] });
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = new Work(sim, "w", logging(sim, log, "ran"), { static: true });
    const r = sim.run(function* () {
      const idle = yield* flushWork(w);
      yield* wq.queueWork(w);
      const waited = yield* flushWork(w);
      const seen = [...log.items];
      return { idle, waited, seen };
    });
    expect(r).toEqual({ idle: false, waited: true, seen: ["ran"] });
    expect(sim.reports).toEqual([]);
  });

  it("flushing a work while holding a lock its function takes is a lock-order report, in a run where the work had not started", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "M", { static: true });
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = new Work(sim, "w", function* () {
      yield* m.lock();
      yield* m.unlock();
    }, { static: true });
    sim.spawn("main", "process", function* () {
      yield* m.lock();
      yield* wq.queueWork(w);
      yield* flushWork(w);
      yield* m.unlock();
    });
    sim.runAll();
    const cycle = sim.reports.find((x): x is LockOrderCycleReport => x.kind === "lock-order-cycle");
    expect(cycle).toBeDefined();
    const classes = cycle?.cycle.map((e) => e.from) ?? [];
    expect(classes).toContain("M");
    expect(classes).toContain("(work_completion)w");
    // And it does deadlock: the worker waits for M, main for the work.
    expect(kinds(sim)).toContain("deadlock");
  });

  it("and in a run where the work already finished: flush returns false, the order is still reported", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "M", { static: true });
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = new Work(sim, "w", function* () {
      yield* m.lock();
      yield* m.unlock();
    }, { static: true });
    const waited = sim.run(function* () {
      yield* wq.queueWork(w);
      while (w.isPending() || w.isRunning()) yield* condResched();
      yield* m.lock();
      const r = yield* flushWork(w);
      yield* m.unlock();
      return r;
    });
    expect(waited).toBe(false);
    expect(kinds(sim)).toEqual(["lock-order-cycle"]);
    const r = sim.reports[0] as LockOrderCycleReport;
    expect(r.task).toBe("main/1");
    expect(r.cycle.map((e) => e.from).sort()).toEqual(["(work_completion)w", "M"]);
  });

  it("flushing after unlocking is clean", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "M", { static: true });
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = new Work(sim, "w", function* () {
      yield* m.lock();
      yield* m.unlock();
    }, { static: true });
    sim.run(function* () {
      yield* m.lock();
      yield* wq.queueWork(w);
      yield* m.unlock();
      yield* flushWork(w);
    });
    expect(sim.reports).toEqual([]);
  });

  it("on an ordered queue, flushing under a lock another work of the queue takes is reported through the queue's map", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "M", { static: true });
    const wq = new Workqueue(sim, "ordered", { ordered: true, static: true });
    const taker = new Work(sim, "taker", function* () {
      yield* m.lock();
      yield* m.unlock();
    }, { static: true });
    const other = new Work(sim, "other", function* () {
      yield* condResched();
    }, { static: true });
    sim.run(function* () {
      yield* wq.queueWork(taker);
      yield* flushWork(taker);
      yield* m.lock();
      yield* wq.queueWork(other);
      yield* flushWork(other);
      yield* m.unlock();
    });
    const cycle = sim.reports.find((x): x is LockOrderCycleReport => x.kind === "lock-order-cycle");
    const from = cycle?.cycle.map((e) => e.from) ?? [];
    expect(from).toContain("(wq_completion)ordered");
    expect(from).toContain("M");
    expect(from).not.toContain("(work_completion)other");
  });

  it("a work flushing itself is recursive locking of its own map", () => {
    const sim = collectingSim();
    const wq = new Workqueue(sim, "wq", { static: true });
    const w: Work = new Work(sim, "self", function* (work) {
      yield* flushWork(work);
    }, { static: true });
    sim.spawn("main", "process", function* () {
      yield* wq.queueWork(w);
    });
    sim.runAll();
    expect(kinds(sim)[0]).toBe("recursive-locking");
  });

  it("a work flushing another pending work of its own ordered queue is recursive locking of the queue's map", () => {
    const sim = collectingSim();
    const wq = new Workqueue(sim, "ordered", { ordered: true, static: true });
    const second = new Work(sim, "second", function* () { /* nothing to do */ }, { static: true });
    const first = new Work(sim, "first", function* () {
      yield* wq.queueWork(second);
      yield* flushWork(second);
    }, { static: true });
    sim.spawn("main", "process", function* () {
      yield* wq.queueWork(first);
    });
    sim.runAll();
    expect(sim.reports[0]).toMatchObject({ kind: "recursive-locking", lockClass: "(wq_completion)ordered", task: "kworker/u:1/2" });
    // It really deadlocks: the only worker waits for the work queued behind it.
    expect(kinds(sim)).toContain("deadlock");
  });

  it("works made with the same name share a lockdep class; lockClass names another", () => {
    const sim = collectingSim();
    const f = function* () { /* nothing to do */ };
    const a = new Work(sim, "x", f, { static: true });
    const b = new Work(sim, "x", f, { static: true });
    const c = new Work(sim, "y", f, { static: true, lockClass: "(work_completion)x" });
    const d = new Work(sim, "z", f, { static: true });
    expect(b.lockClass).toBe(a.lockClass);
    expect(c.lockClass).toBe(a.lockClass);
    expect(d.lockClass).not.toBe(a.lockClass);
    expect(a.lockClass.name).toBe("(work_completion)x");
  });

  it("flushing in atomic context is sleep-in-atomic", () => {
    const sim = collectingSim();
    const s = new SpinLock(sim, "S", { static: true });
    const w = new Work(sim, "w", function* () { /* nothing to do */ }, { static: true });
    sim.run(function* () {
      yield* s.lock();
      yield* flushWork(w);
      yield* s.unlock();
    });
    expect(sim.reports[0]).toMatchObject({ kind: "sleep-in-atomic", op: "flush_work", reason: "spinlock" });
  });
});

describe("cancelWorkSync", () => {
  it("takes a pending work off its queue: true, and it never runs", () => {
    const sim = collectingSim();
    const log = sim.share({ items: [] as string[] });
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = new Work(sim, "w", logging(sim, log, "ran"), { static: true });
    const r = sim.run(function* () {
      yield* wq.queueWork(w);
      return yield* cancelWorkSync(w);
    });
    expect(r).toBe(true);
    expect(log.items).toEqual([]);
    expect(w.isPending()).toBe(false);
    expect(sim.outcome).toBe("done");
    expect(sim.reports).toEqual([]);
  });

  it("waits for a running instance (false: it was not pending), during which queueing fails", () => {
    const sim = collectingSim();
    const log = sim.share({ items: [] as string[] });
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = new Work(sim, "w", function* (work) {
      yield* access(log, "write");
      log.items.push("start");
      // Re-arm itself, as self-rearming works do; fails while cancelled.
      while (!work.isPending()) yield* condResched();
      const again = yield* wq.queueWork(work);
      yield* access(log, "write");
      log.items.push(`requeue ${again}`);
    }, { static: true });
    const r = sim.run(function* () {
      yield* wq.queueWork(w);
      while (!w.isRunning()) yield* condResched();
      const pending = yield* cancelWorkSync(w);
      yield* access(log, "read");
      return { pending, after: [...log.items], running: w.isRunning(), stillPending: w.isPending() };
    });
    expect(r).toEqual({ pending: false, after: ["start", "requeue already-pending"], running: false, stillPending: false });
    expect(sim.reports).toEqual([]);
  });

  it("under every schedule: a cancelled pending work never runs, even one a worker had already claimed; an uncancelled one ran", () => {
    const outcomes = new Set<string>();
    const r = explore(
      (sim) => {
        const d = sim.share({ ran: 0 });
        const wq = new Workqueue(sim, "wq", { static: true });
        const w = new Work(sim, "w", function* () {
          yield* access(d, "write");
          d.ran++;
        }, { static: true });
        sim.spawn("q", "process", function* () {
          yield* wq.queueWork(w);
        });
        sim.spawn("c", "process", function* () {
          while (!w.isPending() && !w.isRunning() && d.ran === 0) yield* condResched();
          const wasPending = yield* cancelWorkSync(w);
          yield* access(d, "read");
          const ran = d.ran;
          outcomes.add(`pending=${wasPending} ran=${ran}`);
          if (wasPending === (ran !== 0)) throw new Error(`cancel returned ${wasPending} and the work ran ${ran} times`);
        });
      },
      { strategy: { name: "dfs", reduction: "dpor" }, executions: 20_000, stopAtFirst: false, shrink: false },
    );
    expect(r.exhausted).toBe(true);
    expect(r.failures).toEqual([]);
    expect([...outcomes].sort()).toEqual(["pending=false ran=1", "pending=true ran=0"]);
  }, 60_000);

  it("false for an idle work", () => {
    const sim = collectingSim();
    const w = new Work(sim, "w", function* () { /* nothing to do */ }, { static: true });
    expect(sim.run(() => cancelWorkSync(w))).toBe(false);
  });
});

describe("flushWorkqueue and destroy", () => {
  it("flushWorkqueue waits for every work queued before it", () => {
    const sim = collectingSim();
    const log = sim.share({ items: [] as string[] });
    const wq = new Workqueue(sim, "wq", { static: true });
    const works = ["a", "b", "c"].map((n) => new Work(sim, n, logging(sim, log, n), { static: true }));
    const seen = sim.run(function* () {
      for (const w of works) yield* wq.queueWork(w);
      yield* wq.flushWorkqueue();
      yield* access(log, "read");
      return [...log.items].sort();
    });
    expect(seen).toEqual(["a", "b", "c"]);
    expect(sim.reports).toEqual([]);
  });

  it("destroy drains (work queued by its own works included), then frees it; a later queueWork is a use-after-free", () => {
    const sim = collectingSim();
    const log = sim.share({ items: [] as string[] });
    const wq = new Workqueue(sim, "wq");
    const second = new Work(sim, "second", logging(sim, log, "second"), { static: true });
    const first = new Work(sim, "first", function* () {
      yield* access(log, "write");
      log.items.push("first");
      yield* wq.queueWork(second);
    }, { static: true });
    sim.run(function* () {
      yield* wq.queueWork(first);
      yield* wq.destroy();
      yield* access(log, "read");
      expect(log.items).toEqual(["first", "second"]);
      expect(wq.isFreed).toBe(true);
      yield* wq.queueWork(first);
    });
    expect(kinds(sim)).toEqual(["use-after-free"]);
    const r = sim.reports[0] as UseAfterFreeReport;
    expect(r.object.type).toBe("Workqueue");
    expect(r.freed.op).toBe("destroy_workqueue");
    expect(r.access).toBe("Workqueue.queueWork");
    expect(sim.teardown()).toEqual([]);
  });

  it("queueing on a draining workqueue from outside it is a workqueue-misuse report; the work stays pending", () => {
    const sim = collectingSim();
    const wq = new Workqueue(sim, "wq");
    const slow = new Work(sim, "slow", function* () {
      for (let i = 0; i < 3; i++) yield* condResched();
    }, { static: true });
    const late = new Work(sim, "late", function* () { /* nothing to do */ }, { static: true });
    sim.spawn("destroyer", "process", function* () {
      yield* wq.queueWork(slow);
      yield* wq.destroy();
    });
    const res: string[] = [];
    sim.spawn("late", "process", function* () {
      while (wq.drainingSite === null) yield* condResched();
      res.push(yield* wq.queueWork(late));
    });
    sim.runAll();
    expect(res).toEqual(["queued"]);
    expect(kinds(sim)).toEqual(["workqueue-misuse"]);
    const r = sim.reports[0] as Extract<WorkqueueMisuseReport, { problem: "queue-while-draining" }>;
    expect(r).toMatchObject({ problem: "queue-while-draining", work: late.label, workqueue: wq.label });
    expect(r.queued.task).toBe("late/2");
    expect(r.draining.task).toBe("destroyer/1");
    expect(late.isPending()).toBe(true);
    expect(fingerprint(r)).toBe('workqueue-misuse: queue-while-draining / "late"');
  });

  it("systemWq is one static queue per Sim, named events; it cannot be destroyed", () => {
    const sim = collectingSim();
    const a = systemWq(sim);
    expect(systemWq(sim)).toBe(a);
    expect(systemWq(collectingSim())).not.toBe(a);
    expect(a.name).toBe("events");
    expect(a.isStatic).toBe(true);
    expect(() => a.destroy()).toThrow(/static/);
  });
});

describe("reports in a work item name where it was queued (queuedBy)", () => {
  function uafInWork(): Sim {
    let size = 0;
    const sim = new Sim({ onReport: "collect", lockdep: new Lockdep(), seed: 3 });
    const wq = new Workqueue(sim, "wq", { static: true });
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      const w = new Work(sim, "use_bo", function* () {
        yield* condResched();
        size += bo.size;
      }, { static: true });
      yield* wq.queueWork(w);
      yield* bo.kref.put(freeIt);
      yield* flushWork(w);
    });
    expect(size).toBe(4096);
    return sim;
  }

  it("a use-after-free inside a work item names the queueing site, the work and its queue", () => {
    const sim = uafInWork();
    expect(kinds(sim)).toEqual(["use-after-free"]);
    const r = sim.reports[0] as UseAfterFreeReport;
    expect(r.task).toBe("kworker/u:1/2");
    expect(r.queuedBy).toEqual({ task: "main/1", step: 2, op: "queue_work", work: 'Work#3 "use_bo"', workqueue: 'Workqueue#1 "wq"' });
    const text = formatReport(r);
    expect(text).toContain("Last potentially related work creation:");
    expect(text).toMatch(/ {2}queued {7}main\/1 {10}step 2 {5}queue_work/);
    expect(text).toContain('  work         Work#3 "use_bo" on Workqueue#1 "wq"');
  });

  it("queuedBy round-trips through JSON and is not part of the fingerprint", () => {
    const r = uafInWork().reports[0] as Report;
    const [back] = reportsFromJson(reportsToJson([r]));
    expect(back).toEqual(r);
    const without: { queuedBy?: unknown } = { ...r };
    delete without.queuedBy;
    expect(fingerprint(without as Report)).toBe(fingerprint(r));
    expect(() => reportsFromJson(reportsToJson([{ ...r, queuedBy: { task: 1 } } as unknown as Report]))).toThrow(/queuedBy/);
  });

  it("reports outside work items carry no queuedBy", () => {
    const sim = collectingSim();
    const wq = new Workqueue(sim, "wq", { static: true });
    const w = new Work(sim, "w", function* () { /* nothing to do */ }, { static: true });
    sim.run(function* () {
      yield* wq.queueWork(w);
      yield* flushWork(w);
      const bo = new Bo(sim, "b");
      yield* kfree(bo);
      yield* kfree(bo);
    });
    expect(kinds(sim)).toEqual(["double-free"]);
    expect("queuedBy" in (sim.reports[0] as Report)).toBe(false);
  });
});

describe("docs/workqueues.md examples", () => {
  it("the flush example reports the order with no deadlock", async () => {
    const text = flushExample();
    await expect(text + "\n").toMatchFileSnapshot("../report/__snapshots__/docs-workqueue-flush.txt");
    expect(text).toContain("WARNING: possible circular locking dependency detected");
    expect(text).toContain("no deadlock happened in this run");
  });

  it("the use-after-free example names where the work was queued", async () => {
    const text = uafExample();
    await expect(text + "\n").toMatchFileSnapshot("../report/__snapshots__/docs-workqueue-uaf.txt");
    expect(text).toContain("BUG: gpuvm-sim: use-after-free in Bo.size");
    expect(text).toContain("Last potentially related work creation:");
  });
});
