import { describe, expect, it } from "vitest";
import { RandomWalk } from "../../../src/explore/strategy/random.js";

describe("RandomWalk", () => {
  it("picks uniformly and deterministically per seed", () => {
    const counts = [0, 0, 0];
    const w = new RandomWalk(1);
    for (let i = 0; i < 3000; i++) {
      const k = w.choose(3);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    for (const c of counts) expect(c).toBeGreaterThan(900);
    const a = new RandomWalk(5);
    const b = new RandomWalk(5);
    expect(Array.from({ length: 10 }, () => a.choose(4))).toEqual(Array.from({ length: 10 }, () => b.choose(4)));
  });
});
