/** RwLock refuses bad arguments with typed errors naming them, and changes nothing. */
import { describe, expect, it } from "vitest";
import { ArgumentError, RwLock } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows, nextId } from "./helpers.js";

describe("RwLock: bad input", () => {
  it("constructor: empty class name, bad options; nothing is made", () => {
    const sim = collectingSim();
    const before = nextId(sim);
    expectThrows(() => new RwLock(sim, ""), ArgumentError, "className");
    expectThrows(() => new RwLock(sim, "l", null as never), ArgumentError, "options");
    expectThrows(() => new RwLock(sim, "l", { queue: true } as never), ArgumentError, "queue");
    expectThrows(() => new RwLock(sim, "l", { queued: "yes" } as never), ArgumentError, "queued");
    expectThrows(() => new RwLock(sim, "l", { name: {} } as never), ArgumentError, "name");
    expect(nextId(sim)).toBe(before + 1);
  });
});
