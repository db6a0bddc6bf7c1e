/**
 * The reduction is sound for every lock the library has: for small programs
 * over each lock type and each way of taking it (plain, _irq, _bh, trylock,
 * in an interrupt section, queued or not), DFS with DPOR reaches the same
 * outcomes as the unreduced search: the same values seen by readers in runs
 * that finish, and the same kinds of failure. An effect kind that declares
 * two steps never co-enabled when they can be, or commuting when they do
 * not, makes the reduction skip schedules, and one of these fails.
 */
import { describe, expect, it } from "vitest";
import {
  access,
  Completion,
  explore,
  localBhDisable,
  localBhEnable,
  msleep,
  Mutex,
  RawSpinLock,
  RwLock,
  RwSemaphore,
  softirqEnter,
  softirqExit,
  SpinLock,
  WwAcquireCtx,
  WwClass,
  WwMutex,
  kfree,
  Kref,
  SimObject,
  type Effect,
  type Sim,
  type Task,
} from "../../src/index.js";
import { reached as reachedIn, type ReductionProgram } from "../support/reduction.js";

/** An op or a generator: anything `yield*` runs. */
interface Runnable<T> {
  [Symbol.iterator](): Iterator<Effect, T, unknown>;
}
type Step = () => Runnable<unknown>;
/** A lock program's two sides: how a writer takes and drops it, how a reader does (a trylock's take may fail: false). */
interface Sides {
  readonly write: [take: Step, drop: Step];
  readonly read: [take: () => Runnable<boolean>, drop: Step];
  /** The readers' context (default process). */
  readonly readerContext?: "process" | "hardirq" | "softirq";
}

const always = (s: Step) =>
  function* (): Generator<Effect, boolean, unknown> {
    yield* s();
    return true;
  };

/** Make each program's lock and its sides. */
const PROGRAMS: Record<string, (sim: Sim) => Sides> = {
  "RwLock (queued): read_lock / write_lock": (sim) => {
    const l = new RwLock(sim, "L", { static: true });
    return { write: [() => l.writeLock(), () => l.writeUnlock()], read: [always(() => l.readLock()), () => l.readUnlock()] };
  },
  "RwLock (queued): read_lock_irq / write_lock_irq": (sim) => {
    const l = new RwLock(sim, "L", { static: true });
    return { write: [() => l.writeLockIrq(), () => l.writeUnlockIrq()], read: [always(() => l.readLockIrq()), () => l.readUnlockIrq()] };
  },
  "RwLock (queued): read_lock_bh (in_interrupt) / write_lock_bh": (sim) => {
    const l = new RwLock(sim, "L", { static: true });
    return { write: [() => l.writeLockBh(), () => l.writeUnlockBh()], read: [always(() => l.readLockBh()), () => l.readUnlockBh()] };
  },
  "RwLock (queued): a reader in a softirq section / write_lock_bh": (sim) => {
    const l = new RwLock(sim, "L", { static: true });
    return {
      write: [() => l.writeLockBh(), () => l.writeUnlockBh()],
      read: [
        function* () {
          softirqEnter();
          yield* l.readLock();
          return true;
        },
        function* () {
          yield* l.readUnlock();
          softirqExit();
        },
      ],
    };
  },
  "RwLock (queued): read_trylock / write_lock": (sim) => {
    const l = new RwLock(sim, "L", { static: true });
    return { write: [() => l.writeLock(), () => l.writeUnlock()], read: [() => l.readTrylock(), () => l.readUnlock()] };
  },
  "RwLock (queued): read_lock / write_trylock": (sim) => {
    const l = new RwLock(sim, "L", { static: true });
    let got = false;
    return {
      write: [
        function* () {
          got = yield* l.writeTrylock();
        },
        function* () {
          if (got) yield* l.writeUnlock();
        },
      ],
      read: [always(() => l.readLock()), () => l.readUnlock()],
    };
  },
  "RwLock (generic): read_lock / write_lock": (sim) => {
    const l = new RwLock(sim, "L", { static: true, queued: false });
    return { write: [() => l.writeLock(), () => l.writeUnlock()], read: [always(() => l.readLock()), () => l.readUnlock()] };
  },
  "RwLock (queued): a hardirq task's read_lock / write_lock_irq": (sim) => {
    const l = new RwLock(sim, "L", { static: true });
    return { write: [() => l.writeLockIrq(), () => l.writeUnlockIrq()], read: [always(() => l.readLock()), () => l.readUnlock()], readerContext: "hardirq" };
  },
  "RwLock (generic): a reader taking the read side twice / write_lock": (sim) => {
    const l = new RwLock(sim, "L", { static: true, queued: false });
    return {
      write: [() => l.writeLock(), () => l.writeUnlock()],
      read: [
        function* () {
          yield* l.readLock();
          yield* l.readLock();
          return true;
        },
        function* () {
          yield* l.readUnlock();
          yield* l.readUnlock();
        },
      ],
    };
  },
  // With two readers the unreduced search of this one is too large for a unit test: one reader.
  "RwLock (queued): a reader taking the read side twice / write_lock (can deadlock), one reader only": (sim) => {
    const l = new RwLock(sim, "L", { static: true });
    return {
      write: [() => l.writeLock(), () => l.writeUnlock()],
      read: [
        function* () {
          yield* l.readLock();
          yield* l.readLock();
          return true;
        },
        function* () {
          yield* l.readUnlock();
          yield* l.readUnlock();
        },
      ],
    };
  },
  "RwSemaphore: down_read / down_write": (sim) => {
    const l = new RwSemaphore(sim, "S", { static: true });
    return { write: [() => l.downWrite(), () => l.upWrite()], read: [always(() => l.downRead()), () => l.upRead()] };
  },
  "RwSemaphore: down_read_trylock / down_write": (sim) => {
    const l = new RwSemaphore(sim, "S", { static: true });
    return { write: [() => l.downWrite(), () => l.upWrite()], read: [() => l.downReadTrylock(), () => l.upRead()] };
  },
  "Mutex: mutex_lock on both sides": (sim) => {
    const l = new Mutex(sim, "M", { static: true });
    return { write: [() => l.lock(), () => l.unlock()], read: [always(() => l.lock()), () => l.unlock()] };
  },
  "Mutex: mutex_trylock / mutex_lock": (sim) => {
    const l = new Mutex(sim, "M", { static: true });
    return { write: [() => l.lock(), () => l.unlock()], read: [() => l.trylock(), () => l.unlock()] };
  },
  "SpinLock: spin_lock_bh / spin_lock_irqsave": (sim) => {
    const l = new SpinLock(sim, "S", { static: true });
    let flags = { irqsOff: 0 };
    return {
      write: [() => l.lockBh(), () => l.unlockBh()],
      read: [
        function* () {
          flags = yield* l.lockIrqsave();
          return true;
        },
        () => l.unlockIrqrestore(flags),
      ],
    };
  },
  "SpinLock: a hardirq task's spin_lock / spin_lock_irqsave": (sim) => {
    const l = new SpinLock(sim, "S", { static: true });
    let flags = { irqsOff: 0 };
    return {
      write: [
        function* () {
          flags = yield* l.lockIrqsave();
        },
        () => l.unlockIrqrestore(flags),
      ],
      read: [always(() => l.lock()), () => l.unlock()],
      readerContext: "hardirq",
    };
  },
  "RawSpinLock: raw_spin_lock on both sides": (sim) => {
    const l = new RawSpinLock(sim, "R", { static: true });
    return { write: [() => l.lock(), () => l.unlock()], read: [always(() => l.lock()), () => l.unlock()] };
  },
};

/** What a search reached: the readers' observations in runs that finished, and the kinds of failure. */
function outcomes(make: (sim: Sim) => Sides, readers: number, reduction: "dpor" | "none"): string[] {
  const seen = new Set<string>();
  const scenario = (sim: Sim) => {
    const sides = make(sim);
    const data = sim.share({ value: 0 });
    const saw = new Map<string, string>();
    let done = 0;
    const total = readers + 1;
    const finish = () => {
      if (++done === total) seen.add([...saw].map(([k, v]) => `${k}=${v}`).sort().join(" "));
    };
    sim.spawn("w", "process", function* () {
      yield* sides.write[0]();
      yield* access(data, "write");
      data.value++;
      yield* sides.write[1]();
      finish();
    });
    for (let i = 0; i < readers; i++) {
      const name = `r${i}`;
      sim.spawn(name, sides.readerContext ?? "process", function* () {
        if (yield* sides.read[0]()) {
          yield* access(data, "read");
          saw.set(name, String(data.value));
          yield* sides.read[1]();
        } else saw.set(name, "busy");
        finish();
      });
    }
  };
  const r = explore(scenario, { strategy: { name: "dfs", reduction }, executions: 50_000, stopAtFirst: false, shrink: false, checks: { lifetimes: false } });
  expect(r.exhausted).toBe(true);
  for (const f of r.failures) seen.add(`failure:${f.report.kind}`);
  return [...seen].sort();
}

describe("DPOR reaches every outcome of the unreduced search, for every lock and way of taking it", () => {
  for (const [name, make] of Object.entries(PROGRAMS)) {
    for (const readers of name.endsWith("one reader only") ? [1] : [1, 2]) {
      it(`${name}, ${readers} reader${readers === 1 ? "" : "s"} and a writer`, () => {
        const all = outcomes(make, readers, "none");
        expect(all.length).toBeGreaterThan(1);
        expect(outcomes(make, readers, "dpor")).toEqual(all);
      });
    }
  }
});

/** What an exhaustive DFS reached (test/support/reduction.ts), with this file's limits. */
function reached(build: ReductionProgram, reduction: "dpor" | "none"): string[] {
  return reachedIn(build, reduction, { checks: { lifetimes: false } });
}

const FREE_FORM: Record<string, (sim: Sim, seen: (s: string) => void) => void> = {
  "a mutex holder sleeps (msleep) in its critical section": (sim, seen) => {
    const m = new Mutex(sim, "M", { static: true });
    const d = sim.share({ first: "" });
    sim.spawn("a", "process", function* () {
      yield* m.lock();
      yield* access(d, "write");
      d.first ||= "a";
      yield* msleep(1);
      yield* m.unlock();
    });
    sim.spawn("b", "process", function* () {
      yield* m.lock();
      yield* access(d, "write");
      d.first ||= "b";
      seen(`first=${d.first}`);
      yield* m.unlock();
    });
  },
  "a mutex holder waits with a timeout in its critical section, three tasks": (sim, seen) => {
    const m = new Mutex(sim, "M", { static: true });
    const c = new Completion(sim, { name: "c" });
    const d = sim.share({ log: "" });
    for (const name of ["a", "b", "c"]) {
      sim.spawn(name, "process", function* () {
        yield* m.lock();
        yield* access(d, "write");
        d.log += name;
        if (name === "a") yield* c.waitForCompletionTimeout(1000);
        if (d.log.length === 3) seen(d.log);
        yield* m.unlock();
      });
    }
  },
  "an rw_semaphore writer sleeps holding it, against a reader": (sim, seen) => {
    const s = new RwSemaphore(sim, "S", { static: true });
    const d = sim.share({ v: 0 });
    sim.spawn("w", "process", function* () {
      yield* s.downWrite();
      yield* access(d, "write");
      d.v = 1;
      yield* msleep(1);
      yield* s.upWrite();
    });
    sim.spawn("r", "process", function* () {
      yield* s.downRead();
      yield* access(d, "read");
      seen(`r=${d.v}`);
      yield* s.upRead();
    });
  },
  "ww_mutex_lock(NULL) against a context that takes the mutex and unlocks another of the class first": (sim, seen) => {
    const cls = new WwClass(sim, "c", { algorithm: "wait-die" });
    const a = new WwMutex(sim, cls, { static: true });
    const b = new WwMutex(sim, cls, { static: true });
    const d = sim.share({ log: "" });
    sim.spawn("t1", "process", function* () {
      const ctx = yield* WwAcquireCtx.init(cls);
      yield* a.lock(ctx);
      yield* b.lock(ctx);
      yield* access(d, "write");
      d.log += "1";
      yield* a.unlock();
      yield* b.unlock();
      ctx.fini();
    });
    sim.spawn("t2", "process", function* () {
      yield* b.lock(null);
      yield* access(d, "write");
      d.log += "2";
      seen(`log=${d.log}`);
      yield* b.unlock();
    });
  },
  "a mutex holder kills an interruptible waiter inside its critical section": (sim, seen) => {
    const m = new Mutex(sim, "M", { static: true });
    const d = sim.share({ log: "" });
    const waiter = { task: null as Task | null };
    sim.spawn("a", "process", function* () {
      yield* m.lock();
      yield* access(d, "write");
      d.log += "a";
      waiter.task?.kill();
      yield* m.unlock();
    });
    waiter.task = sim.spawn("b", "process", function* () {
      if ((yield* m.lockInterruptible()) !== "locked") {
        seen("interrupted");
        return;
      }
      yield* access(d, "write");
      d.log += "b";
      seen(`log=${d.log}`);
      yield* m.unlock();
    });
  },
  "a holder sleeps with three tasks on one mutex, and the last reference is dropped under it": (sim, seen) => {
    const m = new Mutex(sim, "M", { static: true });
    const bo = new SimObject(sim, "Bo");
    const kref = new Kref(bo);
    const release = function* (): Generator<Effect, void, unknown> {
      yield* kfree(bo);
    };
    const d = sim.share({ log: "" });
    sim.spawn("a", "process", function* () {
      yield* m.lock();
      yield* msleep(1);
      yield* kref.get();
      yield* kref.put(release);
      yield* access(d, "write");
      d.log += "a";
      yield* m.unlock();
    });
    for (const name of ["b", "c"]) {
      sim.spawn(name, "process", function* () {
        yield* m.lock();
        yield* access(d, "write");
        d.log += name;
        if (name === "b") yield* kref.put(release);
        if (d.log.length === 3) seen(d.log);
        yield* m.unlock();
      });
    }
  },
  "a softirq task against the step before a bottom-halves-off section": (sim, seen) => {
    const d = sim.share({ v: 0 });
    const e = sim.share({ v: 0 });
    sim.spawn("p", "process", function* () {
      yield* access(d, "write");
      d.v = 1;
      localBhDisable();
      yield* access(e, "write");
      localBhEnable();
    });
    sim.spawn("i", "softirq", function* () {
      yield* access(d, "read");
      seen(`i=${d.v}`);
    });
  },
};

describe("DPOR reaches every outcome of the unreduced search, in programs that sleep, wait or get interrupted in a critical section", () => {
  for (const [name, build] of Object.entries(FREE_FORM)) {
    it(name, () => {
      const all = reached(build, "none");
      expect(all.length).toBeGreaterThan(1);
      expect(reached(build, "dpor")).toEqual(all);
    });
  }
});
