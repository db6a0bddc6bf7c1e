/**
 * Bad input to forEachAllocationFailure (gpuvm-sim) and
 * expectUnchangedOnFailure (gpuvm-sim/vitest): each case throws an
 * ArgumentError naming the argument or field, before any run (setup was
 * not called, no Sim ran).
 */
import { describe, expect, it } from "vitest";
import { expectThrows } from "./helpers.js";
import { ArgumentError, ArgumentRangeError, forEachAllocationFailure, Sim, type AllocationFailureCase, type Effect } from "../../src/index.js";
import { expectUnchangedOnFailure } from "../../src/vitest.js";
import { collectingSim } from "../support/collecting-sim.js";

/** A valid case counting its setup calls and checks. */
function valid(): { testCase: AllocationFailureCase<null, string>; calls: { setup: number; check: number } } {
  const calls = { setup: 0, check: 0 };
  const testCase: AllocationFailureCase<null, string> = {
    setup: () => {
      calls.setup++;
      return { sim: collectingSim(), world: null };
    },
    *body(): Generator<Effect, string, unknown> {
      yield* [];
      return "ok";
    },
    snapshot: () => null,
    check: () => {
      calls.check++;
    },
  };
  return { testCase, calls };
}

type Case = readonly [string, (c: AllocationFailureCase<null, string>) => unknown, typeof ArgumentError | typeof ArgumentRangeError, string];

const CASES: readonly Case[] = [
  ["testCase undefined", () => undefined, ArgumentError, "testCase"],
  ["testCase null", () => null, ArgumentError, "testCase"],
  ["testCase a number", () => 5, ArgumentError, "testCase"],
  ["an unknown key", (c) => ({ ...c, chek: c.check }), ArgumentError, "testCase.chek"],
  ["setup missing", (c) => ({ ...c, setup: undefined }), ArgumentError, "testCase.setup"],
  ["body missing", (c) => ({ ...c, body: undefined }), ArgumentError, "testCase.body"],
  ["snapshot missing", (c) => ({ ...c, snapshot: undefined }), ArgumentError, "testCase.snapshot"],
  ["check missing", (c) => ({ ...c, check: undefined }), ArgumentError, "testCase.check"],
  ["setup not a function", (c) => ({ ...c, setup: {} }), ArgumentError, "testCase.setup"],
  ["body not a function", (c) => ({ ...c, body: "body" }), ArgumentError, "testCase.body"],
  ["check not a function", (c) => ({ ...c, check: null }), ArgumentError, "testCase.check"],
  ["memory not an object", (c) => ({ ...c, memory: 4 }), ArgumentError, "testCase.memory"],
  ["memory.fault (the runner's)", (c) => ({ ...c, memory: { fault: { failNth: 1 } } }), ArgumentError, "testCase.memory.fault"],
  ["memory.limitPages negative", (c) => ({ ...c, memory: { limitPages: -1 } }), ArgumentRangeError, "testCase.memory.limitPages"],
  ["memory.kswapd not a boolean", (c) => ({ ...c, memory: { limitPages: 4, kswapd: "yes" } }), ArgumentError, "testCase.memory.kswapd"],
];

describe("alloc-failure: bad input", () => {
  for (const [name, make, cls, argument] of CASES) {
    it(`${name}: ${cls.name} naming ${argument}, no run`, () => {
      const { testCase, calls } = valid();
      expectThrows(() => forEachAllocationFailure(make(testCase) as never), cls, argument);
      expect(calls).toEqual({ setup: 0, check: 0 });
    });
  }

  it.each([
    ["returns no { sim, world }", () => 5],
    ["returns no Sim", () => ({ sim: {}, world: null })],
    ["builds a Sim that throws its reports", () => ({ sim: new Sim({ onReport: "throw" }), world: null })],
  ])("setup %s: ArgumentError naming testCase.setup, before the body ran or check was called", (_name, setup) => {
    const { testCase, calls } = valid();
    let bodies = 0;
    const body = testCase.body;
    expectThrows(
      () =>
        forEachAllocationFailure({
          ...testCase,
          setup: setup as never,
          body: (w) => {
            bodies++;
            return body(w);
          },
        }),
      ArgumentError,
      "testCase.setup",
    );
    expect({ bodies, checks: calls.check }).toEqual({ bodies: 0, checks: 0 });
  });

  it.each([undefined, null, "r => r", 1])("expectUnchangedOnFailure(%s): ArgumentError naming succeeded", (succeeded) => {
    expectThrows(() => expectUnchangedOnFailure(succeeded as never), ArgumentError, "succeeded");
  });
});
