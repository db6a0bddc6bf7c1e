/**
 * The kernel's lockdep selftests (lib/locking-selftest.c), ported as a
 * table: each case names the selftest it mirrors and what lockdep says —
 * the report kind with its key fields, or no report (the selftest's
 * SUCCESS).
 *
 * As in the kernel, each case runs in ONE task, event after event, so no
 * two acquisitions ever wait for each other: every report comes from
 * lockdep, none from an actual deadlock. X1 and X2 are two locks of one
 * class (as the selftests' X1/X2), A B C D and Y Z locks of their own
 * classes. The selftests' lock types:
 *
 *   spin   spin_lock()       wlock  write_lock()      rlock  read_lock()
 *   mutex  mutex_lock()      wsem   down_write()      rsem   down_read()
 *
 * IRQ_ENTER/IRQ_EXIT are hardirqEnter()/hardirqExit() (softirqEnter() for
 * the soft variants), IRQ_DISABLE/IRQ_ENABLE are localIrqSave()/
 * localIrqRestore() (localBhDisable()/localBhEnable()).
 */
import { describe, expect, it } from "vitest";
import {
  formatReport,
  hardirqEnter,
  hardirqExit,
  localBhDisable,
  localBhEnable,
  LocalLock,
  localIrqRestore,
  localIrqSave,
  Mutex,
  RawSpinLock,
  RwLock,
  RwSemaphore,
  softirqEnter,
  softirqExit,
  SpinLock,
  type Effect,
  type Report,
  type Sim,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

type Step = Iterable<Effect, void, unknown>;

/** One lock as the selftests' LOCK()/UNLOCK() macros see it for a lock type. */
interface L {
  lock(): Step;
  unlock(): Step;
}

type TypeName = "spin" | "wlock" | "rlock" | "mutex" | "wsem" | "rsem";
const TYPES: readonly TypeName[] = ["spin", "wlock", "rlock", "mutex", "wsem", "rsem"];

function make(sim: Sim, type: TypeName, cls: string, name: string): L {
  switch (type) {
    case "spin": {
      const l = new SpinLock(sim, cls, { name });
      return { lock: () => l.lock(), unlock: () => l.unlock() };
    }
    case "wlock":
    case "rlock": {
      const l = new RwLock(sim, cls, { name, queued: false });
      return type === "wlock" ? { lock: () => l.writeLock(), unlock: () => l.writeUnlock() } : { lock: () => l.readLock(), unlock: () => l.readUnlock() };
    }
    case "mutex": {
      const l = new Mutex(sim, cls, { name });
      return { lock: () => l.lock(), unlock: () => l.unlock() };
    }
    case "wsem":
    case "rsem": {
      const l = new RwSemaphore(sim, cls, { name });
      return type === "wsem" ? { lock: () => l.downWrite(), unlock: () => l.upWrite() } : { lock: () => l.downRead(), unlock: () => l.upRead() };
    }
  }
}

/** What a case expects: no report, or one report of this kind with these fields. */
type Expect = null | { readonly kind: Report["kind"]; readonly [field: string]: unknown };

function run(body: (sim: Sim) => () => Step): Report[] {
  const sim = collectingSim();
  sim.run(body(sim));
  return sim.reports;
}

function check(reports: readonly Report[], want: Expect): void {
  if (want === null) {
    expect(reports.map((r) => r.kind)).toEqual([]);
    return;
  }
  expect(reports.map((r) => r.kind)).toEqual([want.kind]);
  expect(reports[0]).toMatchObject(want);
}

/** The classes of a lock-order-cycle report, each edge's `from`, sorted. */
function cycleClasses(r: Report | undefined): string[] {
  if (r?.kind !== "lock-order-cycle") return [];
  return r.cycle.map((e) => e.from).sort();
}

// -- the families: one lock type each, rlock never reports (DO_TESTCASE_6R) --

/**
 * The deadlock families, as groups of locks taken together, one group after
 * another (LOCK_UNLOCK_2(A, B) is "AB"). "AA" takes X1 then X2, one class.
 */
const FAMILIES: readonly { readonly name: string; readonly groups: string; readonly cycle: string[] | null }[] = [
  { name: "AA", groups: "X1X2", cycle: null },
  { name: "ABBA", groups: "AB BA", cycle: ["A", "B"] },
  { name: "ABBCCA", groups: "AB BC CA", cycle: ["A", "B", "C"] },
  { name: "ABCABC", groups: "AB CA BC", cycle: ["A", "B", "C"] },
  { name: "ABBCCDDA", groups: "AB BC CD DA", cycle: ["A", "B", "C", "D"] },
  { name: "ABCDBDDA", groups: "AB CD BD DA", cycle: ["A", "B", "D"] },
  { name: "ABCDBCDA", groups: "AB CD BC DA", cycle: ["A", "B", "C", "D"] },
];

describe("lib/locking-selftest.c: the deadlock families over every lock type", () => {
  for (const fam of FAMILIES) {
    for (const type of TYPES) {
      const fails = type !== "rlock";
      it(`${fam.name}_${type}: ${fails ? (fam.cycle === null ? "recursive-locking" : "lock-order-cycle") : "no report (read_lock is a recursive read)"}`, () => {
        const reports = run((sim) => {
          const locks = new Map<string, L>();
          const get = (n: string): L => {
            let l = locks.get(n);
            if (l === undefined) {
              l = make(sim, type, n.startsWith("X") ? "X" : n, n);
              locks.set(n, l);
            }
            return l;
          };
          return function* () {
            for (const group of fam.groups.split(" ")) {
              const names = group.match(/X\d|[A-Z]/g) ?? [];
              const taken = names.map(get);
              for (const l of taken) yield* l.lock();
              for (const l of taken.reverse()) yield* l.unlock();
            }
          };
        });
        if (!fails) { check(reports, null); return; }
        if (fam.cycle === null) { check(reports, { kind: "recursive-locking", lockClass: "X" }); return; }
        check(reports, { kind: "lock-order-cycle", actual: false });
        expect(cycleClasses(reports[0])).toEqual(fam.cycle);
      });
    }
  }
});

describe("lib/locking-selftest.c: double unlock and unlock order over every lock type", () => {
  for (const type of TYPES) {
    it(`double_unlock_${type}: bad-unlock, and the lock stays released`, () => {
      const reports = run((sim) => {
        const a = make(sim, type, "A", "A");
        return function* () {
          yield* a.lock();
          yield* a.unlock();
          yield* a.unlock();
        };
      });
      check(reports, { kind: "bad-unlock", owner: null });
    });

    it(`bad_unlock_order_${type}: releasing out of order is fine for lockdep`, () => {
      const reports = run((sim) => {
        const a = make(sim, type, "A", "A");
        const b = make(sim, type, "B", "B");
        return function* () {
          yield* a.lock();
          yield* b.lock();
          yield* a.unlock();
          yield* b.unlock();
        };
      });
      check(reports, null);
    });
  }
});

// -- read/write mixes --------------------------------------------------------

/** A script over rwlocks (RL/WL), rwsems (RSL/WSL) and spinlocks/mutexes (L/ML): "RL X1, L Y1, U Y1, RU X1". */
type Op = readonly [verb: string, lock: string];

const MIXES: readonly { readonly name: string; readonly script: readonly Op[]; readonly want: Expect }[] = [
  { name: "rlock_AA1", script: [["RL", "X1"], ["RL", "X1"], ["RU", "X1"], ["RU", "X1"]], want: null },
  { name: "rlock_AA1B", script: [["RL", "X1"], ["RL", "X2"], ["RU", "X2"], ["RU", "X1"]], want: null },
  { name: "rsem_AA1", script: [["RSL", "X1"], ["RSL", "X1"], ["RSU", "X1"], ["RSU", "X1"]], want: { kind: "recursive-locking", lockClass: "X" } },
  { name: "rsem_AA1B", script: [["RSL", "X1"], ["RSL", "X2"], ["RSU", "X2"], ["RSU", "X1"]], want: { kind: "recursive-locking", lockClass: "X" } },
  { name: "rlock_AA2", script: [["RL", "X1"], ["WL", "X2"], ["WU", "X2"], ["RU", "X1"]], want: { kind: "recursive-locking", lockClass: "X" } },
  { name: "rlock_AA3", script: [["WL", "X1"], ["RL", "X2"], ["RU", "X2"], ["WU", "X1"]], want: { kind: "recursive-locking", lockClass: "X" } },
  { name: "rsem_AA2", script: [["RSL", "X1"], ["WSL", "X2"], ["WSU", "X2"], ["RSU", "X1"]], want: { kind: "recursive-locking", lockClass: "X" } },
  { name: "rsem_AA3", script: [["WSL", "X1"], ["RSL", "X2"], ["RSU", "X2"], ["WSU", "X1"]], want: { kind: "recursive-locking", lockClass: "X" } },
  {
    name: "rlock_ABBA1 (read_lock(A) spin_lock(B) | spin_lock(B) write_lock(A))",
    script: [["RL", "X1"], ["L", "Y1"], ["U", "Y1"], ["RU", "X1"], ["L", "Y1"], ["WL", "X1"], ["WU", "X1"], ["U", "Y1"]],
    want: { kind: "lock-order-cycle" },
  },
  {
    name: "rwsem_ABBA1",
    script: [["RSL", "X1"], ["ML", "Y1"], ["MU", "Y1"], ["RSU", "X1"], ["ML", "Y1"], ["WSL", "X1"], ["WSU", "X1"], ["MU", "Y1"]],
    want: { kind: "lock-order-cycle" },
  },
  {
    name: "rlock_chaincache_ABBA1 (the chain cache tells read from write)",
    script: [
      ["RL", "X1"], ["L", "Y1"], ["U", "Y1"], ["RU", "X1"],
      ["L", "Y1"], ["RL", "X1"], ["RU", "X1"], ["U", "Y1"],
      ["L", "Y1"], ["WL", "X1"], ["WU", "X1"], ["U", "Y1"],
    ],
    want: { kind: "lock-order-cycle" },
  },
  {
    name: "rlock_ABBA2 (read_lock(A) spin_lock(B) | spin_lock(B) read_lock(A))",
    script: [["RL", "X1"], ["L", "Y1"], ["U", "Y1"], ["RU", "X1"], ["L", "Y1"], ["RL", "X1"], ["RU", "X1"], ["U", "Y1"]],
    want: null,
  },
  {
    name: "rwsem_ABBA2 (down_read is not a recursive read)",
    script: [["RSL", "X1"], ["ML", "Y1"], ["MU", "Y1"], ["RSU", "X1"], ["ML", "Y1"], ["RSL", "X1"], ["RSU", "X1"], ["MU", "Y1"]],
    want: { kind: "lock-order-cycle" },
  },
  {
    name: "rlock_ABBA3 (write_lock(A) spin_lock(B) | spin_lock(B) write_lock(A))",
    script: [["WL", "X1"], ["L", "Y1"], ["U", "Y1"], ["WU", "X1"], ["L", "Y1"], ["WL", "X1"], ["WU", "X1"], ["U", "Y1"]],
    want: { kind: "lock-order-cycle" },
  },
  {
    name: "rwsem_ABBA3",
    script: [["WSL", "X1"], ["ML", "Y1"], ["MU", "Y1"], ["WSU", "X1"], ["ML", "Y1"], ["WSL", "X1"], ["WSU", "X1"], ["MU", "Y1"]],
    want: { kind: "lock-order-cycle" },
  },
];

/** Three events over rwlocks X1 Y1 Z1, each a pair taken and released; run in all six orders (GENERATE_PERMUTATIONS_3_EVENTS). */
const THREE_EVENT_MIXES: readonly { readonly name: string; readonly events: readonly (readonly Op[])[]; readonly deadlock: boolean }[] = [
  {
    name: "W1R2_W2R3_W3R1 (write-read x3: a deadlock even though reads are recursive)",
    events: [[["WL", "X1"], ["RL", "Y1"]], [["WL", "Y1"], ["RL", "Z1"]], [["WL", "Z1"], ["RL", "X1"]]],
    deadlock: true,
  },
  {
    name: "W1W2_R2R3_W3R1 (write-write / read-read / write-read: a deadlock)",
    events: [[["WL", "X1"], ["WL", "Y1"]], [["RL", "Y1"], ["RL", "Z1"]], [["WL", "Z1"], ["RL", "X1"]]],
    deadlock: true,
  },
  {
    name: "W1W2_R2R3_R3W1 (write-write / read-read / read-write: no deadlock, reads are recursive)",
    events: [[["WL", "X1"], ["WL", "Y1"]], [["RL", "Y1"], ["RL", "Z1"]], [["RL", "Z1"], ["WL", "X1"]]],
    deadlock: false,
  },
  {
    name: "W1R2_R2R3_W3W1 (write-read / read-read / write-write: no deadlock)",
    events: [[["WL", "X1"], ["RL", "Y1"]], [["RL", "Y1"], ["RL", "Z1"]], [["WL", "Z1"], ["WL", "X1"]]],
    deadlock: false,
  },
];

const PERMUTATIONS = ["123", "132", "213", "231", "312", "321"] as const;

/** Run a script: RL/RU WL/WU on RwLocks, RSL/RSU WSL/WSU on RwSemaphores, L/U on SpinLocks, ML/MU on Mutexes; X* share class "X". */
function script(sim: Sim, ops: readonly Op[]): () => Step {
  const rw = new Map<string, RwLock>();
  const sem = new Map<string, RwSemaphore>();
  const spin = new Map<string, SpinLock>();
  const mutex = new Map<string, Mutex>();
  const cls = (n: string): string => n.replace(/\d$/, "");
  const get = <T>(m: Map<string, T>, n: string, mk: () => T): T => {
    let l = m.get(n);
    if (l === undefined) m.set(n, (l = mk()));
    return l;
  };
  return function* () {
    for (const [verb, n] of ops) {
      const r = () => get(rw, n, () => new RwLock(sim, cls(n), { name: n, queued: false }));
      const s = () => get(sem, n, () => new RwSemaphore(sim, cls(n), { name: n }));
      switch (verb) {
        case "RL": yield* r().readLock(); break;
        case "RU": yield* r().readUnlock(); break;
        case "WL": yield* r().writeLock(); break;
        case "WU": yield* r().writeUnlock(); break;
        case "RSL": yield* s().downRead(); break;
        case "RSU": yield* s().upRead(); break;
        case "WSL": yield* s().downWrite(); break;
        case "WSU": yield* s().upWrite(); break;
        case "L": yield* get(spin, n, () => new SpinLock(sim, cls(n), { name: n })).lock(); break;
        case "U": yield* get(spin, n, () => new SpinLock(sim, cls(n), { name: n })).unlock(); break;
        case "ML": yield* get(mutex, n, () => new Mutex(sim, cls(n), { name: n })).lock(); break;
        case "MU": yield* get(mutex, n, () => new Mutex(sim, cls(n), { name: n })).unlock(); break;
        default: throw new Error(`unknown verb ${verb}`);
      }
    }
  };
}

/** The unlocks of a pair event: release in reverse order. */
function pairEvent(pair: readonly Op[]): Op[] {
  const unlock: Record<string, string> = { RL: "RU", WL: "WU" };
  return [...pair, ...[...pair].reverse().map(([v, n]) => [unlock[v] ?? v, n] as const)];
}

describe("lib/locking-selftest.c: read/write mixes and recursive reads", () => {
  for (const c of MIXES) {
    it(`${c.name}: ${c.want === null ? "no report" : c.want.kind}`, () => {
      check(
        run((sim) => script(sim, c.script)),
        c.want,
      );
    });
  }

  for (const c of THREE_EVENT_MIXES) {
    for (const order of PERMUTATIONS) {
      it(`${c.name.split(" ")[0]}_${order}: ${c.deadlock ? "lock-order-cycle" : "no report"}`, () => {
        const ops = (order.match(/\d/g) ?? []).flatMap((i) => pairEvent(c.events[Number(i) - 1] as readonly Op[]));
        const reports = run((sim) => script(sim, ops));
        if (!c.deadlock) { check(reports, null); return; }
        check(reports, { kind: "lock-order-cycle" });
        expect(cycleClasses(reports[0])).toEqual(["X", "Y", "Z"]);
      });
    }
  }
});

// -- irq state ---------------------------------------------------------------

type Irq = "hard" | "soft";

function irqEnter(irq: Irq): void {
  if (irq === "hard") hardirqEnter();
  else softirqEnter();
}
function irqExit(irq: Irq): void {
  if (irq === "hard") hardirqExit();
  else softirqExit();
}
function irqDisable(irq: Irq): void {
  if (irq === "hard") localIrqSave();
  else localBhDisable();
}
function irqEnable(irq: Irq): void {
  if (irq === "hard") localIrqRestore();
  else localBhEnable();
}

/** The spin, wlock and rlock of the irq selftests (DO_TESTCASE_3: spin and wlock fail, rlock does not). */
const IRQ_TYPES = ["spin", "wlock", "rlock"] as const;

/**
 * The irq selftests' events, by lock type: each event is a function of the
 * locks. `A`, `B` use the type under test (LOCK(A)); `rwA`, `rwB` are the
 * rwlocks for the explicit RL/WL of the read-recursion tests.
 */
interface IrqLocks {
  readonly A: L;
  readonly B: L;
  readonly rwA: RwLock;
  readonly rwB: RwLock;
  readonly plainB: SpinLock;
}

interface IrqCase {
  readonly name: string;
  readonly events: readonly ((l: IrqLocks, irq: Irq) => Step)[];
  /** Which lock types report, and the report: inconsistent usage of A, or a safe -> unsafe path. */
  readonly fails: readonly (typeof IRQ_TYPES)[number][];
  readonly variant: "inconsistent" | "safe-to-unsafe";
}

const IRQ_CASES: readonly IrqCase[] = [
  {
    // irq-safe-A => irqs-on: A taken in the irq, then with the irq enabled.
    name: "irqsafe1",
    events: [
      function* (l, irq) {
        irqEnter(irq);
        yield* l.A.lock();
        yield* l.A.unlock();
        irqExit(irq);
      },
      function* (l) {
        yield* l.A.lock();
        yield* l.A.unlock();
      },
    ],
    fails: ["spin", "wlock"],
    variant: "inconsistent",
  },
  {
    // Enabling the irq with an irq-safe lock held.
    name: "irqsafe2A",
    events: [
      function* (l, irq) {
        irqEnter(irq);
        yield* l.A.lock();
        yield* l.A.unlock();
        irqExit(irq);
      },
      function* (l, irq) {
        irqDisable(irq);
        yield* l.A.lock();
        irqEnable(irq);
        yield* l.A.unlock();
      },
    ],
    fails: ["spin", "wlock"],
    variant: "inconsistent",
  },
  {
    // safe-A + unsafe-B #1: irq-safe A, B taken under A, B taken with the irq on.
    name: "irqsafe3",
    events: [
      function* (l, irq) {
        irqEnter(irq);
        yield* l.A.lock();
        yield* l.A.unlock();
        irqExit(irq);
      },
      function* (l, irq) {
        irqDisable(irq);
        yield* l.A.lock();
        yield* l.B.lock();
        yield* l.B.unlock();
        yield* l.A.unlock();
        irqEnable(irq);
      },
      function* (l) {
        yield* l.B.lock();
        yield* l.B.unlock();
      },
    ],
    fails: ["spin", "wlock"],
    variant: "safe-to-unsafe",
  },
  {
    // irq read-recursion: A read with the irq on, taken (LOCK) in the irq.
    name: "irq_read_recursion",
    events: [
      function* (l, irq) {
        irqDisable(irq);
        yield* l.rwA.writeLock();
        yield* l.rwA.writeUnlock();
        irqEnable(irq);
      },
      function* (l) {
        yield* l.rwA.readLock();
        yield* l.rwA.readUnlock();
      },
      function* (l, irq) {
        irqEnter(irq);
        yield* l.A.lock();
        yield* l.plainB.lock();
        yield* l.plainB.unlock();
        yield* l.A.unlock();
        irqExit(irq);
      },
    ],
    fails: ["wlock"],
    variant: "inconsistent",
  },
  {
    // irq read-recursion #2: B irq-safe, A (LOCK) taken under B, A read with the irq on.
    name: "irq_read_recursion2",
    events: [
      function* (l, irq) {
        irqDisable(irq);
        yield* l.plainB.lock();
        yield* l.A.lock();
        yield* l.A.unlock();
        yield* l.plainB.unlock();
        irqEnable(irq);
      },
      function* (l) {
        yield* l.rwA.readLock();
        yield* l.rwA.readUnlock();
      },
      function* (l, irq) {
        irqEnter(irq);
        yield* l.plainB.lock();
        yield* l.plainB.unlock();
        irqExit(irq);
      },
    ],
    fails: ["wlock"],
    variant: "safe-to-unsafe",
  },
  {
    // irq read-recursion #3: B read in the irq, A (LOCK) under write-held B, A read with the irq on.
    name: "irq_read_recursion3",
    events: [
      function* (l, irq) {
        irqDisable(irq);
        yield* l.rwB.writeLock();
        yield* l.A.lock();
        yield* l.A.unlock();
        yield* l.rwB.writeUnlock();
        irqEnable(irq);
      },
      function* (l) {
        yield* l.rwA.readLock();
        yield* l.rwA.readUnlock();
      },
      function* (l, irq) {
        irqEnter(irq);
        yield* l.rwB.readLock();
        yield* l.rwB.readUnlock();
        irqExit(irq);
      },
    ],
    fails: ["wlock"],
    variant: "safe-to-unsafe",
  },
];

function orders(n: number): string[] {
  return n === 2 ? ["12", "21"] : [...PERMUTATIONS];
}

describe("lib/locking-selftest.c: irq-safe and irq-unsafe usage, hardirq and softirq", () => {
  for (const c of IRQ_CASES) {
    for (const irq of ["hard", "soft"] as const) {
      for (const type of IRQ_TYPES) {
        for (const order of orders(c.events.length)) {
          const fails = c.fails.includes(type);
          // The read-recursion selftests run for rwlocks only (DO_TESTCASE_6x2x2RW).
          if (c.name.startsWith("irq_read_recursion") && type === "spin") continue;
          it(`${c.name}_${irq}_${type}_${order}: ${fails ? `irq-lock-inversion (${irq}irq, ${c.variant})` : "no report"}`, () => {
            const reports = run((sim) => {
              // The read-recursion cases take A as LOCK() (rlock: read_lock, wlock: write_lock) and RL(A) on the same rwlock.
              const rwA = new RwLock(sim, "A", { name: "A", queued: false });
              const rwB = new RwLock(sim, "B", { name: "B", queued: false });
              const plainB = new SpinLock(sim, "B", { name: "B" });
              const asL = (l: RwLock, write: boolean): L =>
                write ? { lock: () => l.writeLock(), unlock: () => l.writeUnlock() } : { lock: () => l.readLock(), unlock: () => l.readUnlock() };
              const readRecursion = c.name.startsWith("irq_read_recursion");
              const A = readRecursion ? asL(rwA, type !== "rlock") : make(sim, type, "A", "A");
              const B = make(sim, type, "B", "B");
              const locks: IrqLocks = { A, B, rwA, rwB, plainB };
              return function* () {
                for (const i of order) yield* (c.events[Number(i) - 1] as IrqCase["events"][number])(locks, irq);
              };
            });
            if (!fails) { check(reports, null); return; }
            check(reports, { kind: "irq-lock-inversion", irq: `${irq}irq`, variant: c.variant });
          });
        }
      }
    }
  }
});

// -- wait contexts (CONFIG_PROVE_RAW_LOCK_NESTING) ---------------------------

describe("lib/locking-selftest.c: wait context tests", () => {
  type Outer = "raw_spinlock" | "spinlock" | "rwlock" | "local_lock" | "hardirq" | "softirq" | "none";
  type Inner = "raw_spinlock" | "spinlock" | "rwlock" | "local_lock" | "mutex";
  const cases: readonly { outer: Outer; inner: Inner; ok: boolean }[] = [
    { outer: "raw_spinlock", inner: "raw_spinlock", ok: true },
    { outer: "raw_spinlock", inner: "spinlock", ok: false },
    { outer: "raw_spinlock", inner: "rwlock", ok: false },
    { outer: "raw_spinlock", inner: "local_lock", ok: false },
    { outer: "spinlock", inner: "raw_spinlock", ok: true },
    { outer: "spinlock", inner: "spinlock", ok: true },
    { outer: "spinlock", inner: "rwlock", ok: true },
    { outer: "rwlock", inner: "spinlock", ok: true },
    { outer: "local_lock", inner: "spinlock", ok: true },
    { outer: "hardirq", inner: "raw_spinlock", ok: true },
    { outer: "hardirq", inner: "spinlock", ok: true },
    { outer: "softirq", inner: "spinlock", ok: true },
    { outer: "none", inner: "mutex", ok: true },
  ];
  for (const c of cases) {
    it(`${c.outer} -> ${c.inner}: ${c.ok ? "no report" : "invalid-wait-context"}`, () => {
      const reports = run((sim) => {
        const take = (what: Outer | Inner, name: string): [() => Step, () => Step] => {
          switch (what) {
            case "raw_spinlock": {
              const l = new RawSpinLock(sim, name);
              return [() => l.lock(), () => l.unlock()];
            }
            case "spinlock": {
              const l = new SpinLock(sim, name);
              return [() => l.lock(), () => l.unlock()];
            }
            case "rwlock": {
              const l = new RwLock(sim, name, { queued: false });
              return [() => l.readLock(), () => l.readUnlock()];
            }
            case "local_lock": {
              const l = new LocalLock(sim, name);
              return [() => l.lock(), () => l.unlock()];
            }
            case "mutex": {
              const l = new Mutex(sim, name);
              return [() => l.lock(), () => l.unlock()];
            }
            case "hardirq":
               
              return [function* () { hardirqEnter(); }, function* () { hardirqExit(); }];
            case "softirq":
               
              return [function* () { softirqEnter(); }, function* () { softirqExit(); }];
            case "none":
               
              return [function* () { /* no outer section */ }, function* () { /* no outer section */ }];
          }
        };
        const [outerLock, outerUnlock] = take(c.outer, "outer");
        const [innerLock, innerUnlock] = take(c.inner, "inner");
        return function* () {
          yield* outerLock();
          yield* innerLock();
          yield* innerUnlock();
          yield* outerUnlock();
        };
      });
      if (c.ok) { check(reports, null); return; }
      check(reports, { kind: "invalid-wait-context", lockClass: "inner", waitType: "spin", forbiddenByWaitType: "raw-spin" });
    });
  }

  it("raw_spinlock -> mutex: sleep-in-atomic first (the sleep check), no second report", () => {
    const reports = run((sim) => {
      const raw = new RawSpinLock(sim, "raw");
      const m = new Mutex(sim, "m");
      return function* () {
        yield* raw.lock();
        yield* m.lock();
        yield* m.unlock();
        yield* raw.unlock();
      };
    });
    check(reports, { kind: "sleep-in-atomic", reason: "spinlock", op: "mutex_lock" });
  });

  it("a spinlock_t trylock under a raw spinlock never waits: no report", () => {
    const reports = run((sim) => {
      const raw = new RawSpinLock(sim, "raw");
      const s = new SpinLock(sim, "s");
      return function* () {
        yield* raw.lock();
        if (yield* s.trylock()) yield* s.unlock();
        yield* raw.unlock();
      };
    });
    check(reports, null);
  });
});

// -- nest_lock ---------------------------------------------------------------

describe("nest_lock: many locks of one class under an outer lock (ww_test_normal's mutex_lock_nest_lock)", () => {
  it("two mutexes of one class under a held nest lock: no report", () => {
    const reports = run((sim) => {
      const outer = new Mutex(sim, "outer");
      const a = new Mutex(sim, "obj", { name: "a" });
      const b = new Mutex(sim, "obj", { name: "b" });
      return function* () {
        yield* outer.lock();
        yield* a.lockNestLock(outer);
        yield* b.lockNestLock(outer);
        expect(a.assertHeld() && b.assertHeld()).toBe(true);
        yield* b.unlock();
        yield* a.unlock();
        yield* outer.unlock();
      };
    });
    check(reports, null);
  });

  it("two spinlocks of one class under a held nest spinlock: no report", () => {
    const reports = run((sim) => {
      const outer = new SpinLock(sim, "outer");
      const a = new SpinLock(sim, "obj", { name: "a" });
      const b = new SpinLock(sim, "obj", { name: "b" });
      return function* () {
        yield* outer.lock();
        yield* a.lockNestLock(outer);
        yield* b.lockNestLock(outer);
        yield* a.unlock();
        yield* b.unlock();
        yield* outer.unlock();
      };
    });
    check(reports, null);
  });

  for (const [type, make] of [
    ["Mutex", (sim: Sim, name: string, o?: { name: string }) => new Mutex(sim, name, o)],
    ["SpinLock", (sim: Sim, name: string, o?: { name: string }) => new SpinLock(sim, name, o)],
    ["RawSpinLock", (sim: Sim, name: string, o?: { name: string }) => new RawSpinLock(sim, name, o)],
  ] as const) {
    it(`${type}: the nest lock not held is lock-not-held, check nest-lock, naming the lock taken (lockdep's "Nested lock was not taken")`, () => {
      let labels: string[] = [];
      const reports = run((sim) => {
        const outer = make(sim, "outer");
        const a = make(sim, "obj", { name: "a" });
        labels = [outer.label, a.label];
        return function* () {
          yield* a.lockNestLock(outer);
          yield* a.unlock();
        };
      });
      check(reports, { kind: "lock-not-held", check: "nest-lock", lock: labels[0], acquiring: labels[1], owner: null });
      const text = formatReport(reports[0] as Report);
      expect(text).toContain("WARNING: Nested lock was not taken");
      expect(text).toContain(`is trying to lock: ${labels[1] ?? ""}`);
      expect(text).toContain(`but this task is not holding: ${labels[0] ?? ""}`);
    });
  }

  it("without nest_lock, the same two locks are recursive locking", () => {
    const reports = run((sim) => {
      const outer = new Mutex(sim, "outer");
      const a = new Mutex(sim, "obj", { name: "a" });
      const b = new Mutex(sim, "obj", { name: "b" });
      return function* () {
        yield* outer.lock();
        yield* a.lock();
        yield* b.lock();
        yield* b.unlock();
        yield* a.unlock();
        yield* outer.unlock();
      };
    });
    check(reports, { kind: "recursive-locking", lockClass: "obj" });
  });
});

// -- local_lock --------------------------------------------------------------

describe("lib/locking-selftest.c: local_lock tests", () => {
  it("local_lock_2: local_lock(A) twice is recursive locking", () => {
    const reports = run((sim) => {
      const a = new LocalLock(sim, "local_A");
      return function* () {
        yield* a.lock();
        yield* a.lock();
        yield* a.unlock();
        yield* a.unlock();
      };
    });
    check(reports, { kind: "recursive-locking", lockClass: "local_A" });
  });

  it("local lock taken in a hardirq and with irqs on elsewhere: inconsistent hardirq usage", () => {
    const reports = run((sim) => {
      const a = new LocalLock(sim, "local_A");
      return function* () {
        hardirqEnter();
        yield* a.lock();
        yield* a.unlock();
        hardirqExit();
        yield* a.lock();
        yield* a.unlock();
      };
    });
    check(reports, { kind: "irq-lock-inversion", irq: "hardirq", variant: "inconsistent", safe: { lockClass: "local_A" } });
  });

  it("local_lock_irq in process context and the lock in a hardirq: no report", () => {
    const reports = run((sim) => {
      const a = new LocalLock(sim, "local_A");
      return function* () {
        yield* a.lockIrq();
        yield* a.unlockIrq();
        const flags = yield* a.lockIrqsave();
        yield* a.unlockIrqrestore(flags);
        hardirqEnter();
        yield* a.lock();
        yield* a.unlock();
        hardirqExit();
      };
    });
    check(reports, null);
  });
});

// -- init of a held lock -----------------------------------------------------

describe("lib/locking-selftest.c: init_held_* (re-initialising a held lock)", () => {
  const types = [
    { name: "spin", op: "spin_lock_init", make: (sim: Sim) => new SpinLock(sim, "A"), lock: (l: SpinLock) => l.lock(), unlock: (l: SpinLock) => l.unlock() },
    { name: "mutex", op: "mutex_init", make: (sim: Sim) => new Mutex(sim, "A"), lock: (l: Mutex) => l.lock(), unlock: (l: Mutex) => l.unlock() },
    { name: "wlock", op: "rwlock_init", make: (sim: Sim) => new RwLock(sim, "A", { queued: false }), lock: (l: RwLock) => l.writeLock(), unlock: (l: RwLock) => l.writeUnlock() },
    { name: "rsem", op: "init_rwsem", make: (sim: Sim) => new RwSemaphore(sim, "A"), lock: (l: RwSemaphore) => l.downRead(), unlock: (l: RwSemaphore) => l.upRead() },
  ] as const;
  for (const t of types) {
    it(`init_held_${t.name}: lock-held-at-free, freed by ${t.op}; the holder's unlock still works`, () => {
      const sim = collectingSim();
      sim.run(function* () {
        const l = t.make(sim) as never;
        yield* (t.lock as (x: never) => Step)(l);
        yield* (l as SpinLock).reinit();
        yield* (t.unlock as (x: never) => Step)(l);
        yield* (l as SpinLock).reinit();
      });
      check(sim.reports, { kind: "lock-held-at-free", freed: { op: t.op } });
    });
  }
});
