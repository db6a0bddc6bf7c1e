/**
 * The pool's protocol: errors crossing back from a thread, shared cells.
 */
import { describe, expect, it } from "vitest";
import { ArgumentError, TokenError, UsageError } from "../../src/index.js";
import { publishMin, rebuildError } from "../../src/explore/protocol.js";

describe("protocol", () => {
  it("rebuilds typed errors that crossed from a thread", () => {
    const arg = rebuildError({ name: "ArgumentError", message: "invalid argument 'x': bad", argument: "x", stack: null });
    expect(arg).toBeInstanceOf(ArgumentError);
    expect(arg).toMatchObject({ argument: "x", message: "invalid argument 'x': bad" });
    expect(rebuildError({ name: "TokenError", message: "m", argument: "token", stack: null })).toBeInstanceOf(TokenError);
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
