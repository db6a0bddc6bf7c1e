/**
 * VaTree (src/drm/va-tree.ts): every operation, every refusal leaving the
 * tree unchanged, and fast-check property tests comparing random operation
 * sequences against a linear-scan oracle (a sorted array), including range
 * walks and prev/next. Leaves hold 128 entries, so the long sequences split
 * and merge leaves many times.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ArgumentError, VaTree } from "../../src/index.js";
import { main as vaTreeExample } from "../../examples/va-tree.js";
import { expectThrows } from "../bad-input/helpers.js";

interface E {
  addr: number;
  end: number;
  value: string;
}

/** The oracle: a sorted array searched linearly. */
class Oracle {
  readonly entries: E[] = [];

  insert(addr: number, range: number, value: string): "ok" | "addr" | "range" {
    const end = addr + range;
    if (this.entries.some((e) => e.addr <= addr && addr < e.end)) return "addr";
    if (this.entries.some((e) => e.addr > addr && e.addr < end)) return "range";
    this.entries.push({ addr, end, value });
    this.entries.sort((a, b) => a.addr - b.addr);
    return "ok";
  }

  remove(addr: number): string | undefined {
    const i = this.entries.findIndex((e) => e.addr === addr);
    if (i < 0) return undefined;
    return this.entries.splice(i, 1)[0]?.value;
  }

  containing(addr: number): string | undefined {
    return this.entries.find((e) => e.addr <= addr && addr < e.end)?.value;
  }

  find(addr: number, range: number): string | undefined {
    return this.entries.find((e) => e.addr === addr && e.end === addr + range)?.value;
  }

  overlapping(addr: number, range: number): E[] {
    return this.entries.filter((e) => e.addr < addr + range && e.end > addr);
  }

  prev(addr: number): string | undefined {
    return this.entries.filter((e) => e.addr < addr).at(-1)?.value;
  }

  next(addr: number): string | undefined {
    return this.entries.find((e) => e.addr > addr)?.value;
  }
}

function contents<T>(tree: VaTree<T>): [number, number, T][] {
  return tree.entries().map((e) => [e.addr, e.range, e.value]);
}

function filled(ranges: readonly [number, number][]): VaTree<string> {
  const tree = new VaTree<string>();
  for (const [a, r] of ranges) tree.insert(a, r, `v${a.toString(16)}`);
  return tree;
}

describe("VaTree", () => {
  it("starts empty: size 0, every query undefined, no entries, sound", () => {
    const tree = new VaTree<string>();
    expect(tree.size).toBe(0);
    expect(tree.findContaining(0x1000)).toBeUndefined();
    expect(tree.find(0x1000, 0x1000)).toBeUndefined();
    expect(tree.firstOverlap(0, 0x10000)).toBeUndefined();
    expect(tree.prev(0x1000)).toBeUndefined();
    expect(tree.next(0x1000)).toBeUndefined();
    expect(tree.remove(0x1000)).toBeUndefined();
    expect(tree.forEachInRange(0, 0x10000, () => undefined)).toBe(0);
    expect(tree.entries()).toEqual([]);
    expect(tree.checkInvariants()).toEqual([]);
  });

  it("insert keeps address order whatever the insertion order; size counts", () => {
    const tree = filled([[0x5000, 0x1000], [0x1000, 0x2000], [0x8000, 0x1000], [0x3000, 0x1000]]);
    expect(tree.size).toBe(4);
    expect(contents(tree)).toEqual([[0x1000, 0x2000, "v1000"], [0x3000, 0x1000, "v3000"], [0x5000, 0x1000, "v5000"], [0x8000, 0x1000, "v8000"]]);
    expect(tree.checkInvariants()).toEqual([]);
  });

  it("insert of adjacent ranges (end == next start) is allowed", () => {
    const tree = filled([[0x1000, 0x1000], [0x2000, 0x1000], [0, 0x1000]]);
    expect(tree.size).toBe(3);
    expect(tree.checkInvariants()).toEqual([]);
  });

  it("insert refuses an addr inside an entry: ArgumentError naming addr, tree unchanged", () => {
    const tree = filled([[0x1000, 0x2000], [0x5000, 0x1000]]);
    const before = contents(tree);
    for (const a of [0x1000, 0x1fff, 0x2fff]) expectThrows(() => { tree.insert(a, 0x10, "x"); }, ArgumentError, "addr");
    expect(contents(tree)).toEqual(before);
    expect(tree.size).toBe(2);
  });

  it("insert refuses a range reaching into the next entry (or covering it): ArgumentError naming range, tree unchanged", () => {
    const tree = filled([[0x1000, 0x2000], [0x5000, 0x1000]]);
    const before = contents(tree);
    expectThrows(() => { tree.insert(0x3000, 0x2001, "x"); }, ArgumentError, "range");
    expectThrows(() => { tree.insert(0, 0x100000, "x"); }, ArgumentError, "range");
    expectThrows(() => { tree.insert(0x4000, 0x4000, "x"); }, ArgumentError, "range");
    expect(contents(tree)).toEqual(before);
    expect(tree.size).toBe(2);
  });

  it("findContaining: first byte, last byte, gaps, before the first and after the last entry", () => {
    const tree = filled([[0x1000, 0x2000], [0x5000, 0x1000]]);
    expect(tree.findContaining(0x1000)).toBe("v1000");
    expect(tree.findContaining(0x2fff)).toBe("v1000");
    expect(tree.findContaining(0x3000)).toBeUndefined();
    expect(tree.findContaining(0xfff)).toBeUndefined();
    expect(tree.findContaining(0x5fff)).toBe("v5000");
    expect(tree.findContaining(0x6000)).toBeUndefined();
  });

  it("find is exact: same addr and same range only", () => {
    const tree = filled([[0x1000, 0x2000]]);
    expect(tree.find(0x1000, 0x2000)).toBe("v1000");
    expect(tree.find(0x1000, 0x1000)).toBeUndefined();
    expect(tree.find(0x2000, 0x1000)).toBeUndefined();
  });

  it("firstOverlap: the lowest entry overlapping, including one starting before addr", () => {
    const tree = filled([[0x1000, 0x2000], [0x5000, 0x1000]]);
    expect(tree.firstOverlap(0x2000, 0x10)).toBe("v1000");
    expect(tree.firstOverlap(0x3000, 0x2000)).toBeUndefined();
    expect(tree.firstOverlap(0x3000, 0x2001)).toBe("v5000");
    expect(tree.firstOverlap(0, 0x10000)).toBe("v1000");
  });

  it("forEachInRange visits overlapping entries in order, passes addr and range, stops on false", () => {
    const tree = filled([[0x1000, 0x2000], [0x3000, 0x1000], [0x5000, 0x1000], [0x7000, 0x1000]]);
    const seen: [string, number, number][] = [];
    expect(tree.forEachInRange(0x2fff, 0x2002, (v, a, r) => { seen.push([v, a, r]); })).toBe(3);
    expect(seen).toEqual([["v1000", 0x1000, 0x2000], ["v3000", 0x3000, 0x1000], ["v5000", 0x5000, 0x1000]]);
    const first: string[] = [];
    expect(tree.forEachInRange(0, 0x10000, (v) => { first.push(v); return first.length < 2; })).toBe(2);
    expect(first).toEqual(["v1000", "v3000"]);
  });

  it("entries(addr, range) lists the overlapping entries; entries() lists all", () => {
    const tree = filled([[0x1000, 0x1000], [0x3000, 0x1000]]);
    expect(tree.entries(0x1800, 0x1801).map((e) => e.value)).toEqual(["v1000", "v3000"]);
    expect(tree.entries(0x2000, 0x1000)).toEqual([]);
    expect(tree.entries().length).toBe(2);
  });

  it("prev and next of an entry, and of any address", () => {
    const tree = filled([[0x1000, 0x1000], [0x3000, 0x1000], [0x5000, 0x1000]]);
    expect(tree.prev(0x1000)).toBeUndefined();
    expect(tree.prev(0x3000)).toBe("v1000");
    expect(tree.next(0x3000)).toBe("v5000");
    expect(tree.next(0x5000)).toBeUndefined();
    expect(tree.prev(0x3800)).toBe("v3000");
    expect(tree.next(0)).toBe("v1000");
    expect(tree.prev(0)).toBeUndefined();
  });

  it("remove takes out the entry starting at addr and returns its value; another addr changes nothing", () => {
    const tree = filled([[0x1000, 0x2000], [0x5000, 0x1000]]);
    expect(tree.remove(0x1800)).toBeUndefined();
    expect(tree.remove(0x4000)).toBeUndefined();
    expect(tree.size).toBe(2);
    expect(tree.remove(0x1000)).toBe("v1000");
    expect(tree.size).toBe(1);
    expect(tree.findContaining(0x1800)).toBeUndefined();
    expect(tree.remove(0x1000)).toBeUndefined();
    expect(contents(tree)).toEqual([[0x5000, 0x1000, "v5000"]]);
    expect(tree.checkInvariants()).toEqual([]);
  });

  it("clear empties the tree; it is usable again", () => {
    const tree = filled([[0x1000, 0x2000], [0x5000, 0x1000]]);
    tree.clear();
    expect(tree.size).toBe(0);
    expect(tree.entries()).toEqual([]);
    tree.insert(0x1000, 0x1000, "again");
    expect(tree.findContaining(0x1000)).toBe("again");
    expect(tree.checkInvariants()).toEqual([]);
  });

  it("the ends of the safe range: addr 0, and a range ending at Number.MAX_SAFE_INTEGER", () => {
    const tree = new VaTree<string>();
    tree.insert(0, 1, "zero");
    tree.insert(Number.MAX_SAFE_INTEGER - 0x1000, 0x1000, "top");
    expect(tree.findContaining(0)).toBe("zero");
    expect(tree.findContaining(Number.MAX_SAFE_INTEGER - 1)).toBe("top");
    expect(tree.findContaining(Number.MAX_SAFE_INTEGER)).toBeUndefined();
    expect(tree.entries().length).toBe(2);
  });

  it("many entries (leaves split, then merge while removing): queries and invariants hold throughout", () => {
    const tree = new VaTree<number>();
    const n = 2000;
    // A fixed permutation of 0..n-1 (multiplier coprime with n).
    const order = Array.from({ length: n }, (_, i) => (i * 769) % n);
    for (const i of order) tree.insert(i * 0x2000, 0x1000, i);
    expect(tree.checkInvariants()).toEqual([]);
    expect(tree.size).toBe(n);
    for (let i = 0; i < n; i++) {
      expect(tree.findContaining(i * 0x2000 + 0xfff)).toBe(i);
      expect(tree.findContaining(i * 0x2000 + 0x1000)).toBeUndefined();
    }
    let count = 0;
    tree.forEachInRange(0, n * 0x2000, (v) => { expect(v).toBe(count++); });
    expect(count).toBe(n);
    for (let k = 0; k < n; k++) {
      const i = order[(k * 7) % n] as number;
      expect(tree.remove(i * 0x2000)).toBe(i);
      if (k % 97 === 0) expect(tree.checkInvariants()).toEqual([]);
    }
    expect(tree.size).toBe(0);
    expect(tree.checkInvariants()).toEqual([]);
  });

  describe("property: random operations agree with a linear-scan oracle", () => {
    const PAGE = 0x1000;
    const addrArb = fc.integer({ min: 0, max: 600 }).map((p) => p * PAGE);
    const rangeArb = fc.integer({ min: 1, max: 6 }).map((p) => p * PAGE);
    const jitter = fc.integer({ min: 0, max: PAGE - 1 });
    const command = fc.oneof(
      { weight: 6, arbitrary: fc.tuple(fc.constant("insert" as const), addrArb, rangeArb) },
      { weight: 2, arbitrary: fc.tuple(fc.constant("remove" as const), addrArb, rangeArb) },
      { weight: 1, arbitrary: fc.tuple(fc.constant("query" as const), addrArb, rangeArb, jitter) },
    );

    function check(tree: VaTree<string>, oracle: Oracle, addr: number, range: number, j: number): void {
      expect(tree.size).toBe(oracle.entries.length);
      expect(tree.findContaining(addr + j)).toBe(oracle.containing(addr + j));
      expect(tree.find(addr, range)).toBe(oracle.find(addr, range));
      const over = oracle.overlapping(addr + j, range);
      expect(tree.firstOverlap(addr + j, range)).toBe(over[0]?.value);
      const walked: [number, number, string][] = [];
      tree.forEachInRange(addr + j, range, (v, a, r) => { walked.push([a, r, v]); });
      expect(walked).toEqual(over.map((e) => [e.addr, e.end - e.addr, e.value]));
      expect(tree.prev(addr + j)).toBe(oracle.prev(addr + j));
      expect(tree.next(addr + j)).toBe(oracle.next(addr + j));
    }

    it("insert / remove / queries, with full comparison at the end", () => {
      fc.assert(
        fc.property(fc.array(command, { maxLength: 700 }), (cmds) => {
          const tree = new VaTree<string>();
          const oracle = new Oracle();
          let n = 0;
          for (const c of cmds) {
            if (c[0] === "insert") {
              const value = `e${n++}`;
              const want = oracle.insert(c[1], c[2], value);
              if (want === "ok") tree.insert(c[1], c[2], value);
              else expectThrows(() => { tree.insert(c[1], c[2], value); }, ArgumentError, want);
            } else if (c[0] === "remove") {
              expect(tree.remove(c[1])).toBe(oracle.remove(c[1]));
            } else {
              check(tree, oracle, c[1], c[2], c[3]);
            }
          }
          expect(tree.checkInvariants()).toEqual([]);
          expect(contents(tree)).toEqual(oracle.entries.map((e) => [e.addr, e.end - e.addr, e.value]));
          for (const e of oracle.entries) {
            expect(tree.prev(e.addr)).toBe(oracle.prev(e.addr));
            expect(tree.next(e.addr)).toBe(oracle.next(e.addr));
          }
        }),
        { numRuns: 60, seed: 0x5eed },
      );
    });

    it("dense fill then drain in random orders: invariants after every change", () => {
      fc.assert(
        fc.property(fc.shuffledSubarray(Array.from({ length: 400 }, (_, i) => i), { minLength: 400 }), fc.shuffledSubarray(Array.from({ length: 400 }, (_, i) => i), { minLength: 400 }), (ins, rem) => {
          const tree = new VaTree<string>();
          const oracle = new Oracle();
          for (const i of ins) {
            tree.insert(i * PAGE, PAGE, `e${i}`);
            oracle.insert(i * PAGE, PAGE, `e${i}`);
          }
          expect(tree.checkInvariants()).toEqual([]);
          for (const i of rem) {
            expect(tree.remove(i * PAGE)).toBe(oracle.remove(i * PAGE));
            expect(tree.checkInvariants()).toEqual([]);
            check(tree, oracle, i * PAGE, 3 * PAGE, 0);
          }
          expect(tree.size).toBe(0);
        }),
        { numRuns: 10, seed: 7 },
      );
    });
  });
});

describe("docs/va-tree.md example", () => {
  it("looks up, walks a range, refuses an overlap naming addr, removes", () => {
    expect(vaTreeExample()).toBe(
      [
        "containing 0x14800: B",
        "containing 0x18000: none",
        "overlapping [0x13000, +0xe000): A@0x10000+0x4000 B@0x14000+0x1000 C@0x20000+0x2000",
        "after B: C, before B: A",
        "refused: addr",
        "removed B; 2 left",
      ].join("\n"),
    );
  });
});
