/**
 * Sim: one simulated machine — configuration, ids, clock, tasks, reports.
 *
 * Mirrors: a booted kernel, for the length of one test or one explored
 *   execution.
 * Ownership: owns its heap, scheduler, tasks and reports. Objects belong to
 *   the Sim they were created in and must not be used from another.
 * Locking: single-threaded; `run()`/`runAll()` are not reentrant.
 * States: idle ⇄ running; `stopped` once a report was filed in
 *   `onReport: "throw"` mode (the run ends at the next scheduling point).
 * Invariants: the same options and the same task code give the same
 *   sequence of effects, hence the same `traceHash`, on every run.
 */
import { ArgumentError, ArgumentRangeError, ForeignSimError, UsageError } from "../errors.js";
import { ReportError } from "../report/report-error.js";
import { checkOptions, describeValue, is, type Spec } from "../validate.js";
import type { QueuedByRef, RefEvent, Report, ReportBody, ScheduleTail } from "../report/report.js";
import { formatReport } from "../report/text.js";
import { defineEffectKind, Effect, EVERYTHING, NONE, WRITE, WRITE_ALL, WRITE_IF } from "./effect.js";
import { Heap, SimObject, type Site } from "./heap.js";
import { Kref } from "./kref.js";
import { makeOp, type Op } from "./op.js";
import { deriveSeed, Prng } from "./prng.js";
import {
  makeStrategy,
  Scheduler,
  IRQ_ENTER,
  type RunOutcome,
  type Strategy,
  type StrategyName,
} from "./scheduler.js";
import { decodeSimToken, encodeSimToken, MAX_CHOICE_VALUE, SIM_DEFAULT_MAX_STEPS } from "./token.js";
import { allSims, currentOrNull, setCurrent } from "./current.js";
import { Lockdep } from "./lockdep.js";
import { START, Task, TASK_CONTEXTS, type TaskBody, type TaskContext } from "./task.js";
import { teardownChecks } from "./teardown.js";

/** Which checks run. Each defaults to on; switch one off for speed. */
export interface Checks {
  /** Use-after-free, double free, leaks. */
  readonly lifetimes: boolean;
  /** Refcount underflow, increment from zero, saturation, holder tracking and history. */
  readonly refcounts: boolean;
  /** The deadlock report when every live task is blocked. */
  readonly deadlock: boolean;
  /** The `unstarted-op` report for a missing `yield*`. */
  readonly unstartedOps: boolean;
  /** Lock-order cycles, recursive locking, irq inversions, wait contexts, unlock balance, held locks. */
  readonly lockdep: boolean;
  /** Sleeping in atomic context (`sleep-in-atomic`). */
  readonly context: boolean;
  /**
   * The footprint check (default off; on when the environment variable
   * GPUVM_SIM_FOOTPRINT is "1", as in this project's test suite): a library
   * op that reads or changes a simulated object its step did not declare is
   * a `usage` report. It catches an op that declares too little, which would
   * make the explorer's reduction unsound. It costs a few comparisons per op.
   */
  readonly footprint: boolean;
}

/** The footprint check's default: see Checks.footprint. */
const FOOTPRINT_DEFAULT = typeof process !== "undefined" && process.env["GPUVM_SIM_FOOTPRINT"] === "1";

/** Options for a Sim; every field is optional. */
export interface SimOptions {
  /** Seed of every random choice (default 0). Any safe integer; used modulo 2^32. */
  readonly seed?: number;
  /** How to pick among enabled tasks: `"random"` (default) or `"round-robin"`. */
  readonly strategy?: StrategyName;
  /** Checks to switch off (default: all on). */
  readonly checks?: Partial<Checks>;
  /** `"throw"` (default): a report ends the run and `run()` throws a ReportError. `"collect"`: keep going. */
  readonly onReport?: "throw" | "collect";
  /** Record a JavaScript stack at every site (slow; for replaying a failure). Default false. */
  readonly captureStacks?: boolean;
  /** Steps per `run()`/`runAll()` before a `step-limit` report (default 1,000,000). */
  readonly maxSteps?: number;
  /**
   * A replay token from a report: sets seed, strategy and step limit to
   * reproduce that run (a `seed`, `strategy` or `maxSteps` that contradicts
   * the token is an ArgumentError naming it).
   */
  readonly replay?: string;
  /**
   * The lockdep "boot" whose dependency graph this Sim learns into and checks
   * against (default `Lockdep.global`, shared by every Sim of the process).
   * Give a `new Lockdep()` for a run that must not see orders learned before.
   */
  readonly lockdep?: Lockdep;
  /**
   * @internal A retired Sim (see retire(): its run is over and nothing uses
   * it any more) whose scheduler's trace ring and scratch this Sim takes
   * over instead of making its own (the explorer passes the previous
   * execution's; see newSim()). Every slot a report reads is written by this
   * run first, so what they held does not matter.
   */
  readonly retired?: Sim;
}

/** What `runAll()` returns. */
export interface RunResult {
  readonly outcome: RunOutcome;
  /** Total steps of this Sim so far. */
  readonly steps: number;
  readonly traceHash: string;
  readonly reports: readonly Report[];
}

/** How many refcount events the history ring keeps, over all objects. */
export const REF_LOG = 512;

/** The refcount history ring's columns. */
class RefLog {
  /** By object id, how many of its events the ring overwrote (grown as ids need; ids are small and dense). */
  readonly dropped: number[] = [];
  readonly obj = new Int32Array(REF_LOG);
  readonly step = new Int32Array(REF_LOG);
  readonly count = new Int32Array(REF_LOG);
  readonly task: (Task | null)[] = new Array<Task | null>(REF_LOG).fill(null);
  readonly op: RefEvent["op"][] = new Array<RefEvent["op"]>(REF_LOG).fill("init");
  readonly holder: (string | undefined)[] = new Array<string | undefined>(REF_LOG).fill(undefined);
}
const STRATEGIES: readonly StrategyName[] = ["random", "round-robin"];

/** @internal The rules of `checks` (a Sim's option, and explore()'s): each a boolean. */
export const CHECKS_SPEC: Spec<Partial<Checks>> = {
  lifetimes: is.boolean,
  refcounts: is.boolean,
  deadlock: is.boolean,
  unstartedOps: is.boolean,
  lockdep: is.boolean,
  context: is.boolean,
  footprint: is.boolean,
};

/** The rules of SimOptions (see validate.ts). */
const SIM_OPTIONS: Spec<SimOptions> = {
  seed: is.safeInteger,
  strategy: is.oneOf(...STRATEGIES),
  checks: is.options(CHECKS_SPEC),
  onReport: is.oneOf("throw", "collect"),
  captureStacks: is.boolean,
  maxSteps: is.positiveInteger,
  replay: is.any, // decodeSimToken() checks it, with a TokenError
  lockdep: is.instanceOf(Lockdep),
  retired: (argument, v) => {
    // Only a Sim retire() was called on, whose scheduler no other Sim took over yet.
    if (!(v instanceof Sim) || v.retiredState !== "retired") {
      throw new ArgumentError(argument, `must be a retired Sim not yet taken over, got ${v instanceof Sim ? `${v.label}, ${v.retiredState === "taken" ? "already taken over" : "not retired"}` : describeValue(v)}`);
    }
  },
};

/** Sims made in this process: only for the printable identity of a Sim in errors (`Sim#3 (seed 7)`). */
let simCount = 0;

export class Sim {
  /**
   * This Sim's number in the process (1, 2, ...), for errors that must tell
   * two Sims apart. Not part of any trace or report: it depends on how many
   * Sims the process made before.
   */
  readonly id: number;
  readonly seed: number;
  readonly strategy: StrategyName;
  readonly checks: Readonly<Checks>;
  readonly onReport: "throw" | "collect";
  readonly captureStacks: boolean;
  readonly maxSteps: number;
  /** Simulated time in nanoseconds. */
  now = 0;
  /** Steps taken so far: the number of the step running now. */
  step = 0;
  /** Every report filed, in order. */
  readonly reports: Report[] = [];
  /** Every task spawned, in spawn order. */
  readonly tasks: Task[] = [];
  /** The lockdep boot this Sim checks lock order against. */
  readonly lockdep: Lockdep;
  /** @internal */ readonly heap: Heap;
  /** @internal */ stopped = false;
  /** @internal */ readonly scheduler: Scheduler;
  private readonly rng: Prng;
  private running = false;
  private stopReport: Report | null = null;
  private taskIds = 0;
  private lastOutcome: RunOutcome = "done";

  /** @internal How the last runAll() ended. */
  get outcome(): RunOutcome {
    return this.lastOutcome;
  }
  /** What teardown() filed; null until it ran. */
  private tornDown: readonly Report[] | null = null;
  // Refcount history: a ring of the last REF_LOG events, any object. Made
  // on the first event: most executions of an exploration never need it.
  private ref: RefLog | null = null;
  private refN = 0;
  private token: string | undefined = undefined;
  /** @internal "retired" once retire() ran; "taken" once a new Sim took over its scheduler (options.retired). */
  retiredState: "live" | "retired" | "taken" = "live";

  /**
   * @throws ArgumentError naming `options` when it is not an object, the key
   *   when it is unknown (listing the known ones) or has the wrong type
   *   (`seed`, `strategy`, `checks.lifetimes`, `onReport`, `captureStacks`,
   *   `lockdep`); ArgumentRangeError naming `seed` or `maxSteps` out of
   *   range; TokenError naming `replay` for a malformed token.
   */
  constructor(options: SimOptions = {}) {
    // The explorer's per-execution Sims, made from options it already
    // checked and given the previous execution's Sim, which it retired (and
    // which no Sim took over yet), skip the full check: it costs about 5% of
    // a short execution's allocation. Anything else as `retired` (a number,
    // a live Sim, one already taken over) is checked, and refused.
    const retired = (options as SimOptions | null)?.retired;
    if (!(retired instanceof Sim && retired.retiredState === "retired")) checkOptions("options", options, SIM_OPTIONS);
    let seed = options.seed ?? 0;
    let strategy = options.strategy ?? "random";
    let maxSteps = options.maxSteps ?? SIM_DEFAULT_MAX_STEPS;
    if (options.replay !== undefined) {
      const parsed = decodeSimToken(options.replay);
      if (options.seed !== undefined && options.seed !== parsed.seed) throw new ArgumentError("seed", "conflicts with options.replay");
      if (options.strategy !== undefined && options.strategy !== parsed.strategy) {
        throw new ArgumentError("strategy", "conflicts with options.replay");
      }
      const steps = parsed.maxSteps ?? SIM_DEFAULT_MAX_STEPS;
      if (options.maxSteps !== undefined && options.maxSteps !== steps) {
        throw new ArgumentError("maxSteps", `conflicts with options.replay, which ran under a step limit of ${steps}`);
      }
      seed = parsed.seed;
      strategy = parsed.strategy;
      maxSteps = steps;
    }
    if (!Number.isSafeInteger(seed)) throw new ArgumentRangeError("seed", `must be a safe integer, got ${seed}`);
    if (!STRATEGIES.includes(strategy)) throw new ArgumentError("strategy", `must be one of ${STRATEGIES.join(", ")}`);
    if (!Number.isSafeInteger(maxSteps) || maxSteps < 1) {
      throw new ArgumentRangeError("maxSteps", `must be a positive safe integer, got ${maxSteps}`);
    }
    const onReport = options.onReport ?? "throw";
    if (!(["throw", "collect"] as unknown[]).includes(onReport)) throw new ArgumentError("onReport", 'must be "throw" or "collect"');
    const c = options.checks ?? {};
    this.checks = {
      lifetimes: c.lifetimes ?? true,
      refcounts: c.refcounts ?? true,
      deadlock: c.deadlock ?? true,
      unstartedOps: c.unstartedOps ?? true,
      lockdep: c.lockdep ?? true,
      context: c.context ?? true,
      footprint: c.footprint ?? FOOTPRINT_DEFAULT,
    };
    const lockdep = options.lockdep ?? Lockdep.global;
    if (!(lockdep instanceof Lockdep)) throw new ArgumentError("lockdep", "must be a Lockdep");
    this.lockdep = lockdep;
    this.seed = seed;
    this.strategy = strategy;
    this.onReport = onReport;
    this.captureStacks = options.captureStacks ?? false;
    this.maxSteps = maxSteps;
    this.heap = new Heap(this);
    // The seed modulo 2^32: `>>> 0` is exact for every safe integer, and
    // makes no BigInt per Sim.
    const s32 = seed >>> 0;
    this.scheduler = new Scheduler(this, makeStrategy(strategy, deriveSeed(s32, 0)), retired?.scheduler ?? 24);
    if (retired !== undefined) retired.retiredState = "taken";
    this.rng = new Prng(deriveSeed(s32, 1));
    this.id = ++simCount;
    allSims.add(this);
  }

  /** `Sim#3 (seed 7)`: how errors name this Sim. */
  get label(): string {
    return `Sim#${this.id} (seed ${this.seed})`;
  }

  /** The token that reproduces runs of this Sim: pass it as option `replay`. */
  get replayToken(): string {
    // Seed and strategy never change: one string per Sim, made when first asked.
    return (this.token ??= encodeSimToken({ strategy: this.strategy, seed: this.seed, maxSteps: this.maxSteps }));
  }

  /** A hash of every step so far (task, effect kind, target), as 8 hex digits. */
  get traceHash(): string {
    return (this.scheduler.hash >>> 0).toString(16).padStart(8, "0");
  }

  /** A uniform float in [0, 1) from the Sim's own seeded stream. */
  random(): number {
    return this.rng.nextFloat();
  }

  /**
   * An injected choice: one of `n` outcomes (0 .. n-1), decided by the
   * scheduling strategy like a choice of task, so an explorer covers every
   * outcome and a replay repeats it. Use it where the outcome is up to chance
   * in the kernel (whether an allocation fails, whether a back-off happens).
   *
   * @param n The number of outcomes: an integer in [1, 2^32].
   * @returns An op that yields once (a choice point) and returns the outcome.
   * @throws ArgumentRangeError naming `n` if it is not an integer in [1, 2^32].
   */
  choose(n: number): Op<number> {
    if (!Number.isSafeInteger(n) || n < 1 || n > MAX_CHOICE_VALUE) {
      throw new ArgumentRangeError("n", `must be an integer in [1, 2^32], got ${n}`);
    }
    return makeOp("choose", this, chooseBody, n);
  }

  /**
   * @internal The explorer is done with this Sim (its run, its outcome, its
   * failure if any) and will never use it again: drop its tasks, choices
   * and reports. A task body made per execution stays reachable until a
   * full collection (V8 keeps each generator closure's initial map, in old
   * space, pointing at it), and through the variables it captures, this
   * Sim: what the Sim still held would be copied by every scavenge and
   * promoted. Only an explorer calls it, on a Sim nothing else was given
   * but the scenario.
   */
  retire(): void {
    if (this.retiredState === "live") this.retiredState = "retired";
    this.tasks.length = 0;
    this.reports.length = 0;
    this.scheduler.retire();
  }

  /**
   * @internal Let an explorer decide this run's choices. Call before the run
   * starts. With `record` false the choices are not kept (`choices` stays
   * empty): for runs that can be repeated from their seed alone.
   */
  setStrategy(strategy: Strategy, record = true): void {
    if (this.step !== 0) throw new UsageError("setStrategy() after the run started");
    this.scheduler.strategy = strategy;
    this.scheduler.recording = record;
  }

  /** @internal The choices made so far (see Scheduler.choices). */
  get choices(): readonly number[] {
    return this.scheduler.choices;
  }

  /**
   * Start a task. It runs when `runAll()` (or `run()`) schedules it; it may be
   * called from inside another task.
   */
  spawn<T>(name: string, context: TaskContext, body: TaskBody<T>): Task {
    if (typeof name !== "string" || name === "") throw new ArgumentError("name", `must be a non-empty string, got ${describeValue(name)}`);
    if (!TASK_CONTEXTS.includes(context)) throw new ArgumentError("context", `must be one of ${TASK_CONTEXTS.join(", ")}, got ${describeValue(context)}`);
    if (typeof body !== "function") throw new ArgumentError("body", `must be a generator function, got ${describeValue(body)}`);
    if (this.tornDown !== null) throw new UsageError(`spawn("${name}") after teardown(): the Sim's run is over`);
    const caller = currentOrNull();
    if (caller !== null && caller.sim !== this) throw new ForeignSimError("this", "spawn", `task "${name}"`, this.label, `${caller.sim.label} (task ${caller.label})`);
    const interrupt = context === "hardirq" || context === "softirq";
    const start = interrupt ? new Effect(IRQ_ENTER, null, EVERYTHING, null, this.scheduler.irqWindow) : START_EFFECT;
    const task = new Task(this, ++this.taskIds, name, context, body, start);
    // A task spawned by a running task exists only from that task's current step on.
    if (currentOrNull() !== null) task.spawnedAtStep = this.step;
    // Its pending signal is state other tasks write (kill()): it needs a footprint key.
    this.heap.share(task);
    this.tasks.push(task);
    this.scheduler.add(task);
    return task;
  }

  /**
   * Run `body` as a process-context task named `main`, together with any
   * task already spawned or spawned meanwhile, until all are done; return
   * what `body` returned.
   */
  run<T>(body: TaskBody<T>): T {
    this.checkNotInTask("run()");
    const main = this.spawn("main", "process", body);
    this.runAll();
    if (main.pending !== null) {
      throw new UsageError(`main task did not complete (${this.lastOutcome}); see sim.reports`);
    }
    // The task's own exception, whatever it is, goes to the caller unchanged.
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    if (main.error !== undefined) throw main.error;
    return main.result as T;
  }

  /** Run every spawned task to completion (or deadlock, step limit, report). */
  runAll(): RunResult {
    const outcome = this.runOutcome();
    return { outcome, steps: this.step, traceHash: this.traceHash, reports: this.reports };
  }

  /**
   * @internal runAll() without its result object: the explorer needs only
   * the outcome, and formatting the trace hash for each execution cost.
   */
  runOutcome(): RunOutcome {
    this.checkNotInTask("runAll()");
    if (this.running) throw new UsageError("runAll() called while this Sim is running");
    this.running = true;
    const outer = setCurrent(null);
    let outcome: RunOutcome;
    try {
      outcome = this.scheduler.loop(this.maxSteps, outer);
    } finally {
      this.running = false;
      setCurrent(outer);
    }
    this.lastOutcome = outcome;
    this.scheduler.strategy.ended?.(outcome);
    if (outcome === "deadlock") {
      // The orders lockdep warned about did deadlock in this run.
      for (let i = 0; i < this.reports.length; i++) {
        const r = this.reports[i] as Report;
        if (r.kind === "lock-order-cycle" && !r.actual) this.reports[i] = { ...r, actual: true };
      }
    }
    const fatal = this.scheduler.fatal;
    if (fatal !== null) {
      this.scheduler.fatal = null;
      this.stopped = false;
      throw fatal.error;
    }
    const stop = this.stopReport;
    if (stop !== null) {
      this.stopReport = null;
      this.stopped = false;
      throw new ReportError(stop, formatReport(stop));
    }
    return outcome;
  }

  /** run() and runAll() drive tasks: refused from inside one (of any Sim), before anything changes. */
  private checkNotInTask(what: string): void {
    const task = currentOrNull();
    if (task !== null) {
      const whose = task.sim === this ? "this Sim" : task.sim.label;
      throw new UsageError(`${what} of ${this.label} called inside task ${task.label} of ${whose}: a task cannot run a simulation; spawn a task instead, or call ${what} outside any task`);
    }
  }

  /**
   * End the run: run every teardown check (see `registerTeardownCheck()` in
   * src/kernel/teardown.ts), in registration order, skipping those whose
   * `checks` gate is off, and file what they find. Returns the reports filed,
   * in order (empty if all is well); they are in `sim.reports` too.
   *
   * Today's checks: `leaks` (gate `lifetimes`), one `leak` report listing
   * every live object with the holders of its outstanding references.
   *
   * Call it after `run()`/`runAll()` returned, normally only if the run ended
   * `"done"`: after a deadlock, what the stuck tasks hold is a consequence,
   * not a second bug. It never throws a ReportError, even in `onReport:
   * "throw"` mode: the reports are its result. Calling it again files nothing
   * and returns the first call's reports; spawning a task afterwards is a
   * UsageError.
   *
   * @throws UsageError when called inside a simulated task (the run is not over).
   */
  teardown(): readonly Report[] {
    if (this.running || currentOrNull() !== null) throw new UsageError("teardown() called inside a simulated task: call it once run()/runAll() returned");
    if (this.tornDown !== null) return this.tornDown;
    const filed: Report[] = [];
    for (const check of teardownChecks()) {
      if (check.gate !== undefined && !this.checks[check.gate]) continue;
      for (const body of check.run(this)) filed.push(this.file(body, false));
    }
    this.tornDown = filed;
    return filed;
  }

  /** The objects allocated and not yet freed, in allocation order (not static or embedded ones). */
  /**
   * @internal The footprint check (see Checks.footprint): the running step's
   * op `op` reads or writes `obj`; file a `usage` report unless the step's
   * effect declared it.
   */
  checkFootprint(obj: object, write: boolean, op: string): void {
    const task = currentOrNull();
    const e = task?.pending ?? null;
    if (e === null || declares(this.heap, e, obj, write)) return;
    const type = obj instanceof SimObject ? obj.typeName : obj instanceof Kref ? "Kref" : "object";
    const label = obj instanceof SimObject ? obj.label : obj instanceof Kref ? `Kref of ${(obj.owner as SimObject).label}` : "object";
    this.file({ kind: "usage", problem: "undeclared-access", op, object: label, objectType: type, mode: write ? "write" : "read", declared: e.describe() });
  }

  /**
   * Declare `obj`, plain driver state that tasks share (a handle table, a
   * flag), so that `access(obj, mode)` can name it in footprints. Call it
   * where the scenario makes the object (in its setup, or in the task that
   * creates it): the object is then named the same way in every execution,
   * which the exhaustive search relies on. Returns `obj`. SimObjects need no
   * sharing.
   *
   * @throws ArgumentError naming `obj` when it is not an object.
   */
  share<T extends object>(obj: T): T {
    if (typeof obj !== "object" || (obj as object | null) === null) throw new ArgumentError("obj", "must be an object");
    this.heap.share(obj);
    return obj;
  }

  liveObjects(): readonly SimObject[] {
    return [...this.heap.live];
  }

  /** @internal Record a site: current task, step, operation. */
  site(op: string): Site {
    return { task: currentOrNull(), step: this.step, op, stack: this.captureStacks ? new Error().stack : undefined };
  }

  /** @internal File a report; fills in the base fields. */
  file(body: ReportBody, mayThrow = true): Report {
    const task = currentOrNull();
    const report = {
      ...body,
      step: this.step,
      task: task === null ? null : task.label,
      schedule: this.scheduleTail(),
      replay: this.replayToken,
    } as Report;
    // Filed while a work item runs: name where it was queued (KASAN's aux stack).
    const queuedBy = task?.workQueuedBy ?? null;
    if (queuedBy !== null) (report as { queuedBy?: QueuedByRef }).queuedBy = queuedBy;
    this.reports.push(report);
    if (this.onReport === "throw" && mayThrow) {
      if (!this.running) throw new ReportError(report, formatReport(report));
      this.stopReport ??= report;
      this.stopped = true;
    }
    return report;
  }

  /** @internal */
  fileUnstartedOp(op: Op<unknown> | null, noticed: "yield" | "exit" | "yielded-op"): void {
    if (!this.checks.unstartedOps) return;
    if (op === null) {
      const t = currentOrNull();
      this.file({ kind: "unstarted-op", op: "(not remembered)", created: { task: t === null ? null : t.label, step: this.step, op: "(not remembered)" }, noticed });
      return;
    }
    const task = op.task;
    const created = { task: task === null ? null : task.label, step: op.createdStep, op: op.name };
    const stack = op.createdStack;
    this.file({ kind: "unstarted-op", op: op.name, created: stack === undefined ? created : { ...created, stack }, noticed });
  }

  /** @internal An op notes the outcome of the current step, shown in reports' schedules. */
  note(text: string): void {
    this.scheduler.note(text);
  }

  /** @internal Append to the refcount history ring. */
  logRef(objId: number, op: RefEvent["op"], count: number, holder: string | undefined): void {
    const ref = (this.ref ??= new RefLog());
    const n = this.refN++;
    const i = n % REF_LOG;
    if (n >= REF_LOG) {
      // The slot's event falls out of the ring: its object's history is cut.
      const gone = ref.obj[i] as number;
      const dropped = ref.dropped;
      while (dropped.length <= gone) dropped.push(0);
      dropped[gone] = (dropped[gone] as number) + 1;
    }
    ref.obj[i] = objId;
    ref.step[i] = this.step;
    ref.count[i] = count;
    ref.task[i] = currentOrNull();
    ref.op[i] = op;
    ref.holder[i] = holder;
  }

  /**
   * @internal How many refcount events of `obj` the history ring dropped
   * (it keeps the last REF_LOG events of all objects): the history that
   * refHistory() returns is missing this many events before its first.
   */
  refHistoryDropped(obj: SimObject): number {
    return this.ref?.dropped[obj.id] ?? 0;
  }

  /** @internal The recorded refcount events of one object, oldest first. */
  refHistory(obj: SimObject): RefEvent[] {
    const out: RefEvent[] = [];
    const ref = this.ref;
    if (ref === null) return out;
    const n = this.refN;
    for (let k = Math.max(0, n - REF_LOG); k < n; k++) {
      const i = k % REF_LOG;
      if (ref.obj[i] !== obj.id) continue;
      const t = ref.task[i] ?? null;
      const base = { step: ref.step[i] ?? 0, task: t === null ? null : t.label, op: ref.op[i] ?? "init", count: ref.count[i] ?? 0 };
      const holder = ref.holder[i];
      out.push(holder === undefined ? base : { ...base, holder });
    }
    return out;
  }

  private scheduleTail(): ScheduleTail {
    return this.scheduler.ring.tail(this.step, (id) => this.tasks[id - 1]?.label ?? `task ${id}`);
  }
}

/** sim.choose(): an injected choice; touches nothing, not progress. */
export const CHOOSE_KIND = defineEffectKind({ name: "choose", progress: false });
const CHOOSE = new Effect(CHOOSE_KIND, null, NONE);
const START_EFFECT = new Effect(START, null, NONE);

function* chooseBody(this: Sim, n: number): Generator<Effect, number, unknown> {
  yield CHOOSE;
  return this.scheduler.choose(n);
}

/** Whether effect `e`'s footprint covers a read (or a write) of `obj`. */
function declares(heap: Heap, e: Effect, obj: object, write: boolean): boolean {
  if (e.mode === EVERYTHING || e.deadline !== Infinity) return true;
  const key = heap.keyOf(obj);
  const o = e.object;
  if (o !== null && e.mode !== NONE) {
    const writes = e.mode === WRITE || e.mode === WRITE_IF || e.mode === WRITE_ALL;
    const same = e.mode === WRITE_ALL ? heap.allocOf(o) === heap.allocOf(obj) : heap.keyOf(o) === key;
    if (same && (writes || !write)) return true;
  }
  for (const a of e.also ?? []) if (heap.keyOf(a.object) === key && (a.mode === "write" || !write)) return true;
  return false;
}
