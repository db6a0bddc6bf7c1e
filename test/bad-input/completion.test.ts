import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, Completion, ForeignSimError, Sim, UsageError } from "../../src/index.js";
import { MAX_NANOSECONDS } from "../../src/validate.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

describe("bad input: Completion", () => {
  it("new Completion(): bad options name the argument", () => {
    const sim = new Sim();
    expectThrows(() => new Completion(sim, null as never), ArgumentError, "options");
    expectThrows(() => new Completion(sim, { nam: "c" } as never), ArgumentError, "nam");
    expect(sim.liveObjects()).toEqual([]);
  });

  it("waitForCompletionTimeout(): a timeout that is not a number names 'timeoutNs' (a string does not concatenate)", () => {
    const c = new Completion(new Sim(), { static: true });
    for (const t of ["5", null, {}]) expectThrows(() => c.waitForCompletionTimeout(t as never), ArgumentError, "timeoutNs");
  });

  it("waitForCompletionTimeout(): negative, NaN, infinite or too far is an ArgumentRangeError naming 'timeoutNs'", () => {
    const c = new Completion(new Sim(), { static: true });
    for (const t of [-1, NaN, Infinity, 1e300, MAX_NANOSECONDS + 1]) expectThrows(() => c.waitForCompletionTimeout(t), ArgumentRangeError, "timeoutNs");
  });

  it("a bad timeout inside a task throws at the call; the clock and the completion are unchanged", () => {
    const sim = collectingSim();
    const c = new Completion(sim, { static: true });
    sim.run(function* () {
      expectThrows(() => c.waitForCompletionTimeout(Infinity), ArgumentRangeError, "timeoutNs");
      yield* c.complete();
    });
    expect([sim.now, c.completionDone()]).toEqual([0, true]);
  });

  it("complete() driven outside any task is a UsageError; nothing is completed", () => {
    const c = new Completion(new Sim(), { static: true });
    expectThrows(() => [...c.complete()], UsageError);
    expect(c.completionDone()).toBe(false);
  });

  it("complete()/wait on another Sim's completion in a task is a ForeignSimError; nothing changes", () => {
    const mine = collectingSim();
    const c = new Completion(new Sim(), { static: true });
    mine.run(function* () {
      for (const op of [() => c.complete(), () => c.waitForCompletion(), () => c.tryWaitForCompletion()]) {
        let e: unknown;
        try {
          yield* op();
        } catch (error) {
          e = error;
        }
        expect(e).toBeInstanceOf(ForeignSimError);
        expect((e as ForeignSimError).argument).toBe("this");
      }
    });
    expect(c.completionDone()).toBe(false);
    expect(mine.reports).toEqual([]);
  });
});
