/** LocalLock refuses bad arguments with typed errors naming them, and changes nothing. */
import { describe, expect, it } from "vitest";
import { ArgumentError, LocalLock } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows, nextId } from "./helpers.js";

describe("LocalLock: bad input", () => {
  it("constructor: empty class name, bad options; nothing is made", () => {
    const sim = collectingSim();
    const before = nextId(sim);
    expectThrows(() => new LocalLock(sim, ""), ArgumentError, "className");
    expectThrows(() => new LocalLock(sim, "l", 3 as never), ArgumentError, "options");
    expectThrows(() => new LocalLock(sim, "l", { static: null } as never), ArgumentError, "static");
    expect(nextId(sim)).toBe(before + 1);
  });
});
