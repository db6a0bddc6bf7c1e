/**
 * DrmExec: the cases of the kernel's drivers/gpu/drm/tests/drm_exec_test.c
 * (sanity check, lock, lock-unlock, duplicates, prepare, prepare-array,
 * multiple loops), then contention: the retry loop's slow lock and
 * prelocked object, two tasks taking the same objects in opposite orders
 * under both ww algorithms and under every schedule a preemption-bounded
 * DFS finds, references balanced after fini, and an interrupted wait.
 */
import { describe, expect, it } from "vitest";
import {
  access,
  Completion,
  condResched,
  defineOp,
  DRM_EXEC_CONTENDED_HOLDER,
  DRM_EXEC_HOLDER,
  DrmExec,
  explore,
  reservationWwClass,
  WwAcquireCtx,
  WwClass,
  type Effect,
  type Sim,
  type Task,
  type WwAlgorithm,
  UsageError,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { TestBo, testBos } from "../support/test-bo.js";

const ALGORITHMS: readonly WwAlgorithm[] = ["wait-die", "wound-wait"];

/** Drop the creator references of `bos` (so the leak check sees them freed). */
function* putAll(bos: readonly TestBo[]): Generator<Effect, void, unknown> {
  for (const bo of bos) yield* bo.put("creator");
}

/** Run `body` as the only task, then tear down; the Sim must end with no report at all. */
function runClean(sim: Sim, body: () => Generator<Effect, void, unknown>): void {
  sim.run(body);
  expect(sim.teardown()).toEqual([]);
  expect(sim.reports).toEqual([]);
}

describe("DrmExec: the kernel's drm_exec_test.c cases", () => {
  it("sanity check: init then fini, with no loop, does nothing and holds nothing", () => {
    const sim = collectingSim();
    runClean(sim, function* () {
      const exec = new DrmExec(sim, { interruptibleWait: true });
      yield* exec.fini();
      expect(exec.ticket).toBeNull();
      expect(exec.objects()).toEqual([]);
    });
  });

  it("lock: one object is locked under the ticket, with one reference, until fini", () => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    runClean(sim, function* () {
      const exec = new DrmExec(sim, { interruptibleWait: true });
      const r = yield* exec.untilAllLocked(function* () {
        expect(yield* exec.lockObj(bo)).toBe("ok");
      });
      expect(r).toBe("ok");
      expect(exec.passes).toBe(1);
      expect(exec.objects()).toEqual([bo]);
      expect(bo.resv.lockingCtx()).toBe(exec.ticket);
      expect(bo.refcount.read()).toBe(2);
      expect(bo.refcount.holderRefs().map((h) => h.holder)).toEqual(["creator", DRM_EXEC_HOLDER]);
      yield* exec.fini();
      expect(bo.resv.isLocked()).toBe(false);
      expect(bo.refcount.read()).toBe(1);
      expect(exec.objects()).toEqual([]);
      yield* putAll([bo]);
    });
  });

  it("lock-unlock: an object unlocked inside the loop can be locked again", () => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    runClean(sim, function* () {
      const exec = new DrmExec(sim, { interruptibleWait: true });
      const r = yield* exec.untilAllLocked(function* () {
        expect(yield* exec.lockObj(bo)).toBe("ok");
        yield* exec.unlockObj(bo);
        expect(bo.resv.isLocked()).toBe(false);
        expect(exec.objects()).toEqual([]);
        expect(bo.refcount.read()).toBe(1);
        expect(yield* exec.lockObj(bo)).toBe("ok");
      });
      expect(r).toBe("ok");
      expect(exec.objects()).toEqual([bo]);
      yield* exec.fini();
      yield* putAll([bo]);
    });
  });

  it("duplicates: with ignoreDuplicates a second lock of the same object is ok and tracked once", () => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    runClean(sim, function* () {
      const exec = new DrmExec(sim, { ignoreDuplicates: true });
      const r = yield* exec.untilAllLocked(function* () {
        expect(yield* exec.lockObj(bo)).toBe("ok");
        expect(yield* exec.lockObj(bo)).toBe("ok");
      });
      expect(r).toBe("ok");
      expect(exec.objects()).toEqual([bo]);
      expect(bo.refcount.read()).toBe(2);
      yield* exec.unlockObj(bo);
      expect(bo.resv.isLocked()).toBe(false);
      yield* exec.fini();
      yield* putAll([bo]);
    });
  });

  it("duplicates: without ignoreDuplicates the second lock is already-held (-EALREADY), which the loop returns", () => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    runClean(sim, function* () {
      const exec = new DrmExec(sim);
      const seen: string[] = [];
      const r = yield* exec.untilAllLocked(function* () {
        seen.push(yield* exec.lockObj(bo));
        seen.push(yield* exec.lockObj(bo));
      });
      expect(seen).toEqual(["ok", "already-held"]);
      expect(r).toBe("already-held");
      // Nothing changed: still locked once, one reference.
      expect(exec.objects()).toEqual([bo]);
      expect(bo.refcount.read()).toBe(2);
      yield* exec.fini();
      yield* putAll([bo]);
    });
  });

  it("duplicates: a body that tolerates -EALREADY returns its own result", () => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    runClean(sim, function* () {
      const exec = new DrmExec(sim);
      const r = yield* exec.untilAllLocked(function* () {
        yield* exec.lockObj(bo);
        if ((yield* exec.lockObj(bo)) === "already-held") return "ok";
        return undefined;
      });
      expect(r).toBe("ok");
      yield* exec.fini();
      yield* putAll([bo]);
    });
  });

  it("prepare: locks the object and reserves fence slots on its resv", () => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    runClean(sim, function* () {
      const exec = new DrmExec(sim, { interruptibleWait: true });
      const r = yield* exec.untilAllLocked(function* () {
        expect(yield* exec.prepareObj(bo, 1)).toBe("ok");
      });
      expect(r).toBe("ok");
      expect(bo.resv.isLocked()).toBe(true);
      expect(bo.resv.maxFences).toBe(4);
      yield* exec.fini();
      // Slots reserved under a hold are gone once it is dropped.
      expect(bo.resv.maxFences).toBe(0);
      yield* putAll([bo]);
    });
  });

  it("prepare-array: locks every object of the array, in order", () => {
    const sim = collectingSim();
    const bos = testBos(sim, 2);
    runClean(sim, function* () {
      const exec = new DrmExec(sim, { interruptibleWait: true });
      const r = yield* exec.untilAllLocked(function* () {
        yield* exec.prepareArray(bos, 1);
      });
      expect(r).toBe("ok");
      expect(exec.objects()).toEqual(bos);
      for (const bo of bos) expect(bo.resv.maxFences).toBe(4);
      yield* exec.fini();
      yield* putAll(bos);
    });
  });

  it("multiple loops: two DrmExecs one after the other, each body leaving at once", () => {
    const sim = collectingSim();
    runClean(sim, function* () {
      for (let i = 0; i < 2; i++) {
        const exec = new DrmExec(sim, { interruptibleWait: true });
        expect(
          yield* exec.untilAllLocked(function* () {
            return "ok";
          }),
        ).toBe("ok");
        yield* exec.fini();
      }
    });
  });
});

describe("DrmExec: contention", () => {
  /**
   * Forced contention on b:
   *   t1 (older ticket)                t2 (younger ticket)
   *   1. init ticket                   1. init ticket (younger)
   *                                    2. lock b
   *   2. lock a
   *   3. signal `ready`, lock b: waits 3. wait `ready`, lock a: older a holder
   *                                       -> backoff (wait-die: t2 dies)
   *                                    4. unlock b; slow-lock a (waits)
   *   4. gets b; unlock all (fini)     5. gets a; lock b; done
   */
  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: the younger context backs off, slow-locks the contended object first and keeps it as prelocked`, () => {
      const sim = collectingSim();
      const cls = algorithm === "wait-die" ? reservationWwClass(sim) : new WwClass(sim, "ww_test_class", { algorithm });
      const [a, b] = testBos(sim, 2, { wwClass: cls }) as [TestBo, TestBo];
      const t1HasA = new Completion(sim, { name: "t1HasA", static: true });
      const t2HasB = new Completion(sim, { name: "t2HasB", static: true });
      const log: string[] = [];
      sim.spawn("t1", "process", function* () {
        const exec = new DrmExec(sim, { wwClass: cls });
        const r = yield* exec.untilAllLocked(function* () {
          yield* exec.lockObj(a);
          yield* t1HasA.complete();
          yield* t2HasB.waitForCompletion();
          yield* exec.lockObj(b);
        });
        log.push(`t1 ${r} passes=${exec.passes}`);
        yield* exec.fini();
      });
      sim.spawn("t2", "process", function* () {
        yield* t1HasA.waitForCompletion();
        const exec = new DrmExec(sim, { wwClass: cls });
        let pass = 0;
        const r = yield* exec.untilAllLocked(function* () {
          pass++;
          yield* exec.lockObj(b);
          if (pass === 1) yield* t2HasB.complete();
          if (pass === 2) {
            // The contended object was slow-locked first, then b.
            expect(exec.objects()).toEqual([a, b]);
            expect(exec.prelocked).toBe(a);
            expect(a.refcount.holderRefs().map((h) => h.holder)).toEqual(["creator", DRM_EXEC_CONTENDED_HOLDER, DRM_EXEC_HOLDER]);
          }
          const ra = yield* exec.lockObj(a);
          if (pass === 1) {
            expect(ra).toBe("backoff");
            expect(exec.isContended).toBe(true);
            expect(exec.contended).toBe(a);
            // The pass is over: a later lock op does nothing.
            expect(yield* exec.lockObj(b)).toBe("backoff");
          } else {
            expect(ra).toBe("ok");
            expect(exec.prelocked).toBeNull();
          }
        });
        log.push(`t2 ${r} passes=${exec.passes}`);
        expect(exec.objects()).toEqual([a, b]);
        yield* exec.fini();
        yield* putAll([a, b]);
      });
      expect(sim.runAll().outcome).toBe("done");
      expect(log).toEqual(["t1 ok passes=1", "t2 ok passes=2"]);
      expect(sim.teardown()).toEqual([]);
      expect(sim.reports).toEqual([]);
    });
  }

  /** Two tasks lock the same objects in opposite orders; each releases everything; the last one out drops the creator references. */
  function oppositeOrders(sim: Sim, cls: WwClass, n: number, prepare: boolean): void {
    const bos = testBos(sim, n, { wwClass: cls });
    const state = sim.share({ finished: 0, log: [] as string[] });
    const orders = [bos, [...bos].reverse()];
    orders.forEach((order, i) => {
      sim.spawn(`t${i + 1}`, "process", function* () {
        const exec = new DrmExec(sim, { wwClass: cls });
        const r = yield* exec.untilAllLocked(function* () {
          if (prepare) yield* exec.prepareArray(order, 1);
          else for (const bo of order) yield* exec.lockObj(bo);
        });
        expect(r).toBe("ok");
        expect(exec.numObjects).toBe(n);
        yield* exec.fini();
        yield* access(state, "write");
        if (++state.finished === 2) yield* putAll(bos);
      });
    });
  }

  for (const algorithm of ALGORITHMS) {
    it(`${algorithm}: two tasks locking the same objects in opposite orders both complete under every schedule of a preemption-bounded (2) DFS`, () => {
      const r = explore(
        (sim) => {
          const cls = algorithm === "wait-die" ? reservationWwClass(sim) : new WwClass(sim, "ww_test_class", { algorithm });
          oppositeOrders(sim, cls, 2, true);
        },
        { strategy: { name: "dfs", preemptionBound: 2 }, executions: 100_000, stopAtFirst: false, shrink: false },
      );
      expect(r.exhausted).toBe(true);
      expect(r.failures).toEqual([]);
      expect(r.executions).toBeGreaterThan(10);
      // A few thousand executions: each retry reallocates the fence list and kfree_rcu()s the old one.
    }, 60_000);
  }

  it("three objects, opposite orders, round-robin and random schedules: both complete, references balanced", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const sim = collectingSim({ seed, strategy: "random" });
      oppositeOrders(sim, reservationWwClass(sim), 3, false);
      expect(sim.runAll().outcome).toBe("done");
      expect(sim.teardown()).toEqual([]);
      expect(sim.reports).toEqual([]);
    }
  });
});

describe("DrmExec: references and errors", () => {
  it("references are balanced after fini even when fini follows a back-off (the contended reference is dropped too)", () => {
    const sim = collectingSim();
    const cls = reservationWwClass(sim);
    const [a, b] = testBos(sim, 2) as [TestBo, TestBo];
    const holdingB = new Completion(sim, { name: "holdingB", static: true });
    const release = new Completion(sim, { name: "release", static: true });
    sim.spawn("older", "process", function* () {
      // An older ticket holding b makes the younger one back off on it.
      const ctx = yield* WwAcquireCtx.init(cls);
      yield* b.resv.lock(ctx);
      yield* holdingB.complete();
      yield* release.waitForCompletion();
      yield* b.resv.unlock();
      ctx.fini();
    });
    sim.spawn("younger", "process", function* () {
      yield* holdingB.waitForCompletion();
      const exec = new DrmExec(sim);
      const r = yield* exec.untilAllLocked(function* () {
        yield* exec.lockObj(a);
        const rb = yield* exec.lockObj(b);
        // Leave the loop on the back-off, as a body bailing out early would (the kernel's goto error).
        if (rb === "backoff") {
          expect(exec.contended).toBe(b);
          expect(b.refcount.holderRefs().map((h) => h.holder)).toEqual(["creator", DRM_EXEC_CONTENDED_HOLDER]);
          yield* exec.fini();
        }
      });
      expect(r).toBe("backoff");
      expect(a.refcount.read()).toBe(1);
      expect(b.refcount.read()).toBe(1);
      expect(a.resv.isLocked()).toBe(false);
      yield* release.complete();
      yield* putAll([a, b]);
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(sim.teardown()).toEqual([]);
    expect(sim.reports).toEqual([]);
  });

  it("without fini, the references drm_exec holds are a leak naming its holder tag", () => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    sim.spawn("t", "process", function* () {
      const exec = new DrmExec(sim);
      yield* exec.untilAllLocked(function* () {
        yield* exec.lockObj(bo);
      });
      yield* exec.unlockObj(bo);
      yield* exec.lockObj(bo); // after the loop: ww_acquire_done() was called
      yield* exec.unlockObj(bo);
      yield* bo.get(DRM_EXEC_HOLDER); // a reference nobody drops
      yield* putAll([bo]);
      exec.ticket?.fini();
    });
    sim.runAll();
    expect(sim.reports.map((r) => r.kind)).toEqual(["ww-mutex-misuse"]);
    expect(sim.reports[0]).toMatchObject({ kind: "ww-mutex-misuse", problem: "acquire-after-done" });
    const leaks = sim.teardown();
    expect(leaks).toHaveLength(1);
    expect(leaks[0]).toMatchObject({ kind: "leak" });
    expect(JSON.stringify(leaks[0])).toContain(DRM_EXEC_HOLDER);
  });

  it("interruptibleWait: a signal ends the wait with interrupted; the pass is over and the loop returns it", () => {
    const sim = collectingSim();
    const [a, b] = testBos(sim, 2) as [TestBo, TestBo];
    const holding = new Completion(sim, { name: "holding", static: true });
    const waiter: { task: Task | null } = { task: null };
    sim.spawn("holder", "process", function* () {
      yield* b.resv.lock(null);
      yield* holding.complete();
      // Let the waiter block, then signal it.
      while ((waiter.task as Task).state !== "blocked") yield* condResched();
      (waiter.task as Task).kill();
      yield* b.resv.unlock();
    });
    waiter.task = sim.spawn("waiter", "process", function* () {
      yield* holding.waitForCompletion();
      const exec = new DrmExec(sim, { interruptibleWait: true });
      const seen: string[] = [];
      const r = yield* exec.untilAllLocked(function* () {
        seen.push(yield* exec.lockObj(a));
        seen.push(yield* exec.lockObj(b));
        seen.push(yield* exec.lockObj(b));
      });
      expect(seen).toEqual(["ok", "interrupted", "interrupted"]);
      expect(r).toBe("interrupted");
      expect(exec.objects()).toEqual([a]);
      yield* exec.fini();
      yield* putAll([a, b]);
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(sim.teardown()).toEqual([]);
    expect(sim.reports).toEqual([]);
  });
});

describe("DrmExec: edge cases of the retry loop", () => {
  it("a body written as an arrow returning one op (`() => lockAll(exec)`) runs it, with no unstarted-op report, on every pass", () => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    // A user's op (as vm.smMapExecLock is): made when the body is called, before the loop's first yield.
    const lockAll = defineOp("lock_all", function* (exec: DrmExec) {
      return yield* exec.prepareObj(bo, 1);
    });
    const r = sim.run(function* () {
      const exec = new DrmExec(sim);
      const res = yield* exec.untilAllLocked(() => lockAll(exec));
      const held = exec.objects().length;
      yield* exec.fini();
      return { res, held };
    });
    expect(r).toEqual({ res: "ok", held: 1 });
    expect(sim.reports).toEqual([]);
  });

  /** t1 (older) holds b; the younger t2 holds a, backs off on b; `between` runs in t2 after the back-off pass, before its retry. */
  function backoffWorld(interruptibleWait: boolean) {
    const sim = collectingSim();
    const [a, b] = testBos(sim, 2) as [TestBo, TestBo];
    const holding = new Completion(sim, { name: "holding", static: true });
    const release = new Completion(sim, { name: "release", static: true });
    const older = sim.spawn("older", "process", function* () {
      const ctx = yield* WwAcquireCtx.init(reservationWwClass(sim));
      yield* b.resv.lock(ctx);
      yield* holding.complete();
      yield* release.waitForCompletion();
      yield* b.resv.unlock();
      ctx.fini();
    });
    return { sim, a, b, holding, release, older, interruptibleWait };
  }

  it("the contended object's slow lock is interrupted by a signal: interrupted, its reference dropped, nothing held", () => {
    const w = backoffWorld(true);
    const { sim, a, b } = w;
    const younger = sim.spawn("younger", "process", function* () {
      yield* w.holding.waitForCompletion();
      const exec = new DrmExec<TestBo>(sim, { interruptibleWait: true });
      const seen: string[] = [];
      const r = yield* exec.untilAllLocked(function* () {
        seen.push(yield* exec.lockObj(a));
        seen.push(yield* exec.lockObj(b));
      });
      // Pass 1: a ok, b backoff; pass 2: the slow lock of b is interrupted.
      expect(seen).toEqual(["ok", "backoff", "interrupted", "interrupted"]);
      expect(r).toBe("interrupted");
      expect(exec.objects()).toEqual([]);
      expect(exec.contended).toBeNull();
      expect(b.refcount.read()).toBe(1);
      yield* exec.fini();
      yield* w.release.complete();
      yield* putAll([a, b]);
    });
    sim.spawn("signaller", "process", function* () {
      // Wait until the younger task sleeps in its slow lock, then signal it.
      while (younger.state !== "blocked" || b.resv.wwMutex.waiters.length === 0) yield* condResched();
      younger.kill();
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(sim.teardown()).toEqual([]);
    expect(sim.reports).toEqual([]);
  });

  it("unlocking the prelocked object drops its contended reference; locking it again really locks it", () => {
    const w = backoffWorld(false);
    const { sim, a, b } = w;
    sim.spawn("younger", "process", function* () {
      yield* w.holding.waitForCompletion();
      const exec = new DrmExec<TestBo>(sim);
      let pass = 0;
      const r = yield* exec.untilAllLocked(function* () {
        pass++;
        yield* exec.lockObj(a);
        if (pass === 2) {
          expect(exec.prelocked).toBe(b);
          yield* exec.unlockObj(b);
          expect(exec.prelocked).toBeNull();
          expect(b.resv.isLocked()).toBe(false);
          expect(b.refcount.read()).toBe(1);
        }
        yield* exec.lockObj(b);
        if (pass === 1) yield* w.release.complete(); // backed off on b: let the older task drop it
      });
      expect(r).toBe("ok");
      expect(exec.passes).toBe(2);
      expect(b.resv.lockingCtx()).toBe(exec.ticket);
      expect(exec.objects()).toEqual([a, b]);
      yield* exec.fini();
      yield* putAll([a, b]);
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(sim.teardown()).toEqual([]);
    expect(sim.reports).toEqual([]);
  });

  it("a body that ignores a back-off and goes on locking changes nothing until the retry", () => {
    const w = backoffWorld(false);
    const { sim, a, b } = w;
    const [c] = testBos(sim, 1) as [TestBo];
    sim.spawn("younger", "process", function* () {
      yield* w.holding.waitForCompletion();
      const exec = new DrmExec<TestBo>(sim);
      let pass = 0;
      const r = yield* exec.untilAllLocked(function* () {
        pass++;
        yield* exec.lockObj(a);
        yield* exec.lockObj(b);
        if (pass === 1) {
          // Swallow the back-off: keep going.
          expect(yield* exec.prepareObj(c, 1)).toBe("backoff");
          expect(yield* exec.prepareArray([c], 1)).toBe("backoff");
          expect(c.resv.isLocked()).toBe(false);
          expect(exec.objects()).toEqual([a]);
          yield* w.release.complete();
          return "ok"; // not even a result can stop the retry
        }
        yield* exec.lockObj(c);
        return undefined;
      });
      expect(r).toBe("ok");
      expect(exec.passes).toBe(2);
      expect(exec.objects()).toEqual([b, a, c]);
      yield* exec.fini();
      yield* putAll([a, b, c]);
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(sim.teardown()).toEqual([]);
    expect(sim.reports).toEqual([]);
  });
});

describe("docs/drm-exec.md example", () => {
  it("two tasks in opposite orders over 100 seeds: no report, some retries", async () => {
    const { main } = await import("../../examples/drm-exec.js");
    const [, reports, retries] = /(\d+) reports, (\d+) retries/.exec(main()) ?? [];
    expect(Number(reports)).toBe(0);
    expect(Number(retries)).toBeGreaterThan(0);
  });
});

/** What a task caught from `op`, or null when it returned. */
function* caught(op: Iterable<Effect, unknown, unknown>): Generator<Effect, unknown, unknown> {
  try {
    yield* op;
  } catch (error) {
    return error;
  }
  return null;
}

/** The reports' kinds, with the problem of those that have one. */
function show(sim: Sim): string[] {
  return sim.reports.map((r) => r.kind + ("problem" in r && typeof r.problem === "string" ? `:${r.problem}` : ""));
}

describe("DrmExec: a driver's bad loop body is a report of that run", () => {
  it.each([
    ["string \"bogus\"", "bogus"],
    ["null", null],
    ["number 5", 5],
  ])("a body returning %s: a UsageError naming the body; the loop ends (not done), its lock stays held until fini", (described, value) => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    let error: unknown = null;
    runClean(sim, function* () {
      const exec = new DrmExec(sim);
      error = yield* caught(
        exec.untilAllLocked(function* () {
          yield* exec.lockObj(bo);
          return value as never;
        }),
      );
      expect(exec.phase).toBe("done");
      expect(exec.ticket?.isDone).toBe(false);
      expect(exec.objects()).toEqual([bo]);
      expect(bo.resv.isLocked()).toBe(true);
      yield* exec.fini();
      expect(bo.refcount.read()).toBe(1);
      yield* bo.put("creator");
    });
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/^DrmExec\.untilAllLocked\(\): the body returned /);
    expect((error as Error).message).toContain(`${described}: return nothing or a DrmExecResult`);
  });

  it("uncaught, the bad result is a task-exception report of the driver's task; a finally's fini() still tidies up", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const [bo] = testBos(sim, 1) as [TestBo];
    const exec = new DrmExec(sim);
    sim.spawn("driver", "process", function* () {
      try {
        yield* exec.untilAllLocked((function* () {
          yield* exec.lockObj(bo);
          return "bogus";
        }) as never);
      } finally {
        yield* exec.fini();
        yield* bo.put("creator");
      }
    });
    sim.runAll();
    expect(show(sim)).toEqual(["task-exception"]);
    expect((sim.reports[0] as { error: string }).error).toMatch(/^UsageError: DrmExec\.untilAllLocked\(\): the body returned the string "bogus"/);
    expect(exec.phase).toBe("finished");
    expect(sim.teardown()).toEqual([]);
  });

  it.each([
    ["number 5", () => 5],
    ["undefined", () => undefined],
    ["a promise", () => Promise.resolve()],
  ])("a body that is no generator function (returns %s): a UsageError naming the body, and the DrmExec is still new", (described, body) => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    let error: unknown = null;
    runClean(sim, function* () {
      const exec = new DrmExec(sim);
      const step = sim.step;
      error = yield* caught(exec.untilAllLocked(body as never));
      expect({ phase: exec.phase, ticket: exec.ticket, objects: exec.numObjects, passes: exec.passes, step: sim.step }).toEqual({ phase: "new", ticket: null, objects: 0, passes: 0, step });
      // Nothing changed: the same DrmExec runs its loop.
      expect(
        yield* exec.untilAllLocked(function* () {
          yield* exec.lockObj(bo);
        }),
      ).toBe("ok");
      yield* exec.fini();
      yield* bo.put("creator");
    });
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toMatch(/^DrmExec\.untilAllLocked\(\): the body returned /);
    expect((error as Error).message).toContain(described);
    expect((error as Error).message).toContain("not a generator");
  });

  it("a body yielding something that is no effect: a UsageError naming the body and the value; the loop ends", () => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    let error: unknown = null;
    runClean(sim, function* () {
      const exec = new DrmExec(sim);
      error = yield* caught(
        exec.untilAllLocked(function* () {
          yield* exec.lockObj(bo);
          yield 5 as never;
        }),
      );
      expect(exec.phase).toBe("done");
      expect(exec.objects()).toEqual([bo]);
      yield* exec.fini();
      yield* bo.put("creator");
    });
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain("the body of DrmExec.untilAllLocked() yielded number 5");
  });
});

describe("DrmExec: an op made in one phase and started in a later one re-checks the phase and changes nothing", () => {
  it("fini() twice, both made before either ran: the second is the documented UsageError; no ww misuse follows", () => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    let error: unknown = null;
    sim.run(function* () {
      const exec = new DrmExec(sim);
      yield* exec.untilAllLocked(function* () {
        yield* exec.lockObj(bo);
      });
      const a = exec.fini();
      const b = exec.fini();
      yield* a;
      error = yield* caught(b);
      expect({ phase: exec.phase, objects: exec.numObjects, locked: bo.resv.isLocked(), refs: bo.refcount.read() }).toEqual({ phase: "finished", objects: 0, locked: false, refs: 1 });
      yield* bo.put("creator");
    });
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe("DrmExec.fini() called twice");
    // b was made and not started while a ran: the forgotten yield* is reported; nothing else is.
    expect(show(sim)).toEqual(["unstarted-op"]);
    expect(sim.teardown()).toEqual([]);
  });

  it("two loops made on one DrmExec: the second is refused when it starts; one ticket, the first loop's locks", () => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    let error: unknown = null;
    sim.run(function* () {
      const exec = new DrmExec(sim);
      const a = exec.untilAllLocked(function* () {
        yield* exec.lockObj(bo);
      });
      const b = exec.untilAllLocked(function* () {
        yield* exec.lockObj(bo);
      });
      expect(yield* a).toBe("ok");
      const ticket = exec.ticket;
      error = yield* caught(b);
      expect({ phase: exec.phase, ticket: exec.ticket, objects: exec.objects(), passes: exec.passes, refs: bo.refcount.read() }).toEqual({ phase: "done", ticket, objects: [bo], passes: 1, refs: 2 });
      yield* exec.fini();
      yield* bo.put("creator");
    });
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toContain("DrmExec.untilAllLocked(): the DrmExec already ran its retry loop");
    expect(show(sim)).toEqual(["unstarted-op"]);
    expect(sim.teardown()).toEqual([]);
  });

  it.each(["lockObj", "prepareObj", "prepareArray", "unlockObj"] as const)("%s made before fini() and started after it: the UsageError, and nothing is locked or referenced", (method) => {
    const sim = collectingSim();
    const [bo] = testBos(sim, 1) as [TestBo];
    let error: unknown = null;
    sim.run(function* () {
      const exec = new DrmExec(sim);
      yield* exec.untilAllLocked(function* () {
        if (method === "unlockObj") yield* exec.lockObj(bo);
      });
      const op =
        method === "lockObj" ? exec.lockObj(bo) : method === "prepareObj" ? exec.prepareObj(bo, 1) : method === "prepareArray" ? exec.prepareArray([bo], 1) : exec.unlockObj(bo);
      yield* exec.fini();
      error = yield* caught(op);
      expect({ phase: exec.phase, objects: exec.numObjects, locked: bo.resv.isLocked(), refs: bo.refcount.read() }).toEqual({ phase: "finished", objects: 0, locked: false, refs: 1 });
      yield* bo.put("creator");
    });
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(`DrmExec.${method}(): the DrmExec was finished`);
    // Only the forgotten yield* (when fini() yielded while the op waited) may be reported: no ww misuse, no lock held, no leak.
    expect(show(sim).filter((k) => k !== "unstarted-op")).toEqual([]);
    expect(sim.teardown()).toEqual([]);
  });
});
