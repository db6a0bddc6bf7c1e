/**
 * Bad input to GemObject (src/drm/gem-object.ts):
 * each case throws the typed error naming the argument, and the state is
 * unchanged (no object made, refcounts, tree and lists as they were).
 */
import { describe, expect, it } from "vitest";
import { expectThrows, nextId } from "./helpers.js";
import {
  ArgumentError,
  ArgumentRangeError,
  GemObject,
  Sim,
} from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";

type Cls = typeof ArgumentError | typeof ArgumentRangeError;

describe("bad input: GemObject", () => {
  const CASES: readonly [string, unknown, Cls, string][] = [
    ["options null", null, ArgumentError, "options"],
    ["no size", {}, ArgumentError, "size"],
    ["size zero", { size: 0 }, ArgumentRangeError, "size"],
    ["size fractional", { size: 1.5 }, ArgumentRangeError, "size"],
    ["size a string", { size: "4096" }, ArgumentError, "size"],
    ["unknown key", { size: 1, color: "red" }, ArgumentError, "color"],
    ["resv not a DmaResv", { size: 1, resv: {} }, ArgumentError, "resv"],
    ["free not a function", { size: 1, free: 3 }, ArgumentError, "free"],
  ];
  it.each(CASES)("%s", (_name, options, cls, argument) => {
    const sim = collectingSim();
    const id = nextId(sim);
    expectThrows(() => new GemObject(sim, options as never), cls, argument);
    expect(nextId(sim)).toBe(id + 1);
  });
  it("a resv of another Sim", () => {
    const sim = collectingSim();
    const other = new GemObject(collectingSim(), { size: 1 });
    const id = nextId(sim);
    expectThrows(() => new GemObject(sim, { size: 1, resv: other.resv }), ArgumentError, "resv");
    expect(nextId(sim)).toBe(id + 1);
  });
  it("not a Sim", () => {
    const notSim: unknown = {};
    expectThrows(() => new GemObject(notSim as Sim, { size: 1 }), ArgumentError, "sim");
  });
});

