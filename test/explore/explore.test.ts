/**
 * explore() and replay(): known bugs found by every strategy, failures that
 * replay byte for byte, divergence explained, shrinking, livelock, injected
 * choices, option checking.
 */
import { describe, expect, it } from "vitest";
import {
  ArgumentError,
  ArgumentRangeError,
  condResched,
  defineOp,
  access,
  type Effect,
  explore,
  formatReport,
  kfree,
  Kref,
  Mutex,
  replay,
  SimObject,
  withoutStacks,
  type ExploreStrategy,
  type Failure,
  type Scenario,
} from "../../src/index.js";
import { abba } from "./fixtures/scenarios.js";

/** Every failure found in this file, replayed at the end. */
const found: { scenario: Scenario; failure: Failure; checks?: { lockdep: boolean } }[] = [];

function find(scenario: Scenario, strategy: ExploreStrategy, executions: number, checks?: { lockdep: boolean }): Failure {
  const r = explore(scenario, { strategy, executions, ...(checks === undefined ? {} : { checks }) });
  const f = r.failures[0];
  if (f === undefined) throw new Error(`${JSON.stringify(strategy)} found nothing in ${r.executions} executions`);
  found.push({ scenario, failure: f, ...(checks === undefined ? {} : { checks }) });
  return f;
}

// -- the known-bug programs ------------------------------------------------

class Log extends SimObject {
  readonly entries: string[] = [];
}
const note = defineOp("note", function* (log: Log, what: string) {
  yield* access(log, "write");
  log.entries.push(what);
});

/**
 * An order violation that needs two preemptions: t2 must run between t1's
 * two steps, and t1 between t2's: a1 b1 a2 b2.
 */
const twoPreemptions: Scenario = (sim) => {
  const log = new Log(sim, "Log", { static: true });
  sim.spawn("t1", "process", function* () {
    yield* note(log, "a1");
    yield* note(log, "a2");
  });
  sim.spawn("t2", "process", function* () {
    yield* note(log, "b1");
    yield* note(log, "b2");
    if (log.entries.join(" ") === "a1 b1 a2 b2") throw new Error("order violation: a1 b1 a2 b2");
  });
};

class Bo extends SimObject {
  readonly kref = new Kref<Bo>(this);
}
function* boFree(bo: Bo): Generator<Effect, void, unknown> {
  yield* kfree(bo);
}

/**
 * A lookup that takes a reference with kref_get instead of
 * kref_get_unless_zero, racing with the final put of the table's reference.
 */
const lookupWithoutGetUnlessZero: Scenario = (sim) => {
  const table: { bo: Bo | null } = sim.share({ bo: new Bo(sim, "Bo") });
  sim.spawn("lookup", "process", function* () {
    yield* access(table, "read");
    const bo = table.bo;
    yield* condResched();
    if (bo === null) return;
    yield* bo.kref.get(); // BUG: the count may already be zero
    yield* bo.kref.put(boFree);
  });
  sim.spawn("remove", "process", function* () {
    yield* access(table, "write");
    const bo = table.bo as Bo;
    table.bo = null;
    yield* bo.kref.put(boFree); // the table's reference, the last one
  });
};

/** Check-then-act on a refcount read: both trimmers see 2 and both drop the cache's reference. */
const checkThenAct: Scenario = (sim) => {
  const bo = new Bo(sim, "Bo");
  sim.run(function* () {
    yield* bo.kref.get(); // the cache's reference
  });
  for (const name of ["trim1", "trim2"]) {
    sim.spawn(name, "process", function* () {
      yield* access(bo.kref, "read");
      if (bo.kref.read() > 1) yield* bo.kref.put(boFree); // BUG: read, then act
    });
  }
  sim.spawn("owner", "process", function* () {
    yield* condResched();
    yield* bo.kref.put(boFree);
  });
};

const strategies: readonly ExploreStrategy[] = ["random", "pct", "dfs", "portfolio"];

describe.each(strategies.map((s) => [JSON.stringify(s), s] as const))("strategy %s finds", (_name, strategy) => {
  it("an AB-BA deadlock", () => {
    expect(find(abba, strategy, 2000, { lockdep: false }).report.kind).toBe("deadlock");
  });

  it("an order violation that needs two preemptions", () => {
    const f = find(twoPreemptions, strategy, 5000);
    expect(f.report).toMatchObject({ kind: "task-exception", error: "Error: order violation: a1 b1 a2 b2" });
  });

  it("a lookup taking a reference without get-unless-zero, against the final put", () => {
    expect(find(lookupWithoutGetUnlessZero, strategy, 2000).report.kind).toBe("refcount-inc-from-zero");
  });

  it("a check-then-act race on a refcount read", () => {
    // Depending on the schedule, the second trimmer either reads the freed
    // object's count (use-after-free) or its put is one too many (underflow);
    // or the owner's put comes first, neither trimmer sees 2, and the cache's
    // reference is never dropped (a leak).
    expect(["refcount-underflow", "use-after-free", "leak"]).toContain(find(checkThenAct, strategy, 2000).report.kind);
  });
});

describe("explore", () => {
  it("finds nothing in a correct program, and says why it stopped", () => {
    const fixed: Scenario = (sim) => {
      const a = new Mutex(sim, "A", { static: true });
      for (const n of ["t1", "t2"]) {
        sim.spawn(n, "process", function* () {
          yield* a.lock();
          yield* a.unlock();
        });
      }
    };
    const r = explore(fixed, { strategy: "random", executions: 50 });
    expect(r).toMatchObject({ executions: 50, failed: 0, failures: [], stoppedBy: "executions", stepBoundHits: 0 });
    expect(r.steps.min).toBeGreaterThan(0);
    expect(r.steps.max).toBeGreaterThanOrEqual(r.steps.mean);
    const d = explore(fixed, { strategy: "dfs", executions: 1000 });
    expect(d).toMatchObject({ exhausted: true, stoppedBy: "exhausted", failed: 0 });
  });

  it("is deterministic: the same options give the same failures and statistics", () => {
    const strip = (r: ReturnType<typeof explore>) => ({ ...r, timeMs: 0 });
    const a = explore(abba, { strategy: "portfolio", executions: 200, stopAtFirst: false, checks: { lockdep: false } });
    const b = explore(abba, { strategy: "portfolio", executions: 200, stopAtFirst: false, checks: { lockdep: false } });
    expect(strip(a)).toEqual(strip(b));
  });

  it("shrinks a failing schedule to fewer context switches, and the report shows the shrunk one", () => {
    const f = find(twoPreemptions, "random", 5000);
    expect(f.shrunk).not.toBeNull();
    const { from, to } = f.shrunk as { from: number; to: number };
    expect(to).toBeLessThanOrEqual(from);
    // a1 b1 a2 b2 needs at least three switches: t1 -> t2 -> t1 -> t2.
    expect(to).toBeGreaterThanOrEqual(3);
  });

  it("collects distinct failures with stopAtFirst off", () => {
    const both: Scenario = (sim) => {
      abba(sim);
      lookupWithoutGetUnlessZero(sim);
    };
    const r = explore(both, { strategy: "random", executions: 300, stopAtFirst: false, checks: { lockdep: false } });
    const kinds = new Set(r.failures.map((f) => f.report.kind));
    expect(kinds.has("deadlock")).toBe(true);
    expect(r.failed).toBeGreaterThanOrEqual(r.failures.length);
    expect(new Set(r.failures.map((f) => f.fingerprint)).size).toBe(r.failures.length);
  });

  it("reports a livelock naming the loop, not a silent step-bound hit", () => {
    const spin: Scenario = (sim) => {
      const m = new Mutex(sim, "m", { static: true });
      sim.spawn("holder", "process", function* () {
        yield* m.lock();
        for (;;) yield* condResched(); // never lets go
      });
      sim.spawn("poller", "process", function* () {
        while (!(yield* m.trylock())) yield* condResched();
      });
    };
    const r = explore(spin, { strategy: "random", executions: 5, maxSteps: 500 });
    expect(r.failures[0]?.report.kind).toBe("livelock");
    const text = formatReport(r.failures[0]?.report as never);
    expect(text).toContain("looping over:");
  });

  it("a long finite loop of condResched() cut by the limit is a step-bound hit, not a livelock: it reads nothing it could wait for", () => {
    const loop: Scenario = (sim) => {
      sim.spawn("looper", "process", function* () {
        for (let i = 0; i < 500; i++) yield* condResched();
      });
    };
    const r = explore(loop, { strategy: "random", executions: 3, maxSteps: 100 });
    expect(r).toMatchObject({ failed: 0, stepBoundHits: 3, failures: [] });
  });

  it("a spin on a flag nobody sets is a livelock at the limit, whatever limit cuts it", () => {
    const spin: Scenario = (sim) => {
      const flag = new SimObject(sim, "Flag", { static: true });
      sim.spawn("waiter", "process", function* () {
        for (;;) {
          yield* access(flag, "read");
          yield* condResched();
        }
      });
    };
    for (const maxSteps of [65, 66, 100, 128, 129, 130, 131, 500]) {
      const r = explore(spin, { strategy: "random", executions: 1, maxSteps });
      expect(r.failures[0]?.report.kind, `maxSteps ${maxSteps}`).toBe("livelock");
    }
  });

  it("a task that throws a value without text (no prototype, a revoked Proxy) is a task-exception report", () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    for (const value of [Object.create(null) as unknown, proxy, Symbol("s")]) {
      const thrower: Scenario = (sim) => {
        sim.spawn("t", "process", function* () {
          yield* condResched();
          throw value;
        });
      };
      const r = explore(thrower, { strategy: "random", executions: 1 });
      expect(r.failures[0]?.report).toMatchObject({ kind: "task-exception", error: expect.stringMatching(/^an? /) as unknown });
    }
  });

  it("counts step-bound hits without a livelock as statistics, not failures", () => {
    const busy: Scenario = (sim) => {
      const bo = new Bo(sim, "Bo", { static: true });
      sim.spawn("worker", "process", function* () {
        // Progress on every step (refcount traffic), just too much of it.
        for (let i = 0; i < 1000; i++) {
          yield* bo.kref.get();
          yield* bo.kref.put(boFree);
        }
      });
    };
    const r = explore(busy, { strategy: "random", executions: 3, maxSteps: 100 });
    expect(r).toMatchObject({ failed: 0, stepBoundHits: 3 });
  });

  it("explores injected choices like scheduling choices", () => {
    const outcomes = new Set<number>();
    const choosy: Scenario = (sim) => {
      sim.spawn("t", "process", function* () {
        outcomes.add(yield* sim.choose(3));
      });
    };
    explore(choosy, { strategy: "random", executions: 60 });
    expect([...outcomes].sort()).toEqual([0, 1, 2]);
  });

  it("rejects bad options with typed errors naming them", () => {
    expect(() => explore(abba, { executions: 0 })).toThrow(ArgumentRangeError);
    expect(() => explore(abba, { maxSteps: -1 })).toThrow(expect.objectContaining({ argument: "maxSteps" }) as Error);
    expect(() => explore(abba, { shard: [2, 2] })).toThrow(expect.objectContaining({ argument: "shard" }) as Error);
    expect(() => explore(abba, { strategy: "bfs" as never })).toThrow(ArgumentError);
    expect(() => explore(abba, { strategy: { name: "pct", depth: 0 } })).toThrow(expect.objectContaining({ argument: "strategy.depth" }) as Error);
    expect(() => explore(abba, { strategy: { name: "dfs", preemptionBound: -1 } })).toThrow(ArgumentRangeError);
    expect(() => explore(3 as never)).toThrow(expect.objectContaining({ argument: "scenario" }) as Error);
    expect(() => replay(abba, "not a token")).toThrow(expect.objectContaining({ argument: "token" }) as Error);
  });
});

describe("lock-order cycles", () => {
  it("come with the token of an execution that deadlocks for real, when the explorer finds one", () => {
    // With lockdep on, the first execution reports the AB-BA order at once,
    // whether or not it deadlocks; the explorer then looks for a real deadlock.
    const r = explore(abba, { strategy: "dfs", executions: 10 });
    const f = r.failures[0] as Failure;
    expect(f.report.kind).toBe("lock-order-cycle");
    expect(f.deadlock?.report.kind).toBe("deadlock");
    const again = replay(abba, f.deadlock?.token ?? "", { stacks: false });
    expect(again.divergence).toBeNull();
    expect(again.reports.map((x) => x.kind)).toContain("deadlock");
    // In that run the cycle report says the deadlock happened.
    const cycle = again.reports.find((x) => x.kind === "lock-order-cycle");
    expect(cycle).toMatchObject({ actual: true });
  });
});

describe("replay", () => {
  it("diverging: says at which choice and step, and why", () => {
    const f = find(abba, "random", 2000, { lockdep: false });
    // The scenario changed: t1 now yields once more before its first lock.
    const changed: Scenario = (sim) => {
      const a = new Mutex(sim, "A", { static: true });
      const b = new Mutex(sim, "B", { static: true });
      sim.spawn("t1", "process", function* () {
        yield* condResched();
        yield* a.lock();
        yield* b.lock();
        yield* b.unlock();
        yield* a.unlock();
      });
      sim.spawn("t2", "process", function* () {
        yield* b.lock();
        yield* a.lock();
        yield* a.unlock();
        yield* b.unlock();
      });
    };
    const r = replay(changed, f.token, { checks: { lockdep: false } });
    expect(r.divergence).not.toBeNull();
    expect(r.divergence?.reason).toMatch(/differ from the recording|not enabled|more choices|before using every/);
    expect(r.divergence?.step).toBeGreaterThan(0);
  });

  it("every failure found in this file replays to a byte-identical report", () => {
    expect(found.length).toBeGreaterThan(10);
    for (const { scenario, failure, checks } of found) {
      const r = replay(scenario, failure.token, checks === undefined ? {} : { checks });
      expect(r.divergence).toBeNull();
      expect(r.report).not.toBeNull();
      // With stacks on (the default), every site also carries a stack; without them, the same bytes.
      const again = formatReport(withoutStacks(r.report as never)).split("\n");
      const first = formatReport(withoutStacks(failure.report)).split("\n");
      const at = again.findIndex((line, i) => line !== first[i]);
      expect(at === -1 ? null : [at, again[at], first[at]]).toBeNull();
      expect(again.length).toBe(first.length);
    }
  });
});
