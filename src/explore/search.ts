/**
 * Searches and the exploration plan.
 *
 * A search yields the strategy of each execution in turn, as the schedulers
 * of awslabs/shuttle do: random walks and PCT draw a fresh one per index;
 * DFS continues its search tree; the portfolio composes the three, index by
 * index (random, PCT, DFS in turn), goes on with random and PCT at the index
 * where DFS ran out, and is exhausted once DFS is.
 *
 * The plan (ExplorePlan) is everything about a run that does not depend on
 * the scenario: the resolved options, each index's seed, which search an
 * index belongs to (`kindAt`), the shard filter, and the names the results
 * and tokens use. explore()'s loop drives a plan's root search; the worker
 * pool's walk and its workers ask the same plan the same questions, so the
 * two cannot drift.
 */
import { deriveSeed } from "../kernel/prng.js";
import type { Strategy } from "../kernel/scheduler.js";
import type { Sim } from "../kernel/sim.js";
import { describeDfs, type ResolvedOptions } from "./options.js";
import { DfsSearch } from "./strategy/dfs.js";
import { Pct } from "./strategy/pct.js";
import { RandomWalk } from "./strategy/random.js";

/** What one search runs: random walk, PCT, or DFS. */
export type SearchKind = "random" | "pct" | "dfs";

/** The strategy a search gives one execution. */
export interface Planned {
  readonly strategy: Strategy;
  readonly kind: SearchKind;
  /** The strategy's name in failures and tokens (`random`, `pct(3)`, `dfs-pb2`). */
  readonly label: string;
  /** PCT's estimate of the execution's length (0 for the others). */
  readonly bound: number;
}

/** A source of executions. */
export interface Search {
  /**
   * The strategy of execution `index`, to run in `sim` (made with the
   * index's seed, see ExplorePlan.seedOf); null when the search has nothing
   * left (it is then exhausted).
   */
  next(index: number, sim: Sim): Planned | null;
  /** Told of each execution's length (steps) once it ran, in index order. */
  ran(steps: number): void;
  /** Whether this index is run here (false: another shard's). */
  runs(index: number): boolean;
  /** Nothing is left to find: stop. */
  readonly exhausted: boolean;
  /** Executions the DFS cut short because they repeated an explored schedule. */
  readonly pruned: number;
}

/**
 * PCT's estimate of an execution's length: the longest execution before it,
 * at least 16. The worker pool checks its records against the same rule.
 */
export function pctBound(maxBefore: number): number {
  return Math.max(16, maxBefore);
}

/** Random walks, one seed per index (the Sim's seed); shard i of n runs indices i, i + n, ... */
export class RandomSearch implements Search {
  readonly exhausted = false;
  readonly pruned = 0;

  constructor(private readonly shard: readonly [number, number]) {}

  next(_index: number, sim: Sim): Planned {
    return { strategy: new RandomWalk(sim.seed), kind: "random", label: "random", bound: 0 };
  }

  ran(): void {
    // Random walks and DFS do not depend on earlier executions.
  }

  runs(index: number): boolean {
    return index % this.shard[1] === this.shard[0];
  }
}

/** PCT of a depth; its length estimate is the longest execution it was told of (see pctBound). */
export class PctSearch implements Search {
  readonly exhausted = false;
  readonly pruned = 0;
  /** The most steps of any execution so far. */
  longest = 0;

  constructor(
    readonly depth: number,
    private readonly shard: readonly [number, number],
  ) {}

  next(_index: number, sim: Sim): Planned {
    const bound = pctBound(this.longest);
    return { strategy: new Pct(sim.seed, this.depth, bound), kind: "pct", label: `pct(${this.depth})`, bound };
  }

  ran(steps: number): void {
    this.longest = Math.max(this.longest, steps);
  }

  runs(index: number): boolean {
    return index % this.shard[1] === this.shard[0];
  }
}

/** Depth-first search (src/explore/strategy/dfs.ts), through its public surface; sharded by subtree, so every index is every shard's. */
export class DfsPlanSearch implements Search {
  private readonly search: DfsSearch;

  constructor(
    options: ResolvedOptions["strategy"]["dfs"],
    shard: readonly [number, number],
    private readonly label = describeDfs(options),
  ) {
    this.search = new DfsSearch({ ...options, ...(shard[1] > 1 ? { shard } : {}) });
  }

  get exhausted(): boolean {
    return this.search.exhausted;
  }

  get pruned(): number {
    return this.search.pruned;
  }

  next(_index: number, sim: Sim): Planned | null {
    const strategy = this.search.next(sim);
    return strategy === null ? null : { strategy, kind: "dfs", label: this.label, bound: 0 };
  }

  ran(): void {
    // Random walks and DFS do not depend on earlier executions.
  }

  runs(): boolean {
    return true;
  }
}

/**
 * Random, PCT and DFS in turn (ExplorePlan.kindAt): each index goes to one
 * member; at the index where DFS runs out, random or PCT runs instead, and
 * the portfolio is exhausted from the next index on.
 */
export class Portfolio implements Search {
  /** Where the DFS ran out, or null while it has not. */
  dfsEnd: number | null = null;

  constructor(
    private readonly plan: ExplorePlan,
    private readonly random: Search,
    private readonly pct: Search,
    private readonly dfs: Search,
  ) {}

  get exhausted(): boolean {
    return this.dfs.exhausted;
  }

  get pruned(): number {
    return this.dfs.pruned;
  }

  next(index: number, sim: Sim): Planned | null {
    let kind = this.plan.kindAt(index, this.dfsEnd);
    if (kind === "dfs") {
      const p = this.dfs.next(index, sim);
      if (p !== null) return p;
      this.dfsEnd = index;
      kind = this.plan.kindAt(index, index);
    }
    return kind === "pct" ? this.pct.next(index, sim) : this.random.next(index, sim);
  }

  ran(steps: number): void {
    // PCT's estimate counts every execution, whichever member ran it.
    this.pct.ran(steps);
  }

  runs(index: number): boolean {
    return this.plan.kindAt(index, this.dfsEnd) !== null;
  }
}

/** One exploration's plan: resolved options and the rules every index follows. */
export class ExplorePlan {
  constructor(readonly options: ResolvedOptions) {}

  /** The strategy run, as results and tokens name it (`portfolio`, `random`, `pct(3)`, `dfs-pb2`). */
  get label(): string {
    const s = this.options.strategy;
    return s.kind === "dfs" ? describeDfs(s.dfs) : s.kind === "pct" ? `pct(${s.depth})` : s.kind;
  }

  /** The name of a member search in failures and tokens (`random`, `pct(3)`, `dfs-pb2`). */
  labelOf(kind: SearchKind): string {
    const s = this.options.strategy;
    return kind === "dfs" ? describeDfs(s.dfs) : kind === "pct" ? `pct(${s.depth})` : "random";
  }

  /** The seed of execution `index`: derived from the run's seed and the index alone. */
  seedOf(index: number): number {
    return deriveSeed(this.options.seedU32, index);
  }

  /**
   * Which search runs execution `index`, or null if this shard skips it.
   * `dfsEnd` is where the portfolio's DFS ran out (null: not yet, or not
   * known, so every third index is still the DFS's). At `dfsEnd` itself the
   * index is a DFS index, which every shard passes, when the search turns
   * out empty: that execution runs in every shard.
   */
  kindAt(index: number, dfsEnd: number | null): SearchKind | null {
    const { kind } = this.options.strategy;
    let k: SearchKind;
    if (kind === "portfolio") {
      const m = index % 3;
      if (m === 2) {
        if (dfsEnd === null || index < dfsEnd) return "dfs";
        k = index % 2 === 0 ? "random" : "pct";
        if (index === dfsEnd) return k;
      } else {
        k = m === 0 ? "random" : "pct";
      }
    } else if (kind === "dfs") {
      return "dfs";
    } else {
      k = kind;
    }
    const [i, n] = this.options.shard;
    return index % n === i ? k : null;
  }

  /** The indices a DFS member runs, in order, up to the budget. */
  *dfsIndices(): Generator<number> {
    const portfolio = this.options.strategy.kind === "portfolio";
    for (let i = portfolio ? 2 : 0; i < this.options.budget; i += portfolio ? 3 : 1) yield i;
  }

  /** A fresh member search. */
  member(kind: SearchKind): Search {
    const { strategy, shard } = this.options;
    if (kind === "random") return new RandomSearch(shard);
    if (kind === "pct") return new PctSearch(strategy.depth, shard);
    return new DfsPlanSearch(strategy.dfs, shard);
  }

  /** A fresh search over the whole run: one member, or the portfolio of all three. */
  search(): Search {
    const kind = this.options.strategy.kind;
    return kind === "portfolio" ? new Portfolio(this, this.member("random"), this.member("pct"), this.member("dfs")) : this.member(kind);
  }
}
