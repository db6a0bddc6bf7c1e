/** RwLock refuses bad arguments with typed errors naming them, and changes nothing. */
import { describe, expect, it } from "vitest";
import { ArgumentError, RwLock } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectArgError, nextId } from "./lock-helpers.js";

describe("RwLock: bad input", () => {
  it("constructor: empty class name, bad options; nothing is made", () => {
    const sim = collectingSim();
    const before = nextId(sim);
    expectArgError(() => new RwLock(sim, ""), ArgumentError, "className");
    expectArgError(() => new RwLock(sim, "l", null as never), ArgumentError, "options");
    expectArgError(() => new RwLock(sim, "l", { queue: true } as never), ArgumentError, "queue");
    expectArgError(() => new RwLock(sim, "l", { queued: "yes" } as never), ArgumentError, "queued");
    expectArgError(() => new RwLock(sim, "l", { name: {} } as never), ArgumentError, "name");
    expect(nextId(sim)).toBe(before + 1);
  });
});
