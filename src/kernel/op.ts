/**
 * Op: an operation that may yield effects, run with `yield*`.
 *
 * `yield* op` calls `op[Symbol.iterator]()` exactly once and then drives the
 * generator it returns directly, so an Op costs one small object when it is
 * created and nothing per step. Creating it registers it with the current
 * task; if the task yields again (or ends) before the op was started, the
 * caller forgot its `yield*` and the scheduler files an `unstarted-op` report
 * naming the op. An Op runs at most once.
 */
import { UsageError } from "../errors.js";
import type { Effect } from "./effect.js";
import { currentOrNull } from "./current.js";
import type { Task } from "./task.js";

type Body<T> = (this: unknown, a: unknown, b: unknown, c: unknown) => Generator<Effect, T, unknown>;

/** An operation on simulated kernel state; run it with `yield*`. */
export class Op<T> implements Iterable<Effect, T, unknown> {
  /** @internal */ readonly task: Task | null;
  /** @internal The step during which it was created. */ readonly createdStep: number;
  /** @internal Only with `captureStacks`. */ readonly createdStack: string | undefined;
  /** @internal */ started = false;

  /** @internal Use {@link defineOp} (or the library's methods) to make ops. */
  constructor(
    /** The operation's name, as reports show it (`kref_put`). */
    readonly name: string,
    private readonly body: Body<T>,
    private readonly self: unknown,
    private readonly a: unknown,
    private readonly b: unknown,
    private readonly c: unknown,
  ) {
    const task = currentOrNull();
    this.task = task;
    if (task === null) {
      this.createdStep = 0;
      this.createdStack = undefined;
    } else {
      this.createdStep = task.sim.step;
      this.createdStack = task.sim.captureStacks ? new Error().stack : undefined;
      task.registerOp(this);
    }
  }

  [Symbol.iterator](): Generator<Effect, T, unknown> {
    if (this.started) throw new UsageError(`op ${this.name} was already started: an Op runs once`);
    this.started = true;
    if (this.task !== null) this.task.opStarted();
    return this.body.call(this.self, this.a, this.b, this.c);
  }
}

/**
 * @internal Make an op from a generator method and up to three arguments,
 * without allocating a closure.
 */
export function makeOp<S, T, A = undefined, B = undefined, C = undefined>(
  name: string,
  self: S,
  body: (this: S, a: A, b: B, c: C) => Generator<Effect, T, unknown>,
  a?: A,
  b?: B,
  c?: C,
): Op<T> {
  return new Op(name, body as Body<T>, self, a, b, c);
}

/**
 * Turn a generator function into a function returning {@link Op}s, so driver
 * code gets the same missing-`yield*` protection as the library's own ops.
 *
 * ```ts
 * const useBo = defineOp("use_bo", function* (bo: Bo) { ... });
 * yield* useBo(bo);
 * ```
 */
export function defineOp<A extends unknown[], T>(
  name: string,
  fn: (...args: A) => Generator<Effect, T, unknown>,
): (...args: A) => Op<T> {
  const spread = function (this: unknown, args: unknown) {
    return fn(...(args as A));
  };
  return (...args: A) => new Op<T>(name, spread, undefined, args, undefined, undefined);
}
