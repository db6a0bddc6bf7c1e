/**
 * Lockdep: the dependency graph, its cycles, recursion, nesting, the chain
 * cache, irq usage states, and the checks on held locks.
 *
 * The families follow the kernel's lib/locking-selftest.c (AA, ABBA, ABBCCA,
 * ABCABC, ABBCCDDA, ABCDBDDA, ABCDBCDA), run over every lock type. Each run
 * takes its locks in ONE task, one group after the other, so no two
 * acquisitions ever wait for each other: a report can only come from
 * lockdep's graph, never from an actual deadlock.
 *
 * Every Sim gets its own `new Lockdep()`: the default graph is process-wide.
 */
import { describe, expect, it } from "vitest";
import { collectingSim as newSim } from "../support/collecting-sim.js";
import {
  condResched,
  kfree,
  localIrqRestore,
  localIrqSave,
  Lockdep,
  lockMapAcquire,
  lockMapRelease,
  Mutex,
  RwLock,
  RwSemaphore,
  Sim,
  SimObject,
  SpinLock,
  type Op,
  type Report,
  type ReportKind,
  type Task,
  type TaskBody,
} from "../../src/index.js";

function reportsOf<K extends ReportKind>(sim: Sim, kind: K): Extract<Report, { kind: K }>[] {
  return sim.reports.filter((r): r is Extract<Report, { kind: K }> => r.kind === kind);
}

/** The one report the Sim filed, which must be of kind `kind`. */
function onlyReport<K extends ReportKind>(sim: Sim, kind: K): Extract<Report, { kind: K }> {
  expect(sim.reports.map((r) => r.kind)).toEqual([kind]);
  return sim.reports[0] as Extract<Report, { kind: K }>;
}

// -- lock types ---------------------------------------------------------------

/** One lock of any type, seen through the operations the families need. */
interface TestLock {
  readonly label: string;
  lock(): Op<void>;
  /** lock() with a nesting annotation; null when the type has none (down_read). */
  nested: ((subclass: number) => Op<void>) | null;
  trylock(): Op<boolean>;
  unlock(): Op<void>;
}

interface LockType {
  readonly name: string;
  readonly waitType: "spin" | "sleep";
  /** The op name lockdep records for lock(). */
  readonly lockOp: string;
  make(sim: Sim, lockClass: string, name: string): TestLock;
}

const LOCK_TYPES: readonly LockType[] = [
  {
    name: "spinlock",
    waitType: "spin",
    lockOp: "spin_lock",
    make: (sim, lockClass, name) => {
      const l = new SpinLock(sim, lockClass, { name });
      return { label: l.label, lock: () => l.lock(), nested: (s) => l.lock(s), trylock: () => l.trylock(), unlock: () => l.unlock() };
    },
  },
  {
    name: "mutex",
    waitType: "sleep",
    lockOp: "mutex_lock",
    make: (sim, lockClass, name) => {
      const m = new Mutex(sim, lockClass, { name });
      return { label: m.label, lock: () => m.lock(), nested: (s) => m.lock(s), trylock: () => m.trylock(), unlock: () => m.unlock() };
    },
  },
  {
    name: "rwsem write",
    waitType: "sleep",
    lockOp: "down_write",
    make: (sim, lockClass, name) => {
      const s = new RwSemaphore(sim, lockClass, { name });
      return {
        label: s.label,
        lock: () => s.downWrite(),
        nested: (sub) => s.downWrite(sub),
        trylock: () => s.downWriteTrylock(),
        unlock: () => s.upWrite(),
      };
    },
  },
  {
    name: "rwsem read",
    waitType: "sleep",
    lockOp: "down_read",
    make: (sim, lockClass, name) => {
      const s = new RwSemaphore(sim, lockClass, { name });
      return { label: s.label, lock: () => s.downRead(), nested: null, trylock: () => s.downReadTrylock(), unlock: () => s.upRead() };
    },
  },
];

/**
 * Run `seq` in one task, group by group: "AB BA" takes A then B and releases
 * both, then takes B then A. Each letter is a lock of its own class (named
 * by the letter); a lower-case letter takes that lock by trylock.
 */
function runGroups(type: LockType, seq: string, sim = newSim()): Sim {
  const locks = new Map<string, TestLock>();
  for (const c of seq.toUpperCase().replaceAll(" ", "")) if (!locks.has(c)) locks.set(c, type.make(sim, c, c));
  sim.run(function* () {
    for (const group of seq.split(" ")) {
      const taken: TestLock[] = [];
      for (const c of group) {
        const l = locks.get(c.toUpperCase()) as TestLock;
        if (c === c.toLowerCase()) {
          // Alone in its task, every trylock succeeds.
          expect(yield* l.trylock()).toBe(true);
        } else {
          yield* l.lock();
        }
        taken.push(l);
      }
      for (const l of taken.reverse()) yield* l.unlock();
    }
  });
  return sim;
}

/** The cycle's classes, after checking that it is a closed chain of edges. */
function cycleClasses(r: Extract<Report, { kind: "lock-order-cycle" }>): string[] {
  r.cycle.forEach((e, i) => {
    expect(e.to).toBe((r.cycle[(i + 1) % r.cycle.length] as (typeof r.cycle)[number]).from);
  });
  return r.cycle.map((e) => e.from);
}

// -- 1. the selftest families ---------------------------------------------------

// Each cycle starts with the edge that closed it (the last group), then
// follows the learned edges back to where it began.
const FAMILIES: readonly { family: string; seq: string; cycle: string[] }[] = [
  { family: "ABBA", seq: "AB BA", cycle: ["B", "A"] },
  { family: "ABBCCA", seq: "AB BC CA", cycle: ["C", "A", "B"] },
  { family: "ABCABC", seq: "AB CA BC", cycle: ["B", "C", "A"] },
  { family: "ABBCCDDA", seq: "AB BC CD DA", cycle: ["D", "A", "B", "C"] },
  { family: "ABCDBDDA", seq: "AB CD BD DA", cycle: ["D", "A", "B"] },
  { family: "ABCDBCDA", seq: "AB CD BC DA", cycle: ["D", "A", "B", "C"] },
  { family: "ABBCCDDEEA (5 classes)", seq: "AB BC CD DE EA", cycle: ["E", "A", "B", "C", "D"] },
];

describe("lockdep: lock-order cycles (selftest families)", () => {
  for (const type of LOCK_TYPES) {
    for (const { family, seq, cycle } of FAMILIES) {
      it(`${family} with ${type.name}: one lock-order-cycle`, () => {
        const sim = runGroups(type, seq);
        const r = onlyReport(sim, "lock-order-cycle");
        expect(cycleClasses(r)).toEqual(cycle);
        expect(r.actual).toBe(false);
        // Reported while taking the lock that closes the cycle, holding the one before it.
        expect(r.held.map((h) => h.lockClass)).toEqual([cycle[0]]);
        expect(r.cycle[0]?.toSite).toMatchObject({ task: "main/1", op: type.lockOp, replay: sim.replayToken });
      });
    }
  }
});

describe("lockdep: AA (one class taken twice)", () => {
  for (const type of LOCK_TYPES) {
    const sharesReads = type.name === "rwsem read";
    it(`${type.name}: the same instance twice is recursive locking${sharesReads ? "" : ", then an actual deadlock"}`, () => {
      const sim = newSim();
      const x = type.make(sim, "X", "X1");
      const t = sim.spawn("main", "process", function* () {
        yield* x.lock();
        yield* x.lock();
        yield* x.unlock();
        yield* x.unlock();
      });
      const outcome = sim.runAll().outcome;
      const r = reportsOf(sim, "recursive-locking")[0];
      expect(r).toMatchObject({ lock: x.label, lockClass: "X", second: { task: "main/1", op: type.lockOp } });
      expect(r?.first).toMatchObject({ lock: x.label, lockClass: "X", acquired: { op: type.lockOp } });
      if (sharesReads) {
        // Without a writer waiting, the second down_read is granted: lockdep
        // still reports it, as the kernel does for rsem_AA1.
        expect(outcome).toBe("done");
        expect(sim.reports.map((rep) => rep.kind)).toEqual(["recursive-locking"]);
        expect(t.state).toBe("done");
      } else {
        expect(outcome).toBe("deadlock");
        expect(sim.reports.map((rep) => rep.kind)).toEqual(["recursive-locking", "deadlock"]);
        const d = reportsOf(sim, "deadlock")[0];
        expect(d?.cycle.map((e) => [e.task, e.waitsFor, e.wakers])).toEqual([["main/1", x.label, ["main/1"]]]);
      }
    });

    it(`${type.name}: two instances of one class is recursive locking (no deadlock)`, () => {
      const sim = newSim();
      const x1 = type.make(sim, "X", "X1");
      const x2 = type.make(sim, "X", "X2");
      sim.run(function* () {
        yield* x1.lock();
        yield* x2.lock();
        yield* x2.unlock();
        yield* x1.unlock();
      });
      const r = onlyReport(sim, "recursive-locking");
      expect(r).toMatchObject({ lock: x2.label, lockClass: "X", first: { lock: x1.label }, second: { op: type.lockOp } });
      expect(r.held.map((h) => h.lock)).toEqual([x1.label]);
    });

    if (!sharesReads) {
      it(`${type.name}: a nesting annotation (subclass 1) makes taking a second instance legal`, () => {
        const sim = newSim();
        const x1 = type.make(sim, "X", "X1");
        const x2 = type.make(sim, "X", "X2");
        const nested = x2.nested as (subclass: number) => Op<void>;
        sim.run(function* () {
          yield* x1.lock();
          yield* nested(1);
          yield* x2.unlock();
          yield* x1.unlock();
        });
        expect(sim.reports).toEqual([]);
        // The annotated acquisition is class "X/1", ordered after X.
        const ld = sim.lockdep;
        expect(ld.hasEdge(ld.lockClass("X", type.waitType), ld.lockClass("X/1", type.waitType))).toBe(true);
      });
    }
  }

  // rsem_AA2 and rsem_AA3: mixing the read and write sides of one class.
  it.each([
    ["down_read then down_write", "read", "write"],
    ["down_write then down_read", "write", "read"],
  ] as const)("rwsem: %s of two instances of one class is recursive locking", (_title, firstSide, secondSide) => {
    const sim = newSim();
    const x1 = new RwSemaphore(sim, "X", { name: "X1" });
    const x2 = new RwSemaphore(sim, "X", { name: "X2" });
    const side = (s: RwSemaphore, how: "read" | "write") =>
      how === "read" ? { down: () => s.downRead(), up: () => s.upRead() } : { down: () => s.downWrite(), up: () => s.upWrite() };
    const first = side(x1, firstSide);
    const second = side(x2, secondSide);
    sim.run(function* () {
      yield* first.down();
      yield* second.down();
      yield* second.up();
      yield* first.up();
    });
    const readFirst = firstSide === "read";
    const r = onlyReport(sim, "recursive-locking");
    expect(r).toMatchObject({ lock: x2.label, first: { lock: x1.label, read: readFirst }, second: { op: readFirst ? "down_write" : "down_read" } });
  });

  it("a subclass is a class of its own: X then X/1 in one place, X/1 then X in another, is a cycle", () => {
    const sim = newSim();
    const x1 = new Mutex(sim, "X", { name: "X1" });
    const x2 = new Mutex(sim, "X", { name: "X2" });
    sim.run(function* () {
      yield* x1.lock();
      yield* x2.lock(1);
      yield* x2.unlock();
      yield* x1.unlock();
      yield* x1.lock(1);
      yield* x2.lock();
      yield* x2.unlock();
      yield* x1.unlock();
    });
    expect(cycleClasses(onlyReport(sim, "lock-order-cycle"))).toEqual(["X/1", "X"]);
  });
});

describe("lockdep: held stack bookkeeping", () => {
  it("after an out-of-order unlock, a new lock depends only on what is still held", () => {
    const sim = newSim();
    const [a, b, c] = ["A", "B", "C"].map((n) => new Mutex(sim, n)) as [Mutex, Mutex, Mutex];
    sim.run(function* () {
      yield* a.lock();
      yield* b.lock();
      yield* a.unlock(); // out of order: B stays held
      yield* c.lock(); // learns B -> C, not A -> C
      yield* c.unlock();
      yield* b.unlock();
    });
    expect(sim.reports).toEqual([]);
    const ld = sim.lockdep;
    expect([ld.hasEdge(b.lockClass, c.lockClass), ld.hasEdge(a.lockClass, c.lockClass)]).toEqual([true, false]);
  });

  it("with the lockdep check off, nothing is learned or reported", () => {
    const sim = newSim({ checks: { lockdep: false } });
    const before = sim.lockdep.edgeCount;
    runGroups(LOCK_TYPES[0] as LockType, "AB BA", sim);
    expect(sim.reports).toEqual([]);
    expect(sim.lockdep.edgeCount).toBe(before);
  });
});

// -- 1b. trylock ----------------------------------------------------------------

// Lockdep adds no dependency TOWARDS a trylocked lock: a trylock never waits,
// so it cannot be the waiting half of a deadlock (kernel/locking/lockdep.c,
// validate_chain(): "trylock ... does not add new dependencies"). A lock taken
// while a trylocked one is held does depend on it, and on the locks below it
// down to the first one not taken by trylock (check_prevs_add(): "Stop after
// the first non-trylock entry"). So a cycle is reported exactly when none of
// its edges ends in a trylock. Lower case = trylock.
const TRYLOCK_CASES: readonly { seq: string; cycle: string[] | null; why: string }[] = [
  { seq: "aB BA", cycle: ["B", "A"], why: "B taken while a tried A is held still learns A -> B" },
  { seq: "Ab BA", cycle: null, why: "B was only tried under A: no A -> B" },
  { seq: "AB bA", cycle: ["B", "A"], why: "A taken while a tried B is held learns B -> A" },
  { seq: "AB Ba", cycle: null, why: "A was only tried under B: no B -> A" },
  { seq: "Ab BC CA", cycle: null, why: "the A -> B edge of ABBCCA is missing" },
  { seq: "AB Bc CA", cycle: null, why: "the B -> C edge of ABBCCA is missing" },
  { seq: "AB BC Ca", cycle: null, why: "the closing C -> A edge is not added" },
  { seq: "aB bC cA", cycle: ["C", "A", "B"], why: "every first lock tried, every second one taken: all edges learned" },
  { seq: "AbC CA", cycle: ["C", "A"], why: "C under a tried b learns b -> C and, past it, A -> C" },
  { seq: "AB CD bD DA", cycle: ["D", "A", "B"], why: "ABCDBDDA with the B of BD tried: B -> D still learned" },
  { seq: "AB CD Bd DA", cycle: null, why: "ABCDBDDA with the D of BD tried: no B -> D" },
  { seq: "AB CD Bc DA", cycle: null, why: "ABCDBCDA with the C of BC tried: no B -> C" },
];

describe("lockdep: trylock adds no dependency towards the tried lock", () => {
  for (const type of LOCK_TYPES) {
    for (const { seq, cycle, why } of TRYLOCK_CASES) {
      it(`${seq} with ${type.name}: ${cycle === null ? "no report" : "a cycle"} (${why})`, () => {
        const sim = runGroups(type, seq);
        if (cycle === null) expect(sim.reports).toEqual([]);
        else expect(cycleClasses(onlyReport(sim, "lock-order-cycle"))).toEqual(cycle);
      });
    }
  }

  it("a trylock of a class already held is not recursive locking (it cannot wait)", () => {
    const sim = newSim();
    const x1 = new SpinLock(sim, "X", { name: "X1" });
    const x2 = new SpinLock(sim, "X", { name: "X2" });
    sim.run(function* () {
      yield* x1.lock();
      expect(yield* x2.trylock()).toBe(true);
      yield* x2.unlock();
      yield* x1.unlock();
    });
    expect(sim.reports).toEqual([]);
  });
});

// -- 2. once per Sim, and the chain cache ----------------------------------------

describe("lockdep: each problem once, validated chains cached", () => {
  it("AB-BA repeated is one report", () => {
    const sim = runGroups(LOCK_TYPES[1] as LockType, "AB BA AB BA");
    expect(cycleClasses(onlyReport(sim, "lock-order-cycle"))).toEqual(["B", "A"]);
  });

  it("two different cycles are two reports", () => {
    const sim = runGroups(LOCK_TYPES[1] as LockType, "AB BA CD DC AB BA");
    const cycles = reportsOf(sim, "lock-order-cycle");
    expect(sim.reports).toHaveLength(2);
    expect(cycles.map(cycleClasses)).toEqual([
      ["B", "A"],
      ["D", "C"],
    ]);
  });

  it("a repeated sequence learns nothing new: edgeCount is stable and nothing is reported", () => {
    const sim = newSim();
    const [a, b, c] = ["A", "B", "C"].map((n) => new Mutex(sim, n)) as [Mutex, Mutex, Mutex];
    const before = sim.lockdep.edgeCount; // the edges primed at boot
    const pass = function* () {
      yield* a.lock();
      yield* b.lock();
      yield* c.lock();
      yield* c.unlock();
      yield* b.unlock();
      yield* a.unlock();
    };
    sim.run(pass);
    expect(sim.lockdep.edgeCount).toBe(before + 2); // A -> B, B -> C: C is reached from A through B
    for (let i = 0; i < 5; i++) sim.run(pass);
    expect(sim.lockdep.edgeCount).toBe(before + 2);
    expect(sim.reports).toEqual([]);
  });

  it("a Lockdep shared by two Sims is one boot: an order learned in the first is reported in the second", () => {
    const lockdep = new Lockdep();
    const first = newSim({ lockdep, seed: 1 });
    const a1 = new Mutex(first, "A");
    const b1 = new Mutex(first, "B");
    first.run(function* () {
      yield* a1.lock();
      yield* b1.lock();
      yield* b1.unlock();
      yield* a1.unlock();
    });
    expect(first.reports).toEqual([]);

    const second = newSim({ lockdep, seed: 2 });
    const a2 = new Mutex(second, "A");
    const b2 = new Mutex(second, "B");
    second.run(function* () {
      yield* b2.lock();
      yield* a2.lock();
      yield* a2.unlock();
      yield* b2.unlock();
    });
    const r = onlyReport(second, "lock-order-cycle");
    expect(cycleClasses(r)).toEqual(["B", "A"]);
    // The A -> B edge is witnessed by the first run, with its replay token.
    expect(r.cycle[1]?.toSite).toMatchObject({ task: "main/1", replay: first.replayToken });
    expect(r.cycle[0]?.toSite.replay).toBe(second.replayToken);
  });
});

// -- 3. irq usage states -----------------------------------------------------------

/** Run `body` as a task of context `ctx`, alone, to completion. */
function runAlone(sim: Sim, name: string, ctx: "process" | "hardirq" | "softirq", body: TaskBody<void>): Task {
  const t = sim.spawn(name, ctx, body);
  expect(sim.runAll().outcome).toBe("done");
  return t;
}

describe("lockdep: irq-safe and irq-unsafe use of a lock class", () => {
  // irqsafe1: one class used in an interrupt and, elsewhere, with that
  // interrupt enabled. Both orders, as the selftest's permutations.
  for (const irq of ["hardirq", "softirq"] as const) {
    for (const irqFirst of [true, false]) {
      it(`a spinlock taken in ${irq} and elsewhere with ${irq}s enabled is inconsistent (${irqFirst ? "irq" : "process"} first)`, () => {
        const sim = newSim();
        const l = new SpinLock(sim, "L");
        const inIrq = function* () {
          yield* l.lock();
          yield* l.unlock();
        };
        const inProcess = function* () {
          yield* l.lock();
          yield* l.unlock();
        };
        if (irqFirst) runAlone(sim, "irq", irq, inIrq);
        runAlone(sim, "proc", "process", inProcess);
        if (!irqFirst) runAlone(sim, "irq", irq, inIrq);
        const r = onlyReport(sim, "irq-lock-inversion");
        expect(r).toMatchObject({ irq, variant: "inconsistent", path: ["L"] });
        expect(r.safe).toMatchObject({ lockClass: "L", site: { task: irqFirst ? "irq/1" : "irq/2", op: "spin_lock" } });
        expect(r.unsafe).toMatchObject({ lockClass: "L", site: { task: irqFirst ? "proc/2" : "proc/1", op: "spin_lock" } });
      });
    }
  }

  it("spin_lock_irqsave elsewhere is consistent with a hardirq user", () => {
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    runAlone(sim, "irq", "hardirq", function* () {
      yield* l.lock();
      yield* l.unlock();
    });
    runAlone(sim, "proc", "process", function* () {
      const flags = yield* l.lockIrqsave();
      yield* l.unlockIrqrestore(flags);
    });
    expect(sim.reports).toEqual([]);
  });

  it("spin_lock_bh elsewhere is consistent with a softirq user", () => {
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    runAlone(sim, "irq", "softirq", function* () {
      yield* l.lock();
      yield* l.unlock();
    });
    runAlone(sim, "proc", "process", function* () {
      yield* l.lockBh();
      yield* l.unlockBh();
    });
    expect(sim.reports).toEqual([]);
  });

  it("spin_lock_irqsave elsewhere is consistent with a softirq user too (no softirq runs with irqs off)", () => {
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    runAlone(sim, "irq", "softirq", function* () {
      yield* l.lock();
      yield* l.unlock();
    });
    runAlone(sim, "proc", "process", function* () {
      const flags = yield* l.lockIrqsave();
      yield* l.unlockIrqrestore(flags);
    });
    expect(sim.reports).toEqual([]);
  });

  it("spin_lock_bh does not protect against a hardirq user", () => {
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    runAlone(sim, "irq", "hardirq", function* () {
      yield* l.lock();
      yield* l.unlock();
    });
    runAlone(sim, "proc", "process", function* () {
      yield* l.lockBh();
      yield* l.unlockBh();
    });
    expect(onlyReport(sim, "irq-lock-inversion")).toMatchObject({ irq: "hardirq", variant: "inconsistent" });
  });

  it("enabling irqs while holding a hardirq-safe lock is inconsistent (irqsafe2B)", () => {
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    runAlone(sim, "irq", "hardirq", function* () {
      yield* l.lock();
      yield* l.unlock();
    });
    runAlone(sim, "proc", "process", function* () {
      localIrqSave();
      yield* l.lock();
      localIrqRestore(); // L is now held with irqs enabled
      yield* l.unlock();
    });
    expect(onlyReport(sim, "irq-lock-inversion")).toMatchObject({ irq: "hardirq", variant: "inconsistent", unsafe: { lockClass: "L" } });
  });

  it("a trylocked lock held when irqs come back on is hardirq-unsafe too (mark_held_locks)", () => {
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    runAlone(sim, "irq", "hardirq", function* () {
      yield* l.lock();
      yield* l.unlock();
    });
    runAlone(sim, "proc", "process", function* () {
      localIrqSave();
      expect(yield* l.trylock()).toBe(true);
      localIrqRestore();
      yield* l.unlock();
    });
    expect(onlyReport(sim, "irq-lock-inversion")).toMatchObject({ irq: "hardirq", variant: "inconsistent", unsafe: { site: { op: "spin_trylock" } } });
  });

  it("a lock sequence first validated with irqs off is still checked when repeated with irqs on", () => {
    // The chain [L] is cached after the irqsave pass; the usage bits of the
    // second pass must be recorded anyway, as the kernel's mark_usage() runs
    // before the chain-cache lookup.
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    runAlone(sim, "proc", "process", function* () {
      const flags = yield* l.lockIrqsave();
      yield* l.unlockIrqrestore(flags);
      yield* l.lock();
      yield* l.unlock();
    });
    runAlone(sim, "irq", "hardirq", function* () {
      yield* l.lock();
      yield* l.unlock();
    });
    expect(onlyReport(sim, "irq-lock-inversion")).toMatchObject({ irq: "hardirq", variant: "inconsistent" });
  });

  it("a trylock in a hardirq does not make the class hardirq-safe (it cannot spin on the interrupted holder)", () => {
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    runAlone(sim, "irq", "hardirq", function* () {
      if (yield* l.trylock()) yield* l.unlock();
    });
    runAlone(sim, "proc", "process", function* () {
      yield* l.lock();
      yield* l.unlock();
    });
    expect(sim.reports).toEqual([]);
  });

  it("a trylock with irqs enabled does make the class hardirq-unsafe (an irq may spin on it)", () => {
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    runAlone(sim, "proc", "process", function* () {
      expect(yield* l.trylock()).toBe(true);
      yield* l.unlock();
    });
    runAlone(sim, "irq", "hardirq", function* () {
      yield* l.lock();
      yield* l.unlock();
    });
    expect(onlyReport(sim, "irq-lock-inversion")).toMatchObject({ irq: "hardirq", variant: "inconsistent", unsafe: { site: { op: "spin_trylock" } } });
  });

  it("a softirq handler runs with hardirqs enabled: a lock it shares with a hardirq is inconsistent", () => {
    const sim = newSim();
    const l = new SpinLock(sim, "L");
    runAlone(sim, "bh", "softirq", function* () {
      yield* l.lock();
      yield* l.unlock();
    });
    runAlone(sim, "irq", "hardirq", function* () {
      yield* l.lock();
      yield* l.unlock();
    });
    const r = onlyReport(sim, "irq-lock-inversion");
    expect(r).toMatchObject({ irq: "hardirq", variant: "inconsistent", unsafe: { site: { task: "bh/1" } } });
  });

  it("a chain in a hardirq and a chain in process context are different chains", () => {
    // With a fresh Lockdep, A and B get consecutive class ids; the chain
    // keys of a hardirq's [A] and a process's [B] once collided, so the
    // process's first use of B was skipped as "already validated" and B
    // never became hardirq-unsafe.
    const sim = newSim();
    const a = new SpinLock(sim, "A");
    const b = new SpinLock(sim, "B");
    runAlone(sim, "irqA", "hardirq", function* () {
      yield* a.lock();
      yield* a.unlock();
    });
    runAlone(sim, "proc", "process", function* () {
      yield* b.lock();
      yield* b.unlock();
    });
    runAlone(sim, "irqB", "hardirq", function* () {
      yield* b.lock();
      yield* b.unlock();
    });
    expect(onlyReport(sim, "irq-lock-inversion")).toMatchObject({ irq: "hardirq", variant: "inconsistent", path: ["B"] });
  });

  // irqsafe4: A is hardirq-safe; elsewhere, with irqs off, B is taken under A;
  // B is also taken with irqs enabled. An irq may then spin on A while its CPU
  // holds B... and A's holder waits for B.
  it.each([
    ["irq, A->B, B", ["irq", "nested", "unsafe"]],
    ["A->B, B, irq", ["nested", "unsafe", "irq"]],
    ["B, irq, A->B", ["unsafe", "irq", "nested"]],
  ] as const)("hardirq-safe A held while taking hardirq-unsafe B is safe-to-unsafe (%s)", (_title, order) => {
    const sim = newSim();
    const a = new SpinLock(sim, "A");
    const b = new SpinLock(sim, "B");
    for (const step of order) {
      if (step === "irq") {
        runAlone(sim, "irq", "hardirq", function* () {
          yield* a.lock();
          yield* a.unlock();
        });
      } else if (step === "nested") {
        runAlone(sim, "nested", "process", function* () {
          const flags = yield* a.lockIrqsave();
          yield* b.lock();
          yield* b.unlock();
          yield* a.unlockIrqrestore(flags);
        });
      } else {
        runAlone(sim, "unsafe", "process", function* () {
          yield* b.lock();
          yield* b.unlock();
        });
      }
    }
    const r = onlyReport(sim, "irq-lock-inversion");
    expect(r).toMatchObject({ irq: "hardirq", variant: "safe-to-unsafe", path: ["A", "B"], safe: { lockClass: "A" }, unsafe: { lockClass: "B" } });
  });
});

// -- 5. held locks ---------------------------------------------------------------

describe("lockdep: what is held", () => {
  it("assertHeld() checks the exact instance: another lock of the same class does not count", () => {
    const sim = newSim();
    const mine = new Mutex(sim, "bo->lock", { name: "bo0" });
    const other = new Mutex(sim, "bo->lock", { name: "bo1" });
    const results: boolean[] = [];
    sim.run(function* () {
      yield* mine.lock();
      results.push(mine.assertHeld(), other.assertHeld());
      yield* mine.unlock();
    });
    expect(results).toEqual([true, false]);
    const r = onlyReport(sim, "lock-not-held");
    expect(r).toMatchObject({ lock: other.label, owner: null });
    expect(r.held.map((h) => h.lock)).toEqual([mine.label]);
  });

  it("assertHeld() names the task that holds it instead", () => {
    // step  holder/1              checker/2
    //  1    start, mutex_lock
    //  2                          start (cond_resched)
    //  3    lock: holds M
    //  4                          assertHeld(M): lock-not-held, owner holder/1
    const sim = newSim();
    const m = new Mutex(sim, "M");
    sim.spawn("holder", "process", function* () {
      yield* m.lock();
      yield* condResched();
      yield* condResched();
      yield* m.unlock();
    });
    sim.spawn("checker", "process", function* () {
      yield* condResched();
      expect(sim.step).toBe(4);
      m.assertHeld();
    });
    sim.runAll();
    expect(onlyReport(sim, "lock-not-held")).toMatchObject({ lock: m.label, owner: "holder/1", task: "checker/2", step: 4 });
  });

  it("a task that ends holding a lock is lock-held-at-exit", () => {
    const sim = newSim();
    const s = new SpinLock(sim, "S");
    const m = new Mutex(sim, "M");
    sim.run(function* () {
      yield* m.lock();
      yield* s.lock();
      yield* s.unlock();
    });
    const r = onlyReport(sim, "lock-held-at-exit");
    expect(r.task).toBe("main/1"); // the task that ended, as do_exit() checks in it
    expect(r.held).toMatchObject([{ lock: m.label, lockClass: "M", acquired: { task: "main/1", op: "mutex_lock" } }]);
  });

  it("kfree of an object whose embedded lock is held is lock-held-at-free", () => {
    const sim = newSim();
    const vm = new SimObject(sim, "Vm", { name: "vm0" });
    const lock = new Mutex(sim, "vm->lock", { embeddedIn: vm });
    sim.spawn("main", "process", function* () {
      yield* lock.lock();
      yield* kfree(vm);
    });
    sim.runAll();
    expect(sim.reports.map((r) => r.kind)).toEqual(["lock-held-at-free", "lock-held-at-exit"]);
    expect(reportsOf(sim, "lock-held-at-free")[0]).toMatchObject({
      lock: lock.label,
      holder: "main/1",
      acquired: { op: "mutex_lock" },
      freed: { task: "main/1", op: "kfree" },
    });
  });

  it("kfree of an object whose embedded lock is free is fine", () => {
    const sim = newSim();
    const vm = new SimObject(sim, "Vm", { name: "vm0" });
    const lock = new SpinLock(sim, "vm->lock", { embeddedIn: vm });
    sim.run(function* () {
      yield* lock.lock();
      yield* lock.unlock();
      yield* kfree(vm);
    });
    expect(sim.reports).toEqual([]);
  });
});

describe("lockdep: reboot() gives a fresh boot", () => {
  /** Take `first` then `second` in one task of a Sim on `lockdep`; the reports filed. */
  const nest = (lockdep: Lockdep, first: string, second: string) => {
    const sim = new Sim({ lockdep, onReport: "collect" });
    const a = new Mutex(sim, first, { static: true });
    const b = new Mutex(sim, second, { static: true });
    sim.run(function* () {
      yield* a.lock();
      yield* b.lock();
      yield* b.unlock();
      yield* a.unlock();
    });
    return sim.reports;
  };

  it("forgets learned classes, edges and chains, and keeps the boot's order", () => {
    const fresh = new Lockdep();
    const ld = new Lockdep();
    expect(nest(ld, "A", "B")).toEqual([]);
    expect(ld.edgeCount).toBe(fresh.edgeCount + 1);
    ld.reboot();
    expect(ld.edgeCount).toBe(fresh.edgeCount);
    expect(ld.hasEdge(ld.classes.resv, ld.maps.fsReclaim.lockClass)).toBe(true);
    // The reverse order is no cycle on a fresh boot, and classes get a fresh boot's ids.
    expect(nest(ld, "B", "A")).toEqual([]);
    expect(ld.lockClass("C", "sleep").id).toBe(fresh.lockClass("C", "sleep").id + 2);
    ld.reboot();
    expect(ld.lockClass("C", "sleep").id).toBe(fresh.lockClass("C", "sleep").id);
  });

  it("forgets edges into the boot's classes", () => {
    const ld = new Lockdep();
    const sim = new Sim({ lockdep: ld, onReport: "collect" });
    const m = new Mutex(sim, "driver_lock", { static: true });
    sim.run(function* () {
      yield* m.lock();
      lockMapAcquire(ld.maps.fsReclaim);
      lockMapRelease(ld.maps.fsReclaim);
      yield* m.unlock();
    });
    const driver = m.lockClass;
    expect(ld.hasEdge(driver, ld.maps.fsReclaim.lockClass)).toBe(true);
    ld.reboot();
    expect(ld.edgeCount).toBe(new Lockdep().edgeCount);
    expect(ld.maps.fsReclaim.lockClass.in.has(driver)).toBe(false);
  });

  it("forgets dependency types a boot edge learned (mmap_lock held for reading over an acquire context)", () => {
    const ld = new Lockdep();
    const sim = new Sim({ lockdep: ld, onReport: "collect" });
    const mmap = new RwSemaphore(sim, "&mm->mmap_lock", { static: true });
    const ctx = { lockClass: ld.classes.resvAcquire, label: "ctx" };
    sim.run(function* () {
      yield* mmap.downRead();
      lockMapAcquire(ctx);
      lockMapRelease(ctx);
      yield* mmap.upRead();
    });
    const { mmapLock, resvAcquire } = ld.classes;
    // -(EN)-> primed, -(SN)-> learned.
    expect(mmapLock.dep.get(resvAcquire)).toBe(8 | 4);
    ld.reboot();
    expect(mmapLock.dep.get(resvAcquire)).toBe(8);
  });
});

describe("lockdep: dependency types and strong paths", () => {
  it("an edge learns each way its locks were taken: write->write, read->write, write->recursive-read", () => {
    const sim = newSim();
    const a = new RwLock(sim, "A", { queued: false });
    const b = new RwLock(sim, "B", { queued: false });
    sim.run(function* () {
      yield* a.writeLock();
      yield* b.writeLock();
      yield* b.writeUnlock();
      yield* a.writeUnlock();
      yield* a.readLock();
      yield* b.writeLock();
      yield* b.writeUnlock();
      yield* a.readUnlock();
      yield* a.writeLock();
      yield* b.readLock();
      yield* b.readUnlock();
      yield* a.writeUnlock();
    });
    // DEP_EN 8, DEP_SN 4, DEP_ER 2.
    expect(a.lockClass.dep.get(b.lockClass)).toBe(8 | 4 | 2);
    expect(sim.reports).toEqual([]);
  });

  it("a new dependency type on an existing edge is checked for cycles again", () => {
    const sim = newSim();
    const a = new RwLock(sim, "A", { queued: false });
    const b = new RwLock(sim, "B", { queued: false });
    sim.run(function* () {
      // B -> A with A read recursively: A -(S?)-> ... cannot come back through it.
      yield* b.writeLock();
      yield* a.readLock();
      yield* a.readUnlock();
      yield* b.writeUnlock();
      // A read, then B: A -(SN)-> B. B -(ER)-> A then A -(SN)-> B is not strong: no cycle yet.
      yield* a.readLock();
      yield* b.writeLock();
      yield* b.writeUnlock();
      yield* a.readUnlock();
      expect(sim.reports).toEqual([]);
      // Now B -> A with A written: B -(EN)-> A, the same edge with a new type, closes A -> B -> A.
      yield* b.writeLock();
      yield* a.writeLock();
      yield* a.writeUnlock();
      yield* b.writeUnlock();
    });
    expect(onlyReport(sim, "lock-order-cycle").cycle.map((e) => e.from).sort()).toEqual(["A", "B"]);
  });
});
