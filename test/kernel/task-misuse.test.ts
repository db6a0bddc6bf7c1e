/**
 * A task that breaks the task protocol (yields something that is not an
 * effect, or whose body returns no generator) is a `task-misuse` report of
 * that execution, never an exception out of runAll() or explore().
 * (The scheduler files it: src/kernel/scheduler.ts, misused().)
 */
import { describe, expect, it } from "vitest";
import { condResched, explore, formatReport, replay, UsageError, type Scenario, type TaskBody } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

function gen(value: unknown): TaskBody<void> {
  return function* () {
    yield* condResched();
    yield value as never;
  };
}

describe("task-misuse", () => {
  const badYields: [string, unknown, string, RegExp][] = [
    ["a number", 42, "number 42", /did you forget yield\* \?/],
    ["a string", "lock", 'the string "lock"', /did you forget yield\* \?/],
    ["undefined (a bare yield)", undefined, "undefined", /bare yield/],
    ["a promise", Promise.resolve(1), "a promise", /cannot await/],
    ["a plain object", { kind: "lock" }, "an object", /did you forget yield\* \?/],
    [
      "a generator it meant to yield*",
      (function* () {
        yield* condResched();
      })(),
      "an object",
      /iterable: did you forget yield\* \?/,
    ],
  ];
  for (const [what, value, described, hint] of badYields) {
    it(`yielding ${what} is a bad-yield report naming the task, the value and a hint; other tasks run on`, () => {
      const sim = collectingSim();
      sim.spawn("bad", "process", gen(value));
      const ok = sim.spawn("ok", "process", function* () {
        yield* condResched();
        yield* condResched();
        return "done";
      });
      expect(sim.runAll().outcome).toBe("done");
      expect(sim.reports).toHaveLength(1);
      const r = sim.reports[0];
      expect(r).toMatchObject({ kind: "task-misuse", misuse: "bad-yield", task: "bad/1" });
      if (r?.kind !== "task-misuse") throw new Error("unreachable");
      if (typeof value !== "object" || value === null || "then" in value) expect(r.value).toBe(described);
      else expect(r.value).toMatch(/^an? /);
      expect(r.hint).toMatch(hint);
      expect(ok.result).toBe("done");
      expect(sim.tasks[0]?.state).toBe("done");
    });
  }

  const badBodies: [string, () => unknown, string, RegExp][] = [
    ["a number", () => 3, "number 3", /generator functions \(function\*\)/],
    ["a string", () => "abc", 'the string "abc"', /generator functions/],
    ["undefined", () => undefined, "undefined", /generator functions/],
    ["an async function's promise", async () => Promise.resolve(), "a promise", /not async functions/],
    [
      "an async generator",
      async function* () {
        await Promise.resolve();
        yield 1;
      },
      "an object",
      /not async generator functions/,
    ],
  ];
  for (const [what, body, described, hint] of badBodies) {
    it(`a body that returns ${what} is a not-a-generator report`, () => {
      const sim = collectingSim();
      sim.spawn("bad", "process", body as never);
      expect(sim.runAll().outcome).toBe("done");
      expect(sim.reports).toMatchObject([{ kind: "task-misuse", misuse: "not-a-generator", task: "bad/1" }]);
      const r = sim.reports[0];
      if (r?.kind !== "task-misuse") throw new Error("unreachable");
      if (described !== "an object") expect(r.value).toBe(described);
      expect(r.hint).toMatch(hint);
    });
  }

  it("reads like the other reports: a BUG headline, the hint, the schedule and the replay line", () => {
    const sim = collectingSim({ seed: 1 });
    sim.spawn("worker", "process", gen(42));
    sim.runAll();
    const text = formatReport(sim.reports[0] as never);
    expect(text).toContain("BUG: gpuvm-sim: task worker/1 yielded number 42, not an effect");
    expect(text).toContain("(tasks yield only effects, made by ops: did you forget yield* ?)");
    expect(text).toMatch(/Replay: new Sim\(\{ replay: "gpuvm-sim:1:sim:round-robin:1" \}\)/);
  });

  it("sim.run() of a misused main task throws the task's UsageError in collect mode", () => {
    const sim = collectingSim();
    expect(() => {
      sim.run(gen(7));
    }).toThrow(UsageError);
    expect(sim.reports).toMatchObject([{ kind: "task-misuse" }]);
  });

  it("explore() finds it, shrinks it, gives a token that replays it, and goes on to other failures", () => {
    // 1. a: cond_resched ... yields 1 when it sees b done first; b: cond_resched.
    // Only some schedules misuse; every execution runs to its end.
    const scenario: Scenario = (sim) => {
      const b = sim.spawn("b", "process", function* () {
        yield* condResched();
      });
      sim.spawn("a", "process", function* () {
        yield* condResched();
        if (b.state === "done") yield 1 as never;
        throw new Error("other failure");
      });
    };
    const r = explore(scenario, { executions: 50, stopAtFirst: false, seed: 3 });
    const kinds = r.failures.map((f) => f.report.kind).sort();
    expect(kinds).toEqual(["task-exception", "task-misuse"]);
    const f = r.failures.find((x) => x.report.kind === "task-misuse");
    expect(f?.fingerprint).toBe("task-misuse: bad-yield / number #");
    expect(f?.report.replay).toBe(f?.token);
    const again = replay(scenario, f?.token ?? "");
    expect(again.divergence).toBeNull();
    expect(again.report).toMatchObject({ kind: "task-misuse", misuse: "bad-yield", value: "number 1" });
  });
});
