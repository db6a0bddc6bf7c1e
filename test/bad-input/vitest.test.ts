import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, condResched, kfree, Kref, SimObject, type Effect, type Scenario, type Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { exploreTest, type ExploreTestOptions } from "../../src/vitest.js";
import { expectThrows } from "./helpers.js";

let runs = 0;
const scenario: Scenario = (sim) => {
  runs++;
  sim.spawn("t", "process", function* () {
    yield* condResched();
  });
};

describe("bad input: exploreTest()", () => {
  it("a bad name or scenario names the argument", () => {
    expectThrows(() => {
      exploreTest("", scenario);
    }, ArgumentError, "name");
    expectThrows(() => {
      exploreTest(5 as never, scenario);
    }, ArgumentError, "name");
    expectThrows(() => {
      exploreTest("t", null as never);
    }, ArgumentError, "scenario");
  });

  const cases: [string, unknown, typeof ArgumentError | typeof ArgumentRangeError, string][] = [
    ["null options", null, ArgumentError, "options"],
    ["an unknown option", { expext: "deadlock" }, ArgumentError, "expext"],
    ["expect not a report kind", { expect: "deadlocks" }, ArgumentError, "expect"],
    ["timeout 0", { timeout: 0 }, ArgumentRangeError, "timeout"],
    ["stopAtFirst not a boolean", { stopAtFirst: "no" }, ArgumentError, "stopAtFirst"],
    ["executions 0", { executions: 0 }, ArgumentRangeError, "executions"],
    ["PCT depth 1e9", { strategy: { name: "pct", depth: 1e9 } }, ArgumentRangeError, "strategy.depth"],
    ["a DFS shard [0, 0]", { strategy: { name: "dfs", shard: [0, 0] } }, ArgumentRangeError, "strategy.shard"],
    ["executions 2^40", { executions: 2 ** 40 }, ArgumentRangeError, "executions"],
    ["an unknown PCT key", { strategy: { name: "pct", dept: 1 } }, ArgumentError, "strategy.dept"],
  ];
  for (const [what, options, cls, argument] of cases) {
    it(`${what} names '${argument}' when exploreTest() is called; the scenario is not run`, () => {
      const before = runs;
      expectThrows(() => {
      exploreTest("t", scenario, options as ExploreTestOptions);
    }, cls, argument);
      expect(runs).toBe(before);
    });
  }
});

// ---------------------------------------------------------------------------
// The lifetime matchers: a value of the wrong shape is an ArgumentError
// naming `received` (and saying what it got), negated or not; a bad count
// names `count`. Nothing changes: no report filed, no refcount moved, no
// teardown run.
// ---------------------------------------------------------------------------

class Two extends SimObject {
  readonly a: Kref<Two>;
  readonly b: Kref<Two>;
  constructor(sim: Sim) {
    super(sim, "Two");
    this.a = new Kref<Two>(this);
    this.b = new Kref<Two>(this);
  }
}

class Checked extends SimObject {
  checks = 0;
  checkInvariants(): string[] {
    this.checks++;
    return [];
  }
}

function* free(obj: SimObject): Generator<Effect, void, unknown> {
  yield* kfree(obj);
}

/** Assert `f` throws `cls` naming `argument`, with `detail` in the message, both as written and negated. */
function refused(f: (negated: boolean) => void, cls: typeof ArgumentError | typeof ArgumentRangeError, argument: string, detail: RegExp): void {
  for (const negated of [false, true]) {
    const e = expectThrows(() => {
      f(negated);
    }, cls, argument);
    expect(e.message).toMatch(detail);
  }
}

describe("bad input: toHaveRefcount", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["a number", () => 42, /must be given a Kref or an object with a 'refcount' Kref, got number 42$/],
    ["null", () => null, /got null$/],
    ["an object whose refcount is a number", () => ({ refcount: 3 }), /got an object whose 'refcount' is number 3$/],
    ["a SimObject with no Kref", (): unknown => new Checked(collectingSim(), "Checked"), /Checked#1 has no 'refcount' Kref field and no Kref at all: pass the Kref itself/],
    ["a SimObject with two Krefs", (): unknown => new Two(collectingSim()), /Two#1 has no 'refcount' Kref field and 2 Krefs: pass the Kref itself/],
  ];
  for (const [what, make, detail] of cases) {
    it(`${what} names 'received'`, () => {
      const x = make();
      refused(
        (negated) => {
          if (negated) expect(x).not.toHaveRefcount(1);
          else expect(x).toHaveRefcount(1);
        },
        ArgumentError,
        "received",
        detail,
      );
    });
  }

  const counts: [string, unknown, typeof ArgumentError | typeof ArgumentRangeError][] = [
    ["a string", "1", ArgumentError],
    ["a negative number", -1, ArgumentRangeError],
    ["a fraction", 1.5, ArgumentRangeError],
    ["NaN", NaN, ArgumentRangeError],
  ];
  for (const [what, count, cls] of counts) {
    it(`a count that is ${what} names 'count'; the refcount is unchanged and nothing is filed`, () => {
      const sim = collectingSim();
      const two = new Two(sim);
      refused(
        (negated) => {
          if (negated) expect(two.a).not.toHaveRefcount(count as number);
          else expect(two.a).toHaveRefcount(count as number);
        },
        cls,
        "count",
        /count/,
      );
      expect(two.a).toHaveRefcount(1);
      expect(sim.reports).toEqual([]);
    });
  }
});

describe("bad input: toBeFreed and toBeAlive", () => {
  for (const [what, x, got] of [
    ["a string", "bo0", 'the string "bo0"'],
    ["a plain object", { freed: true }, "an object"],
    ["undefined", undefined, "undefined"],
  ] as const) {
    it(`${what} names 'received' and what it got`, () => {
      const detail = new RegExp(`must be given a SimObject \\(or a Kref, for its owner\\), got ${got.replace(/[()]/g, "\\$&")}$`);
      refused((negated) => {
        if (negated) expect(x).not.toBeFreed();
        else expect(x).toBeFreed();
      }, ArgumentError, "received", detail);
      refused((negated) => {
        if (negated) expect(x).not.toBeAlive();
        else expect(x).toBeAlive();
      }, ArgumentError, "received", detail);
    });
  }
});

describe("bad input: toSatisfyInvariants", () => {
  const cases: [string, unknown, RegExp][] = [
    ["a number", 7, /must be given an object with a checkInvariants\(\) method, got number 7$/],
    ["an object without the method", { check: () => [] }, /got an object without one$/],
    ["a checkInvariants that is not a function", { checkInvariants: [] }, /got an object without one$/],
    ["a checkInvariants returning a string", { checkInvariants: () => "ok" }, /checkInvariants\(\) of an object must return an array of violations, returned the string "ok"$/],
    ["a checkInvariants returning null", { checkInvariants: () => null }, /returned null$/],
  ];
  for (const [what, x, detail] of cases) {
    it(`${what} names 'received'`, () => {
      refused((negated) => {
        if (negated) expect(x).not.toSatisfyInvariants();
        else expect(x).toSatisfyInvariants();
      }, ArgumentError, "received", detail);
    });
  }

  it("a freed object is refused before its checkInvariants() is looked up: no use-after-free is filed", () => {
    const sim = collectingSim();
    const obj = new Checked(sim, "Checked", { name: "table" });
    sim.run(function* () {
      yield* free(obj);
    });
    refused((negated) => {
      if (negated) expect(obj).not.toSatisfyInvariants();
      else expect(obj).toSatisfyInvariants();
    }, ArgumentError, "received", /^invalid argument 'received': Checked#1 "table" was freed by main\/1 at step 2 \(kfree\): its invariants cannot be checked/);
    expect(sim.reports).toEqual([]);
  });
});

describe("bad input: toHaveNoLeaks", () => {
  it("a value that is not a Sim names 'received'", () => {
    refused((negated) => {
      if (negated) expect({ teardown: () => [] }).not.toHaveNoLeaks();
      else expect({ teardown: () => [] }).toHaveNoLeaks();
    }, ArgumentError, "received", /must be given a Sim, got an object$/);
  });

  it("a Sim with checks.lifetimes off is refused without running its teardown", () => {
    const sim = collectingSim({ checks: { lifetimes: false } });
    sim.run(function* () {
      yield* kfree(new Checked(sim, "Checked")); // teardown would have nothing to say anyway
    });
    refused((negated) => {
      if (negated) expect(sim).not.toHaveNoLeaks();
      else expect(sim).toHaveNoLeaks();
    }, ArgumentError, "received", /Sim#\d+ \(seed 0\) runs with checks\.lifetimes off: its teardown does not scan for leaks/);
    // teardown() has not run: a task can still be spawned.
    sim.spawn("later", "process", function* () {
      yield* condResched();
    });
    expect(sim.runAll().outcome).toBe("done");
    expect(sim.reports).toEqual([]);
  });
});
