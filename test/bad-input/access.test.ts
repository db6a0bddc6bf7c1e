import { describe, expect, it } from "vitest";
import { access, ArgumentError, ForeignSimError, Sim, SimObject, UsageError } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

describe("bad input: access()", () => {
  it("obj, mode and kind that are wrong name the argument", () => {
    const sim = new Sim();
    const o = new SimObject(sim, "State", { static: true });
    expectThrows(() => access(null as never, "read"), ArgumentError, "obj");
    expectThrows(() => access(5 as never, "read"), ArgumentError, "obj");
    expectThrows(() => access(o, "rw" as never), ArgumentError, "mode");
    expectThrows(() => access(o, "read", "kind" as never), ArgumentError, "kind");
  });

  it("in a task: plain state that was not shared names 'obj'; another Sim's object is a ForeignSimError naming both", () => {
    const sim = collectingSim();
    const other = new Sim();
    const theirs = new SimObject(other, "State", { static: true });
    sim.run(function* () {
      expectThrows(() => access({}, "read"), ArgumentError, "obj");
      const e = expectThrows(() => access(theirs, "write"), ForeignSimError, "obj");
      expect(e.message).toContain(other.label);
      expect(e.message).toContain(sim.label);
      yield* access(sim.share({}), "read");
    });
    expect(sim.step).toBe(2);
  });

  it("driven outside any task it is a UsageError", () => {
    const sim = new Sim();
    const o = new SimObject(sim, "State", { static: true });
    expectThrows(() => [...access(o, "read")], UsageError);
    expect(sim.step).toBe(0);
  });
});
