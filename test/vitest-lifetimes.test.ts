/**
 * gpuvm-sim/vitest's lifetime matchers: toHaveRefcount, toBeFreed,
 * toBeAlive, toSatisfyInvariants, toHaveNoLeaks. Each: passing, the failing
 * message's content, `.not`, and that asking changes nothing (no report
 * filed, even about a freed object).
 */
import { describe, expect, it } from "vitest";
import { ArgumentError, condResched, kfree, Kref, Mutex, SimObject, UsageError, VaTree, type Effect, type Sim } from "../src/index.js";
import { matchers } from "../src/vitest.js";
import { collectingSim } from "./support/collecting-sim.js";
import { reached, type ReductionProgram } from "./support/reduction.js";
import { forgottenUnmap, main as lifetimeExample } from "../examples/lifetime-matchers.js";

/** A driver's buffer object: one `refcount`, freed at the last put. */
class Bo extends SimObject {
  readonly refcount: Kref<Bo>;
  constructor(sim: Sim, name: string) {
    super(sim, "Bo", { name });
    this.refcount = new Kref<Bo>(this, { holder: "creator" });
  }
  get(holder: string) {
    return this.refcount.get(holder);
  }
  put(holder: string) {
    return this.refcount.put(boFree, holder);
  }
}

function* boFree(bo: Bo): Generator<Effect, void, unknown> {
  yield* kfree(bo);
}

/** A Kref under another name than `refcount`: found as the object's only Kref. */
class Gem extends SimObject {
  readonly kref: Kref<Gem>;
  constructor(sim: Sim) {
    super(sim, "Gem");
    this.kref = new Kref<Gem>(this);
  }
}

/** Call a matcher as Vitest would, with a minimal `this`. */
const context = { isNot: false } as ThisParameterType<typeof matchers.toHaveRefcount>;

/** Throws from a matcher, whatever the polarity. */
function failure(f: () => void): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the assertion to fail");
}

describe("toHaveRefcount", () => {
  it("reads an object's refcount field, a Kref itself, or a SimObject's only Kref", () => {
    const sim = collectingSim();
    const bo = new Bo(sim, "bo0");
    const gem = new Gem(sim);
    expect(bo).toHaveRefcount(1);
    expect(bo.refcount).toHaveRefcount(1);
    expect(gem).toHaveRefcount(1);
    expect(bo).not.toHaveRefcount(2);
    sim.run(function* () {
      yield* bo.get("vm");
      yield* bo.get("vm");
    });
    expect(bo).toHaveRefcount(3);
    expect(sim.reports).toEqual([]);
  });

  it("names the holders by tag, with where each took its reference", () => {
    const sim = collectingSim();
    const bo = new Bo(sim, "bo0");
    sim.run(function* () {
      yield* bo.get("vm");
      yield* bo.get("vm");
      yield* bo.get("exec");
    });
    const message = failure(() => {
      expect(bo).toHaveRefcount(1);
    });
    expect(message).toBe(
      [
        `expected Bo#${bo.id} "bo0" to have refcount 1, but it has 4:`,
        '    "creator", taken by (setup) at step 0 (kref_init)',
        '    "vm" x2, first taken by main/1 at step 2 (kref_get)',
        '    "exec", taken by main/1 at step 4 (kref_get)',
      ].join("\n"),
    );
  });

  it("negated, says it has that count and who holds it", () => {
    const sim = collectingSim();
    const bo = new Bo(sim, "bo0");
    expect(failure(() => { expect(bo).not.toHaveRefcount(1); })).toBe(`expected Bo#${bo.id} "bo0" not to have refcount 1, but it does:\n    "creator", taken by (setup) at step 0 (kref_init)`);
    const r = matchers.toHaveRefcount.call({ ...context, isNot: true }, bo.refcount, 1);
    expect(r.pass).toBe(true);
    expect(r.message()).toMatch(/^expected the refcount of Bo#\d+ "bo0" not to have refcount 1/);
  });

  it("counts untagged references, and says so when holders are not tracked", () => {
    const sim = collectingSim();
    const gem = new Gem(sim);
    expect(failure(() => { expect(gem).toHaveRefcount(2); })).toBe(`expected Gem#${gem.id} to have refcount 2, but it has 1:\n    1 untagged reference`);
    const untracked = collectingSim({ checks: { refcounts: false } });
    const bo = new Bo(untracked, "bo1");
    expect(failure(() => { expect(bo).toHaveRefcount(0); })).toContain("but it has 1:\n    (holders not tracked: the Sim's refcounts check is off)");
  });

  it("reads a freed object's count without a use-after-free, and says who freed it", () => {
    const sim = collectingSim();
    const bo = new Bo(sim, "bo0");
    sim.run(function* () {
      yield* bo.put("creator");
    });
    expect(bo).toHaveRefcount(0);
    expect(bo.refcount).toHaveRefcount(0);
    expect(failure(() => { expect(bo).toHaveRefcount(1); })).toBe(`expected Bo#${bo.id} "bo0" to have refcount 1, but it has 0.\nBo#${bo.id} "bo0" was freed by main/1 at step 3 (kfree).`);
    expect(sim.reports).toEqual([]);
  });

  it("type-checks its argument", () => {
    const sim = collectingSim();
    const bo = new Bo(sim, "bo0");
    // @ts-expect-error: a count is a number
    expect(() => { expect(bo).toHaveRefcount("1"); }).toThrow(ArgumentError);
  });
});

describe("toBeFreed and toBeAlive", () => {
  it("pass and fail by the object's lifetime", () => {
    const sim = collectingSim();
    const bo = new Bo(sim, "bo0");
    expect(bo).toBeAlive();
    expect(bo).not.toBeFreed();
    sim.run(function* () {
      yield* bo.put("creator");
    });
    expect(bo).toBeFreed();
    expect(bo.refcount).toBeFreed();
    expect(bo).not.toBeAlive();
    // Asking about a freed object is not a use of it.
    expect(sim.reports).toEqual([]);
  });

  it("toBeFreed on a live object: where it was allocated and who still holds it", () => {
    const sim = collectingSim();
    let bo: Bo | null = null;
    sim.run(function* () {
      bo = new Bo(sim, "bo0");
      yield* bo.get("vm_bo");
    });
    const live = bo as unknown as Bo;
    expect(failure(() => { expect(live).toBeFreed(); })).toBe(
      [
        `expected Bo#${live.id} "bo0" to be freed, but it is live.`,
        "",
        "  allocated    main/1          step 1     new Bo",
        `  Bo#${live.id} "bo0": refcount 2, held by:`,
        '      "creator", taken by main/1 at step 1 (kref_init)',
        '      "vm_bo", taken by main/1 at step 2 (kref_get)',
      ].join("\n"),
    );
    expect(failure(() => { expect(live).not.toBeAlive(); })).toMatch(/^expected Bo#\d+ "bo0" not to be alive, but it is\.\n\n {2}allocated/);
  });

  it("toBeAlive on a freed object: who freed it, where, and who dropped the last reference", () => {
    const sim = collectingSim();
    const bo = new Bo(sim, "bo0");
    sim.spawn("close", "process", function* () {
      yield* bo.put("creator");
    });
    sim.runAll();
    expect(failure(() => { expect(bo).toBeAlive(); })).toBe(
      [
        `expected Bo#${bo.id} "bo0" to be alive, but it was freed by close/1 at step 3 (kfree); its last reference was dropped by close/1 at step 2 (holder "creator").`,
        "",
        "  allocated    (setup)         step 0     new Bo",
        "  freed        close/1         step 3     kfree",
      ].join("\n"),
    );
    expect(failure(() => { expect(bo).not.toBeFreed(); })).toMatch(/^expected Bo#\d+ "bo0" not to be freed, but it was by close\/1 at step 3 \(kfree\)/);
  });

  it("an embedded object lives and dies with its container", () => {
    const sim = collectingSim();
    const bo = new Bo(sim, "bo0");
    const lock = new Mutex(sim, "bo->lock", { embeddedIn: bo });
    expect(failure(() => { expect(lock).toBeFreed(); })).toContain(`It is embedded in Bo#${bo.id} "bo0", which is live.\n  Bo#${bo.id} "bo0": refcount 1, held by:`);
    sim.run(function* () {
      yield* bo.put("creator");
    });
    expect(lock).toBeFreed();
    expect(failure(() => { expect(lock).toBeAlive(); })).toMatch(/^expected Mutex#\d+ "bo->lock" in Bo#\d+ "bo0" to be alive, but it was freed with Bo#\d+ "bo0", which it is embedded in, by main\/1 at step 3 \(kfree\)/);
  });

  it("a static object is never freed", () => {
    const sim = collectingSim();
    const lock = new Mutex(sim, "global_lock", { static: true });
    expect(lock).toBeAlive();
    expect(failure(() => { expect(lock).toBeFreed(); })).toContain("It is statically allocated: never freed.");
  });
});

describe("toSatisfyInvariants", () => {
  it("passes for a sound VaTree and anything whose checkInvariants() finds nothing", () => {
    const tree = new VaTree<string>();
    tree.insert(0x1000, 0x1000, "a");
    expect(tree).toSatisfyInvariants();
    expect({ checkInvariants: () => [] }).toSatisfyInvariants();
    expect(failure(() => { expect(tree).not.toSatisfyInvariants(); })).toBe("expected a VaTree to violate its invariants, but checkInvariants() found none.");
  });

  it("lists the violations, numbered: strings as they are, reports as text, anything else as JSON", () => {
    const sim = collectingSim();
    const bo = new Bo(sim, "bo0");
    sim.run(function* () {
      yield* bo.put("creator");
      yield* bo.put("creator"); // one put too many
    });
    const [underflow] = sim.reports;
    expect(underflow?.kind).toBe("refcount-underflow");
    const subject = {
      checkInvariants: () => ["extobj list holds a zombie", underflow, { kind: "refcount-underflow" }, { addr: 4096 }],
    };
    const message = failure(() => { expect(subject).toSatisfyInvariants(); });
    expect(message).toMatch(/^expected an object to satisfy its invariants, but checkInvariants\(\) found 4 violations:\n {2}1\. extobj list holds a zombie\n {2}2\. =+\n {5}WARNING: refcount_t: underflow; use-after-free/);
    // A report is drawn whole, its lines indented under its number.
    expect(message).toContain('\n     Replay: new Sim({ replay: "gpuvm-sim:1:sim:round-robin:0" })\n     ====');
    // A report body without the base fields (step, schedule, replay): its kind's headline, then the body as JSON.
    expect(message).toContain('\n  3. WARNING: refcount_t: underflow; use-after-free\n     {"kind":"refcount-underflow"}\n');
    expect(message).toMatch(/\n {2}4\. \{"addr":4096\}$/);
  });

  it("names a driver's object by its label, and passes negated when violations are found", () => {
    class Table extends SimObject {
      checkInvariants(): string[] {
        return ["slot 3 points at a freed Bo"];
      }
    }
    const sim = collectingSim();
    const table = new Table(sim, "Table", { name: "handles" });
    expect(table).not.toSatisfyInvariants();
    expect(failure(() => { expect(table).toSatisfyInvariants(); })).toBe(
      `expected Table#${table.id} "handles" to satisfy its invariants, but checkInvariants() found 1 violation:\n  1. slot 3 points at a freed Bo`,
    );
  });
});

describe("toHaveNoLeaks", () => {
  it("passes when teardown files nothing", () => {
    const sim = collectingSim();
    const bo = new Bo(sim, "bo0");
    sim.run(function* () {
      yield* bo.put("creator");
    });
    expect(sim).toHaveNoLeaks();
    expect(sim.reports).toEqual([]);
    expect(failure(() => { expect(sim).not.toHaveNoLeaks(); })).toMatch(/^expected Sim#\d+ \(seed 0\) to leak at teardown, but teardown filed no report\.$/);
  });

  it("lists the leak report in its text form: the holder that never let go", () => {
    const sim = collectingSim();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      yield* bo.get("vm_bo");
      yield* bo.put("creator");
    });
    const message = failure(() => { expect(sim).toHaveNoLeaks(); });
    expect(message).toMatch(/^expected Sim#\d+ \(seed 0\) to have no leaks at teardown, but teardown filed 1 report \(leak\):\n\n=+\nBUG: gpuvm-sim: 1 object still live at teardown \(leak\)/);
    expect(message).toContain('held by "vm_bo"');
    expect(message).not.toContain('held by "creator"');
    // teardown() runs once: asking again sees the same report, and .not passes.
    expect(sim).not.toHaveNoLeaks();
    expect(sim.reports.map((r) => r.kind)).toEqual(["leak"]);
  });

  it("says when the run did not end done", () => {
    const sim = collectingSim();
    const m = new Mutex(sim, "m");
    sim.spawn("stuck", "process", function* () {
      yield* m.lock();
      yield* m.lock(); // recursive: blocks forever
    });
    expect(sim.runAll().outcome).toBe("deadlock");
    expect(failure(() => { expect(sim).toHaveNoLeaks(); })).toMatch(/\nThe run ended "deadlock", not "done": what its stuck or stopped tasks still hold is a consequence/);
  });

  it("refuses to run inside a task", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    sim.run(function* () {
      expect(() => { expect(sim).toHaveNoLeaks(); }).toThrow(UsageError);
    });
    expect(sim.reports).toEqual([]);
  });
});

describe("inside a task, under DFS with reduction", () => {
  // A matcher's read joins the running step's footprint, so the reduction
  // orders it against the writes it observes: both answers are reached, as
  // without reduction.
  const refcountRace: ReductionProgram = (sim, seen) => {
    const bo = new Bo(sim, "bo0");
    sim.spawn("user", "process", function* () {
      yield* bo.get("user");
      yield* bo.put("user");
    });
    sim.spawn("checker", "process", function* () {
      yield* condResched();
      seen(matchers.toHaveRefcount.call(context, bo, 1).pass ? "refcount 1" : "refcount 2");
    });
  };
  const freeRace: ReductionProgram = (sim, seen) => {
    const bo = new Bo(sim, "bo0");
    sim.spawn("closer", "process", function* () {
      yield* bo.put("creator");
    });
    sim.spawn("checker", "process", function* () {
      yield* condResched();
      seen(matchers.toBeFreed.call(context, bo).pass ? "freed" : "alive");
    });
  };

  it("a refcount read", () => {
    // The creator's reference stays: lifetimes off, so its leak is not a failure here.
    const all = reached(refcountRace, "none", { checks: { lifetimes: false } });
    expect(all).toEqual(["refcount 1", "refcount 2"]);
    expect(reached(refcountRace, "dpor", { checks: { lifetimes: false } })).toEqual(all);
  });

  it("a lifetime read", () => {
    const all = reached(freeRace, "none");
    expect(all).toEqual(["alive", "freed"]);
    expect(reached(freeRace, "dpor")).toEqual(all);
  });
});

describe("docs/lifetimes.md's example", () => {
  it("passes as written", () => {
    lifetimeExample();
  });

  it("with an unmap forgotten, fails naming the mapping's reference", async () => {
    const text = forgottenUnmap().replace(/Sim#\d+/, "Sim#N");
    await expect(text + "\n").toMatchFileSnapshot("report/__snapshots__/docs-lifetime-matchers.txt");
    expect(text).toContain('held by "mapping"');
    expect(text).not.toContain('held by "creator"');
  });
});

describe("the lifetime matchers, asymmetric and with stacks", () => {
  it("work as asymmetric matchers inside toEqual", () => {
    const sim = collectingSim();
    const kept = new Bo(sim, "kept");
    const dropped = new Bo(sim, "dropped");
    sim.run(function* () {
      yield* dropped.put("creator");
    });
    expect({ kept, dropped }).toEqual({ kept: expect.toHaveRefcount(1), dropped: expect.toBeFreed() });
    expect({ kept }).not.toEqual({ kept: expect.toBeFreed() });
  });

  it("toBeAlive shows the stack of the free under captureStacks", () => {
    const sim = collectingSim({ captureStacks: true });
    const bo = new Bo(sim, "bo0");
    sim.run(function* () {
      yield* bo.put("creator");
    });
    const message = failure(() => {
      expect(bo).toBeAlive();
    });
    expect(message).toMatch(/\n {2}freed {8}main\/1 {10}step 3 {5}kfree\n {6}at /);
  });
});
