/**
 * PCT (Burckhardt, Kothari, Musuvathi, Nagarakatte: "A randomized scheduler
 * with probabilistic guarantees of finding bugs", ASPLOS 2010).
 *
 * Every task gets a random priority; the highest-priority enabled task runs.
 * At d - 1 random steps the running task drops below every initial
 * priority. A bug that needs d ordering constraints among n tasks and k
 * steps is found with probability at least 1 / (n * k^(d-1)) per execution.
 * `depth` is d (default 3); `steps` is the estimate of k (the explorer passes
 * the most steps any execution has taken so far).
 */
import { Prng } from "../../kernel/prng.js";
import type { Effect } from "../../kernel/effect.js";
import type { Strategy } from "../../kernel/scheduler.js";
import type { Task } from "../../kernel/task.js";

export class Pct implements Strategy {
  private readonly rng: Prng;
  private readonly priority = new Map<number, number>();
  /** Change points: the step (1-based) at which the running task drops to priority i + 1. */
  private readonly changeAt: number[];
  private steps = 0;

  constructor(seed: number, depth: number, steps: number) {
    this.rng = new Prng(seed);
    const k = Math.max(1, steps);
    // As in the paper, the i-th change point is a uniform step and gives
    // priority i: which of them comes first in time is itself random.
    this.changeAt = Array.from({ length: Math.max(0, depth - 1) }, () => 1 + this.rng.nextInt(k));
  }

  /** A new task gets a random initial priority, above every dropped one. */
  private priorityOf(t: Task): number {
    let p = this.priority.get(t.id);
    if (p === undefined) {
      p = this.changeAt.length + 1 + this.rng.nextFloat();
      this.priority.set(t.id, p);
    }
    return p;
  }

  pick(enabled: readonly Task[], n: number): number {
    let best = 0;
    let bestP = -Infinity;
    for (let i = 0; i < n; i++) {
      const p = this.priorityOf(enabled[i] as Task);
      if (p > bestP) {
        bestP = p;
        best = i;
      }
    }
    return best;
  }

  choose(n: number): number {
    return this.rng.nextInt(n);
  }

  executed(task: Task, _effect: Effect): void {
    this.priorityOf(task);
    const step = ++this.steps;
    for (let i = 0; i < this.changeAt.length; i++) {
      // Below every initial priority, which start at depth.
      if (this.changeAt[i] === step) this.priority.set(task.id, i + 1);
    }
  }
}
