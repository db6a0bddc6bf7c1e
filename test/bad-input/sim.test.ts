import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, ForeignSimError, Lockdep, Sim, TokenError, UsageError, type SimOptions } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

describe("bad input: Sim", () => {
  const bad: [string, unknown, typeof ArgumentError | typeof ArgumentRangeError, string][] = [
    ["null options", null, ArgumentError, "options"],
    ["an array", [], ArgumentError, "options"],
    ["an unknown key", { sed: 1 }, ArgumentError, "sed"],
    ["a seed string", { seed: "1" }, ArgumentError, "seed"],
    ["a fractional seed", { seed: 1.5 }, ArgumentRangeError, "seed"],
    ["a strategy not known", { strategy: "fifo" }, ArgumentError, "strategy"],
    ["null checks", { checks: null }, ArgumentError, "checks"],
    ["an unknown check", { checks: { lifetime: false } }, ArgumentError, "checks.lifetime"],
    ["a check not a boolean", { checks: { lifetimes: "no" } }, ArgumentError, "checks.lifetimes"],
    ["onReport not known", { onReport: "ignore" }, ArgumentError, "onReport"],
    ["captureStacks not a boolean", { captureStacks: 1 }, ArgumentError, "captureStacks"],
    ["maxSteps 0", { maxSteps: 0 }, ArgumentRangeError, "maxSteps"],
    ["maxSteps Infinity", { maxSteps: Infinity }, ArgumentRangeError, "maxSteps"],
    ["lockdep not a Lockdep", { lockdep: {} }, ArgumentError, "lockdep"],
    ["retired 1 with a bad check", { retired: 1, checks: { lifetimes: "no" } }, ArgumentError, "checks.lifetimes"],
    ["retired 1 with an unknown key", { retired: 1, bogus: 1 }, ArgumentError, "bogus"],
    ["retired 1", { retired: 1 }, ArgumentError, "retired"],
    ["retired a scheduler-shaped object", { retired: { scheduler: -1 } }, ArgumentError, "retired"],
    ["retired a live Sim", { retired: new Sim({ lockdep: new Lockdep() }) }, ArgumentError, "retired"],
  ];
  for (const [what, options, cls, argument] of bad) {
    it(`new Sim(): ${what} names '${argument}'`, () => {
      expectThrows(() => new Sim(options as SimOptions), cls, argument);
    });
  }

  it("a retired Sim is taken over once: a second Sim from it names 'retired', and the first keeps its scheduler", () => {
    const old = new Sim({ lockdep: new Lockdep() });
    old.retire();
    const next = new Sim({ retired: old, lockdep: new Lockdep() });
    expect(next.scheduler).not.toBe(old.scheduler);
    expect(old.retiredState).toBe("taken");
    expectThrows(() => new Sim({ retired: old, lockdep: new Lockdep() }), ArgumentError, "retired");
    expect(old.retiredState).toBe("taken");
  });

  it("a bad option beside a live Sim as retired leaves that Sim as it was", () => {
    const live = new Sim({ lockdep: new Lockdep() });
    expectThrows(() => new Sim({ retired: live, seed: "x" } as never), ArgumentError, "seed");
    expect(live.retiredState).toBe("live");
  });

  it("an unknown key lists the known ones and the nearest", () => {
    const e = expectThrows(() => new Sim({ checks: { lifetime: false } } as never), ArgumentError, "checks.lifetime");
    expect(e.message).toMatch(/did you mean 'lifetimes'/);
    expect(e.message).toMatch(/known: lifetimes, refcounts/);
  });

  it("a malformed replay token is a TokenError naming 'replay'", () => {
    expectThrows(() => new Sim({ replay: "nonsense" }), TokenError, "replay");
  });

  it("a good Sim is made as before", () => {
    const sim = new Sim({ seed: 3, checks: { lifetimes: true }, lockdep: new Lockdep() });
    expect(sim.label).toMatch(/^Sim#\d+ \(seed 3\)$/);
  });

  it("spawn(): bad name, context and body name the argument; no task is added", () => {
    const sim = new Sim();
    expectThrows(() => sim.spawn("", "process", function* () {
      yield* [];
    }), ArgumentError, "name");
    expectThrows(() => sim.spawn(5 as never, "process", function* () {
      yield* [];
    }), ArgumentError, "name");
    expectThrows(() => sim.spawn("t", "irq" as never, function* () {
      yield* [];
    }), ArgumentError, "context");
    expectThrows(() => sim.spawn("t", "process", null as never), ArgumentError, "body");
    expect(sim.tasks.length).toBe(0);
  });

  it("choose(): a count out of range names 'n'", () => {
    const sim = new Sim();
    for (const n of [0, 1.5, 2 ** 33, NaN]) expectThrows(() => sim.choose(n), ArgumentRangeError, "n");
  });

  it("share(): a value that is not an object names 'obj'", () => {
    const sim = new Sim();
    expectThrows(() => sim.share(null as never), ArgumentError, "obj");
  });

  it("run() inside a task of the same Sim is a UsageError, before anything changes", () => {
    const sim = collectingSim();
    let tasksBefore = -1;
    let stepBefore = -1;
    sim.run(function* () {
      tasksBefore = sim.tasks.length;
      stepBefore = sim.step;
      expectThrows(() => { sim.run(function* () {
      yield* [];
    }); }, UsageError);
      expectThrows(() => sim.runAll(), UsageError);
      expect(sim.tasks.length).toBe(tasksBefore);
      expect(sim.step).toBe(stepBefore);
      yield* [];
    });
    expect(sim.tasks.length).toBe(1);
  });

  it("run() of another Sim inside a task is a UsageError; the other Sim gets no task", () => {
    const sim = collectingSim();
    const other = collectingSim();
    sim.run(function* () {
      const e = expectThrows(() => { other.run(function* () {
      yield* [];
    }); }, UsageError);
      expect(e.message).toContain(other.label);
      expectThrows(() => other.runAll(), UsageError);
      yield* [];
    });
    expect(other.tasks.length).toBe(0);
    expect(other.step).toBe(0);
  });

  it("spawn() on another Sim from inside a task is a ForeignSimError naming both Sims", () => {
    const sim = collectingSim();
    const other = collectingSim();
    sim.run(function* () {
      const e = expectThrows(() => other.spawn("t", "process", function* () {
      yield* [];
    }), ForeignSimError, "this");
      expect(e.message).toContain(other.label);
      expect(e.message).toContain(sim.label);
      yield* [];
    });
    expect(other.tasks.length).toBe(0);
  });
});
