/**
 * The one runner of GPUVM driver callbacks' results (src/drm/driver-callback.ts):
 * what each kind of callback may return, and the UsageError naming the
 * callback for anything else. The callers' own tests (gpuvm-adversary*.test.ts,
 * split-merge.test.ts) cover the paths through GEM free, vmFree, vmBoFree,
 * vmBoValidate and the step callbacks.
 */
import { describe, expect, it } from "vitest";
import { condResched, UsageError, type Effect } from "../../src/index.js";
import { runCallbackResult, runResultCallback, runVoidCallback } from "../../src/drm/driver-callback.js";
import { collectingSim, expectTaskExceptions } from "../support/collecting-sim.js";

/** Run `body` in one task; what it returned, or the error it threw. */
function inTask<T>(body: () => Generator<Effect, T, unknown>): { value?: T; error?: unknown } {
  const sim = collectingSim();
  let out: { value?: T; error?: unknown } = {};
  sim.run(function* () {
    try {
      out = { value: yield* body() };
    } catch (error) {
      out = { error };
    }
  });
  return out;
}

function* twoSteps(result: unknown): Generator<Effect, unknown, unknown> {
  yield* condResched();
  return result;
}

describe("runCallbackResult", () => {
  it("returns a plain value as it is and runs a generator to its result", () => {
    expect(inTask(() => runCallbackResult(7, "cb")).value).toBe(7);
    expect(inTask(() => runCallbackResult(twoSteps("done"), "cb")).value).toBe("done");
  });

  it("a generator yielding something that is not an effect is a UsageError naming the callback", () => {
    function* bad(): Generator<unknown, void, unknown> {
      yield 42;
    }
    const r = inTask(() => runCallbackResult(bad(), "ops.vmFree of vm0"));
    expect(r.error).toBeInstanceOf(UsageError);
    expect((r.error as Error).message).toContain("ops.vmFree of vm0 yielded number 42, not an effect");
  });
});

describe("runVoidCallback (free, vmFree, vmBoFree)", () => {
  it("accepts nothing or a generator, whatever the generator returns", () => {
    expect(inTask(() => runVoidCallback(undefined, "cb")).error).toBeUndefined();
    expect(inTask(() => runVoidCallback(twoSteps(5), "cb")).error).toBeUndefined();
  });

  it.each([42, "done", null, { a: 1 }])("refuses %j with a UsageError naming the callback", (bad) => {
    const r = inTask(() => runVoidCallback(bad, "free of bo0"));
    expect(r.error).toBeInstanceOf(UsageError);
    expect((r.error as Error).message).toMatch(/^free of bo0 returned .*: it must return nothing, or a generator/);
  });
});

describe("runResultCallback (vmBoValidate, the step callbacks)", () => {
  it("undefined and \"ok\" are success (null); any other string is the error, directly or from a generator", () => {
    expect(inTask(() => runResultCallback(undefined, "cb")).value).toBeNull();
    expect(inTask(() => runResultCallback("ok", "cb")).value).toBeNull();
    expect(inTask(() => runResultCallback(twoSteps("ok"), "cb")).value).toBeNull();
    expect(inTask(() => runResultCallback("nomem", "cb")).value).toBe("nomem");
    expect(inTask(() => runResultCallback(twoSteps("nomem"), "cb")).value).toBe("nomem");
  });

  it.each([0, -12, true, null, { err: 1 }])("refuses a result of %j with a UsageError naming the callback", (bad) => {
    const r = inTask(() => runResultCallback(bad, "ops.smStepMap of vm0"));
    expect(r.error).toBeInstanceOf(UsageError);
    expect((r.error as Error).message).toMatch(/^ops\.smStepMap of vm0 returned .*: it returns undefined, "ok", or an error string/);
  });

  it("a task that does not catch it ends with a task-exception report naming the callback", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    expectTaskExceptions(sim);
    sim.spawn("driver", "process", function* () {
      yield* runResultCallback(3, "ops.vmBoValidate of vm0");
    });
    sim.runAll();
    const r = sim.reports.find((x) => x.kind === "task-exception");
    expect(r?.kind).toBe("task-exception");
    expect((r as { error: string }).error).toMatch(/^UsageError: ops\.vmBoValidate of vm0 returned number 3: /);
    expect(r?.task).toBe("driver/1");
  });
});
