/**
 * WwMutex, WwClass, WwAcquireCtx.
 *
 * Two families, as in the kernel:
 * - the ww section of lib/locking-selftest.c: API and context misuse, each a
 *   `ww-mutex-misuse` report (or, where lockdep owns the check, its report);
 * - kernel/locking/test-ww_mutex.c: mutual exclusion, -EALREADY, AB-BA and
 *   cyclic acquisition resolved by back-off, and stress, each under both
 *   wait-die and wound-wait, over many seeds.
 *
 * Races are ordered with completions where a test needs one interleaving;
 * steps are numbered in the comments as "1." per task.
 * Every Sim gets its own `new Lockdep()`: the default graph is process-wide.
 */
import { describe, expect, it } from "vitest";
import {
  ArgumentError,
  ArgumentRangeError,
  Completion,
  condResched,
  explore,
  current,
  formatReport,
  Lockdep,
  Sim,
  type Effect,
  type Report,
  type ReportKind,
  type Scenario,
  type SimOptions,
  type Task,
  WwAcquireCtx,
  WwClass,
  WwMutex,
  type WwAlgorithm,
  type WwLockResult,
} from "../../src/index.js";

const ALGORITHMS: readonly WwAlgorithm[] = ["wait-die", "wound-wait"];

function newSim(options: SimOptions = {}): Sim {
  return new Sim({ lockdep: new Lockdep(), onReport: "collect", ...options });
}

function reportsOf<K extends ReportKind>(sim: Sim, kind: K): Extract<Report, { kind: K }>[] {
  return sim.reports.filter((r): r is Extract<Report, { kind: K }> => r.kind === kind);
}

/** The one report the Sim filed, which must be of kind `kind`. */
function onlyReport<K extends ReportKind>(sim: Sim, kind: K): Extract<Report, { kind: K }> {
  expect(sim.reports.map((r) => r.kind)).toEqual([kind]);
  return sim.reports[0] as Extract<Report, { kind: K }>;
}

/** A class and `n` mutexes named a, b, c, ... */
function world(sim: Sim, algorithm: WwAlgorithm, n: number, options: { readonly injectBackoffAt?: number } = {}) {
  const cls = new WwClass(sim, "test_ww_class", { algorithm, ...options });
  const locks = Array.from({ length: n }, (_, i) => new WwMutex(sim, cls, { name: String.fromCharCode(97 + i) }));
  return { cls, locks };
}

/**
 * The standard acquire loop (drm_exec's, test-ww_mutex.c's stress): lock
 * every mutex under `ctx`; on a back-off unlock everything held under it,
 * lockSlow the contended mutex, and start over ("already-held" then skips
 * it). Returns how many times it backed off.
 */
function* lockAll(ctx: WwAcquireCtx, locks: readonly WwMutex[], log?: string[]): Generator<Effect, number, unknown> {
  let backoffs = 0;
  for (;;) {
    let failed: WwMutex | null = null;
    for (const m of locks) {
      const r = yield* m.lock(ctx);
      log?.push(`${current().name} lock ${m.name}: ${r}`);
      if (r === "backoff") {
        failed = m;
        break;
      }
    }
    if (failed === null) return backoffs;
    backoffs++;
    for (const m of locks) if (m.ctx === ctx) yield* m.unlock();
    yield* failed.lockSlow(ctx);
    log?.push(`${current().name} lockSlow ${failed.name}`);
  }
}

function* unlockAll(locks: readonly WwMutex[]): Generator<Effect, void, unknown> {
  for (const m of locks) yield* m.unlock();
}

function* until(cond: () => boolean): Generator<Effect, void, unknown> {
  while (!cond()) yield* condResched();
}

/**
 * A wait-die back-off: task "old" (stamp 1) holds b; then task "young"
 * (stamp 2) runs `body` with a, b and c, where locking a then b backs off.
 * Old keeps b until `release` is completed.
 */
function withOlderHolder(
  sim: Sim,
  body: (ctx: WwAcquireCtx, a: WwMutex, b: WwMutex, release: Completion, c: WwMutex) => Generator<Effect, void, unknown>,
): void {
  const { cls, locks } = world(sim, "wait-die", 3);
  const [a, b, c] = locks as [WwMutex, WwMutex, WwMutex];
  const held = new Completion(sim);
  const release = new Completion(sim);
  sim.spawn("old", "process", function* () {
    const ctx = yield* WwAcquireCtx.init(sim, cls); // 1. stamp 1
    yield* b.lock(ctx); // 2.
    yield* held.complete(); // 3.
    yield* release.waitForCompletion(); // 4.
    yield* b.unlock();
    ctx.fini();
  });
  sim.spawn("young", "process", function* () {
    yield* held.waitForCompletion(); // 1. after old's 3.
    const ctx = yield* WwAcquireCtx.init(sim, cls); // 2. stamp 2
    yield* body(ctx, a, b, release, c);
  });
  sim.runAll();
}

describe("WwClass and WwMutex construction", () => {
  it("names the lockdep classes <name>_mutex and <name>_acquire; reservation_ww_class is the primed resv class", () => {
    const sim = newSim();
    const cls = new WwClass(sim, "reservation_ww_class", { algorithm: "wait-die" });
    expect(cls.mutexClass).toBe(sim.lockdep.classes.resv);
    expect(cls.acquireClass.name).toBe("reservation_ww_class_acquire");
    const m = new WwMutex(sim, cls, { name: "bo0.resv" });
    expect(m.lockClass).toBe(sim.lockdep.classes.resv);
    expect(m.label).toBe('WwMutex#1 "bo0.resv"');
    expect(new WwMutex(sim, cls).name).toBe("reservation_ww_class_mutex");
  });

  it("rejects bad input with typed errors", () => {
    const sim = newSim();
    const other = newSim();
    const cls = new WwClass(sim, "c", { algorithm: "wound-wait" });
    expect(() => new WwClass(sim, "", { algorithm: "wait-die" })).toThrow(ArgumentError);
    expect(() => new WwClass(sim, "x", { algorithm: "fifo" as WwAlgorithm })).toThrow(ArgumentError);
    expect(() => new WwClass(sim, "x", { algorithm: "wait-die", injectBackoffAt: -1 })).toThrow(ArgumentRangeError);
    expect(() => new WwMutex(other, cls)).toThrow(ArgumentError);
  });

  it("ww_test_diff_class: a context of another class is a class-mismatch report, and the lock is taken as after the kernel's WARN", () => {
    const sim = newSim();
    const one = new WwClass(sim, "one", { algorithm: "wait-die" });
    const m = new WwMutex(sim, one, { name: "m" });
    const two = new WwClass(sim, "two", { algorithm: "wait-die" });
    const out = sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(two);
      const result = yield* m.lock(ctx);
      // As ww_mutex_lock_acquired() goes on after its warning: held under the context.
      const state = { result, heldCtx: m.ctx === ctx, acquired: ctx.acquired, locked: m.isLocked() };
      yield* m.unlock();
      ctx.fini();
      return { ...state, after: ctx.acquired };
    });
    expect(out).toEqual({ result: "locked", heldCtx: true, acquired: 1, locked: true, after: 0 });
    const r = onlyReport(sim, "ww-mutex-misuse");
    expect([r.problem, r.check, r.ctx, r.lock, r.task]).toEqual([
      "class-mismatch",
      "ww_ctx->ww_class != ww->ww_class in ww_mutex_lock_acquired()",
      'WwAcquireCtx "two" stamp 1',
      'WwMutex#1 "m"',
      "main/1",
    ]);
    expect(r.detail).toBe("ww_mutex_lock() of a mutex of ww class one under a context of ww class two");
    const text = formatReport(r).split("\n");
    expect(text[1]).toBe("WARNING: ww_mutex misuse: mutex locked under an acquire context of another ww class");
    expect(text[3]).toBe("(the kernel's check: ww_ctx->ww_class != ww->ww_class in ww_mutex_lock_acquired())");
  });

  it("a trylock under a context of another class is a class-mismatch report too, once it takes the mutex", () => {
    const sim = newSim();
    const m = new WwMutex(sim, new WwClass(sim, "one", { algorithm: "wound-wait" }));
    const two = new WwClass(sim, "two", { algorithm: "wound-wait" });
    const took = sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(two);
      const ok = yield* m.trylock(ctx);
      yield* m.unlock();
      ctx.fini();
      return ok;
    });
    expect(took).toBe(true);
    expect(onlyReport(sim, "ww-mutex-misuse").problem).toBe("class-mismatch");
  });
});

describe("WwAcquireCtx.init: the class knows its Sim", () => {
  it("init(cls) and init(sim, cls) make the same context, with options either way", () => {
    const sim = newSim();
    const cls = new WwClass(sim, "test_ww_class", { algorithm: "wait-die" });
    const out = sim.run(function* () {
      const a = yield* WwAcquireCtx.init(cls);
      a.fini();
      const b = yield* WwAcquireCtx.init(sim, cls);
      b.fini();
      const c = yield* WwAcquireCtx.init(cls, { injectBackoffAt: 1 });
      c.fini();
      return [a, b, c].map((x) => [x.label, x.wwClass === cls, x.task.label]);
    });
    expect(out).toEqual([
      ['WwAcquireCtx "test_ww_class" stamp 1', true, "main/1"],
      ['WwAcquireCtx "test_ww_class" stamp 2', true, "main/1"],
      ['WwAcquireCtx "test_ww_class" stamp 3', true, "main/1"],
    ]);
    expect(sim.reports).toEqual([]);
  });

  it("init(sim, cls) with a class of another Sim is an ArgumentError naming wwClass, and hands out no stamp", () => {
    const sim = newSim();
    const other = newSim();
    const cls = new WwClass(other, "test_ww_class", { algorithm: "wait-die" });
    expect(() => WwAcquireCtx.init(sim, cls)).toThrow(expect.objectContaining({ argument: "wwClass" }) as Error);
    expect(cls.stamp).toBe(0);
  });
});

describe("ww contexts (lib/locking-selftest.c)", () => {
  it("hands out stamps in init order, per class; the context is a lockdep map held until fini", () => {
    const sim = newSim();
    const { cls } = world(sim, "wait-die", 0);
    const out = sim.run(function* () {
      const c1 = yield* WwAcquireCtx.init(sim, cls);
      const held = current().held.map((h) => h.map.label);
      c1.fini();
      const c2 = yield* WwAcquireCtx.init(sim, cls);
      c2.fini();
      yield* condResched();
      return { stamps: [c1.stamp, c2.stamp], held, after: current().held.length, task: c1.task.label };
    });
    expect(out).toEqual({ stamps: [1, 2], held: ['WwAcquireCtx "test_ww_class" stamp 1'], after: 0, task: "main/1" });
    expect(sim.reports).toEqual([]);
  });

  it("ww_test_fail_acquire: already held, straight away and after taking another mutex", () => {
    const sim = newSim();
    const { cls, locks } = world(sim, "wait-die", 2);
    const [a, b] = locks as [WwMutex, WwMutex];
    const out = sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(sim, cls);
      const r: unknown[] = [];
      r.push(yield* a.lock(ctx), yield* a.lock(ctx)); // -EALREADY, no state change
      r.push(ctx.acquired);
      r.push(yield* b.lock(ctx), yield* a.lock(ctx)); // back to a after b
      r.push(yield* a.trylock(null), yield* a.trylock(ctx)); // held: both fail
      r.push(ctx.acquired);
      yield* a.unlock();
      r.push(ctx.acquired, a.isLocked(), a.ctx === null ? "no ctx" : "ctx");
      yield* b.unlock();
      ctx.fini();
      return r;
    });
    expect(out).toEqual(["locked", "already-held", 1, "locked", "already-held", false, false, 2, 1, false, "no ctx"]);
    expect(sim.reports).toEqual([]);
  });

  it("ww_test_edeadlk_normal_slow: a context holding a lock backs off from an older holder; the slow path then takes it", () => {
    const sim = newSim({ seed: 3 });
    const seen: unknown[] = [];
    withOlderHolder(sim, function* (ctx, a, b, release) {
      seen.push(yield* a.lock(ctx)); // 3. locked
      seen.push(yield* b.lock(ctx)); // 4. backoff: old (stamp 1) holds b
      seen.push(ctx.contendingLock === b);
      yield* a.unlock(); // 5.
      yield* release.complete(); // 6. old may unlock b now
      yield* b.lockSlow(ctx); // 7. waits for old, never backs off
      seen.push(ctx.contendingLock, yield* a.lock(ctx)); // 8. locked
      yield* unlockAll([a, b]);
      ctx.fini();
    });
    expect(seen).toEqual(["locked", "backoff", true, null, "locked"]);
    expect(sim.reports).toEqual([]);
  });

  it("backs off only while holding a lock: a context holding nothing waits for the older holder", () => {
    for (const seed of [0, 1, 2, 3]) {
      const sim = newSim({ seed });
      const seen: unknown[] = [];
      withOlderHolder(sim, function* (ctx, _a, b, release) {
        yield* release.complete(); // 3.
        seen.push(yield* b.lock(ctx)); // 4. waits for old: nothing held, nothing to give back
        yield* b.unlock();
        ctx.fini();
      });
      expect(seen).toEqual(["locked"]);
      expect(sim.reports).toEqual([]);
    }
  });

  it("ww_test_edeadlk_no_unlock_slow: lockSlow with locks still held", () => {
    const sim = newSim();
    withOlderHolder(sim, function* (ctx, a, b, release) {
      yield* a.lock(ctx);
      expect(yield* b.lock(ctx)).toBe("backoff");
      yield* release.complete();
      yield* b.lockSlow(ctx); // a is still held
      yield* unlockAll([a, b]);
      ctx.fini();
    });
    const r = onlyReport(sim, "ww-mutex-misuse");
    expect([r.problem, r.ctx, r.lock, r.task]).toEqual(["slow-lock-with-locks-held", 'WwAcquireCtx "test_ww_class" stamp 2', 'WwMutex#2 "b"', "young/2"]);
    expect(r.detail).toBe('ww_mutex_lock_slow() after backing off on WwMutex#2 "b" with 1 lock(s) still held under the context');
    expect(r.held.map((h) => h.lock)).toEqual(['WwAcquireCtx "test_ww_class" stamp 2', 'WwMutex#1 "a"']);
  });

  it("ww_test_edeadlk_no_unlock: ww_mutex_lock of the contended mutex with locks still held", () => {
    const sim = newSim();
    withOlderHolder(sim, function* (ctx, a, b, release) {
      yield* a.lock(ctx);
      expect(yield* b.lock(ctx)).toBe("backoff");
      yield* release.complete();
      // Holding a, retrying b: old has gone, so it is taken, but the rule was broken.
      yield* b.lock(ctx);
      yield* unlockAll([a, b]);
      ctx.fini();
    });
    expect(onlyReport(sim, "ww-mutex-misuse").problem).toBe("slow-lock-with-locks-held");
  });

  it("ww_test_edeadlk_acquire_wrong_slow: lockSlow of another mutex than the one that backed off", () => {
    const sim = newSim();
    withOlderHolder(sim, function* (ctx, a, b, release, c) {
      yield* a.lock(ctx);
      expect(yield* b.lock(ctx)).toBe("backoff");
      yield* a.unlock();
      yield* release.complete();
      yield* c.lockSlow(ctx);
      yield* c.unlock();
      ctx.fini();
    });
    const r = onlyReport(sim, "ww-mutex-misuse");
    expect([r.problem, r.lock]).toEqual(["slow-lock-wrong-mutex", 'WwMutex#3 "c"']);
    // Told apart from a slow lock with no back-off pending by the check and the text.
    expect(r.check).toBe("ww_ctx->contending_lock != ww in ww_mutex_lock_acquired()");
    expect(formatReport(r).split("\n")[1]).toBe("WARNING: ww_mutex misuse: locking after a back-off a mutex other than the one that backed off");
    expect(r.detail).toContain('WwMutex#2 "b"');
  });

  it("ww_test_edeadlk_acquire_wrong: ww_mutex_lock of another mutex after a back-off", () => {
    const sim = newSim();
    withOlderHolder(sim, function* (ctx, a, b, release) {
      yield* a.lock(ctx);
      expect(yield* b.lock(ctx)).toBe("backoff");
      yield* a.unlock();
      yield* release.complete();
      yield* a.lock(ctx); // b must come first
      yield* a.unlock();
      ctx.fini();
    });
    const r = onlyReport(sim, "ww-mutex-misuse");
    expect([r.problem, r.lock]).toEqual(["slow-lock-wrong-mutex", 'WwMutex#1 "a"']);
  });

  it("ww_test_unneeded_slow: lockSlow with no back-off pending", () => {
    const sim = newSim();
    const { cls, locks } = world(sim, "wound-wait", 1);
    const a = locks[0] as WwMutex;
    sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(sim, cls);
      yield* a.lockSlow(ctx);
      yield* a.unlock();
      ctx.fini();
    });
    const r = onlyReport(sim, "ww-mutex-misuse");
    expect([r.problem, r.check, r.detail]).toEqual([
      "slow-lock-without-backoff",
      "!ctx->contending_lock in ww_mutex_lock_slow()",
      "ww_mutex_lock_slow() with no back-off pending",
    ]);
    expect(formatReport(r).split("\n")[1]).toBe("WARNING: ww_mutex misuse: ww_mutex_lock_slow() with no back-off pending");
  });

  it("ww_test_object_unlock_twice: unlocking a mutex not held is unlock-not-held, not also bad-unlock, and changes nothing", () => {
    const sim = newSim();
    const { cls, locks } = world(sim, "wait-die", 1);
    const a = locks[0] as WwMutex;
    const stillHeld = sim.run(function* () {
      yield* a.lock(null);
      yield* a.unlock();
      yield* a.unlock();
      const ctx = yield* WwAcquireCtx.init(sim, cls);
      yield* a.lock(ctx);
      const other = sim.spawn("other", "process", function* () {
        yield* a.unlock(); // held by main
      });
      yield* until(() => other.state === "done");
      const held = a.holder === current() && ctx.acquired === 1;
      yield* a.unlock();
      ctx.fini();
      return held;
    });
    expect(stillHeld).toBe(true);
    const rs = reportsOf(sim, "ww-mutex-misuse");
    expect(sim.reports.map((r) => r.kind)).toEqual(["ww-mutex-misuse", "ww-mutex-misuse"]);
    expect(rs.map((r) => [r.problem, r.ctx, r.lock, r.detail, r.task])).toEqual([
      ["unlock-not-held", "(none)", 'WwMutex#1 "a"', "it is not locked", "main/1"],
      ["unlock-not-held", 'WwAcquireCtx "test_ww_class" stamp 1', 'WwMutex#1 "a"', "it is held by main/1", "other/2"],
    ]);
  });

  it("ww_test_context_fini_early: fini with a lock held", () => {
    const sim = newSim();
    const { cls, locks } = world(sim, "wait-die", 1);
    const a = locks[0] as WwMutex;
    sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(sim, cls);
      yield* a.lock(ctx);
      ctx.done();
      ctx.fini();
      yield* a.unlock();
    });
    const r = onlyReport(sim, "ww-mutex-misuse");
    expect([r.problem, r.lock, r.detail]).toEqual(["fini-with-locks-held", null, "1 ww_mutex lock(s) still held under the context"]);
    expect(r.held.map((h) => h.lockClass)).toEqual(["test_ww_class_acquire", "test_ww_class_mutex"]);
  });

  it("ww_test_context_unlock_twice: fini twice, and a lock after fini, are used-after-fini (once per context)", () => {
    const sim = newSim();
    const { cls, locks } = world(sim, "wound-wait", 1);
    const a = locks[0] as WwMutex;
    sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(sim, cls);
      ctx.fini();
      ctx.fini();
      const ctx2 = yield* WwAcquireCtx.init(sim, cls);
      ctx2.fini();
      expect(yield* a.lock(ctx2)).toBe("locked");
      yield* a.unlock();
    });
    const rs = reportsOf(sim, "ww-mutex-misuse");
    expect(sim.reports).toHaveLength(2);
    expect(rs.map((r) => [r.problem, r.ctx, r.detail])).toEqual([
      ["used-after-fini", 'WwAcquireCtx "test_ww_class" stamp 1', "ww_acquire_fini() called twice"],
      ["used-after-fini", 'WwAcquireCtx "test_ww_class" stamp 2', "ww_mutex_lock() after ww_acquire_fini()"],
    ]);
  });

  it("ww_test_context_lock_after_done and ww_test_context_done_twice: acquire-after-done, done-twice", () => {
    const sim = newSim();
    const { cls, locks } = world(sim, "wait-die", 1);
    const a = locks[0] as WwMutex;
    sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(sim, cls);
      ctx.done();
      yield* a.lock(ctx);
      yield* a.unlock();
      ctx.fini();
      const ctx2 = yield* WwAcquireCtx.init(sim, cls);
      ctx2.done();
      ctx2.done();
      ctx2.fini();
    });
    const rs = reportsOf(sim, "ww-mutex-misuse");
    expect(sim.reports).toHaveLength(2);
    expect(rs.map((r) => [r.problem, r.lock, r.detail])).toEqual([
      ["acquire-after-done", 'WwMutex#1 "a"', "ww_mutex_lock() after ww_acquire_done()"],
      ["done-twice", null, "ww_acquire_done() called twice"],
    ]);
  });

  it("ww_test_two_contexts: a second live context of one class in a task is two-contexts, not also recursive locking", () => {
    const sim = newSim();
    const { cls } = world(sim, "wait-die", 0);
    sim.run(function* () {
      const t = yield* WwAcquireCtx.init(sim, cls);
      const t2 = yield* WwAcquireCtx.init(sim, cls);
      t2.fini();
      t.fini();
      yield* condResched();
    });
    const r = onlyReport(sim, "ww-mutex-misuse");
    expect([r.problem, r.ctx, r.lock]).toEqual(["two-contexts", 'WwAcquireCtx "test_ww_class" stamp 2', null]);
    expect(r.detail).toContain('WwAcquireCtx "test_ww_class" stamp 1 is still active in main/1');
  });

  it("contexts of different classes nest, and one task may use contexts one after another", () => {
    const sim = newSim();
    const one = new WwClass(sim, "one", { algorithm: "wait-die" });
    const two = new WwClass(sim, "two", { algorithm: "wound-wait" });
    sim.run(function* () {
      const c1 = yield* WwAcquireCtx.init(sim, one);
      const c2 = yield* WwAcquireCtx.init(sim, two);
      c2.fini();
      c1.fini();
      (yield* WwAcquireCtx.init(sim, one)).fini();
      yield* condResched();
    });
    expect(sim.reports).toEqual([]);
  });

  // The lockdep side of the selftest's block/try/context table.
  it("ww_test_context_context and ww_test_context_try pass; ww_test_context_block is recursive locking", () => {
    const run = (inner: "context" | "try" | "block") => {
      const sim = newSim();
      const { cls, locks } = world(sim, "wait-die", 2);
      const [o, o2] = locks as [WwMutex, WwMutex];
      sim.run(function* () {
        const t = yield* WwAcquireCtx.init(sim, cls);
        yield* o.lock(t);
        if (inner === "context") yield* o2.lock(t);
        else if (inner === "try") yield* o2.trylock(null);
        else yield* o2.lock(null);
        yield* unlockAll([o2, o]);
        t.fini();
      });
      return sim;
    };
    expect(run("context").reports).toEqual([]);
    expect(run("try").reports).toEqual([]);
    const r = onlyReport(run("block"), "recursive-locking");
    expect([r.lockClass, r.first.lock]).toEqual(["test_ww_class_mutex", 'WwMutex#1 "a"']);
  });

  it("assertHeld checks this exact mutex for the current task; lockdep learns acquire context -> mutex", () => {
    const sim = newSim();
    const { cls, locks } = world(sim, "wait-die", 2);
    const [a, b] = locks as [WwMutex, WwMutex];
    const out = sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(sim, cls);
      yield* a.lock(ctx);
      const r = [a.assertHeld(), a.isLocked(), a.holder === current(), b.isLocked()];
      const other = sim.spawn("other", "process", function* () {
        a.assertHeld();
        yield* condResched();
      });
      yield* until(() => other.state === "done");
      yield* a.unlock();
      ctx.fini();
      return r;
    });
    expect(out).toEqual([true, true, true, false]);
    const r = onlyReport(sim, "lock-not-held");
    expect([r.lock, r.owner, r.task]).toEqual(['WwMutex#1 "a"', "main/1", "other/2"]);
    expect(sim.lockdep.hasEdge(cls.acquireClass, cls.mutexClass)).toBe(true);
  });

  it("mixing a context with plain locking can deadlock for real; the report names each holder", () => {
    const sim = newSim();
    const { cls, locks } = world(sim, "wait-die", 2);
    const [a, b] = locks as [WwMutex, WwMutex];
    const aHeld = new Completion(sim);
    const bHeld = new Completion(sim);
    sim.spawn("ctx", "process", function* () {
      const ctx = yield* WwAcquireCtx.init(sim, cls);
      yield* a.lock(ctx); // 1.
      yield* aHeld.complete();
      yield* bHeld.waitForCompletion();
      yield* b.lock(ctx); // 3. b's holder has no context: nothing to die for, it waits
    });
    sim.spawn("plain", "process", function* () {
      yield* b.lock(null); // 1.
      yield* bHeld.complete();
      yield* aHeld.waitForCompletion();
      yield* a.lock(null); // 2. waits for ctx/1
    });
    expect(sim.runAll().outcome).toBe("deadlock");
    // Lockdep saw plain/2 nest two mutexes of the class without a context first.
    expect(sim.reports.map((r) => r.kind)).toEqual(["recursive-locking", "deadlock"]);
    const d = reportsOf(sim, "deadlock")[0];
    expect(d?.cycle.map((e) => [e.task, e.blockedIn, e.waitsFor, e.wakers])).toEqual([
      ["ctx/1", "ww-wait", 'WwMutex#2 "b"', ["plain/2"]],
      ["plain/2", "lock", 'WwMutex#1 "a"', ["ctx/1"]],
    ]);
  });

  it("a context never finished is still held by lockdep when its task exits", () => {
    const sim = newSim();
    const { cls } = world(sim, "wait-die", 0);
    sim.run(function* () {
      yield* WwAcquireCtx.init(sim, cls);
      yield* condResched();
    });
    expect(onlyReport(sim, "lock-held-at-exit").held.map((h) => h.lockClass)).toEqual(["test_ww_class_acquire"]);
  });
});

describe.each(ALGORITHMS)("ww mutex behaviour under %s (kernel/locking/test-ww_mutex.c)", (algorithm) => {
  // test_mutex: the lock is mutually exclusive, whether taken with a context,
  // without one, or by trylock.
  it.each([
    ["ctx", "null"],
    ["null", "null"],
    ["ctx", "trylock"],
    ["ctx", "ctx"],
  ] as const)("mutual exclusion: %s against %s", (first, second) => {
    for (let seed = 0; seed < 40; seed++) {
      const sim = newSim({ seed });
      const { cls, locks } = world(sim, algorithm, 1);
      const m = locks[0] as WwMutex;
      let counter = 0;
      let inside = 0;
      let maxInside = 0;
      for (const [name, mode] of [
        ["t1", first],
        ["t2", second],
      ] as const) {
        sim.spawn(name, "process", function* () {
          for (let i = 0; i < 4; i++) {
            const ctx = mode === "ctx" ? yield* WwAcquireCtx.init(sim, cls) : null;
            if (mode === "trylock") {
              while (!(yield* m.trylock(null))) yield* condResched();
            } else {
              expect(yield* m.lock(ctx)).toBe("locked");
            }
            maxInside = Math.max(maxInside, ++inside);
            const v = counter;
            yield* condResched();
            counter = v + 1;
            inside--;
            yield* m.unlock();
            ctx?.fini();
          }
        });
      }
      expect(sim.runAll().outcome).toBe("done");
      expect([counter, maxInside, sim.reports]).toEqual([8, 1, []]);
    }
  });

  // test_aa
  it.each([false, true])("already held after taking it (trylock: %s)", (trylock) => {
    const sim = newSim();
    const { cls, locks } = world(sim, algorithm, 1);
    const m = locks[0] as WwMutex;
    const out = sim.run(function* () {
      const ctx = yield* WwAcquireCtx.init(sim, cls);
      const first = trylock ? yield* m.trylock(ctx) : yield* m.lock(ctx);
      const r = [first, m.ctx === ctx, yield* m.trylock(null), yield* m.trylock(ctx), yield* m.lock(ctx)];
      yield* m.unlock();
      ctx.fini();
      return r;
    });
    expect(out).toEqual([trylock ? true : "locked", true, false, false, "already-held"]);
    expect(sim.reports).toEqual([]);
  });

  // test_abba without resolve: with both first locks taken, one side must see
  // -EDEADLK, and it is the younger context (stamp 2) under both algorithms.
  it("AB-BA with both first locks held: exactly the younger context backs off", () => {
    for (let seed = 0; seed < 30; seed++) {
      const sim = newSim({ seed });
      const { cls, locks } = world(sim, algorithm, 2);
      const [a, b] = locks as [WwMutex, WwMutex];
      const aReady = new Completion(sim);
      const bReady = new Completion(sim);
      const initd = new Completion(sim);
      const results = new Map<string, WwLockResult>();
      const side = (name: string, first: WwMutex, second: WwMutex, mine: Completion, theirs: Completion, initFirst: boolean) => {
        sim.spawn(name, "process", function* () {
          if (!initFirst) yield* initd.waitForCompletion();
          const ctx = yield* WwAcquireCtx.init(sim, cls);
          if (initFirst) yield* initd.complete();
          yield* first.lock(ctx);
          yield* mine.complete();
          yield* theirs.waitForCompletion();
          const r = yield* second.lock(ctx);
          results.set(`${name}/stamp ${ctx.stamp}`, r);
          if (r === "locked") yield* second.unlock();
          yield* first.unlock();
          ctx.fini();
        });
      };
      side("A", a, b, aReady, bReady, seed % 2 === 0);
      side("B", b, a, bReady, aReady, seed % 2 === 1);
      expect(sim.runAll().outcome).toBe("done");
      const older = seed % 2 === 0 ? "A" : "B";
      const younger = older === "A" ? "B" : "A";
      expect(Object.fromEntries(results)).toEqual({ [`${older}/stamp 1`]: "locked", [`${younger}/stamp 2`]: "backoff" });
      expect(sim.reports).toEqual([]);
    }
  });

  // test_abba with resolve, without the completions: every interleaving.
  it("AB-BA resolved by back-off: no deadlock and no report over 200 seeds", () => {
    let backoffs = 0;
    for (let seed = 0; seed < 200; seed++) {
      const sim = newSim({ seed });
      const { cls, locks } = world(sim, algorithm, 2);
      const [a, b] = locks as [WwMutex, WwMutex];
      for (const [name, order] of [
        ["A", [a, b]],
        ["B", [b, a]],
      ] as const) {
        sim.spawn(name, "process", function* () {
          const ctx = yield* WwAcquireCtx.init(sim, cls);
          const n = yield* lockAll(ctx, order);
          // Not `backoffs += yield* ...`: that reads `backoffs` before the wait.
          backoffs += n;
          expect([a.holder, b.holder]).toEqual([current(), current()]);
          yield* unlockAll(order);
          ctx.fini();
        });
      }
      expect(sim.runAll().outcome).toBe("done");
      expect(sim.reports).toEqual([]);
    }
    // Some interleavings needed a back-off, so the loop above exercised it.
    expect(backoffs).toBeGreaterThan(10);
  });

  // test_cycle: task n holds its own mutex and then wants its neighbour's.
  it.each([2, 3, 4, 5, 6])("a cycle of %i tasks resolves, over 30 seeds", (n) => {
    for (let seed = 0; seed < 30; seed++) {
      const sim = newSim({ seed });
      const { cls, locks } = world(sim, algorithm, n);
      const signals = locks.map(() => new Completion(sim));
      for (let i = 0; i < n; i++) {
        const mine = locks[i] as WwMutex;
        const next = locks[(i + 1) % n] as WwMutex;
        sim.spawn(`cycle${i}`, "process", function* () {
          const ctx = yield* WwAcquireCtx.init(sim, cls);
          yield* mine.lock(ctx);
          yield* (signals[(i + n - 1) % n] as Completion).complete();
          yield* (signals[i] as Completion).waitForCompletion();
          yield* lockAll(ctx, [mine, next]);
          yield* unlockAll([next, mine]);
          ctx.fini();
        });
      }
      expect(sim.runAll().outcome).toBe("done");
      expect(sim.reports).toEqual([]);
    }
  });

  // stress(STRESS_INORDER | STRESS_ONE): random orders over shared mutexes.
  it("stress: 6 tasks over 6 mutexes in random orders, plus single-lock users without context", () => {
    for (let seed = 0; seed < 25; seed++) {
      const sim = newSim({ seed });
      const { cls, locks } = world(sim, algorithm, 6);
      let rng = seed * 2654435761 + 1;
      const random = (n: number) => {
        rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
        return rng % n;
      };
      const order = () => {
        const o = [...locks];
        for (let i = o.length - 1; i > 0; i--) {
          const j = random(i + 1);
          [o[i], o[j]] = [o[j] as WwMutex, o[i] as WwMutex];
        }
        return o.slice(0, 2 + random(5));
      };
      for (let t = 0; t < 6; t++) {
        const rounds = [order(), order(), order()];
        const single = locks[random(locks.length)] as WwMutex;
        sim.spawn(`stress${t}`, "process", function* () {
          for (const round of rounds) {
            if (t === 5) {
              yield* single.lock(null);
              yield* condResched();
              yield* single.unlock();
              continue;
            }
            const ctx = yield* WwAcquireCtx.init(sim, cls);
            yield* lockAll(ctx, round);
            for (const m of round) expect(m.holder).toBe(current());
            yield* condResched();
            yield* unlockAll(round);
            ctx.fini();
          }
        });
      }
      expect(sim.runAll().outcome).toBe("done");
      expect(sim.reports).toEqual([]);
    }
  });

  it("an interruptible wait ends with interrupted when the task is killed, leaving nothing behind", () => {
    for (const slow of [false, true]) {
      const sim = newSim();
      const { cls, locks } = world(sim, algorithm, 1);
      const m = locks[0] as WwMutex;
      let waiter: Task | null = null;
      let result: string | null = null;
      sim.run(function* () {
        yield* m.lock(null);
        waiter = sim.spawn("waiter", "process", function* () {
          const ctx = yield* WwAcquireCtx.init(sim, cls);
          result = slow ? yield* m.lockSlowInterruptible(ctx) : yield* m.lockInterruptible(ctx);
          ctx.fini();
        });
        const w = waiter;
        yield* until(() => w.state === "blocked");
        w.kill();
        yield* until(() => w.state === "done");
        yield* m.unlock();
      });
      expect(result).toBe("interrupted");
      expect(m.waiters).toEqual([]);
      // lockSlowInterruptible with no back-off pending is misuse; nothing else is reported.
      expect(sim.reports.map((r) => (r.kind === "ww-mutex-misuse" ? r.problem : r.kind))).toEqual(slow ? ["slow-lock-without-backoff"] : []);
    }
  });

  it("ww mutexes taken without a context in AB-BA order: lockdep reports recursive locking, and a real deadlock names the holders", () => {
    // The kernel's "mixing context-based and single locking" warning: a and
    // b share the class's lockdep class, so the nesting itself is the report.
    let deadlocks = 0;
    for (let seed = 0; seed < 20; seed++) {
      const sim = newSim({ seed });
      const { locks } = world(sim, algorithm, 2);
      const [a, b] = locks as [WwMutex, WwMutex];
      sim.spawn("A", "process", function* () {
        yield* a.lock(null);
        yield* b.lock(null);
        yield* unlockAll([b, a]);
      });
      sim.spawn("B", "process", function* () {
        yield* b.lock(null);
        yield* a.lock(null);
        yield* unlockAll([a, b]);
      });
      const outcome = sim.runAll().outcome;
      const kinds = sim.reports.map((r) => r.kind);
      expect(kinds[0]).toBe("recursive-locking");
      if (outcome === "deadlock") {
        deadlocks++;
        const d = reportsOf(sim, "deadlock")[0];
        expect(d?.cycle.map((e) => [e.task, e.wakers])).toEqual([
          ["A/1", ["B/2"]],
          ["B/2", ["A/1"]],
        ]);
      } else {
        expect(kinds).toEqual(["recursive-locking"]);
      }
    }
    expect(deadlocks).toBeGreaterThan(0);
  });
});

describe("wait-die", () => {
  it("a waiter holding locks dies when an older context queues up behind the holder", () => {
    for (let seed = 0; seed < 20; seed++) {
      const sim = newSim({ seed });
      const { cls, locks } = world(sim, "wait-die", 2);
      const [m, x] = locks as [WwMutex, WwMutex];
      const c0 = new Completion(sim);
      const c1 = new Completion(sim);
      const c2 = new Completion(sim);
      const c3 = new Completion(sim);
      const seen: WwLockResult[] = [];
      const young = sim.spawn("young", "process", function* () {
        yield* c0.waitForCompletion(); // 1. after old's init: stamp 2
        const ctx = yield* WwAcquireCtx.init(sim, cls);
        yield* x.lock(ctx); // 2.
        yield* c1.waitForCompletion(); // 3. holder has m
        seen.push(yield* m.lock(ctx)); // 4. waits: holder has no context, nobody older queued
        yield* c3.complete(); // 6.
        yield* x.unlock();
        yield* m.lockSlow(ctx);
        seen.push(yield* x.lock(ctx));
        yield* unlockAll([m, x]);
        ctx.fini();
      });
      sim.spawn("holder", "process", function* () {
        yield* m.lock(null); // 1.
        yield* c1.complete(); // 2.
        yield* until(() => young.state === "blocked"); // 3. young is queued on m
        yield* c2.complete(); // 4.
        yield* c3.waitForCompletion(); // 5. young has backed off
        yield* m.unlock();
      });
      sim.spawn("old", "process", function* () {
        const ctx = yield* WwAcquireCtx.init(sim, cls); // 1. stamp 1
        yield* c0.complete();
        yield* c2.waitForCompletion(); // 2.
        seen.push(yield* m.lock(ctx)); // 3. queues ahead of young: young dies (5.)
        yield* m.unlock();
        ctx.fini();
      });
      expect(sim.runAll().outcome).toBe("done");
      expect(seen.slice(0, 1)).toEqual(["backoff"]);
      expect(seen.slice(1).sort()).toEqual(["locked", "locked"]);
      expect(sim.reports).toEqual([]);
    }
  });

  it("an older context holding locks waits for a younger holder instead of dying", () => {
    for (let seed = 0; seed < 20; seed++) {
      const sim = newSim({ seed });
      const { cls, locks } = world(sim, "wait-die", 2);
      const [a, b] = locks as [WwMutex, WwMutex];
      const initd = new Completion(sim);
      const youngHas = new Completion(sim);
      const seen: WwLockResult[] = [];
      const old = sim.spawn("old", "process", function* () {
        const ctx = yield* WwAcquireCtx.init(sim, cls);
        yield* initd.complete();
        yield* a.lock(ctx);
        yield* youngHas.waitForCompletion();
        seen.push(yield* b.lock(ctx));
        yield* unlockAll([a, b]);
        ctx.fini();
      });
      sim.spawn("young", "process", function* () {
        yield* initd.waitForCompletion();
        const ctx = yield* WwAcquireCtx.init(sim, cls);
        yield* b.lock(ctx);
        yield* youngHas.complete();
        yield* until(() => old.state === "blocked");
        yield* b.unlock();
        ctx.fini();
      });
      expect(sim.runAll().outcome).toBe("done");
      expect(seen).toEqual(["locked"]);
      expect(sim.reports).toEqual([]);
    }
  });
});

describe("wound-wait", () => {
  it("wounding wakes a younger context already blocked, which then backs off", () => {
    for (let seed = 0; seed < 20; seed++) {
      const sim = newSim({ seed });
      const { cls, locks } = world(sim, "wound-wait", 2);
      const [a, b] = locks as [WwMutex, WwMutex];
      const c0 = new Completion(sim);
      const seen: unknown[] = [];
      let youngCtx: WwAcquireCtx | null = null;
      const young = sim.spawn("young", "process", function* () {
        yield* c0.waitForCompletion(); // 1. after old took a
        const ctx = yield* WwAcquireCtx.init(sim, cls); // stamp 2
        youngCtx = ctx;
        yield* b.lock(ctx); // 2.
        const r = yield* a.lock(ctx); // 3. waits for the older holder, unwounded so far
        seen.push(["young", r, ctx.wounded]); // 5. woken: wounded and holding b
        yield* b.unlock();
        yield* a.lockSlow(ctx);
        seen.push(["young", yield* b.lock(ctx)]);
        yield* unlockAll([a, b]);
        ctx.fini();
      });
      sim.spawn("old", "process", function* () {
        const ctx = yield* WwAcquireCtx.init(sim, cls); // stamp 1
        yield* a.lock(ctx); // 1.
        yield* c0.complete();
        yield* until(() => young.state === "blocked" && b.ctx !== null); // 2. young holds b, waits for a
        const wounded = youngCtx?.wounded;
        seen.push(["old", wounded, yield* b.lock(ctx)]); // 4. wounds young, waits for b
        yield* unlockAll([a, b]);
        ctx.fini();
      });
      expect(sim.runAll().outcome).toBe("done");
      expect(seen).toEqual([
        ["young", "backoff", true],
        ["old", false, "locked"],
        ["young", "locked"],
      ]);
      expect(sim.reports).toEqual([]);
    }
  });

  it("a waiter holding nothing does not wound; the younger holder finishes undisturbed", () => {
    for (let seed = 0; seed < 10; seed++) {
      const sim = newSim({ seed });
      const { cls, locks } = world(sim, "wound-wait", 2);
      const [a, b] = locks as [WwMutex, WwMutex];
      const oldInit = new Completion(sim);
      const youngHas = new Completion(sim);
      const seen: unknown[] = [];
      const old = sim.spawn("old", "process", function* () {
        const ctx = yield* WwAcquireCtx.init(sim, cls);
        yield* oldInit.complete();
        yield* youngHas.waitForCompletion();
        seen.push(yield* a.lock(ctx)); // acquired 0: waits, wounds nobody
        yield* a.unlock();
        ctx.fini();
      });
      sim.spawn("young", "process", function* () {
        yield* oldInit.waitForCompletion();
        const ctx = yield* WwAcquireCtx.init(sim, cls);
        yield* a.lock(ctx);
        yield* youngHas.complete();
        yield* until(() => old.state === "blocked");
        seen.push(ctx.wounded, yield* b.lock(ctx));
        yield* unlockAll([b, a]);
        ctx.fini();
      });
      expect(sim.runAll().outcome).toBe("done");
      expect(seen).toEqual([false, "locked", "locked"]);
      expect(sim.reports).toEqual([]);
    }
  });
});

describe("injected back-offs (CONFIG_DEBUG_WW_MUTEX_SLOWPATH)", () => {
  it("the n-th attempt made while holding a lock backs off, exactly there, and the retry loop completes", () => {
    for (const algorithm of ALGORITHMS) {
      const sim = newSim();
      const { cls, locks } = world(sim, algorithm, 4);
      const log: string[] = [];
      const out = sim.run(function* () {
        const ctx = yield* WwAcquireCtx.init(sim, cls, { injectBackoffAt: 3 });
        const backoffs = yield* lockAll(ctx, locks, log);
        const acquired = ctx.acquired;
        yield* unlockAll(locks);
        ctx.fini();
        return { backoffs, acquired };
      });
      expect(out).toEqual({ backoffs: 1, acquired: 4 });
      // a holds nothing yet (not counted); b, c, d are attempts 1, 2, 3. After
      // the retry a, b, c are attempts 4-6 and d is already held: no second injection.
      expect(log).toEqual([
        "main lock a: locked",
        "main lock b: locked",
        "main lock c: locked",
        "main lock d: backoff",
        "main lockSlow d",
        "main lock a: locked",
        "main lock b: locked",
        "main lock c: locked",
        "main lock d: already-held",
      ]);
      expect(sim.reports).toEqual([]);
    }
  });

  it("takes the class's setting by default; a context's 0 disables it", () => {
    const sim = newSim();
    const { cls, locks } = world(sim, "wait-die", 2, { injectBackoffAt: 1 });
    const [a, b] = locks as [WwMutex, WwMutex];
    const out = sim.run(function* () {
      const r: WwLockResult[] = [];
      for (const options of [{}, { injectBackoffAt: 0 }]) {
        const ctx = yield* WwAcquireCtx.init(sim, cls, options);
        r.push(yield* a.lock(ctx), yield* b.lock(ctx));
        for (const m of [a, b]) if (m.ctx === ctx) yield* m.unlock();
        ctx.fini();
      }
      return r;
    });
    expect(out).toEqual(["locked", "backoff", "locked", "locked"]);
    expect(sim.reports).toEqual([]);
  });

  it('"explore" makes each counted attempt a sim.choose() step: DFS runs every outcome, at most EXPLORED_BACKOFFS per context', () => {
    // One task locks a, b under one context. The choice is the public
    // sim.choose(2) op, a step of its own before the attempt; its outcome
    // 1 injects a back-off. Executions (choices in order):
    //   1. b: 0                     a locked, b locked
    //   2. b: 1, a: 0               back-off at b; lockSlow b; a locked; b already-held
    //   3. b: 1, a: 1               back-off at b, then at a; lockSlow a; a already-held;
    //                               b is the third counted attempt: EXPLORED_BACKOFFS
    //                               reached, no choice, locked
    const runs: string[] = [];
    const scenario: Scenario = (sim) => {
      const cls = new WwClass(sim, "test_ww_class", { algorithm: "wait-die" });
      const locks = ["a", "b"].map((name) => new WwMutex(sim, cls, { name, static: true }));
      sim.spawn("t", "process", function* () {
        const log: string[] = [];
        const ctx = yield* WwAcquireCtx.init(sim, cls, { injectBackoffAt: "explore" });
        const backoffs = yield* lockAll(ctx, locks, log);
        yield* unlockAll(locks);
        ctx.fini();
        runs.push(`${backoffs}: ${log.filter((l) => !l.endsWith("locked")).join(", ")}`);
      });
    };
    const r = explore(scenario, { strategy: "dfs", executions: 100 });
    expect(r).toMatchObject({ executions: 3, failed: 0, exhausted: true });
    expect(runs).toEqual(["0: ", "1: t lock b: backoff, t lockSlow b, t lock b: already-held", "2: t lock b: backoff, t lockSlow b, t lock a: backoff, t lockSlow a, t lock a: already-held"]);
  });

  it("with two tasks contending, injected and real back-offs together still complete", () => {
    for (const algorithm of ALGORITHMS) {
      for (let seed = 0; seed < 50; seed++) {
        const sim = newSim({ seed });
        const { cls, locks } = world(sim, algorithm, 3, { injectBackoffAt: 2 });
        const [a, b, c] = locks as [WwMutex, WwMutex, WwMutex];
        let backoffs = 0;
        for (const [name, order] of [
          ["A", [a, b, c]],
          ["B", [c, b, a]],
        ] as const) {
          sim.spawn(name, "process", function* () {
            const ctx = yield* WwAcquireCtx.init(sim, cls);
            const n = yield* lockAll(ctx, order);
            backoffs += n;
            yield* unlockAll(order);
            ctx.fini();
          });
        }
        expect(sim.runAll().outcome).toBe("done");
        expect(sim.reports).toEqual([]);
        // Each context's second counted attempt backs off: at least two in all.
        expect(backoffs).toBeGreaterThanOrEqual(2);
      }
    }
  });
});

describe("pinned schedules: AB-BA, task A locking a then b, task B b then a", () => {
  function abba(algorithm: WwAlgorithm, seed: number): { backoffs: number; log: string[] } {
    const sim = newSim({ seed });
    const { cls, locks } = world(sim, algorithm, 2);
    const [a, b] = locks as [WwMutex, WwMutex];
    const log: string[] = [];
    let backoffs = 0;
    for (const [name, order] of [
      ["A", [a, b]],
      ["B", [b, a]],
    ] as const) {
      sim.spawn(name, "process", function* () {
        const ctx = yield* WwAcquireCtx.init(sim, cls);
        log.push(`${name} init: stamp ${ctx.stamp}`);
        const n = yield* lockAll(ctx, order, log);
        backoffs += n;
        yield* unlockAll(order);
        log.push(`${name} unlocked both`);
        ctx.fini();
      });
    }
    expect(sim.runAll().outcome).toBe("done");
    expect(sim.reports).toEqual([]);
    return { backoffs, log };
  }

  it("wait-die, seed 41: the younger context dies twice", () => {
    // B runs first, so it is older (stamp 1). Each takes its first mutex;
    // A, younger and holding a, asks for b held by older B: it dies (1st
    // back-off) and drops a. B takes a and drops b but still holds a when A,
    // now holding b from the slow path, asks for a: held by older B again,
    // so it dies again (2nd back-off), drops b and waits for a in the slow
    // path, never dying there. Wound-wait would have let it wait instead.
    const { backoffs, log } = abba("wait-die", 41);
    expect(backoffs).toBe(2);
    expect(log).toEqual([
      "B init: stamp 1",
      "A init: stamp 2",
      "B lock b: locked",
      "A lock a: locked",
      "A lock b: backoff",
      "B lock a: locked",
      "A lockSlow b",
      "A lock a: backoff",
      "B unlocked both",
      "A lockSlow a",
      "A lock a: already-held",
      "A lock b: locked",
      "A unlocked both",
    ]);
  });

  it("back-offs per run over seeds 0-99: wait-die up to 2, wound-wait at most 1", () => {
    // A run needs a back-off only when both tasks hold their first mutex
    // before either takes its second (38 of the 100 seeds). Under wound-wait
    // the younger context backs off once, then waits for the older one while
    // holding its slow-path mutex: the older one wants nothing more, so it
    // is never wounded again. Under wait-die it dies again whenever the older
    // context still holds the other mutex when it asks (7 seeds, as seed 41).
    const histogram = (algorithm: WwAlgorithm) => {
      const h = [0, 0, 0];
      for (let seed = 0; seed < 100; seed++) {
        const { backoffs } = abba(algorithm, seed);
        h[backoffs] = (h[backoffs] ?? 0) + 1;
      }
      return h;
    };
    expect(histogram("wait-die")).toEqual([62, 31, 7]);
    expect(histogram("wound-wait")).toEqual([62, 38, 0]);
  });

  it("replays: the same seed gives the same trace", () => {
    const hash = () => {
      const sim = newSim({ seed: 12 });
      const { cls, locks } = world(sim, "wound-wait", 3);
      for (let t = 0; t < 3; t++) {
        sim.spawn(`t${t}`, "process", function* () {
          const ctx = yield* WwAcquireCtx.init(sim, cls);
          const order = [...locks.slice(t), ...locks.slice(0, t)];
          yield* lockAll(ctx, order);
          yield* unlockAll(order);
          ctx.fini();
        });
      }
      return sim.runAll().traceHash;
    };
    expect(hash()).toBe(hash());
  });
});

describe("ww_acquire_init() is a step: the explorer orders two contexts' stamps both ways", () => {
  it("DFS reaches both stamp orders, as the unreduced search does", () => {
    const stamps = (reduction: "dpor" | "none") => {
      const seen = new Set<string>();
      const s = (sim: Sim) => {
        const cls = new WwClass(sim, "test_ww_class", { algorithm: "wait-die" });
        const m = new WwMutex(sim, cls, { name: "m", static: true });
        for (const name of ["t1", "t2"]) {
          sim.spawn(name, "process", function* () {
            const ctx = yield* WwAcquireCtx.init(sim, cls);
            if (name === "t1") seen.add(`t1 stamp ${ctx.stamp}`);
            yield* m.lock(ctx);
            yield* m.unlock();
            ctx.fini();
          });
        }
      };
      explore(s, { strategy: { name: "dfs", reduction }, executions: 10_000, stopAtFirst: false });
      return [...seen].sort();
    };
    expect(stamps("dpor")).toEqual(["t1 stamp 1", "t1 stamp 2"]);
    expect(stamps("none")).toEqual(["t1 stamp 1", "t1 stamp 2"]);
  });
});
