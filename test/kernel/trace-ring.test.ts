/**
 * The schedule-trace ring: what reports' schedules are built from.
 */
import { describe, expect, it } from "vitest";
import { Effect, NONE } from "../../src/kernel/effect.js";
import { TRYLOCK } from "../../src/locking/lock-object.js";
import { RESCHED_KIND } from "../../src/kernel/task.js";
import { SWITCH_BLOCKED, SWITCH_NONE, SWITCH_PREEMPTED, TraceRing } from "../../src/kernel/trace-ring.js";

const RESCHED = new Effect(RESCHED_KIND, null, NONE);
const label = (id: number) => `t${id}/${id}`;

describe("TraceRing", () => {
  it("keeps the last `size` steps, one column per task in id order, with notes and switch reasons", () => {
    const ring = new TraceRing(3);
    // Steps 1..4: t2, t1, t1, t2; the ring keeps steps 2..4.
    const run: [number, number][] = [
      [1, 2],
      [2, 1],
      [3, 1],
      [4, 2],
    ];
    let prev = 0;
    for (const [step, id] of run) {
      ring.begin(step, prev === 0 || prev === id ? SWITCH_NONE : step === 4 ? SWITCH_BLOCKED : SWITCH_PREEMPTED, prev, RESCHED);
      ring.ran(step, id, RESCHED);
      if (step === 3) ring.noteAt(step, "taken");
      prev = id;
    }
    const tail = ring.tail(4, label);
    expect(tail.tasks).toEqual(["t1/1", "t2/2"]);
    expect(tail.rows).toEqual([
      // The first row kept says no switch: what ran before it is gone.
      { step: 2, column: 0, effect: "resched" },
      { step: 3, column: 0, effect: "resched", result: "taken" },
      { step: 4, column: 1, effect: "resched", switched: "t1/1 blocked in resched" },
    ]);
  });

  it("names the distinct effects a task ran in the steps it keeps", () => {
    const ring = new TraceRing(4);
    for (let step = 1; step <= 6; step++) {
      ring.begin(step, SWITCH_NONE, 0, null);
      ring.ran(step, step % 2 === 0 ? 1 : 2, step % 4 === 0 ? new Effect(TRYLOCK, null, NONE) : RESCHED);
    }
    expect(ring.loopOf(6, 1)).toEqual(["trylock", "resched"]);
    expect(ring.loopOf(6, 3)).toEqual([]);
  });
});
