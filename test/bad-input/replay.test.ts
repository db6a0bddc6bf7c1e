import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, condResched, explore, replay, TokenError, type ReplayOptions, type Scenario } from "../../src/index.js";
import { expectThrows } from "./helpers.js";

let runs = 0;
const oneTask: Scenario = (sim) => {
  runs++;
  sim.spawn("t", "process", function* () {
    yield* condResched();
  });
};

describe("bad input: replay()", () => {
  const token = (() => {
    const r = explore((sim) => {
      sim.spawn("t", "process", function* () {
        yield* condResched();
        throw new Error("boom");
      });
    }, { executions: 1 });
    return r.failures[0]?.token ?? "";
  })();

  it("a scenario that is not a function names 'scenario'", () => {
    expectThrows(() => replay(5 as never, token), ArgumentError, "scenario");
  });

  it("a malformed token is a TokenError naming 'token'", () => {
    expectThrows(() => replay(oneTask, "gpuvm-sim:garbage"), TokenError, "token");
    expectThrows(() => replay(oneTask, 5 as never), TokenError, "token");
  });

  const cases: [string, unknown, typeof ArgumentError | typeof ArgumentRangeError, string][] = [
    ["null options", null, ArgumentError, "options"],
    ["a misspelt option", { stack: true }, ArgumentError, "stack"],
    ["stacks not a boolean", { stacks: "yes" }, ArgumentError, "stacks"],
    ["maxSteps 0", { maxSteps: 0 }, ArgumentRangeError, "maxSteps"],
    ["an unknown check", { checks: { x: false } }, ArgumentError, "checks.x"],
  ];
  for (const [what, options, cls, argument] of cases) {
    it(`${what} names '${argument}'; the scenario is not run`, () => {
      const before = runs;
      expectThrows(() => replay(oneTask, token, options as ReplayOptions), cls, argument);
      expect(runs).toBe(before);
    });
  }

  it("the token is good: replay runs", () => {
    expect(token).toMatch(/^gpuvm-sim:/);
  });
});
