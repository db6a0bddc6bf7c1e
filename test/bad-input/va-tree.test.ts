/**
 * Bad input to VaTree: each case throws the typed error naming the
 * argument (`addr`, `range`, `fn`) and leaves the tree as it was (same
 * entries, same size, sound).
 */
import { describe, expect, it } from "vitest";
import { expectThrows } from "./helpers.js";
import { ArgumentError, ArgumentRangeError, VaTree } from "../../src/index.js";

type Call = (t: VaTree<string>) => unknown;

const MAX = Number.MAX_SAFE_INTEGER;

/** Bad `addr` values and the error each gives. */
const BAD_ADDRS: readonly [string, unknown, typeof ArgumentError | typeof ArgumentRangeError][] = [
  ["a string", "0x1000", ArgumentError],
  ["a bigint", 0x1000n, ArgumentError],
  ["undefined", undefined, ArgumentError],
  ["negative", -0x1000, ArgumentRangeError],
  ["fractional", 0x1000 + 0.5, ArgumentRangeError],
  ["NaN", NaN, ArgumentRangeError],
  ["Infinity", Infinity, ArgumentRangeError],
  ["past 2^53", 2 ** 53, ArgumentRangeError],
];

/** Bad `range` values (with a good addr) and the error each gives. */
const BAD_RANGES: readonly [string, unknown, typeof ArgumentError | typeof ArgumentRangeError][] = [
  ["a string", "0x1000", ArgumentError],
  ["null", null, ArgumentError],
  ["zero", 0, ArgumentRangeError],
  ["negative", -0x1000, ArgumentRangeError],
  ["fractional", 1.5, ArgumentRangeError],
  ["NaN", NaN, ArgumentRangeError],
  ["past the safe range with addr", MAX, ArgumentRangeError],
];

const ADDR_TAKERS: readonly [string, (t: VaTree<string>, a: number) => unknown][] = [
  ["insert", (t, a) => { t.insert(a, 0x1000, "x"); }],
  ["remove", (t, a) => t.remove(a)],
  ["find", (t, a) => t.find(a, 0x1000)],
  ["findContaining", (t, a) => t.findContaining(a)],
  ["firstOverlap", (t, a) => t.firstOverlap(a, 0x1000)],
  ["forEachInRange", (t, a) => t.forEachInRange(a, 0x1000, () => undefined)],
  ["entries", (t, a) => t.entries(a, 0x1000)],
  ["prev", (t, a) => t.prev(a)],
  ["next", (t, a) => t.next(a)],
];

const RANGE_TAKERS: readonly [string, (t: VaTree<string>, r: number) => unknown][] = [
  ["insert", (t, r) => { t.insert(0x10000, r, "x"); }],
  ["find", (t, r) => t.find(0x10000, r)],
  ["firstOverlap", (t, r) => t.firstOverlap(0x10000, r)],
  ["forEachInRange", (t, r) => t.forEachInRange(0x10000, r, () => undefined)],
  ["entries", (t, r) => t.entries(0x10000, r)],
];

function tree(): VaTree<string> {
  const t = new VaTree<string>();
  t.insert(0x1000, 0x2000, "a");
  t.insert(0x5000, 0x1000, "b");
  return t;
}

function snapshot(t: VaTree<string>): unknown {
  return { size: t.size, entries: t.entries(), problems: t.checkInvariants() };
}

describe("VaTree: bad input", () => {
  const cases: [string, Call, typeof ArgumentError | typeof ArgumentRangeError, string][] = [];
  for (const [method, call] of ADDR_TAKERS) {
    for (const [what, addr, cls] of BAD_ADDRS) {
      // entries() with no addr lists everything: undefined is its default, not bad input.
      if (method === "entries" && addr === undefined) continue;
      cases.push([`${method}: addr ${what}`, (t) => call(t, addr as number), cls, "addr"]);
    }
  }
  for (const [method, call] of RANGE_TAKERS) {
    for (const [what, range, cls] of BAD_RANGES) cases.push([`${method}: range ${what}`, (t) => call(t, range as number), cls, "range"]);
  }
  cases.push(
    ["insert: addr inside an entry", (t) => { t.insert(0x2000, 0x100, "x"); }, ArgumentError, "addr"],
    ["insert: addr at an entry's start", (t) => { t.insert(0x5000, 0x1000, "x"); }, ArgumentError, "addr"],
    ["insert: range reaching into the next entry", (t) => { t.insert(0x3000, 0x2001, "x"); }, ArgumentError, "range"],
    ["insert: range covering entries", (t) => { t.insert(0, 0x10000, "x"); }, ArgumentError, "range"],
    ["forEachInRange: fn missing", (t) => t.forEachInRange(0, 0x1000, undefined as never), ArgumentError, "fn"],
    ["forEachInRange: fn not a function", (t) => t.forEachInRange(0, 0x1000, "visit" as never), ArgumentError, "fn"],
  );

  for (const [name, call, cls, argument] of cases) {
    it(`${name}: ${cls.name} naming ${argument}, tree unchanged`, () => {
      const t = tree();
      const before = snapshot(t);
      expectThrows(() => call(t), cls, argument);
      expect(snapshot(t)).toEqual(before);
    });
  }

  it("an empty tree refuses bad input too (validation comes before the empty shortcut)", () => {
    const t = new VaTree<string>();
    expectThrows(() => t.findContaining(-1), ArgumentRangeError, "addr");
    expectThrows(() => t.remove(NaN), ArgumentRangeError, "addr");
    expectThrows(() => t.prev("1" as never), ArgumentError, "addr");
    expectThrows(() => t.next(0.5), ArgumentRangeError, "addr");
    expectThrows(() => t.find(0, 0), ArgumentRangeError, "range");
    expect(t.size).toBe(0);
  });
});
