/**
 * access(): mark a step's footprint on driver state that is not a library
 * object, as loom's UnsafeCell or a Lincheck shared variable do.
 *
 * The explorer assumes that what a task does between two yields touches only
 * what the first of them declared. Library ops declare their objects; a
 * driver's own shared state (a list it keeps in a plain array, a flag) must
 * be announced with `yield* access(state, "write")` before the code that
 * changes it, and with `"read"` before code that only looks at it. The call
 * is a scheduling point.
 */
import { ArgumentError, ForeignSimError } from "../errors.js";
import { describeValue, is } from "../validate.js";
import { defineEffectKind, Effect, EffectKind, READ, WRITE, type AccessMode } from "./effect.js";
import { SimObject } from "./heap.js";
import { currentOrNull } from "./current.js";
import { makeOp, type Op } from "./op.js";

const ACCESS_MODE = is.oneOf("read", "write");

/** The kind of an access() step. Two accesses conflict when one writes. */
export const ACCESS = defineEffectKind({ name: "access" });

function* accessBody(this: undefined, obj: object, mode: AccessMode, kind: EffectKind): Generator<Effect, void, unknown> {
  yield new Effect(kind, obj instanceof SimObject ? obj : null, mode === "write" ? WRITE : READ, obj);
}

/**
 * A step that reads or writes `obj`: a SimObject, a Kref, or plain driver
 * state registered with `sim.share(obj)` when the scenario made it. `kind`
 * (default {@link ACCESS}) lets a driver declare steps that commute, with a
 * kind of its own from `defineEffectKind`.
 *
 * @throws ForeignSimError when `obj` is a SimObject of another Sim than the
 *   running task's (at the call, or when the op starts).
 * @throws ArgumentError naming `obj` when it is not an object, or is plain
 *   state that was not shared; `mode` when it is neither "read" nor "write";
 *   `kind` when it is not an EffectKind.
 */
export function access(obj: object, mode: AccessMode, kind: EffectKind = ACCESS): Op<void> {
  if (typeof obj !== "object" || (obj as object | null) === null) throw new ArgumentError("obj", `must be an object (the state the step touches), got ${describeValue(obj)}`);
  ACCESS_MODE("mode", mode);
  if (!(kind instanceof EffectKind)) throw new ArgumentError("kind", `must be an EffectKind from defineEffectKind(), got ${describeValue(kind)}`);
  const task = currentOrNull();
  if (task !== null && obj instanceof SimObject && obj.sim !== task.sim) {
    throw new ForeignSimError("obj", "access", obj.label, obj.sim.label, `${task.sim.label} (task ${task.label})`);
  }
  if (task !== null && !task.sim.heap.isShared(obj)) {
    throw new ArgumentError(
      "obj",
      "is neither a SimObject nor shared: call sim.share(obj) where the scenario makes it, so every execution names it the same way",
    );
  }
  return makeOp("access", undefined, accessBody, obj, mode, kind);
}
