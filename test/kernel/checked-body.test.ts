/** checkedBody (src/kernel/checked-body.ts): delegate as yield* does, but refuse a yield that is no effect. */
import { describe, expect, it } from "vitest";
import { UsageError, type Effect } from "../../src/index.js";
import { condResched } from "../../src/kernel/task.js";
import { checkedBody } from "../../src/kernel/checked-body.js";
import { collectingSim } from "../support/collecting-sim.js";

describe("checkedBody", () => {
  it("passes effects through and returns the body's value", () => {
    const sim = collectingSim();
    const got = sim.run(function* () {
      return yield* checkedBody(
        (function* (): Generator<Effect, number, unknown> {
          yield* condResched();
          return 7;
        })(),
        "the body",
      );
    });
    expect(got).toBe(7);
    expect(sim.reports).toEqual([]);
  });

  it("a yield that is no effect is a UsageError naming the body and the value, and the body is closed", () => {
    const sim = collectingSim();
    let closed = false;
    let caught: unknown = null;
    sim.run(function* () {
      try {
        yield* checkedBody(
          (function* (): Generator<unknown, void, unknown> {
            try {
              yield 5;
            } finally {
              closed = true;
            }
          })() as Generator<Effect, void, unknown>,
          "the function of Work#3",
        );
      } catch (e) {
        caught = e;
      }
    });
    expect(caught).toBeInstanceOf(UsageError);
    expect((caught as Error).message).toContain("the function of Work#3 yielded number 5, not an effect");
    expect(closed).toBe(true);
  });
});
