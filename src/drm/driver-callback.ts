/**
 * Running a GPUVM driver callback's result: the one place that decides what
 * a callback may return.
 *
 * Mirrors: nothing in the kernel (a C callback returns an int or void); it
 *   is the simulation's guard around the driver functions the library
 *   calls: drm_gem_object_funcs.free, drm_gpuvm_ops.vm_free, vm_bo_free,
 *   vm_bo_validate, sm_step_map / sm_step_remap / sm_step_unmap.
 * Ownership: none; the callback and what it returns are the driver's.
 * Locking: none of its own.
 * Why: a callback may be a plain function or a generator (yielding
 *   effects). Anything else it returns (a number, a string yielded
 *   character by character, an object) is a driver bug that would
 *   otherwise surface as a TypeError deep in the library, or as garbage
 *   yielded to the scheduler: here it is a UsageError naming the callback.
 */
import { UsageError } from "../errors.js";
import { checkedBody } from "../kernel/checked-body.js";
import type { Effect } from "../kernel/effect.js";
import { describeValue } from "../validate.js";

function isIterableObject(value: unknown): value is Iterable<Effect, unknown, unknown> {
  return typeof value === "object" && value !== null && typeof (value as Partial<Iterable<unknown>>)[Symbol.iterator] === "function";
}

/**
 * @internal Run what a callback returned: a generator (an iterable object)
 * is delegated to with its yields checked; anything else is the result
 * itself. Returns the final result. `what` names the callback
 * ("ops.vmFree of vm0").
 */
export function* runCallbackResult(result: unknown, what: string): Generator<Effect, unknown, unknown> {
  if (isIterableObject(result)) return yield* checkedBody(result, what);
  return result;
}

/**
 * @internal A callback that returns nothing (free, vmFree, vmBoFree): run
 * it. A result that is neither undefined nor a generator (an iterable
 * object) is a UsageError naming `what`; what a generator returns is
 * ignored (an op such as `kfree(x)` may be returned as it is).
 */
export function* runVoidCallback(result: unknown, what: string): Generator<Effect, void, unknown> {
  if (result !== undefined && !isIterableObject(result)) {
    throw new UsageError(`${what} returned ${describeValue(result)}: it must return nothing, or a generator (yielding effects)`);
  }
  yield* runCallbackResult(result, what);
}

/**
 * @internal A callback that returns a result code (vmBoValidate, the step
 * callbacks): run it; null for success (undefined or "ok"), else the error
 * string. Any other value is a UsageError naming `what`.
 */
export function* runResultCallback(result: unknown, what: string): Generator<Effect, string | null, unknown> {
  const r = yield* runCallbackResult(result, what);
  if (r === undefined || r === "ok") return null;
  if (typeof r === "string") return r;
  throw new UsageError(`${what} returned ${describeValue(r)}: it returns undefined, "ok", or an error string ("nomem", ...)`);
}
