import { describe, expect, it } from "vitest";
import { condResched, Sim, type Effect } from "../../../src/index.js";
import { Pct } from "../../../src/explore/strategy/pct.js";

/** Three tasks of four steps each; the order in which their steps ran. */
function order(strategy: Pct): string {
  const sim = new Sim();
  const trace: string[] = [];
  sim.setStrategy(strategy);
  for (const n of ["a", "b", "c"]) {
    sim.spawn(n, "process", function* (): Generator<Effect, void, unknown> {
      for (let i = 0; i < 4; i++) {
        trace.push(n);
        yield* condResched();
      }
    });
  }
  sim.runAll();
  return trace.join("");
}

describe("PCT", () => {
  it("with depth 1 runs the highest-priority task to the end, then the next: no preemption", () => {
    for (let seed = 0; seed < 20; seed++) {
      expect(order(new Pct(seed, 1, 20))).toMatch(/^(a{4}|b{4}|c{4}){3}$/);
    }
  });

  it("with depth 3 switches tasks at its change points, and is deterministic per seed", () => {
    const orders = new Set<string>();
    for (let seed = 0; seed < 30; seed++) {
      const o = order(new Pct(seed, 3, 15));
      expect(order(new Pct(seed, 3, 15))).toBe(o);
      orders.add(o);
    }
    // Some runs are preempted: not every order is three uninterrupted blocks.
    expect([...orders].some((o) => !/^(a{4}|b{4}|c{4}){3}$/.test(o))).toBe(true);
  });
});
