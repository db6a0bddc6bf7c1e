/**
 * Exhaustive search: depth-first over the schedules of a scenario, each
 * execution re-run from the start, with optimal dynamic partial-order
 * reduction (Abdulla, Aronis, Jonsson and Sagonas, "Optimal dynamic partial
 * order reduction", POPL 2014; "Source sets: a foundation for optimal
 * dynamic partial order reduction", JACM 2017): source sets, sleep sets and
 * wakeup trees, so that each Mazurkiewicz trace of the scenario (each class
 * of schedules that differ only in the order of independent steps) is run
 * once. Optional preemption or delay bounds switch the reduction off and run
 * every schedule within the bound.
 *
 * Dependency comes from footprints (kernel/effect.ts): two steps of
 * different tasks are dependent when they touch a common object and one of
 * them writes it, unless their kinds commute. A step that touches nothing (a
 * start, a cond_resched, a choice) is independent of every step but those
 * that touch everything (an interrupt's entry, a timed wait).
 *
 * After each execution E, every race e ⋖ e' (dependent steps of different
 * tasks, e before e', with no step in between them in the happens-before
 * order) is reversed: at the state before e, the wakeup tree gets the
 * sequence v = notdep(e, E).e', the steps after e that do not happen after
 * it, then e', unless a task asleep there already covers it. The next
 * execution follows the deepest unexplored branch of a wakeup tree.
 *
 * Blocking: a task waiting for a lock is not a step; it becomes enabled when
 * the holder lets go. The step that enabled it cannot be reversed with it,
 * so races look past steps whose kinds declare that they are never enabled
 * together with the waiting step (a lock and the holder's unlock) and find
 * the acquisition they really race with. A waiting step whose task had not
 * reached it yet at the earlier step of a race may have been disabled there
 * (by that step's task, which enables it again later): such a race does not
 * hide the earlier ones, so the step is also reversed with the step that
 * disabled it (docs/exploration.md). A task still blocked when a run
 * ends (or interrupted by a handler that never returned) joins the analysis
 * with its waiting step, as if it ran last. A wakeup sequence whose task
 * turns out disabled where it should run is dropped at that state; an
 * execution that reaches a state where every enabled task is asleep is cut
 * short and counted in `pruned`; an execution cut by the step limit makes
 * the search `truncated`, never `exhausted`. docs/exploration.md states the
 * contract and the counts this gives.
 */
import { UsageError } from "../../errors.js";
import { EVERYTHING, modeNow, NONE, READ, WRITE_ALL, type Effect, type EffectKind } from "../../kernel/effect.js";
import { IRQ_ENTER, type RunOutcome, type Strategy } from "../../kernel/scheduler.js";
import { CHOOSE_KIND, type Sim } from "../../kernel/sim.js";
import type { Task } from "../../kernel/task.js";

/** Options of the exhaustive search. */
export interface DfsOptions {
  /** `"dpor"` (default) or `"none"` (every interleaving: for small programs and for checking DPOR). */
  readonly reduction?: "dpor" | "none";
  /** At most this many preemptions per execution (default: unbounded). Switches the reduction off. */
  readonly preemptionBound?: number;
  /** At most this many delays per execution (default: unbounded). Switches the reduction off. */
  readonly delayBound?: number;
  /**
   * Explore only the subtrees of shard `index` of `count`: the first choice's
   * options are dealt out by position (default: everything).
   */
  readonly shard?: readonly [number, number];
}

/** One object a step touches, as keys: what conflicts with what. */
interface Touch {
  /** The object's key (heap.keyOf). */
  readonly key: number;
  /** The key of its allocation: the top-level object it is part of. */
  readonly alloc: number;
  readonly write: boolean;
  /** The step touches the whole allocation (a free). */
  readonly whole: boolean;
}

/** What the reduction knows of one step: its kind and its footprint, resolved when it runs. */
export class Sig {
  constructor(
    readonly kind: EffectKind,
    /** The main touch, or null for a step that touches nothing. */
    readonly main: Touch | null,
    readonly more: readonly Touch[] | null,
    /** The step counts as touching everything. */
    readonly everything: boolean,
    /**
     * An interruptible wait whose task had a signal pending: it could have
     * ended (interrupted) while the lock was held, so the never-co-enabled
     * rules of its kind do not hold for it.
     */
    readonly signalled = false,
  ) {}

  /** Whether the step touches nothing at all. */
  get empty(): boolean {
    return !this.everything && this.main === null && this.more === null;
  }
}

function touchOf(sim: Sim, obj: object, write: boolean, whole: boolean): Touch {
  const key = sim.heap.keyOf(obj);
  const alloc = sim.heap.allocOf(obj);
  return { key, alloc, write, whole };
}

/**
 * The footprint of `e` if `task` ran it now: a WRITE_IF step writes only if
 * its probe can proceed (or, with `proceeding`, as if it did: a blocked wait
 * that got what it waits for); a step with a deadline touches everything
 * (time is shared by every task).
 */
export function sigOf(sim: Sim, task: Task, e: Effect, proceeding = false): Sig {
  const mode = modeNow(e, task, proceeding);
  if (mode === EVERYTHING) return new Sig(e.kind, null, null, true);
  const main = mode === NONE || e.object === null ? null : touchOf(sim, e.object, mode !== READ, mode === WRITE_ALL);
  const also = e.also;
  const more = also === null ? null : also.map((a) => touchOf(sim, a.object, a.mode === "write", false));
  // An interruptible wait reads its own task's pending signal (see Task.kill()).
  const signalled = also?.some((a) => (a.object as { signalPending?: unknown }).signalPending === true) ?? false;
  return new Sig(e.kind, main, more, false, signalled);
}

function conflict(a: Touch, b: Touch): boolean {
  if (!a.write && !b.write) return false;
  return a.whole || b.whole ? a.alloc === b.alloc : a.key === b.key;
}

/** Whether swapping two adjacent steps of different tasks could change what happens. */
export function dependent(a: Sig, b: Sig): boolean {
  if (a.everything || b.everything) return true;
  if (a.empty || b.empty) return false;
  if (a.kind.commutesWith(b.kind)) return false;
  const am = a.main;
  const bm = b.main;
  if (am !== null && bm !== null && conflict(am, bm)) return true;
  if (a.more === null && b.more === null) return false;
  const as = a.more === null ? (am === null ? [] : [am]) : am === null ? a.more : [am, ...a.more];
  const bs = b.more === null ? (bm === null ? [] : [bm]) : bm === null ? b.more : [bm, ...b.more];
  for (const x of as) for (const y of bs) if (conflict(x, y)) return true;
  return false;
}

/**
 * Whether `later`, as it ran, can never have been enabled in the same state
 * as `earlier` (a lock that took the mutex, and the holder's unlock of it).
 * Both must have written: a bad unlock, which only reads, is enabled always.
 */
function neverCoEnabled(earlier: Sig, later: Sig): boolean {
  const a = earlier.main;
  const b = later.main;
  return a !== null && b !== null && a.key === b.key && a.write && b.write && !later.signalled && earlier.kind.neverCoEnabledWith(later.kind);
}

/** A branch of a wakeup tree: a step to take, and what to follow it with. */
interface Wakeup {
  readonly task: number;
  readonly sig: Sig;
  readonly children: Wakeup[];
}

/**
 * The state before a choice, kept across executions: a choice of task, or
 * (`outcome`) an injected choice among outcomes 0 .. n-1 (`sim.choose()`,
 * where an interrupt lands), all of which are explored.
 */
interface Node {
  /** Task ids enabled, in the scheduler's order; for an outcome node, the outcomes. */
  readonly enabled: readonly number[];
  readonly outcome: boolean;
  /** Each enabled task's next step, as it would run here. */
  readonly sigs: ReadonlyMap<number, Sig>;
  /** The task that ran the step before (-1 at the start). */
  readonly prev: number;
  readonly preemptions: number;
  readonly delays: number;
  /** Tasks asleep here (explored from here already, or asleep on the way in), with their next step. */
  readonly sleep: Map<number, Sig>;
  /** Branches still to explore from here. */
  readonly wut: Wakeup[];
  /** The task (or outcome) being explored from here. */
  chosen: number;
  /** For an outcome node: the wakeup branches that continue after the choice, for every outcome. */
  readonly below: readonly Wakeup[];
  /** For an outcome node: the sleep set every outcome starts with. */
  readonly sleepIn: ReadonlyMap<number, Sig>;
}

/** The search over executions. One per exploration. */
export class DfsSearch {
  readonly nodes: Node[] = [];
  /** The search tree is done: no schedule (within the bounds) is left to start. */
  done = false;
  /**
   * Some execution reached the step limit (or a livelock there): what lies
   * beyond it was not explored, so the search proves nothing past it.
   */
  truncated = false;
  /** Executions cut short because every enabled task was asleep. */
  pruned = 0;
  private current: DfsExecution | null = null;
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

  /** Every schedule (within the bounds) was run to its end: the search tree is done and no execution was cut by the step limit. */
  get exhausted(): boolean {
    return this.done && !this.truncated;
  }

  /** Whether the reduction runs: not with `reduction: "none"`, nor under a bound. */
  get reducing(): boolean {
    return this.reduction === "dpor" && this.preemptionBound === Infinity && this.delayBound === Infinity;
  }

  /** Whether option `q` of node `depth` belongs to this shard (only the first choice is dealt out). */
  mine(depth: number, f: { readonly enabled: readonly number[] }, q: number): boolean {
    const [index, count] = this.shard;
    return depth !== 0 || count === 1 || f.enabled.indexOf(q) % count === index;
  }

  /** The strategy of the next execution, or null when the search is over. */
  next(sim: Sim): Strategy | null {
    if (this.done) return null;
    const last = this.current;
    if (last !== null && (last.outcome === "step-limit" || last.outcome === "livelock")) this.truncated = true;
    if (last === null) {
      this.current = new DfsExecution(this, sim, []);
      return this.current;
    }
    if (this.reducing) last.reverseRaces();
    const nodes = this.nodes;
    for (let i = nodes.length - 1; i >= 0; i--) {
      const node = nodes[i] as Node;
      if (node.outcome) {
        const next = node.wut.shift();
        if (next === undefined) continue;
        node.chosen = next.task;
        nodes.length = i + 1;
        this.current = new DfsExecution(this, sim, copyTree(node.below));
        return this.current;
      }
      // The branch explored last is done: its task sleeps here from now on.
      const done = node.sigs.get(node.chosen);
      if (done !== undefined && this.reducing) node.sleep.set(node.chosen, done);
      const branch = this.takeBranch(node, i);
      if (branch === null) continue;
      nodes.length = i + 1;
      this.current = new DfsExecution(this, sim, branch.children);
      return this.current;
    }
    this.done = true;
    this.current = null;
    return null;
  }

  /**
   * Take the first branch of `node`'s wakeup tree that can run there (its
   * task enabled, not asleep, within the bounds, in this shard); branches
   * that cannot are dropped.
   */
  takeBranch(node: Node, depth: number): Wakeup | null {
    for (;;) {
      const b = node.wut.shift();
      if (b === undefined) return null;
      const q = b.task;
      if (!node.enabled.includes(q) || node.sleep.has(q)) continue;
      if (!this.allowed(node, q)) continue;
      if (!this.mine(depth, node, q)) {
        // Another shard explores it: here it is as good as done.
        const s = node.sigs.get(q);
        if (s !== undefined && this.reducing) node.sleep.set(q, s);
        continue;
      }
      node.chosen = q;
      return b;
    }
  }

  /** Preemptions choosing `q` at `f` would cost (none for an outcome). */
  preemptionCost(f: Node, q: number): number {
    return !f.outcome && f.prev !== -1 && q !== f.prev && f.enabled.includes(f.prev) ? 1 : 0;
  }

  /** Delays choosing `q` at `f` would cost: its distance from the round-robin default (none for an outcome). */
  delayCost(f: Node, q: number): number {
    return f.outcome ? 0 : roundRobin(f.enabled, f.prev).indexOf(q);
  }

  allowed(f: Node, q: number): boolean {
    return f.preemptions + this.preemptionCost(f, q) <= this.preemptionBound && f.delays + this.delayCost(f, q) <= this.delayBound;
  }
}

/** Enabled task ids in round-robin order from `prev`: prev itself first if enabled, then the ones after it. */
function roundRobin(enabled: readonly number[], prev: number): number[] {
  const sorted = [...enabled].sort((a, b) => a - b);
  const at = sorted.findIndex((id) => id >= prev);
  return at <= 0 ? sorted : [...sorted.slice(at), ...sorted.slice(0, at)];
}

function copyTree(ws: readonly Wakeup[]): Wakeup[] {
  return ws.map((w) => ({ task: w.task, sig: w.sig, children: copyTree(w.children) }));
}

/** One step of an execution, as the race analysis needs it. */
interface Step {
  readonly task: number;
  readonly sig: Sig;
  /** The node this step was chosen at, or -1 if its task was the only one enabled. */
  readonly node: number;
  /** The step before it of the same task, or -1. */
  readonly before: number;
  /** For a task's first step: the step during which it was spawned, or -1. */
  readonly parent: number;
  /**
   * Which interrupts could have entered in the state before this step
   * (WINDOW_HARD, WINDOW_SOFT): an interrupt's entry is never enabled
   * together with a step taken while every CPU had them off. Both bits
   * when the run has no interrupt task (nothing reads them then).
   */
  readonly window: number;
  /**
   * The locks (footprint keys) its task held exclusively in the state
   * before it: a waiter for one of them cannot have run before this step.
   */
  readonly holds: readonly number[];
  /** For a blocking acquisition (its wait is for its own object to be free): that object's key; else -1. */
  readonly waitsOn: number;
  /** Whether that wait also ends on a signal (lockInterruptible, lockKillable). */
  readonly interruptibly: boolean;
  /** For an interruptible wait: its task's footprint key (what kill() writes); else -1. The analysis runs when the Sim is the next execution's: keep what it needs. */
  readonly taskKey: number;
  /** For an interrupt's entry: the window bit it needs (WINDOW_HARD or WINDOW_SOFT); else 0. */
  readonly needs: number;
  /** Its effect can block (it has a wait): whether it was enabled in an earlier state is known only where its task was already at it. */
  readonly waits: boolean;
}

const NO_HOLDS: readonly number[] = [];

/** Step.needs of `task` running `e`. */
function needsOf(task: Task, e: Effect): number {
  if (e.kind !== IRQ_ENTER) return 0;
  return task.context === "softirq" ? WINDOW_SOFT : WINDOW_HARD;
}

/** Step.window: a hardirq could have entered before the step. */
const WINDOW_HARD = 1;
/** Step.window: a softirq could have entered before the step. */
const WINDOW_SOFT = 2;

/** One execution of the search: replays the kept nodes' choices, then explores with new nodes. */
class DfsExecution implements Strategy {
  private readonly steps: Step[] = [];
  /** How many of the Sim's tasks window() has looked at, and whether one of them is an interrupt task. */
  private tasksSeen = 0;
  private interrupts = false;
  /** The waiting steps of the tasks blocked when the run ended in a deadlock. */
  private blocked: Step[] = [];
  /** How the run ended (null while it runs). */
  outcome: RunOutcome | null = null;
  private readonly lastStep = new Map<number, number>();
  private sleep = new Map<number, Sig>();
  private choice = 0;
  private pickedNode = -1;
  private preemptions = 0;
  private delays = 0;
  private prev = -1;

  constructor(
    private readonly search: DfsSearch,
    readonly sim: Sim,
    /** The wakeup branches to follow from the first new node on. */
    private pending: Wakeup[],
  ) {}

  pick(enabled: readonly Task[], n: number): number {
    const search = this.search;
    const nodes = search.nodes;
    const c = this.choice++;
    let node: Node;
    if (c < nodes.length) {
      node = nodes[c] as Node;
      const at = enabled.findIndex((t, i) => i < n && t.id === node.chosen);
      if (node.outcome || at === -1) {
        throw new UsageError(
          `the scenario is not deterministic: a replayed schedule reached a state where task ${node.chosen} is not enabled ` +
            "(scenarios must not depend on anything but the Sim: no Math.random, Date.now or state kept between runs)",
        );
      }
    } else {
      node = this.newNode(enabled, n, c);
      if (node.chosen === -1) {
        // Every enabled task is asleep: this execution repeats an explored one.
        search.pruned++;
        this.sim.stopped = true;
        return 0;
      }
      nodes.push(node);
    }
    this.take(node);
    this.pickedNode = c;
    for (let i = 0; i < n; i++) if ((enabled[i] as Task).id === node.chosen) return i;
    return 0;
  }

  private newNode(enabled: readonly Task[], n: number, depth: number): Node {
    const search = this.search;
    const ids: number[] = [];
    const sigs = new Map<number, Sig>();
    for (let i = 0; i < n; i++) {
      const t = enabled[i] as Task;
      ids.push(t.id);
      sigs.set(t.id, sigOf(this.sim, t, t.pending as Effect));
    }
    const node: Node = {
      enabled: ids,
      outcome: false,
      sigs,
      prev: this.prev,
      preemptions: this.preemptions,
      delays: this.delays,
      sleep: new Map(this.sleep),
      wut: [],
      chosen: -1,
      below: [],
      sleepIn: this.sleep,
    };
    const everyOne = !search.reducing || (depth === 0 && search.shard[1] > 1);
    if (everyOne) {
      // Without the reduction (or at a sharded root) every enabled task is a branch.
      for (const q of roundRobin(ids, this.prev)) node.wut.push({ task: q, sig: sigs.get(q) as Sig, children: [] });
    } else if (this.pending.length > 0) {
      node.wut.push(...this.pending);
    } else {
      // No branch to follow: go on with the running task if it can, else the
      // next in round-robin order. The first execution has no preemption.
      for (const q of roundRobin(ids, this.prev)) {
        if (node.sleep.has(q)) continue;
        node.wut.push({ task: q, sig: sigs.get(q) as Sig, children: [] });
        break;
      }
    }
    let branch = search.takeBranch(node, depth);
    if (branch === null && !everyOne && this.pending.length > 0) {
      // The branches to follow cannot run here (their task is blocked): go on as if there were none.
      for (const q of roundRobin(ids, this.prev)) {
        if (node.sleep.has(q)) continue;
        node.wut.push({ task: q, sig: sigs.get(q) as Sig, children: [] });
        break;
      }
      branch = search.takeBranch(node, depth);
    }
    this.pending = branch === null ? [] : branch.children;
    return node;
  }

  /** Take `node.chosen`: count the switch, and set the sleep set of the state it leads to. */
  private take(node: Node): void {
    const q = node.chosen;
    this.preemptions = node.preemptions + this.search.preemptionCost(node, q);
    this.delays = node.delays + this.search.delayCost(node, q);
    if (!this.search.reducing) return;
    const sq = node.sigs.get(q) as Sig;
    const next = new Map<number, Sig>();
    for (const [t, s] of node.sleep) if (t !== q && !dependent(s, sq)) next.set(t, s);
    this.sleep = next;
  }

  /** An injected choice: a node whose every outcome is explored, in order. */
  choose(n: number): number {
    const search = this.search;
    const nodes = search.nodes;
    const c = this.choice++;
    const existing = nodes[c];
    if (existing !== undefined) {
      if (!existing.outcome || existing.enabled.length !== n) {
        throw new UsageError("the scenario is not deterministic: a replayed schedule made a different choice at the same point");
      }
      this.sleep = new Map(existing.sleepIn);
      return existing.chosen;
    }
    const outcomes = Array.from({ length: n }, (_, i) => i);
    const node: Node = {
      enabled: outcomes,
      outcome: true,
      sigs: new Map(),
      prev: this.prev,
      preemptions: this.preemptions,
      delays: this.delays,
      sleep: new Map(),
      wut: [],
      chosen: -1,
      below: copyTree(this.pending),
      sleepIn: new Map(this.sleep),
    };
    for (const q of outcomes) if (search.mine(c, node, q)) node.wut.push({ task: q, sig: OUTCOME_SIG, children: [] });
    node.chosen = node.wut.shift()?.task ?? 0;
    nodes.push(node);
    return node.chosen;
  }

  executed(task: Task, effect: Effect): void {
    const node = this.pickedNode;
    this.pickedNode = -1;
    const search = this.search;
    // The node's sig was taken before the pick; a forced step's is taken now.
    const sig = node >= 0 ? ((search.nodes[node] as Node).sigs.get(task.id) as Sig) : sigOf(this.sim, task, effect);
    if (node < 0 && this.pending.length > 0 && this.choice >= search.nodes.length) this.followForced(task.id);
    if (node < 0 && this.sleep.has(task.id) && search.reducing) {
      // The only task that can run is asleep: the run repeats an explored one
      // (after an injected choice, two branches can reach the same trace).
      search.pruned++;
      this.sim.stopped = true;
    }
    const before = this.lastStep.get(task.id) ?? -1;
    const parent = before === -1 && task.spawnedAtStep > 0 ? task.spawnedAtStep - 1 : -1;
    this.lastStep.set(task.id, this.steps.length);
    const interruptibly = effect.waitsFor !== null && this.interruptibly(effect);
    this.steps.push({
      task: task.id,
      sig,
      node,
      before,
      parent,
      window: this.window(),
      holds: this.holdsOf(task),
      waitsOn: effect.waitsFor === null ? -1 : this.waitsOn(effect),
      interruptibly,
      // Only an interruptible wait's analysis reads it.
      taskKey: interruptibly ? this.sim.heap.keyOf(task) : -1,
      needs: needsOf(task, effect),
      waits: effect.waitsFor !== null,
    });
    this.prev = task.id;
    // Whatever ran wakes the sleepers it is dependent with.
    if (this.sleep.size > 0) {
      this.sleep.delete(task.id);
      for (const [t, s] of this.sleep) if (dependent(s, sig)) this.sleep.delete(t);
    }
  }

  /** The footprint keys of the locks `task` holds exclusively now (Step.holds). */
  private holdsOf(task: Task): readonly number[] {
    const held = task.held;
    if (held.length === 0) return NO_HOLDS;
    let out: number[] | null = null;
    for (let k = 0; k < held.length; k++) {
      const h = held.at(k);
      const map = h.map as { heldBy?: unknown };
      if (map.heldBy === task) (out ??= []).push(this.sim.heap.keyOf(map));
      // Locks merged into the entry under a nest lock (a ww acquire context's).
      if (h.extra !== null) for (const x of h.extra) if ((x.map as { heldBy?: unknown }).heldBy === task) (out ??= []).push(this.sim.heap.keyOf(x.map));
    }
    return out ?? NO_HOLDS;
  }

  /** Step.waitsOn of an effect: its own object, when it waits for it to be free (plainly or interruptibly). */
  private waitsOn(e: Effect): number {
    const obj = e.object;
    if (obj === null || e.waitsFor === null) return -1;
    const w = e.waitsFor as unknown;
    return w === obj || this.interruptibly(e) ? this.sim.heap.keyOf(obj) : -1;
  }

  /** Step.interruptibly: the wait is the lock's interruptible one (free, or a signal pending). */
  private interruptibly(e: Effect): boolean {
    const obj = e.object as { interruptible?: unknown } | null;
    return obj !== null && e.waitsFor !== null && obj.interruptible !== undefined && (e.waitsFor as unknown) === obj.interruptible;
  }

  /**
   * Whether the task of step j could have a signal pending where a reversal
   * runs j before step i, so that its interruptible wait could end there.
   * Signals stay pending, so: j ran with one, and the step that sent it
   * (kill() adds a write of the task to the sender's step) came before i, or
   * was another task's than i's (it may run before j in the reversal), or no
   * step sent it (the setup did). Not when i's own task sent it at or after i.
   */
  private signalledBefore(steps: readonly Step[], i: number, j: number): boolean {
    const sj = steps[j] as Step;
    if (!sj.sig.signalled) return false;
    const key = sj.taskKey;
    for (let k = 0; k < j; k++) {
      const sig = (steps[k] as Step).sig;
      if (sig.everything) continue;
      const wrote = (sig.main?.key === key && sig.main.write) || (sig.more?.some((x) => x.key === key && x.write) ?? false);
      if (wrote) return k < i || (steps[k] as Step).task !== (steps[i] as Step).task;
    }
    return true;
  }

  /** Which interrupts could enter now (Step.window); both, cheaply, while the run has no interrupt task. */
  private window(): number {
    const tasks = this.sim.tasks;
    if (tasks.length !== this.tasksSeen) {
      for (let k = this.tasksSeen; k < tasks.length; k++) if ((tasks[k] as Task).inInterrupt) this.interrupts = true;
      this.tasksSeen = tasks.length;
    }
    if (!this.interrupts) return WINDOW_HARD | WINDOW_SOFT;
    const w = this.sim.scheduler.irqWindow;
    return (w.openFor(false) ? WINDOW_HARD : 0) | (w.openFor(true) ? WINDOW_SOFT : 0);
  }

  /** The running step of `task` touched `obj` beyond its effect: add it to the step's footprint. */
  touched(task: Task, obj: object, write: boolean): void {
    const at = this.lastStep.get(task.id);
    if (at === undefined) return;
    const s = this.steps[at] as Step;
    const extra = touchOf(this.sim, obj, write, false);
    // Replayed, the step starts from its node's sig, which may have it already.
    if (s.sig.more?.some((x) => x.key === extra.key && x.write === write && !x.whole) === true) return;
    const sig = new Sig(s.sig.kind, s.sig.main, s.sig.more === null ? [extra] : [...s.sig.more, extra], s.sig.everything, s.sig.signalled);
    this.steps[at] = { ...s, sig };
    // The node keeps the step as its task's next one there: once explored,
    // the task sleeps there with it, and must wake on what the step really touched.
    if (s.node >= 0) (this.search.nodes[s.node]?.sigs as Map<number, Sig> | undefined)?.set(task.id, sig);
    if (this.sleep.size > 0) for (const [t, q] of this.sleep) if (dependent(q, sig)) this.sleep.delete(t);
  }

  /** A forced step while following a wakeup branch: if the branch starts with it, go past it. */
  private followForced(task: number): void {
    const b = this.pending.find((w) => w.task === task);
    if (b !== undefined) this.pending = b.children;
  }

  /**
   * After the execution: find every race, and add its reversal to the
   * wakeup tree of the state before its first step.
   */
  reverseRaces(): void {
    const real = this.steps.length;
    if (real === 0) return;
    // A task still blocked when the run ended (a deadlock, a lock never
    // released, a completion never made) never ran its waiting step, yet
    // that step races with what blocked it: the acquisition it would have
    // beaten had it come first. Each such step joins the analysis as if it
    // ran last, taking what it waits for.
    const steps: Step[] = this.blocked.length > 0 ? [...this.steps, ...this.blocked] : this.steps;
    const n = steps.length;
    let width = 0;
    for (const s of steps) width = Math.max(width, s.task + 1);
    // Vector clocks, flat: clock(j)[t] = 1 + the index of t's latest step that happens before j (or is j).
    const clocks = new Int32Array(n * width);
    const base = new Int32Array(width);
    const everything: number[] = [];
    const byKey = new Map<number, number[]>();
    const races: [number, number][] = [];
    const candidates: number[] = [];
    for (let j = 0; j < n; j++) {
      const s = steps[j] as Step;
      const cj = j * width;
      if (s.before >= 0) clocks.copyWithin(cj, s.before * width, s.before * width + width);
      if (s.parent >= 0) join(clocks, cj, s.parent * width, width);
      // What happens before this step without it racing: its task's step before, and its spawn.
      base.set(clocks.subarray(cj, cj + width));
      // The earlier steps that may conflict: those on the same allocations, and every step if this one touches everything.
      candidates.length = 0;
      if (s.sig.everything) for (let i = 0; i < j; i++) candidates.push(i);
      else {
        for (const i of everything) candidates.push(i);
        for (const t of touches(s.sig)) for (const i of byKey.get(t.alloc) ?? []) candidates.push(i);
      }
      const racing: number[] = [];
      // Unsure races: j waits, and its task had not reached it at i (it
      // stepped, or was spawned, after i), so whether j was enabled before i is unknown; i's
      // task may have disabled it earlier and enabled it again at i. They do
      // not hide the earlier races behind them.
      let unsure: number[] | null = null;
      // An interrupt's entry races only with steps before which it could have entered.
      const closed = s.needs;
      let last = -1;
      candidates.sort((a, b) => a - b);
      for (const i of candidates) {
        if (i === last) continue;
        last = i;
        const si = steps[i] as Step;
        if (si.task === s.task || !dependent(si.sig, s.sig)) continue;
        const inherited = (base[si.task] as number) >= i + 1;
        join(clocks, cj, i * width, width);
        if (!inherited && !neverCoEnabled(si.sig, s.sig) && (si.window & closed) === closed && this.couldPrecede(steps, i, j)) {
          racing.push(i);
          if (s.waits && (s.before > i || (s.before === -1 && s.parent >= i))) (unsure ??= []).push(i);
        }
      }
      clocks[cj + s.task] = j + 1;
      // A race has no other racing step between its two in happens-before,
      // unless that step is unsure: then j may have been disabled there, and
      // the race with the step that disabled it lies further back.
      for (const i of racing) {
        const ti = (steps[i] as Step).task;
        if (!racing.some((k) => k !== i && (clocks[k * width + ti] as number) >= i + 1 && !(unsure?.includes(k) ?? false))) races.push([i, j]);
      }
      if (s.sig.everything) everything.push(j);
      else for (const t of touches(s.sig)) addTo(byKey, t.alloc, j);
    }
    for (const [i, j] of races) this.reverse(steps, real, i, j, clocks, width);
  }

  /**
   * Whether step j could have run before step i, as a reversal needs. Not
   * if j waits for a lock i's task held before i (only that task frees it,
   * and only after i). Else yes if its task was enabled in the state before
   * i, or some step between the two was by another task than i's (which
   * might have enabled it; kept to be safe). A task that was disabled before i, with only i's task stepping
   * until j, waited for something only i's task could give, and only after
   * i (a lock it holds across a sleep, a kill it sends while holding it):
   * such a pair is no race, and the analysis looks further back, to the
   * step j really races with (the holder's acquisition).
   */
  private couldPrecede(steps: readonly Step[], i: number, j: number): boolean {
    const si = steps[i] as Step;
    const sj = steps[j] as Step;
    const task = sj.task;
    // j waits for a lock i's task held before i: only that task frees it,
    // after i; an interruptible wait could end before i only on a signal sent before i.
    if (sj.waitsOn >= 0 && si.holds.includes(sj.waitsOn) && (sj.interruptibly ? !this.signalledBefore(steps, i, j) : !sj.sig.signalled)) return false;
    if (si.node >= 0 && this.search.nodes[si.node]?.sigs.has(task) === true) return true;
    for (let k = i + 1; k < j; k++) if ((steps[k] as Step).task !== si.task) return true;
    return false;
  }

  /** The run ended: keep what the race analysis needs of it (it runs once the next execution's Sim exists). */
  ended(outcome: RunOutcome): void {
    this.outcome = outcome;
    if (outcome === "deadlock") this.blocked = this.blockedSteps();
  }

  /** The waiting step of every task blocked at the end, as a step that takes what it waits for. */
  private blockedSteps(): Step[] {
    const out: Step[] = [];
    for (const t of this.sim.tasks) {
      const e = t.pending;
      // Blocked on what it waits for, or interrupted by a handler that never returned.
      if (e === null || (e.waitsFor === null && t.interruptedBy === null)) continue;
      const before = this.lastStep.get(t.id) ?? -1;
      const parent = before === -1 && t.spawnedAtStep > 0 ? t.spawnedAtStep - 1 : -1;
      out.push({ task: t.id, sig: sigOf(this.sim, t, e, true), node: -1, before, parent, window: WINDOW_HARD | WINDOW_SOFT, holds: NO_HOLDS, waitsOn: this.waitsOn(e), interruptibly: this.interruptibly(e), taskKey: this.sim.heap.keyOf(t), needs: needsOf(t, e), waits: e.waitsFor !== null });
    }
    return out;
  }

  /**
   * Insert v = notdep(e_i, E).e_j into the wakeup tree of the state before
   * e_i. Steps from `real` on never ran (blocked at the end): only e_j may
   * be one of them.
   */
  private reverse(steps: readonly Step[], real: number, i: number, j: number, clocks: Int32Array, width: number): void {
    const si = steps[i] as Step;
    if (si.node < 0) return; // only one task could run there: the reversal cannot start there
    const node = this.search.nodes[si.node];
    if (node === undefined || node.outcome) return;
    if (this.search.shard[1] > 1 && si.node === 0) return; // a sharded root has every branch already
    const v: { task: number; sig: Sig }[] = [];
    for (let k = i + 1; k < real; k++) {
      const sk = steps[k] as Step;
      if (k !== j && (clocks[k * width + si.task] as number) < i + 1) v.push({ task: sk.task, sig: sk.sig });
    }
    const sj = steps[j] as Step;
    v.push({ task: sj.task, sig: sj.sig });
    for (const [q, s] of node.sleep) if (weakInitial(q, s, v)) return;
    insert(node.wut, v);
  }
}

/** What an outcome of an injected choice is, as a branch: a step that touches nothing. */
const OUTCOME_SIG = new Sig(CHOOSE_KIND, null, null, false);

function touches(s: Sig): readonly Touch[] {
  if (s.main === null) return s.more ?? [];
  return s.more === null ? [s.main] : [s.main, ...s.more];
}

function addTo(m: Map<number, number[]>, k: number, v: number): void {
  const list = m.get(k);
  if (list === undefined) m.set(k, [v]);
  else if (list[list.length - 1] !== v) list.push(v);
}

function join(clocks: Int32Array, into: number, from: number, width: number): void {
  for (let t = 0; t < width; t++) {
    const x = clocks[from + t] as number;
    if (x > (clocks[into + t] as number)) clocks[into + t] = x;
  }
}

/**
 * Whether task `q`, whose next step is `next`, is a weak initial of `v`: it
 * can start a schedule equivalent to one that begins with v. Either q's
 * first step in v depends on no earlier step of v, or q has no step in v and
 * its next step is independent of all of v.
 */
function weakInitial(q: number, next: Sig, v: readonly { task: number; sig: Sig }[]): boolean {
  const at = v.findIndex((x) => x.task === q);
  if (at === -1) return v.every((x) => !dependent(next, x.sig));
  const first = v[at] as { task: number; sig: Sig };
  for (let k = 0; k < at; k++) {
    const x = v[k] as { task: number; sig: Sig };
    if (dependent(x.sig, first.sig)) return false;
  }
  return true;
}

/**
 * Insert `v` into a wakeup tree: follow the first branch whose task is a
 * weak initial of what is left of v; stop if that branch ends there (it
 * already covers v); else add the rest of v as a new last branch.
 */
function insert(tree: Wakeup[], v: { task: number; sig: Sig }[]): void {
  let level = tree;
  let rest = v;
  for (;;) {
    if (rest.length === 0) return;
    let followed = false;
    for (const b of level) {
      if (!weakInitial(b.task, b.sig, rest)) continue;
      if (b.children.length === 0) return;
      const at = rest.findIndex((x) => x.task === b.task);
      rest = at === -1 ? rest : [...rest.slice(0, at), ...rest.slice(at + 1)];
      level = b.children;
      followed = true;
      break;
    }
    if (!followed) break;
  }
  // A chain of the remaining steps.
  for (const x of rest) {
    const w: Wakeup = { task: x.task, sig: x.sig, children: [] };
    level.push(w);
    level = w.children;
  }
}
