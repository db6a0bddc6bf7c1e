import { describe, expect, it } from "vitest";
import { shrinkChoices, type Trial } from "../../src/explore/shrink.js";

/**
 * A synthetic failure: the run fails when the choices contain 7 followed
 * later by 9; each choice costs one context switch.
 */
function trial(c: readonly number[]): Trial {
  const i = c.indexOf(7);
  return { fails: i >= 0 && c.indexOf(9, i) > i, choices: c, switches: c.length };
}

describe("shrinkChoices", () => {
  it("removes every choice the failure does not need", () => {
    const best = shrinkChoices([1, 2, 7, 3, 4, 5, 9, 6], trial);
    expect(best).toEqual({ fails: true, choices: [7, 9], switches: 2 });
  });

  it("keeps to its budget of trial runs", () => {
    let runs = 0;
    shrinkChoices(
      Array.from({ length: 64 }, (_, i) => (i === 10 ? 7 : i === 50 ? 9 : 0)),
      (c) => {
        runs++;
        return trial(c);
      },
      20,
    );
    expect(runs).toBeLessThanOrEqual(20);
  });

  it("returns the original when it does not fail when re-run", () => {
    expect(shrinkChoices([1, 2, 3], trial)).toEqual({ fails: true, choices: [1, 2, 3], switches: Infinity });
  });
});
