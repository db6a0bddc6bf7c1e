/**
 * Op: an operation that may yield effects, run with `yield*`.
 *
 * `yield* op` calls `op[Symbol.iterator]()` exactly once and then drives the
 * generator it returns directly, so an Op costs one small object when it is
 * created and nothing per step. Creating it registers it with the current
 * task; if the task yields again (or ends) before the op was started, the
 * caller forgot its `yield*` and the scheduler files an `unstarted-op` report
 * naming the op. An Op runs at most once.
 *
 * Every op is started here ({@link Op}'s iterator), so the rules every op
 * follows are checked in one place, before the op does anything:
 * - it runs inside a simulated task (driving `kfree(bo)` by hand is a
 *   UsageError, and the object is left as it was);
 * - the objects it works on (its receiver and arguments that belong to a
 *   Sim: SimObjects, Krefs) belong to the running task's Sim (else a
 *   ForeignSimError naming both Sims, thrown into the task's code).
 */
import { secondCopyMessage } from "../copies.js";
import { ForeignSimError, UsageError } from "../errors.js";
import type { Effect } from "./effect.js";
import { allSims, currentOrNull } from "./current.js";
import { is } from "../validate.js";
import type { Task } from "./task.js";

const UNSTARTED = 0;
const STARTED = 1;
const YIELDED = 2;
const DONE = 3;

/**
 * The stack where each op was made, with `captureStacks` only: kept aside,
 * not in a field every op would carry.
 */
const createdStacks = new WeakMap<object, string | undefined>();

type Body<T> = (this: unknown, a: unknown, b: unknown, c: unknown) => Generator<Effect, T, unknown>;

/**
 * An operation on simulated kernel state; run it with `yield*`.
 *
 * Two kinds: a generator op runs a generator body; a step op (makeStepOp)
 * yields exactly one effect and is its own iterator, so the commonest
 * operations (lock, unlock, cond_resched) cost one object per call and no
 * generator.
 */
export abstract class Op<T> implements Iterable<Effect, T, unknown> {
  /** @internal */ readonly task: Task | null;
  /** @internal The step during which it was created. */ readonly createdStep: number;
  /**
   * @internal UNSTARTED until it is started; then STARTED, and a step op
   * goes on to YIELDED and DONE. One field for what `started` and a step
   * op's phase were: an op is made per lock taken, so each field costs.
   */
  protected state = UNSTARTED;

  /** The operation's name, as reports show it (`kref_put`). */
  abstract readonly name: string;

  /** @internal Use {@link defineOp} (or the library's methods) to make ops. */
  protected constructor() {
    const task = currentOrNull();
    this.task = task;
    if (task === null) {
      this.createdStep = 0;
    } else {
      this.createdStep = task.sim.step;
      if (task.sim.captureStacks) createdStacks.set(this, new Error().stack);
      task.registerOp(this);
    }
  }

  /** @internal Where it was created: only with `captureStacks`. */
  get createdStack(): string | undefined {
    return createdStacks.get(this);
  }

  /** @internal Whether it was started (run with `yield*`, or yielded by mistake). */
  get started(): boolean {
    return this.state !== UNSTARTED;
  }

  set started(started: boolean) {
    if (started && this.state === UNSTARTED) this.state = STARTED;
  }

  [Symbol.iterator](): Iterator<Effect, T, unknown> {
    this.begin();
    return this.start();
  }

  /**
   * @internal Check that the op may start now (see the file header), then
   * mark it started. On a refusal it is marked started too (it counts as
   * run, not as a missing `yield*`) but nothing else happened.
   */
  protected begin(): void {
    if (this.state !== UNSTARTED) throw new UsageError(`op ${this.name} was already started: an Op runs once`);
    const task = currentOrNull();
    if (task === null) {
      // With two copies of the library loaded, the likeliest cause is an op of the other copy run in a task of this one.
      const copies = secondCopyMessage();
      throw new UsageError(
        `op ${this.name} driven outside a simulated task: run it with yield* inside a task body (sim.run(function* () { ... }) or sim.spawn())${copies === "" ? "" : `; ${copies}`}`,
      );
    }
    const foreign = this.foreign(task);
    this.state = STARTED;
    if (this.task !== null) this.task.opStarted();
    if (foreign !== null) {
      this.state = DONE;
      throw foreign;
    }
  }

  /** @internal The Sim check of the objects the op works on (its receiver and arguments): the error, or null. */
  protected abstract foreign(task: Task): ForeignSimError | null;

  /**
   * @internal The object a library op works on (its `this`), or undefined
   * for an op of defineOp(). heap.ts asks it: a library op on a freed
   * object reports the use-after-free in its own step (its body guards the
   * object after its effect), not where the caller looked the method up.
   */
  abstract get receiver(): unknown;

  /** @internal The iterator that runs the op, once. */
  protected abstract start(): Iterator<Effect, T, unknown>;
}

/**
 * @internal The Sim check of one operand: null when `x` belongs to no Sim or
 * to `task`'s, else the error naming both. Allocates nothing on the usual path.
 */
function foreignIn(op: Op<unknown>, task: Task, x: unknown, argument: string): ForeignSimError | null {
  if (typeof x !== "object" || x === null || x === task.sim) return null;
  // The usual cases first, without a WeakSet lookup: a SimObject (its `sim`), a Kref (its owner's).
  const o = x as { readonly sim?: unknown; readonly owner?: unknown };
  if (o.sim === task.sim) return null;
  const owner = o.owner;
  if (typeof owner === "object" && owner !== null && (owner as { readonly sim?: unknown }).sim === task.sim) return null;
  const sim = simOf(x);
  if (sim === null || sim === task.sim) return null;
  return new ForeignSimError(argument, op.name, labelOf(x), (sim as { readonly label: string }).label, `${task.sim.label} (task ${task.label})`);
}

/**
 * The Sim a value belongs to: its `sim` (a SimObject) or its owner's (a
 * Kref), or the value itself if it is a Sim; null for anything else.
 */
function simOf(x: unknown): object | null {
  if (typeof x !== "object" || x === null) return null;
  if (allSims.has(x)) return x;
  const o = x as { readonly sim?: unknown; readonly owner?: { readonly sim?: unknown } | null };
  const s = o.sim ?? (typeof o.owner === "object" && o.owner !== null ? o.owner.sim : undefined);
  return typeof s === "object" && s !== null && allSims.has(s) ? s : null;
}

function labelOf(x: unknown): string {
  const label = (x as { label?: unknown }).label;
  if (typeof label === "string") return label;
  const owner = (x as { owner?: { label?: unknown } }).owner;
  return typeof owner?.label === "string" ? `${(x as object).constructor.name} of ${owner.label}` : "an object";
}

/**
 * @internal How a ForeignSimError names an op's receiver and arguments, as
 * the public call spells them (`this`, then the parameters: `nest`, `ctx`,
 * `wwClass`). null: not an argument the caller passed (never checked).
 */
export type ArgNames = readonly [self: string | null, a: string | null, b: string | null, c: string | null];

/** The names of most ops: the receiver, then one object argument (`kfree(obj)`, `access(obj)`). */
const DEFAULT_NAMES: ArgNames = ["this", "obj", "arguments[1]", "arguments[2]"];

/** The UsageError of an op driven by hand through `method` where only `yield*` may drive it. */
function handDriven(op: Op<unknown>, method: string): UsageError {
  if (currentOrNull() === null) {
    const copies = secondCopyMessage();
    return new UsageError(
      `op ${op.name} driven outside a simulated task (${method}()): run it with yield* inside a task body (sim.run(function* () { ... }) or sim.spawn())${copies === "" ? "" : `; ${copies}`}`,
    );
  }
  return new UsageError(`op ${op.name} driven by hand (${method}()): run it with yield*`);
}

/** @internal An op whose body is a generator function, called with up to three arguments. */
class GeneratorOp<T> extends Op<T> {
  constructor(
    readonly name: string,
    private readonly body: Body<T>,
    private readonly self: unknown,
    private readonly a: unknown,
    private readonly b: unknown,
    private readonly c: unknown,
    private readonly names: ArgNames | "spread" = DEFAULT_NAMES,
  ) {
    super();
  }

  protected start(): Iterator<Effect, T, unknown> {
    return this.body.call(this.self, this.a, this.b, this.c);
  }

  get receiver(): unknown {
    return this.names === "spread" ? undefined : this.self;
  }

  /**
   * A generator op is no iterator itself: `yield*` drives the generator its
   * [Symbol.iterator]() makes. Driving the op by hand (`op.next()`) is a
   * UsageError, as a step op's next() is outside a task, and the op is
   * left as it was.
   * @throws UsageError always.
   */
  next(): never {
    throw handDriven(this, "next");
  }

  /** As next(): a UsageError, the op unchanged. @throws UsageError always. */
  return(): never {
    throw handDriven(this, "return");
  }

  /** As next(): a UsageError, the op unchanged. @throws UsageError always. */
  throw(): never {
    throw handDriven(this, "throw");
  }

  protected foreign(task: Task): ForeignSimError | null {
    const names = this.names;
    if (names === "spread") {
      // defineOp(): `a` is the argument list, each named by its position.
      const args = this.a as readonly unknown[];
      for (let i = 0; i < args.length; i++) {
        const e = foreignIn(this, task, args[i], `arguments[${i}]`);
        if (e !== null) return e;
      }
      return null;
    }
    return (
      (names[0] === null ? null : foreignIn(this, task, this.self, names[0])) ??
      (names[1] === null ? null : foreignIn(this, task, this.a, names[1])) ??
      (names[2] === null ? null : foreignIn(this, task, this.b, names[2])) ??
      (names[3] === null ? null : foreignIn(this, task, this.c, names[3]))
    );
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
  return new GeneratorOp(name, body as Body<T>, self, a, b, c);
}

/**
 * @internal makeOp() for an op whose arguments are not `(obj)`: `names`
 * says how a ForeignSimError names the receiver and each argument
 * (`["this", "nest", null, null]` for lockNestLock(nest)).
 */
export function makeNamedOp<S, T, A = undefined, B = undefined, C = undefined>(
  name: string,
  names: ArgNames,
  self: S,
  body: (this: S, a: A, b: B, c: C) => Generator<Effect, T, unknown>,
  a?: A,
  b?: B,
  c?: C,
): Op<T> {
  return new GeneratorOp(name, body as Body<T>, self, a, b, c, names);
}

/**
 * @internal The two halves of an op that yields exactly one effect, as a
 * generator `{ const e = before(); const ok = yield e; return after(ok); }`
 * would run them.
 */
export interface StepBody<S, A, T> {
  /** The op's name, as reports show it (`mutex_lock`): a step op's only name, kept here rather than in each op. */
  readonly name: string;
  /** Runs when the op starts (in the step before the effect): checks, then the effect to yield. */
  readonly before: (self: S, a: A) => Effect;
  /** Runs when the task resumes after the effect: `proceeded` is what `yield` gives (false: woken by a deadline). */
  readonly after: (self: S, a: A, proceeded: boolean) => T;
}


/**
 * What a finished op without a value returns from next(). Shared and
 * frozen: an iterator result is only read (yield* hands it on unchanged to
 * the scheduler).
 */
const DONE_VOID: IteratorResult<Effect, undefined> = Object.freeze({ value: undefined, done: true });
const DONE_TRUE: IteratorResult<Effect, boolean> = Object.freeze({ value: true, done: true });
const DONE_FALSE: IteratorResult<Effect, boolean> = Object.freeze({ value: false, done: true });

/** @internal A one-effect op, its own iterator: see StepBody. */
class StepOp<S, A, T> extends Op<T> implements Iterator<Effect, T, unknown> {
  constructor(
    private readonly body: StepBody<S, A, T>,
    private readonly self: S,
    private readonly a: A,
  ) {
    super();
  }

  get name(): string {
    return this.body.name;
  }

  get receiver(): unknown {
    return this.self;
  }

  protected start(): Iterator<Effect, T, unknown> {
    return this;
  }

  protected foreign(task: Task): ForeignSimError | null {
    return foreignIn(this, task, this.self, "this") ?? foreignIn(this, task, this.a, "obj");
  }

  next(proceeded?: unknown): IteratorResult<Effect, T> {
    // next() called without [Symbol.iterator]() first (by hand): start it as yield* would.
    if (this.state === UNSTARTED) this.begin();
    const phase = this.state;
    if (phase === STARTED) {
      // As a generator that throws: once before() throws, the op is over.
      this.state = DONE;
      const effect = this.body.before(this.self, this.a);
      this.state = YIELDED;
      return effect.yielded;
    }
    if (phase === DONE) return DONE_VOID as IteratorResult<Effect, T>;
    this.state = DONE;
    const value = this.body.after(this.self, this.a, proceeded as boolean);
    if (value === undefined) return DONE_VOID as IteratorResult<Effect, T>;
    if (typeof value === "boolean") return (value ? DONE_TRUE : DONE_FALSE) as IteratorResult<Effect, T>;
    return { value, done: true };
  }

  return(value?: T): IteratorResult<Effect, T> {
    // Outside a task it was never started and must stay so: a UsageError, as next().
    if (this.state === UNSTARTED && currentOrNull() === null) throw handDriven(this, "return");
    this.state = DONE;
    return { value: value as T, done: true };
  }

  throw(error: unknown): IteratorResult<Effect, T> {
    if (this.state === UNSTARTED && currentOrNull() === null) throw handDriven(this, "throw");
    this.state = DONE;
    throw error;
  }
}

/** @internal Make a one-effect op (see StepBody): one object per call, no generator. */
export function makeStepOp<S, T, A = undefined>(self: S, body: StepBody<S, A, T>, a?: A): Op<T> {
  return new StepOp(body, self, a as A);
}

/**
 * Turn a generator function into a function returning {@link Op}s, so driver
 * code gets the same missing-`yield*` protection as the library's own ops.
 *
 * ```ts
 * const useBo = defineOp("use_bo", function* (bo: Bo) { ... });
 * yield* useBo(bo);
 * ```
 *
 * @throws ArgumentError naming `name` when it is not a non-empty string,
 *   `fn` when it is not a function.
 */
export function defineOp<A extends unknown[], T>(
  name: string,
  fn: (...args: A) => Generator<Effect, T, unknown>,
): (...args: A) => Op<T> {
  is.nonEmptyString("name", name);
  is.function("fn", fn);
  const spread = function (this: unknown, args: unknown) {
    return fn(...(args as A));
  };
  return (...args: A) => new GeneratorOp<T>(name, spread, undefined, args, undefined, undefined, "spread");
}
