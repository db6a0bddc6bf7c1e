/**
 * Running a driver-supplied generator inside a library task, with its
 * yields checked.
 *
 * Mirrors: nothing in the kernel; it is the simulation's guard around the
 *   bodies the library runs for the user (a work item's function, an RCU
 *   callback's op) in tasks the library spawned.
 * Ownership: none; the body is the caller's.
 * Locking: none.
 * Why: a task that yields something other than an effect ends at once (a
 *   `task-misuse` report) without resuming its generator, so a library task
 *   running such a body could not tidy up (finish a work instance, hand the
 *   RCU callback queue on). This turns such a yield into a UsageError thrown
 *   in the library task, which tidies up and dies with a `task-exception`
 *   report naming the value.
 */
import { UsageError } from "../errors.js";
import { describeValue, isInstance } from "../validate.js";
import { Effect } from "./effect.js";
import { Op } from "./op.js";

/** Whether `value` is something a task may yield: an effect, or an op (the scheduler reports `yield op`). */
function yieldable(value: unknown): boolean {
  if (isInstance(value, Effect)) return true;
  try {
    return value instanceof Op;
  } catch {
    // A revoked Proxy, or one whose getPrototypeOf trap throws.
    return false;
  }
}

/**
 * @internal Delegate to `body` as `yield*` does, but throw a UsageError
 * (after closing `body`) when it yields anything that is not an effect or
 * an op. `what` names the body in the message ("the function of Work#3").
 */
export function* checkedBody<R>(body: Iterable<Effect, R, unknown>, what: string): Generator<Effect, R, unknown> {
  const iter = body[Symbol.iterator]();
  let finished = false;
  try {
    let r = iter.next();
    for (;;) {
      if (r.done === true) {
        finished = true;
        return r.value;
      }
      const value: unknown = r.value;
      if (!yieldable(value)) {
        // describeValue() never throws, whatever the value.
        throw new UsageError(`${what} yielded ${describeValue(value)}, not an effect (yield* an op)`);
      }
      let sent: unknown;
      try {
        sent = yield value as Effect;
      } catch (error) {
        if (typeof iter.throw !== "function") throw error;
        r = iter.throw(error);
        continue;
      }
      r = iter.next(sent);
    }
  } finally {
    if (!finished && typeof iter.return === "function") {
      try {
        iter.return(undefined);
      } catch {
        // The body's own error on closing is not this one's.
      }
    }
  }
}
