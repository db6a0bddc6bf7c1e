/**
 * A call_rcu() callback with a bug (throws, returns something that is not
 * an op, yields something that is not an effect) is a task-exception report
 * of the rcu_gp task; the callbacks queued after it still run.
 */
import { describe, expect, it } from "vitest";
import { callRcu, kfreeRcu, SimObject, synchronizeRcu, type TaskExceptionReport } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

const bugs: readonly [string, () => unknown, RegExp][] = [
  ["throws", () => { throw new Error("cb boom"); }, /^Error: cb boom$/],
  ["returns a number", () => 7, /UsageError: the call_rcu callback of A#\d+ returned number 7: return nothing, an op or a generator/],
  ["returns an array of numbers", () => [1, 2], /UsageError: the call_rcu callback of A#\d+ yielded number 1, not an effect/],
];

describe("rcu: a buggy call_rcu callback", () => {
  for (const [what, bug, message] of bugs) {
    it(`that ${what} is one task-exception report of rcu_gp; a later kfreeRcu still frees`, () => {
      const sim = collectingSim({}, { taskExceptions: "expected" });
      const a = new SimObject(sim, "A", { static: true });
      const b = new SimObject(sim, "B");
      const c = new SimObject(sim, "C");
      sim.spawn("driver", "process", function* () {
        yield* callRcu(a, bug as never);
        yield* kfreeRcu(b);
        yield* synchronizeRcu();
        yield* kfreeRcu(c);
      });
      sim.runAll();
      expect(sim.reports.map((r) => r.kind)).toEqual(["task-exception"]);
      const r = sim.reports[0] as TaskExceptionReport;
      expect(r.error).toMatch(message);
      expect(r.task).toMatch(/^rcu_gp/);
      expect([b.isFreed, c.isFreed]).toEqual([true, true]);
      expect(sim.liveObjects()).toEqual([]);
    });
  }
});
