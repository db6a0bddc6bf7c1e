/**
 * completion-deadlock: two tasks that each wait for a completion only the
 * other would complete.
 *
 * A GPU reset worker may only touch the hardware once the scheduler thread
 * has stopped feeding it: it waits for `stopped`, resets, then completes
 * `reset_done`. The buggy scheduler thread waits for `reset_done` before it
 * completes `stopped`. Each completion lives as long as its waiter needs it
 * (as if on the waiter's stack): the waiter frees it after the wait.
 *
 * Buggy. Step numbers are Sim steps under the round-robin strategy (any
 * order ends the same way):
 *
 *   reset/1                                   sched/2
 *   1. wait_for_completion(stopped)
 *      ... blocks
 *                                             2. wait_for_completion(reset_done)
 *                                                ... blocks
 *   No task can run: deadlock, cycle reset/1 -> sched/2 -> reset/1.
 *   Neither reaches its kfree; the leak check is skipped after a deadlock.
 *
 * Fixed: the scheduler thread says it has stopped before it waits, as a
 * thread parking itself does:
 *
 *   reset/1                                   sched/2
 *                                             1. complete(stopped)
 *                                             2. wait_for_completion(reset_done)
 *   3. wait_for_completion(stopped): passes
 *   4. complete(reset_done); kfree(stopped)
 *                                             5. wakes; kfree(reset_done)
 */
import { Completion } from "../kernel/completion.js";
import { kfree } from "../kernel/heap.js";
import type { Sim } from "../kernel/sim.js";
import type { CatalogScenario } from "./scenario.js";

function world(sim: Sim): { stopped: Completion; resetDone: Completion } {
  return {
    stopped: new Completion(sim, { name: "stopped" }),
    resetDone: new Completion(sim, { name: "reset_done" }),
  };
}

function buggy(sim: Sim): void {
  const { stopped, resetDone } = world(sim);
  sim.spawn("reset", "worker", function* () {
    yield* stopped.waitForCompletion();
    yield* resetDone.complete();
    yield* kfree(stopped);
  });
  sim.spawn("sched", "process", function* () {
    // BUG: waits for the reset before saying it has stopped, which the reset waits for.
    yield* resetDone.waitForCompletion();
    yield* stopped.complete();
    yield* kfree(resetDone);
  });
}

function fixed(sim: Sim): void {
  const { stopped, resetDone } = world(sim);
  sim.spawn("reset", "worker", function* () {
    yield* stopped.waitForCompletion();
    yield* resetDone.complete();
    // RELIES ON: sched's complete(stopped) was its last use of `stopped`.
    yield* kfree(stopped);
  });
  sim.spawn("sched", "process", function* () {
    yield* stopped.complete();
    yield* resetDone.waitForCompletion();
    yield* kfree(resetDone);
  });
}

export const completionDeadlock: CatalogScenario = {
  name: "completion-deadlock",
  title: "Two tasks each wait for a completion only the other would complete",
  description:
    "A GPU reset worker waits for the scheduler thread to complete `stopped` before it completes " +
    "`reset_done`, while the scheduler thread waits for `reset_done` before completing `stopped`. " +
    "Both sleep forever in wait_for_completion(). The fix has the scheduler thread complete " +
    "`stopped` first and only then wait for the reset to finish.",
  expect: "deadlock",
  variants: { buggy, fixed },
};
