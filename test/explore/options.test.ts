/**
 * Option resolution, shared by explore() and the pool.
 */
import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError } from "../../src/index.js";
import { resolveOptions } from "../../src/explore/options.js";

describe("resolveOptions", () => {
  it("fills in the defaults", () => {
    expect(resolveOptions({})).toMatchObject({ budget: 1000, maxSteps: 10_000, seed: 0, seedU32: 0, shard: [0, 1], stopAtFirst: true, shrink: true });
    expect(resolveOptions({ seed: -1 }).seedU32).toBe(2 ** 32 - 1);
  });

  it("names the option at fault", () => {
    expect(() => resolveOptions({ executions: 0 })).toThrow(ArgumentRangeError);
    expect(() => resolveOptions({ shard: [3, 2] })).toThrow(expect.objectContaining({ argument: "shard" }) as Error);
    expect(() => resolveOptions({ strategy: { name: "pct", depth: 0 } })).toThrow(expect.objectContaining({ argument: "strategy.depth" }) as Error);
    expect(() => resolveOptions({ strategy: "bogus" as "random" })).toThrow(ArgumentError);
  });
});
