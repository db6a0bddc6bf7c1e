/**
 * The worker's own rules (the pool tests run whole explorations through it):
 * which strategy runs execution i, errors crossing back from a thread,
 * module addresses, option resolution.
 */
import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, UsageError } from "../../src/index.js";
import { kindAt, moduleUrl, pctBound, publishMin, rebuildError, resolvePlan } from "../../src/explore/worker.js";

const target = { module: "/abs/scenarios.js", export: "abba" };

describe("worker: which strategy runs execution i", () => {
  it("deals the portfolio out as explore() does: random, pct, dfs in turn", () => {
    const plan = resolvePlan(target, {}, 0);
    expect([0, 1, 2, 3, 4, 5].map((i) => kindAt(plan, i, null))).toEqual(["random", "pct", "dfs", "random", "pct", "dfs"]);
    // After the search ran out at index 5, its slots go to random and PCT; at 5 itself too.
    expect([5, 8, 11].map((i) => kindAt(plan, i, 5))).toEqual(["pct", "random", "pct"]);
  });

  it("skips the other shards' random and PCT executions, never DFS ones", () => {
    const plan = resolvePlan(target, { strategy: "random", shard: [1, 2] }, 0);
    expect([0, 1, 2, 3].map((i) => kindAt(plan, i, null))).toEqual([null, "random", null, "random"]);
    expect(kindAt(resolvePlan(target, { strategy: "dfs", shard: [1, 2] }, 0), 0, null)).toBe("dfs");
  });

  it("estimates PCT's execution length as explore() does", () => {
    expect([pctBound(0), pctBound(15), pctBound(40)]).toEqual([16, 16, 40]);
  });
});

describe("worker: plumbing", () => {
  it("resolves options with explore()'s errors", () => {
    expect(() => resolvePlan(target, { executions: 0 }, 0)).toThrow(ArgumentRangeError);
    expect(() => resolvePlan(target, { shard: [3, 2] }, 0)).toThrow(expect.objectContaining({ argument: "shard" }) as Error);
    expect(resolvePlan(target, { timeMs: 50 }, 1000).deadline).toBe(1050);
  });

  it("turns module paths into file URLs and names a bad target", () => {
    expect(moduleUrl(target)).toBe("file:///abs/scenarios.js");
    expect(moduleUrl({ module: "file:///x.js", export: "y" })).toBe("file:///x.js");
    expect(() => moduleUrl({ module: "", export: "y" })).toThrow(expect.objectContaining({ argument: "target.module" }) as Error);
    expect(() => moduleUrl({ module: "/x.js", export: "" })).toThrow(expect.objectContaining({ argument: "target.export" }) as Error);
  });

  it("rebuilds typed errors that crossed from a thread", () => {
    const arg = rebuildError({ name: "ArgumentError", message: "invalid argument 'x': bad", argument: "x", stack: null });
    expect(arg).toBeInstanceOf(ArgumentError);
    expect(arg).toMatchObject({ argument: "x", message: "invalid argument 'x': bad" });
    expect(rebuildError({ name: "UsageError", message: "m", argument: null, stack: null })).toBeInstanceOf(UsageError);
    const other = rebuildError({ name: "TypeError", message: "t", argument: null, stack: "trace" });
    expect([other.name, other.message, other.stack]).toEqual(["TypeError", "t", "trace"]);
  });

  it("lowers a shared cell to a minimum, atomically", () => {
    const shared = new Int32Array(new SharedArrayBuffer(8)).fill(100);
    publishMin(shared, 1, 40);
    publishMin(shared, 1, 70);
    expect([...shared]).toEqual([100, 40]);
  });
});
