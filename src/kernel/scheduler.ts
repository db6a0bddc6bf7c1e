/**
 * The scheduler: enabledness, choice points, deadlock detection.
 *
 * Mirrors: nothing in the kernel; it plays the part of every CPU at once,
 *   running one task at a time and choosing, before each effect, which
 *   enabled task goes next.
 * Ownership: owned by one Sim; holds the live tasks in spawn order.
 * Locking: not reentrant; one loop runs at a time (Sim.runAll guards it).
 * Invariants: a task is enabled iff its pending effect waits for nothing,
 *   its waitable can proceed, or its deadline has passed. Simulated time only
 *   moves when no task is enabled, to the earliest deadline. When no task is
 *   enabled and none has a deadline, every live task is blocked: a deadlock.
 *
 * Hot path: `loop()` runs once per step. It allocates nothing itself; the
 * effect objects are allocated by the tasks.
 */
import { defineEffectKind, Effect, EVERYTHING, modeNow, NONE, READ, WRITE, WRITE_ALL, WRITE_IF, type Waitable } from "./effect.js";
import { Op } from "./op.js";
import { Prng } from "./prng.js";
import type { Sim } from "./sim.js";
import { setCurrent } from "./current.js";
import { NotAGenerator, RESCHED_KIND, START, type Task } from "./task.js";
import { describeValue, isInstance, thrownText } from "../validate.js";
import type { TaskMisuseReport } from "../report/runtime-kinds.js";
import { ChoiceKind, packChoice } from "./token.js";
import {
  SWITCH_BLOCKED,
  SWITCH_DONE,
  SWITCH_INTERRUPT,
  SWITCH_INTERRUPTED,
  SWITCH_NONE,
  SWITCH_PREEMPTED,
  TraceRing,
} from "./trace-ring.js";
import { UsageError } from "../errors.js";
import { secondCopyMessage } from "../copies.js";
import type { WaitEdge } from "../report/report.js";

/** How the scheduler picks among enabled tasks. */
export type StrategyName = "random" | "round-robin";

/** A scheduling strategy: the only source of choice in a run. */
export interface Strategy {
  /** Pick an index into `enabled[0..n)`. Called only when n > 1. */
  pick(enabled: readonly Task[], n: number, prev: Task | null): number;
  /** Pick one of `n` > 1 outcomes of a choice that is not a task (which CPU an interrupt lands on, `sim.choose()`). */
  choose(n: number): number;
  /** Told of every step, chosen or forced, before the task runs it. */
  executed?(task: Task, effect: Effect): void;
  /**
   * Told that the running step of `task` also touched `obj`, beyond what its
   * effect declared: an access the step could not announce (a signal sent
   * to another task by `kill()`).
   */
  touched?(task: Task, obj: object, write: boolean): void;
  /** Told when the run has ended, and how, while its tasks are still there to look at. */
  ended?(outcome: RunOutcome): void;
}

class RandomStrategy implements Strategy {
  constructor(private readonly rng: Prng) {}
  pick(_enabled: readonly Task[], n: number): number {
    return this.rng.nextInt(n);
  }
  choose(n: number): number {
    return this.rng.nextInt(n);
  }
}

/** Each step, the next enabled task after the previous one, by spawn order; the first outcome of other choices. */
class RoundRobinStrategy implements Strategy {
  pick(enabled: readonly Task[], n: number, prev: Task | null): number {
    if (prev === null) return 0;
    for (let i = 0; i < n; i++) if ((enabled[i] as Task).id > prev.id) return i;
    return 0;
  }
  choose(): number {
    return 0;
  }
}

/**
 * @internal The start of an interrupt task: it can run only on a CPU whose
 * task has irqs (for a softirq, also bottom halves) enabled and is not
 * already interrupted, or on an idle CPU.
 */
export class IrqWindow implements Waitable {
  readonly label = "a CPU with irqs enabled";

  constructor(private readonly live: readonly Task[]) {}

  /** The tasks `irq` could interrupt; empty with `idle` true when no CPU is busy. */
  victims(irq: Task): { victims: Task[]; idle: boolean } {
    const victims: Task[] = [];
    let busy = 0;
    for (const t of this.live) {
      if (t.inInterrupt) continue;
      busy++;
      if (t.interruptedBy === null && t.irqsOff === 0 && (irq.context !== "softirq" || t.bhOff === 0)) victims.push(t);
    }
    return { victims, idle: busy === 0 };
  }

  canProceed(irq: Task): boolean {
    return this.openFor(irq.context === "softirq");
  }

  /**
   * Whether a hardirq (or, with `soft`, a softirq) could enter now: some
   * task it could interrupt, or no busy CPU. The same rule as victims(),
   * without making the list.
   */
  openFor(soft: boolean): boolean {
    let busy = 0;
    for (const t of this.live) {
      if (t.inInterrupt) continue;
      busy++;
      if (t.interruptedBy === null && t.irqsOff === 0 && (!soft || t.bhOff === 0)) return true;
    }
    return busy === 0;
  }

  /** The tasks that could open the window by enabling irqs. */
  wakers(): readonly Task[] {
    return this.live.filter((t) => !t.inInterrupt && t.irqsOff > 0);
  }
}

/** @internal */
export function makeStrategy(name: StrategyName, seed: number): Strategy {
  return name === "random" ? new RandomStrategy(new Prng(seed)) : new RoundRobinStrategy();
}

/** How a run ended. */
export type RunOutcome = "done" | "deadlock" | "step-limit" | "livelock" | "stopped";

/**
 * A task that runs this many steps in a row without progress (only
 * cond_resched, failed trylocks, try-waits and choices) has spun its budget:
 * it is parked, under every strategy, until another task writes something
 * its spin read (the holder unlocks the lock it keeps trying), or until no
 * other task can run. Then the clock first moves to the earliest deadline of
 * a waiting task, as real time would while the spinners spin; failing that,
 * every spinner is unparked with a fresh budget, as a fair scheduler would
 * give each a turn. A loop that can never make progress spins on until the
 * step limit, which is a `livelock` report naming the loop.
 */
export const SPIN_STEPS = 64;

/**
 * An interrupt handler's entry: where it lands depends on every task's irq
 * state, so the step counts as touching everything.
 */
export const IRQ_ENTER = defineEffectKind({ name: "irq-enter" });

const FNV_PRIME = 0x01000193;

/** @internal */
export class Scheduler {
  /** How many live tasks are parked spinners. */
  private parked = 0;
  /** Tasks not done yet, in spawn order. */
  readonly live: Task[] = [];
  /** Scratch: the enabled tasks of the step being chosen, in [0, n); entries past n are stale. */
  private readonly enabled: Task[];
  private prev: Task | null = null;
  /** The running hash of (task, effect kind, target) over all steps. */
  hash = 0x811c9dc5;
  /** The last steps, for schedules in reports. */
  readonly ring: TraceRing;
  /** A task body threw in `onReport: "throw"` mode: rethrown by the Sim. */
  fatal: { error: unknown } | null = null;
  /** The start effect's waitable for interrupt tasks. */
  readonly irqWindow: IrqWindow;
  /**
   * Every choice made, in order, packed by packChoice() (token.ts): the value,
   * its kind, and four bits of the trace hash when the choice was made, so a
   * replay can tell where the effects stopped matching.
   */
  readonly choices: number[] = [];
  /** Whether choices are recorded (an explorer turns it on; plain runs replay from their seed). */
  recording = false;

  constructor(
    private readonly sim: Sim,
    /** @internal Replaced by an explorer before the run starts. */
    public strategy: Strategy,
    /**
     * The ring's size, or a retired Sim's scheduler (see Sim.retire()) whose
     * trace ring and scratch array this one takes over instead of making its
     * own: every slot a report reads is written by this run first.
     */
    from: number | Scheduler = 24,
  ) {
    if (typeof from === "number") {
      this.ring = new TraceRing(from);
      this.enabled = [];
    } else {
      this.ring = from.ring;
      this.enabled = from.enabled;
    }
    this.irqWindow = new IrqWindow(this.live);
  }

  /**
   * @internal The run is over and nothing will use this scheduler again
   * (see Sim.retire()): let go of its tasks and choices.
   */
  retire(): void {
    // `enabled` is left as it is: the next Sim's scheduler takes it over.
    this.live.length = 0;
    this.prev = null;
    this.choices.length = 0;
  }

  add(task: Task): void {
    this.live.push(task);
  }

  /** Run until every task is done, a deadlock, the step limit, or a stop. */
  loop(maxSteps: number, outer: Task | null): RunOutcome {
    const sim = this.sim;
    const live = this.live;
    const enabled = this.enabled;
    const strategy = this.strategy;
    let budget = maxSteps;
    for (;;) {
      if (sim.stopped) return "stopped";
      const now = sim.now;
      let n = 0;
      const prev = this.prev;
      let prevEnabled = false;
      // An index loop: for-of makes an iterator object per step until the
      // loop is optimised, which made the bytes allocated per step depend on
      // when the JIT got to it.
      // eslint-disable-next-line @typescript-eslint/prefer-for-of -- see above: no iterator per step
      for (let k = 0; k < live.length; k++) {
        const t = live[k] as Task;
        const e = t.pending as Effect;
        if (t.interruptedBy !== null || t.parked) continue;
        if (e.waitsFor === null || e.waitsFor.canProceed(t) || e.deadline <= now) {
          enabled[n++] = t;
          if (t === prev) prevEnabled = true;
        }
      }
      if (n === 0) {
        if (live.length === 0) return "done";
        // Every task is blocked or has spun its budget: time passes, as it
        // would while they spin, to the earliest deadline; failing that, the
        // spinners get another turn each (a fair scheduler would run them).
        if (this.advanceClock()) continue;
        if (this.parked !== 0) {
          this.unparkAll();
          continue;
        }
        this.fileDeadlock();
        return "deadlock";
      }
      if (budget-- === 0) return this.fileStepLimit(maxSteps);
      let t: Task;
      if (n === 1) {
        t = enabled[0] as Task;
      } else {
        t = enabled[strategy.pick(enabled, n, this.prev)] as Task;
        if (this.recording) this.record(t.id, ChoiceKind.Pick);
      }
      const e = t.pending as Effect;
      if (t !== prev && prev !== null) {
        // Why the switch: for reports' schedules. Stores codes and pointers only.
        const why =
          e.kind === IRQ_ENTER
            ? SWITCH_INTERRUPT
            : prev.pending === null
              ? SWITCH_DONE
              : prev.interruptedBy !== null
                ? SWITCH_INTERRUPTED
                : prevEnabled
                  ? SWITCH_PREEMPTED
                  : SWITCH_BLOCKED;
        this.ring.begin(sim.step + 1, why, prev.id, prev.pending);
      } else {
        this.ring.begin(sim.step + 1, SWITCH_NONE, 0, null);
      }
      this.prev = t;
      strategy.executed?.(t, e);
      // A write wakes the parked spinners that read what it writes.
      if (this.parked !== 0) this.wakeReaders(t, e);
      if (e.kind.progress && !(e.mayOnlyRead && readsOnly(t, e))) {
        t.spinSteps = 0;
        t.spinRun = 0;
        if (t.spinReads !== null) t.spinReads.length = 0;
      } else {
        t.spinSteps++;
        t.spinRun++;
        if (e.object !== null) this.noteSpinRead(t, e.object);
      }
      this.execute(t, outer);
      if (t.spinSteps >= SPIN_STEPS && t.pending !== null && !t.pending.kind.progress && !t.parked) {
        t.parked = true;
        this.parked++;
      }
    }
  }

  /** Remember what a spinning task read, so a write to it can wake the task once parked. */
  private noteSpinRead(t: Task, obj: object): void {
    const heap = this.sim.heap;
    const key = heap.keyOf(obj);
    const reads = (t.spinReads ??= []);
    for (let i = 0; i < reads.length; i += 2) if (reads[i] === key) return;
    reads.push(key, heap.allocOf(obj));
  }

  /**
   * Task `t` is about to run `e`: unpark every parked spinner that read an
   * object `e` writes (a busy trylock's lock, when its holder unlocks it).
   */
  private wakeReaders(t: Task, e: Effect): void {
    if (e.mode === EVERYTHING || e.deadline !== Infinity) {
      this.unparkAll();
      return;
    }
    const heap = this.sim.heap;
    const o = e.object;
    const resolved = modeNow(e, t);
    const writes = o !== null && (resolved === WRITE || resolved === WRITE_ALL);
    const key = writes ? heap.keyOf(o) : 0;
    const alloc = writes && resolved === WRITE_ALL ? heap.allocOf(o) : 0;
    const also = e.also;
    for (const p of this.live) {
      if (!p.parked || p === t || p.spinReads === null) continue;
      const reads = p.spinReads;
      let hit = false;
      for (let i = 0; i < reads.length && !hit; i += 2) {
        if (writes && (alloc !== 0 ? reads[i + 1] === alloc : reads[i] === key)) hit = true;
        if (also !== null) for (const a of also) if (a.mode === "write" && heap.keyOf(a.object) === reads[i]) hit = true;
      }
      if (hit) this.unpark(p);
    }
  }

  /** Unpark `p`; `keepReads`: what it read stays noted (a fair turn, not a write to it). */
  private unpark(p: Task, keepReads = false): void {
    p.parked = false;
    p.spinSteps = 0;
    if (!keepReads && p.spinReads !== null) p.spinReads.length = 0;
    this.parked--;
  }

  /**
   * Give every parked spinner another turn. Nothing it read was written, so
   * what it read stays noted: the evidence fileStepLimit() needs.
   */
  private unparkAll(): void {
    for (const p of this.live) if (p.parked) this.unpark(p, true);
  }

  private record(value: number, kind: ChoiceKind): void {
    this.choices.push(packChoice(value, kind, this.hash));
  }

  /** An op notes the outcome of the current step, for reports' schedules. */
  note(text: string): void {
    this.ring.noteAt(this.sim.step, text);
  }

  /** A choice among `n` outcomes that is not a task: the strategy decides, the run records it. */
  choose(n: number): number {
    if (n <= 1) return 0;
    const v = this.strategy.choose(n);
    if (this.recording) this.record(v, ChoiceKind.Choose);
    return v;
  }

  private execute(t: Task, outer: Task | null): void {
    const sim = this.sim;
    const e = t.pending as Effect;
    const proceeded = e.waitsFor === null || e.waitsFor.canProceed(t);
    const step = ++sim.step;
    const target = e.target;
    let h = Math.imul(this.hash ^ t.id, FNV_PRIME);
    h = Math.imul(h ^ e.kind.code, FNV_PRIME);
    this.hash = Math.imul(h ^ (target === null ? 0 : target.id), FNV_PRIME);
    this.ring.ran(step, t.id, e);
    if (e.kind === IRQ_ENTER) this.enterIrq(t);

    setCurrent(t);
    let r: IteratorResult<Effect, unknown>;
    try {
      r = t.gen.next(proceeded);
      // Not a result object at all: the iterator breaks the protocol.
      if (typeof r !== "object" || (r as IteratorResult<Effect, unknown> | null) === null) throw new NotAGenerator(r);
    } catch (error) {
      if (isInstance(error, NotAGenerator)) this.misused(t, "not-a-generator", error.value);
      else this.died(t, error);
      setCurrent(outer);
      return;
    }
    // The body's iterator is driver code: a next() that returned no result
    // object, or one whose fields throw, is that task's misuse, not ours.
    let done: unknown;
    let next: unknown;
    try {
      done = r.done;
      next = r.value;
    } catch (error) {
      this.died(t, error);
      setCurrent(outer);
      return;
    }
    if (done === true) {
      if (t.unstartedOps !== 0) this.checkOps(t, "exit");
      setCurrent(outer);
      t.result = next;
      this.finish(t);
      return;
    }
    // isInstance: a revoked Proxy, or one whose getPrototypeOf trap throws, is no effect (and no exception).
    if (isInstance(next, Effect)) {
      if (t.unstartedOps !== 0) this.checkOps(t, "yield");
      t.opsCreated = 0;
      setCurrent(outer);
      t.pending = next;
    } else {
      this.badYield(t, next);
      setCurrent(outer);
    }
  }

  /** An interrupt task starts: it takes over the CPU of one task that can be interrupted. */
  private enterIrq(irq: Task): void {
    const { victims } = this.irqWindow.victims(irq);
    const step = this.sim.step;
    // The schedule row says where it landed: an idle CPU, or the task it interrupts.
    if (victims.length === 0) {
      this.ring.noteAt(step, "on an idle CPU: no task was running");
      return;
    }
    const victim = victims[this.choose(victims.length)] as Task;
    victim.interruptedBy = irq;
    irq.interrupts = victim;
    // A task that is blocked, or has not started, is not running there: the CPU was idle.
    const e = victim.pending as Effect;
    const blocked = e.waitsFor !== null && !e.waitsFor.canProceed(victim) && e.deadline > this.sim.now;
    const why = blocked ? "was blocked" : e.kind === START ? "had not started" : null;
    this.ring.noteAt(step, why !== null ? `on an idle CPU: ${victim.label} ${why}` : `interrupts ${victim.label}`);
  }

  private finish(t: Task): void {
    t.pending = null;
    // Let go of what a finished task no longer needs: its generator (the
    // biggest part of a task) and its op ring. A task body made per
    // explored execution keeps its own closure alive until a full
    // collection (V8 gives each generator closure an initial map in old
    // space that points back at it), and through the closure's variables
    // the Sim and its tasks: what a task drops here is not promoted with it.
    t.gen = FINISHED;
    t.opRing = null;
    t.heldFree.clear();
    this.live.splice(this.live.indexOf(t), 1);
    const victim = t.interrupts;
    if (victim !== null) {
      victim.interruptedBy = null;
      t.interrupts = null;
    }
    const lockdep = this.sim.lockdep;
    // The fs_reclaim a reclaim task runs in is not a lock it forgot.
    if (t.context === "reclaim" && t.held.length > 0 && t.held.at(0).map === lockdep.maps.fsReclaim) lockdep.release(t, lockdep.maps.fsReclaim, null);
    lockdep.taskExit(t);
  }

  private died(t: Task, error: unknown): void {
    t.error = error;
    t.unstartedOps = 0;
    this.finish(t);
    const sim = this.sim;
    if (sim.onReport === "throw") {
      this.fatal = { error };
      sim.stopped = true;
      return;
    }
    // Whatever was thrown (a revoked Proxy, throwing getters) reads as text without throwing.
    const text = thrownText(error);
    const base = { kind: "task-exception" as const, error: text.name === "thrown value" ? text.message : `${text.name}: ${text.message}` };
    sim.file(text.stack !== null ? { ...base, stack: text.stack } : base);
  }

  private badYield(t: Task, value: unknown): void {
    // Op's constructor is protected: isInstance() cannot take the class, so catch here.
    let isOp = false;
    try {
      isOp = value instanceof Op;
    } catch {
      // A revoked Proxy, or one whose getPrototypeOf trap throws: not an Op.
    }
    if (isOp) {
      // `yield op` where `yield* op` was meant: report it as such (not also as
      // a plain unstarted op), and carry on as if the task had passed a
      // scheduling point.
      const op = value as Op<unknown>;
      if (!op.started && op.task === t) {
        op.started = true;
        t.unstartedOps--;
      }
      this.sim.fileUnstartedOp(op, "yielded-op");
      if (t.unstartedOps !== 0) this.checkOps(t, "yield");
      t.opsCreated = 0;
      t.pending = new Effect(RESCHED_KIND, null, NONE);
      return;
    }
    this.misused(t, "bad-yield", value);
  }

  /**
   * The task broke the protocol every task follows (it yielded something
   * that is not an effect, or its body made no generator): a bug in the
   * driver code, so a `task-misuse` report of this execution, and the task
   * ends there as if it had died. Its `error` is a UsageError saying the
   * same, which `sim.run()` hands to its caller.
   */
  private misused(t: Task, misuse: TaskMisuseReport["misuse"], value: unknown): void {
    // The value is the driver's: reading it may throw (a Proxy's traps).
    let described = "a value that cannot be described";
    let hint = misuse === "bad-yield" ? "tasks yield only effects, made by ops" : "task bodies must be generator functions (function*)";
    try {
      described = describeValue(value);
      hint = misuseHint(misuse, value);
    } catch {
      // Keep the plain words above.
    }
    t.error = new UsageError(
      misuse === "bad-yield" ? `task ${t.label} yielded ${described}, not an effect (${hint})` : `the body of task ${t.label} returned ${described}, not a generator (${hint})`,
    );
    t.unstartedOps = 0;
    this.sim.file({ kind: "task-misuse", misuse, value: described, hint });
    this.finish(t);
  }

  /** Report every op the task created since its last yield and never started. */
  private checkOps(t: Task, noticed: "yield" | "exit"): void {
    const ring = t.opRing ?? [];
    const n = Math.min(t.opsCreated, ring.length);
    let found = 0;
    for (let i = 0; i < n; i++) {
      const op = ring[i];
      if (op !== null && op !== undefined && !op.started) {
        this.sim.fileUnstartedOp(op, noticed);
        found++;
      }
    }
    // More ops were created in one step than the ring remembers: still say so.
    if (found < t.unstartedOps) this.sim.fileUnstartedOp(null, noticed);
    ring.fill(null);
    t.unstartedOps = 0;
  }

  /** Move time to the earliest deadline of a blocked task; false if there is none. */
  private advanceClock(): boolean {
    let min = Infinity;
    for (const t of this.live) min = Math.min(min, (t.pending as Effect).deadline);
    if (min === Infinity) return false;
    this.sim.now = min;
    return true;
  }

  /**
   * Every live task is blocked: file the deadlock report. Each blocked task
   * gets its possible wakers: the holder for a lock, the interrupt for an
   * interrupted task, and for a waitable with no owner (a completion)
   * every other live task, blocked or not (any of them, once running,
   * could call complete(); the waiter itself cannot). Those edges are
   * marked inferred. The cycle named is the most certain one (see
   * pickCycle()).
   */
  private fileDeadlock(): void {
    if (!this.sim.checks.deadlock) return;
    const live = this.live;
    const edges = new Map<Task, { wakers: readonly Task[]; inferred: boolean }>();
    for (const t of live) {
      if (t.interruptedBy !== null) {
        edges.set(t, { wakers: [t.interruptedBy], inferred: false });
        continue;
      }
      const w = (t.pending as Effect).waitsFor;
      if (w === null) continue;
      const wakers = w.wakers();
      if (wakers !== null) edges.set(t, { wakers, inferred: false });
      else edges.set(t, { wakers: live.filter((o) => o !== t), inferred: true });
    }
    const edge = (t: Task): WaitEdge => {
      const e = edges.get(t);
      const pending = t.pending as Effect;
      const irq = t.interruptedBy;
      return {
        task: t.label,
        blockedIn: irq !== null ? "interrupted" : pending.kind.name,
        waitsFor: irq !== null ? `${irq.label} to return` : (pending.waitsFor?.label ?? "nothing"),
        wakers: e === undefined ? [] : e.wakers.map((w) => w.label),
        inferred: e?.inferred ?? false,
      };
    };
    this.sim.file({
      kind: "deadlock",
      blocked: live.map(edge),
      cycle: pickCycle(live, edges).map(edge),
    });
  }

  /**
   * The step limit: a livelock if some task was spinning (it names the
   * loop: the effects it kept repeating), else a plain step-limit report.
   * Spinning takes evidence: at least SPIN_STEPS steps without progress,
   * reading something (a flag, a busy lock) that nothing has written since
   * (a write to it clears what the task read). A task that only yields (a
   * long cond_resched loop) reads nothing it could be waiting for: it may
   * well end, so the run is cut, not a livelock.
   */
  private fileStepLimit(limit: number): RunOutcome {
    const spinning = this.live.filter((t) => t.spinRun >= SPIN_STEPS && t.spinReads !== null && t.spinReads.length > 0);
    if (spinning.length > 0) {
      const timeouts = this.live
        .filter((t) => (t.pending as Effect).deadline !== Infinity && (t.pending as Effect).deadline > this.sim.now)
        .map((t) => ({ task: t.label, deadlineNs: (t.pending as Effect).deadline }));
      this.sim.file({
        kind: "livelock",
        limit,
        spinning: spinning.map((t) => ({ task: t.label, steps: t.spinRun, loop: this.ring.loopOf(this.sim.step, t.id) })),
        live: this.live.map((t) => ({ task: t.label, next: (t.pending as Effect).describe() })),
        ...(timeouts.length > 0 ? { timeouts } : {}),
      });
      return "livelock";
    }
    this.sim.file({
      kind: "step-limit",
      limit,
      live: this.live.map((t) => ({ task: t.label, next: (t.pending as Effect).describe() })),
    });
    return "step-limit";
  }
}

/** What to tell the author of a task that broke the protocol, judging by what it gave. */
function misuseHint(misuse: TaskMisuseReport["misuse"], value: unknown): string {
  const o = typeof value === "object" && value !== null ? (value as Record<symbol | string, unknown>) : null;
  const promise = o !== null && typeof o["then"] === "function";
  const asyncIterable = o !== null && typeof o[Symbol.asyncIterator] === "function";
  if (misuse === "not-a-generator") {
    if (promise) return "task bodies must be generator functions (function*), not async functions";
    if (asyncIterable) return "task bodies must be generator functions (function*), not async generator functions";
    return "task bodies must be generator functions (function*), or functions returning an Op";
  }
  if (promise) return "a task cannot await a promise: yield* an op instead (msleep(), a Completion's wait)";
  if (value === undefined) return "a bare yield hands the scheduler nothing: yield* an op (cond_resched() for a scheduling point)";
  if (o !== null && typeof o[Symbol.iterator] === "function") return "it is iterable: did you forget yield* ?";
  // An Effect of another copy of gpuvm-sim is not one of ours: say so, when there is another copy.
  const copies = secondCopyMessage();
  if (copies !== "") return `an effect of another copy of gpuvm-sim? ${copies}`;
  return "tasks yield only effects, made by ops: did you forget yield* ?";
}

/** A finished task's iterator: never advanced (the scheduler runs only tasks with a pending effect). */
const FINISHED: Iterator<Effect, unknown, unknown> = {
  next: () => ({ value: undefined, done: true }),
};

/**
 * Whether `e`, run by `t` now, only reads shared state: a read access, a
 * failed get_unless_zero. Such a step changes nothing another task could
 * see, so a loop of them is spinning, whatever its kinds say.
 */
function readsOnly(t: Task, e: Effect): boolean {
  // A blocking WRITE_IF step (a wait) that proceeds is what it waited for: progress.
  if (e.mode === WRITE_IF && e.waitsFor !== null) return false;
  return modeNow(e, t) === READ && (e.also === null || e.also.every((a) => a.mode === "read"));
}

/**
 * The wait-for cycle a deadlock report names, the most certain first, as
 * tasks each woken by the next (the last by the first), starting at the
 * earliest spawned; [] if there is none. In order of preference:
 *   1. a cycle of owner edges only (locks, interrupts): a certain deadlock;
 *   2. one inferred edge: a task W blocked on a completion and a task X
 *      that waits for W through an owner edge (X waits for a lock W
 *      holds): W -> X -> W, W the earliest spawned that has one. It goes
 *      through the task that holds what another waiter needs, and through
 *      the waiter, which only W's progress can let on to signal;
 *   3. two tasks blocked on completions, each a possible waker of the
 *      other: the two earliest spawned.
 * Iterative throughout: no recursion however many tasks are blocked.
 */
function pickCycle(nodes: readonly Task[], edges: ReadonlyMap<Task, { wakers: readonly Task[]; inferred: boolean }>): Task[] {
  const order = new Map<Task, number>();
  nodes.forEach((t, i) => order.set(t, i));
  const definite = (t: Task): readonly Task[] => {
    const e = edges.get(t);
    return e === undefined || e.inferred ? [] : e.wakers;
  };
  const rotate = (cycle: Task[]): Task[] => {
    let k = 0;
    for (let i = 1; i < cycle.length; i++) if ((order.get(cycle[i] as Task) ?? 0) < (order.get(cycle[k] as Task) ?? 0)) k = i;
    return [...cycle.slice(k), ...cycle.slice(0, k)];
  };
  const certain = findCycle(nodes, definite);
  if (certain.length > 0) return rotate(certain);

  // Who waits, through owner edges, for whom: the reverse of `definite`.
  const waitedOnBy = new Map<Task, Task[]>();
  for (const t of nodes) {
    for (const u of definite(t)) {
      const list = waitedOnBy.get(u);
      if (list === undefined) waitedOnBy.set(u, [t]);
      else list.push(t);
    }
  }
  const inferred = nodes.filter((t) => edges.get(t)?.inferred === true);
  for (const w of inferred) {
    // x waits (through an owner edge) for w, and x is live, so it could
    // complete what w waits for: w -> x -> w. A longer chain ending at w
    // passes through such an x, so this one is the shortest.
    const x = waitedOnBy.get(w)?.[0];
    if (x !== undefined) return rotate([w, x]);
  }
  const [a, b] = inferred;
  return a !== undefined && b !== undefined ? [a, b] : [];
}

/** The first cycle in the graph, searching from each node in order; [] if none. Iterative. */
function findCycle(nodes: readonly Task[], next: (t: Task) => readonly Task[]): Task[] {
  const state = new Map<Task, 1 | 2>(); // 1: on the path, 2: finished
  for (const root of nodes) {
    if (state.has(root)) continue;
    const path: Task[] = [root];
    const cursor: number[] = [0];
    state.set(root, 1);
    while (path.length > 0) {
      const t = path[path.length - 1] as Task;
      const out = next(t);
      const i = cursor[cursor.length - 1] as number;
      if (i >= out.length) {
        path.pop();
        cursor.pop();
        state.set(t, 2);
        continue;
      }
      cursor[cursor.length - 1] = i + 1;
      const u = out[i] as Task;
      const s = state.get(u);
      if (s === 1) return path.slice(path.indexOf(u));
      if (s === undefined) {
        state.set(u, 1);
        path.push(u);
        cursor.push(0);
      }
    }
  }
  return [];
}
