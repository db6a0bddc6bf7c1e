/**
 * Exhaustive search: depth-first over every schedule, each execution re-run
 * from the start, with dynamic partial-order reduction and sleep sets
 * (Flanagan and Godefroid, "Dynamic partial-order reduction for model
 * checking software", POPL 2005), and optional preemption or delay bounds.
 *
 * Two steps are dependent when swapping them could change what happens: they
 * touch the same allocation (an object and everything embedded in it), except
 * that two kref gets commute; a step with no target (a task's start, a
 * cond_resched, a choice, an interrupt's entry) may be followed by code that
 * reads anything, so it is dependent with every step. Independent steps are
 * never reordered: of all schedules that differ only in the order of
 * independent steps, one is run.
 *
 * DPOR: at every state, for each enabled task p, the latest earlier step i
 * dependent with p's next step that does not happen before it (vector
 * clocks) marks a race; the state before i must also try p (or, if p was not
 * enabled there, everything that was). Sleep sets: a task already explored
 * from a state, and independent of what ran since, is asleep and not tried
 * again; an execution whose every enabled task is asleep is a repeat and is
 * cut short ("pruned").
 *
 * Bounds (either or none): a preemption bound limits how often a task that
 * could go on is switched away from; a delay bound limits deviations from a
 * round-robin default (each skipped task costs one). Bounded search is
 * incomplete by design: it finds the bugs that need few switches, fast.
 */
import { UsageError } from "../../errors.js";
import type { Effect, EffectKind } from "../../kernel/effect.js";
import type { Strategy } from "../../kernel/scheduler.js";
import type { Sim } from "../../kernel/sim.js";
import type { Task } from "../../kernel/task.js";

/** Options of the exhaustive search. */
export interface DfsOptions {
  /** `"dpor"` (default) or `"none"` (every interleaving: for small programs and for checking DPOR). */
  readonly reduction?: "dpor" | "none";
  /** At most this many preemptions per execution (default: unbounded). */
  readonly preemptionBound?: number;
  /** At most this many delays per execution (default: unbounded). */
  readonly delayBound?: number;
  /**
   * Explore only the subtrees of shard `index` of `count`: the first choice's
   * options are dealt out by position (default: everything).
   */
  readonly shard?: readonly [number, number];
}

/** What the reduction knows of a step: which allocation it touches, and what it does. */
export interface Sig {
  /** The allocation's id (its top-level object), or 0: unknown, dependent with everything. */
  readonly key: number;
  readonly kind: EffectKind;
}

export function sigOf(e: Effect): Sig {
  const t = e.target;
  return { key: t === null ? 0 : t.life.owner.id, kind: e.kind };
}

/** Whether swapping two steps could change what happens. */
export function dependent(a: Sig, b: Sig): boolean {
  if (a.key === 0 || b.key === 0) return true;
  if (a.key !== b.key) return false;
  return !(a.kind === "kref-get" && b.kind === "kref-get");
}

/**
 * The state before a choice, kept across executions: a choice of task, or
 * (`outcome`) an injected choice among outcomes 0 .. n-1 (`sim.choose()`,
 * where an interrupt lands), which are all explored and never reduced.
 */
interface Frame {
  /** Task ids enabled, in the scheduler's order; for an outcome frame, the outcomes. */
  readonly enabled: readonly number[];
  readonly outcome: boolean;
  readonly sigs: ReadonlyMap<number, Sig>;
  /** The task that ran the step before (-1 at the start). */
  readonly prev: number;
  readonly preemptions: number;
  readonly delays: number;
  /** Tasks asleep here: explored from an earlier state and independent since. */
  readonly sleep: ReadonlyMap<number, Sig>;
  chosen: number;
  /** Tasks to try from here. */
  readonly backtrack: Set<number>;
  /** Tasks tried (or being tried) from here. */
  readonly done: Set<number>;
}

interface Step {
  readonly task: number;
  readonly sig: Sig;
  /** Vector clock: for each task id, the 1-based index of its latest step that happens before this one. */
  readonly clock: Int32Array;
  /** The frame this step was chosen at, or -1 if it was the only enabled task. */
  readonly frame: number;
}

/** The search over executions. One per exploration. */
export class DfsSearch {
  readonly frames: Frame[] = [];
  /** Every schedule (within the bounds) was run. */
  exhausted = false;
  /** Executions cut short because every enabled task was asleep. */
  pruned = 0;
  private started = false;
  readonly reduction: "dpor" | "none";
  readonly preemptionBound: number;
  readonly delayBound: number;
  readonly shard: readonly [number, number];

  constructor(options: DfsOptions = {}) {
    this.reduction = options.reduction ?? "dpor";
    this.preemptionBound = options.preemptionBound ?? Infinity;
    this.delayBound = options.delayBound ?? Infinity;
    this.shard = options.shard ?? [0, 1];
  }

  /** Whether option `q` of frame `depth` belongs to this shard (only the first choice is dealt out). */
  mine(depth: number, f: { readonly enabled: readonly number[] }, q: number): boolean {
    const [index, count] = this.shard;
    return depth !== 0 || count === 1 || f.enabled.indexOf(q) % count === index;
  }

  /** The strategy of the next execution, or null when the search is over. */
  next(sim: Sim): Strategy | null {
    if (this.exhausted) return null;
    if (!this.started) {
      this.started = true;
      return new DfsExecution(this, sim);
    }
    for (let i = this.frames.length - 1; i >= 0; i--) {
      const f = this.frames[i] as Frame;
      for (const q of f.enabled) {
        if (!f.backtrack.has(q) || f.done.has(q) || f.sleep.has(q)) continue;
        f.done.add(q);
        if (!this.allowed(f, q) || !this.mine(i, f, q)) continue;
        f.chosen = q;
        this.frames.length = i + 1;
        return new DfsExecution(this, sim);
      }
    }
    this.exhausted = true;
    return null;
  }

  /** Preemptions choosing `q` at `f` would cost (none for an outcome). */
  preemptionCost(f: Frame, q: number): number {
    return !f.outcome && f.prev !== -1 && q !== f.prev && f.enabled.includes(f.prev) ? 1 : 0;
  }

  /** Delays choosing `q` at `f` would cost: its distance from the round-robin default (none for an outcome). */
  delayCost(f: Frame, q: number): number {
    return f.outcome ? 0 : roundRobin(f.enabled, f.prev).indexOf(q);
  }

  allowed(f: Frame, q: number): boolean {
    return (
      f.preemptions + this.preemptionCost(f, q) <= this.preemptionBound && f.delays + this.delayCost(f, q) <= this.delayBound
    );
  }
}

/** Enabled task ids in round-robin order from `prev`: prev itself first if enabled, then the ones after it. */
function roundRobin(enabled: readonly number[], prev: number): number[] {
  const sorted = [...enabled].sort((a, b) => a - b);
  const at = sorted.findIndex((id) => id >= prev);
  return at <= 0 ? sorted : [...sorted.slice(at), ...sorted.slice(0, at)];
}

/** One execution of the search: replays the kept frames' choices, then explores with new frames. */
class DfsExecution implements Strategy {
  private readonly steps: Step[] = [];
  private readonly lastStep = new Map<number, number>();
  private sleep = new Map<number, Sig>();
  private choice = 0;
  private picked = false;
  private preemptions = 0;
  private delays = 0;
  private prev = -1;

  constructor(
    private readonly search: DfsSearch,
    private readonly sim: Sim,
  ) {}

  pick(enabled: readonly Task[], n: number): number {
    this.picked = true;
    const ids: number[] = [];
    const sigs = new Map<number, Sig>();
    for (let i = 0; i < n; i++) {
      const t = enabled[i] as Task;
      ids.push(t.id);
      sigs.set(t.id, sigOf(t.pending as Effect));
    }
    if (this.search.reduction === "dpor") this.races(ids, sigs);
    const frames = this.search.frames;
    const c = this.choice++;
    let frame: Frame;
    if (c < frames.length) {
      frame = frames[c] as Frame;
      if (frame.outcome || !ids.includes(frame.chosen)) {
        throw new UsageError(
          `the scenario is not deterministic: a replayed schedule reached a state where task ${frame.chosen} is not enabled ` +
            "(scenarios must not depend on anything but the Sim: no Math.random, Date.now or state kept between runs)",
        );
      }
    } else {
      frame = this.newFrame(ids, sigs);
      if (frame.chosen === -1) {
        // Every enabled task is asleep: this execution repeats an explored one.
        this.search.pruned++;
        this.sim.stopped = true;
        return 0;
      }
      frames.push(frame);
    }
    this.take(frame);
    return ids.indexOf(frame.chosen);
  }

  private newFrame(ids: number[], sigs: Map<number, Sig>): Frame {
    const search = this.search;
    const base = {
      enabled: ids,
      outcome: false,
      sigs,
      prev: this.prev,
      preemptions: this.preemptions,
      delays: this.delays,
      sleep: new Map(this.sleep),
      backtrack: new Set<number>(),
      done: new Set<number>(),
      chosen: -1,
    };
    // Prefer going on with the running task, then round-robin order: the
    // first execution is the one with no preemption.
    const depth = search.frames.length;
    for (const q of roundRobin(ids, this.prev)) {
      if (base.sleep.has(q) || !search.allowed(base, q) || !search.mine(depth, base, q)) continue;
      base.chosen = q;
      break;
    }
    if (base.chosen === -1) return base;
    base.done.add(base.chosen);
    if (search.reduction === "none" || (depth === 0 && search.shard[1] > 1)) for (const q of ids) base.backtrack.add(q);
    else base.backtrack.add(base.chosen);
    return base;
  }

  /** Take `frame.chosen`: count the switch, and set the sleep set of the state it leads to. */
  private take(frame: Frame): void {
    const q = frame.chosen;
    this.preemptions = frame.preemptions + this.search.preemptionCost(frame, q);
    this.delays = frame.delays + this.search.delayCost(frame, q);
    if (this.search.reduction === "none") return;
    const sq = frame.sigs.get(q) as Sig;
    const next = new Map<number, Sig>();
    for (const [t, s] of frame.sleep) if (t !== q && !dependent(s, sq)) next.set(t, s);
    // Tasks explored from this state before q sleep in q's subtree if independent of q.
    for (const t of frame.done) {
      if (t === q) break; // done keeps insertion order: only those tried before q
      const s = frame.sigs.get(t);
      if (s !== undefined && !dependent(s, sq)) next.set(t, s);
    }
    this.sleep = next;
  }

  /** FG05's race detection at the current state, for each enabled task. */
  private races(ids: readonly number[], sigs: ReadonlyMap<number, Sig>): void {
    const frames = this.search.frames;
    for (const p of ids) {
      const sp = sigs.get(p) as Sig;
      const last = this.lastStep.get(p);
      const cp = last === undefined ? null : (this.steps[last] as Step).clock;
      for (let j = this.steps.length - 1; j >= 0; j--) {
        const s = this.steps[j] as Step;
        if (s.task === p || !dependent(s.sig, sp)) continue;
        // Step j happens before p's next step: no race with it (or anything before it on this path).
        if (cp !== null && (cp[s.task] ?? 0) >= j + 1) continue;
        if (s.frame >= 0) {
          const f = frames[s.frame] as Frame;
          if (f.enabled.includes(p)) {
            if (!f.sleep.has(p)) f.backtrack.add(p);
          } else {
            for (const q of f.enabled) f.backtrack.add(q);
          }
        }
        break;
      }
    }
  }

  /** An injected choice: a frame whose every outcome is explored, in order. */
  choose(n: number): number {
    const search = this.search;
    const frames = search.frames;
    const c = this.choice++;
    const existing = frames[c];
    if (existing !== undefined) {
      if (!existing.outcome || existing.enabled.length !== n) {
        throw new UsageError("the scenario is not deterministic: a replayed schedule made a different choice at the same point");
      }
      return existing.chosen;
    }
    const outcomes = Array.from({ length: n }, (_, i) => i);
    const frame: Frame = {
      enabled: outcomes,
      outcome: true,
      sigs: new Map(),
      prev: this.prev,
      preemptions: this.preemptions,
      delays: this.delays,
      sleep: new Map(),
      chosen: outcomes.find((q) => search.mine(c, { enabled: outcomes }, q)) ?? 0,
      backtrack: new Set(outcomes),
      done: new Set<number>(),
    };
    frame.done.add(frame.chosen);
    frames.push(frame);
    return frame.chosen;
  }

  executed(task: Task, effect: Effect): void {
    const sig = sigOf(effect);
    const frame = this.picked ? this.choice - 1 : -1;
    if (!this.picked && this.search.reduction === "dpor") this.races([task.id], new Map([[task.id, sig]]));
    this.picked = false;
    // Vector clock: after this task's previous step and every dependent earlier step.
    if (task.id >= CLOCK_WIDTH) throw new UsageError(`exhaustive search handles up to ${CLOCK_WIDTH - 1} tasks per execution`);
    const clock = new Int32Array(CLOCK_WIDTH);
    const mine = this.lastStep.get(task.id);
    if (mine !== undefined) join(clock, (this.steps[mine] as Step).clock);
    for (let j = this.steps.length - 1; j >= 0; j--) {
      const s = this.steps[j] as Step;
      if (s.task !== task.id && dependent(s.sig, sig)) join(clock, s.clock);
    }
    const k = this.steps.length;
    clock[task.id] = k + 1;
    this.steps.push({ task: task.id, sig, clock, frame });
    this.lastStep.set(task.id, k);
    this.prev = task.id;
    // Whatever ran wakes the sleepers it is dependent with.
    if (this.sleep.size > 0) {
      this.sleep.delete(task.id);
      for (const [t, s] of this.sleep) if (dependent(s, sig)) this.sleep.delete(t);
    }
  }
}

/** Vector clocks are indexed by task id. */
const CLOCK_WIDTH = 128;

function join(into: Int32Array, from: Int32Array): void {
  for (let i = 0; i < CLOCK_WIDTH; i++) if ((from[i] as number) > (into[i] as number)) into[i] = from[i] as number;
}
