/**
 * The plan and its searches: which search runs execution i, PCT's estimate,
 * and the portfolio's composition (the pool tests run whole explorations).
 */
import { describe, expect, it } from "vitest";
import { Sim } from "../../src/index.js";
import { Lockdep } from "../../src/kernel/lockdep.js";
import { resolveOptions, type ExploreOptions } from "../../src/explore/options.js";
import { ExplorePlan, pctBound, Portfolio, type Search } from "../../src/explore/search.js";

const plan = (o: ExploreOptions) => new ExplorePlan(resolveOptions(o));

describe("ExplorePlan: which search runs execution i", () => {
  it("deals the portfolio out: random, pct, dfs in turn", () => {
    const p = plan({});
    expect([0, 1, 2, 3, 4, 5].map((i) => p.kindAt(i, null))).toEqual(["random", "pct", "dfs", "random", "pct", "dfs"]);
    // After the search ran out at index 5, its slots go to random and PCT; at 5 itself too.
    expect([5, 8, 11].map((i) => p.kindAt(i, 5))).toEqual(["pct", "random", "pct"]);
    expect([...p.dfsIndices()].slice(0, 3)).toEqual([2, 5, 8]);
  });

  it("skips the other shards' random and PCT executions, never DFS ones", () => {
    const p = plan({ strategy: "random", shard: [1, 2] });
    expect([0, 1, 2, 3].map((i) => p.kindAt(i, null))).toEqual([null, "random", null, "random"]);
    expect(plan({ strategy: "dfs", shard: [1, 2] }).kindAt(0, null)).toBe("dfs");
  });

  it("names strategies as results and tokens do", () => {
    expect([plan({}).label, plan({ strategy: { name: "pct", depth: 2 } }).label, plan({ strategy: { name: "dfs", preemptionBound: 2 } }).label]).toEqual([
      "portfolio",
      "pct(2)",
      "dfs-pb2",
    ]);
    expect(plan({}).labelOf("pct")).toBe("pct(3)");
  });

  it("estimates PCT's execution length from the longest execution before", () => {
    expect([pctBound(0), pctBound(15), pctBound(40)]).toEqual([16, 16, 40]);
    const pct = plan({ strategy: "pct" }).member("pct");
    const sim = () => new Sim({ onReport: "collect", lockdep: new Lockdep() });
    expect(pct.next(0, sim())?.bound).toBe(16);
    pct.ran(40);
    pct.ran(20);
    expect(pct.next(1, sim())).toMatchObject({ kind: "pct", label: "pct(3)", bound: 40 });
  });
});

describe("Portfolio", () => {
  /** A DFS member with `n` executions, then exhausted. */
  function fakeDfs(n: number): Search {
    let left = n;
    let exhausted = false;
    return {
      next: () => (left-- > 0 ? { strategy: { pick: () => 0, choose: () => 0 }, kind: "dfs", label: "dfs", bound: 0 } : ((exhausted = true), null)),
      ran: () => undefined,
      runs: () => true,
      get exhausted() {
        return exhausted;
      },
      pruned: 0,
    };
  }

  it("runs random or PCT where DFS runs out, then is exhausted", () => {
    const p = plan({});
    const portfolio = new Portfolio(p, p.member("random"), p.member("pct"), fakeDfs(1));
    const kinds: string[] = [];
    for (let i = 0; !portfolio.exhausted; i++) {
      if (!portfolio.runs(i)) continue;
      kinds.push(portfolio.next(i, new Sim({ onReport: "collect", lockdep: new Lockdep() }))?.kind ?? "none");
    }
    // 0 random, 1 pct, 2 dfs, 3 random, 4 pct, 5: DFS is out, so pct (5 is odd).
    expect(kinds).toEqual(["random", "pct", "dfs", "random", "pct", "pct"]);
    expect(portfolio.dfsEnd).toBe(5);
  });
});
