/**
 * access() and the footprint check: driver state declared for the explorer,
 * and library ops that must touch only what their step declared.
 */
import { describe, expect, it } from "vitest";
import {
  access,
  ArgumentError,
  Completion,
  defineEffectKind,
  explore,
  Kref,
  Mutex,
  RwSemaphore,
  Sim,
  SimObject,
  SpinLock,
  WwAcquireCtx,
  WwClass,
  WwMutex,
  kfree,
  type Scenario,
} from "../../src/index.js";
import { touch } from "../../src/kernel/heap.js";

describe("access()", () => {
  it("is a step that names its object, read or write", () => {
    const sim = new Sim();
    const o = new SimObject(sim, "Bo", { name: "b", static: true });
    const shared = sim.share({ n: 0 });
    const steps: string[] = [];
    sim.setStrategy({ pick: () => 0, choose: () => 0, executed: (_t, e) => steps.push(e.describe()) });
    sim.run(function* () {
      yield* access(o, "read");
      yield* access(shared, "write");
      shared.n++;
    });
    expect(steps).toEqual(["start", 'access Bo#1 "b"', "access"]);
    expect(shared.n).toBe(1);
  });

  it("refuses bad arguments with a typed error naming each, and changes nothing", () => {
    const sim = new Sim();
    const shared = sim.share({ n: 0 });
    sim.run(function* () {
      expect(() => access(null as unknown as object, "read")).toThrow(ArgumentError);
      expect(() => access(null as unknown as object, "read")).toThrow(/obj/);
      expect(() => access(shared, "modify" as "read")).toThrow(/mode/);
      expect(() => access(shared, "read", {} as never)).toThrow(/kind/);
      expect(() => access({ not: "shared" }, "read")).toThrow(/sim\.share/);
      yield* access(shared, "read");
    });
    expect(sim.reports).toEqual([]);
    expect(() => sim.share(42 as unknown as object)).toThrow(/obj/);
  });

  it("refuses an object of another Sim, naming both", () => {
    const other = new Sim();
    const foreign = new SimObject(other, "Bo", { name: "theirs", static: true });
    const sim = new Sim();
    sim.run(function* () {
      expect(() => access(foreign, "write")).toThrow(ArgumentError);
      expect(() => access(foreign, "write")).toThrow(/Bo#1 "theirs" belongs to Sim#\d+ \(seed 0\) but is used in Sim#\d+ \(seed 0\) \(task main\/1\)/);
      yield* access(sim.share({}), "read");
    });
  });

  it("takes a kind of the driver's own, whose steps may commute", () => {
    const LIST_ADD = defineEffectKind({ name: "test-list-add", commutesWith: ["self"] });
    const adds: Scenario = (sim) => {
      const list = sim.share<number[]>([]);
      for (let i = 0; i < 3; i++) {
        sim.spawn(`t${i}`, "process", function* () {
          yield* access(list, "write", LIST_ADD);
          list.push(i);
        });
      }
    };
    // Three adds that commute: one trace.
    expect(explore(adds, { strategy: "dfs", executions: 100 })).toMatchObject({ executions: 1, exhausted: true });
  });
});

describe("the footprint check", () => {
  it("is on in this test suite (GPUVM_SIM_FOOTPRINT=1) and off by default otherwise", () => {
    expect(new Sim().checks.footprint).toBe(true);
    expect(new Sim({ checks: { footprint: false } }).checks.footprint).toBe(false);
  });

  it("reports an op that changes an object its step did not declare, naming the op, the object and the step", () => {
    const sim = new Sim({ onReport: "collect", checks: { footprint: true } });
    const vm = new SimObject(sim, "Vm", { name: "vm", static: true });
    const m = new Mutex(sim, "vm->lock", { static: true });
    sim.run(function* () {
      yield* access(vm, "read");
      touch(sim, m, true, "vm_update");
      touch(sim, vm, false, "vm_lookup"); // declared: no report
      touch(sim, vm, true, "vm_write"); // declared read only: a report
    });
    expect(sim.reports).toMatchObject([
      { kind: "usage", problem: "undeclared-access", op: "vm_update", object: 'Mutex#2 "vm->lock"', objectType: "Mutex", mode: "write", declared: 'access Vm#1 "vm"' },
      { kind: "usage", op: "vm_write", object: 'Vm#1 "vm"', mode: "write" },
    ]);
  });

  it("files nothing when it is off", () => {
    const sim = new Sim({ onReport: "collect", checks: { footprint: false } });
    const m = new Mutex(sim, "m", { static: true });
    sim.run(function* () {
      yield* access(m, "read");
      touch(sim, m, true, "sneaky");
    });
    expect(sim.reports).toEqual([]);
  });

  it("every library op touches only what its step declared (locks, rw semaphores, ww mutexes, krefs, completions, kfree)", () => {
    class Bo extends SimObject {
      readonly kref = new Kref<Bo>(this);
    }
    const everything: Scenario = (sim) => {
      const m = new Mutex(sim, "m", { static: true });
      const s = new SpinLock(sim, "s", { static: true });
      const rw = new RwSemaphore(sim, "rw", { static: true });
      const cls = new WwClass(sim, "test_ww_class", { algorithm: "wound-wait" });
      const a = new WwMutex(sim, cls, { name: "a", static: true });
      const b = new WwMutex(sim, cls, { name: "b", static: true });
      const done = new Completion(sim, { name: "done", static: true });
      const bo = new Bo(sim, "Bo");
      for (const name of ["x", "y"]) {
        sim.spawn(name, "process", function* () {
          yield* m.lock();
          yield* m.unlock();
          if (yield* m.trylock()) yield* m.unlock();
          const flags = yield* s.lockIrqsave();
          yield* s.unlockIrqrestore(flags);
          yield* rw.downRead();
          yield* rw.upRead();
          yield* rw.downWrite();
          yield* rw.downgrade();
          yield* rw.upRead();
          const ctx = yield* WwAcquireCtx.init(sim, cls);
          const [first, second] = name === "x" ? [a, b] : [b, a];
          let contended: WwMutex | null = null;
          for (;;) {
            // The back-off dance of examples/ww-backoff.ts, for two mutexes.
            const held: WwMutex[] = [];
            if (contended !== null) {
              yield* contended.lockSlow(ctx);
              held.push(contended);
            }
            let lost: WwMutex | null = null;
            for (const mu of [first, second]) {
              if (mu === contended) continue;
              if ((yield* mu.lock(ctx)) === "backoff") {
                lost = mu;
                break;
              }
              held.push(mu);
            }
            for (const mu of held) yield* mu.unlock();
            if (lost === null) break;
            contended = lost;
          }
          ctx.fini();
          yield* bo.kref.get();
          if (yield* bo.kref.getUnlessZero()) yield* bo.kref.put(() => undefined);
          yield* bo.kref.put((o) => kfree(o));
          yield* done.complete();
          yield* done.waitForCompletion();
        });
      }
    };
    // The BO's first reference is never dropped: leaks are not what this test is about.
    const r = explore(everything, { strategy: "random", executions: 200, stopAtFirst: false, checks: { footprint: true, lifetimes: false } });
    expect(r.failures.map((f) => f.report.kind)).toEqual([]);
  });
});
