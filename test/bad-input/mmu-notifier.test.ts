import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, Mm, MmuIntervalNotifier, PhysMem, UsageError, USER_VA_LIMIT } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

const PAGE = 4096;
const ops = { invalidate: () => true };

describe("bad input: MmuIntervalNotifier", () => {
  it("insert(): a bad mm, start, length, ops or options names it; nothing is inserted", () => {
    const sim = collectingSim();
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    let calls = 0;
    const counting = { invalidate: () => (calls++, true) };
    sim.run(function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      expectThrows(() => MmuIntervalNotifier.insert({} as never, a, PAGE, counting), ArgumentError, "mm");
      expectThrows(() => MmuIntervalNotifier.insert(mm, "0" as never, PAGE, ops), ArgumentError, "start");
      expectThrows(() => MmuIntervalNotifier.insert(mm, -1, PAGE, ops), ArgumentRangeError, "start");
      expectThrows(() => MmuIntervalNotifier.insert(mm, a, 0, ops), ArgumentRangeError, "length");
      expectThrows(() => MmuIntervalNotifier.insert(mm, USER_VA_LIMIT - 1, 2, ops), ArgumentRangeError, "length");
      expectThrows(() => MmuIntervalNotifier.insert(mm, a, PAGE, null as never), ArgumentError, "ops");
      expectThrows(() => MmuIntervalNotifier.insert(mm, a, PAGE, {} as never), ArgumentError, "ops.invalidate");
      expectThrows(() => MmuIntervalNotifier.insert(mm, a, PAGE, ops, null as never), ArgumentError, "options");
      expectThrows(() => MmuIntervalNotifier.insert(mm, a, PAGE, ops, { nme: "x" } as never), ArgumentError, "nme");
      expectThrows(() => MmuIntervalNotifier.insert(mm, a, PAGE, counting, { name: 3 } as never), ArgumentError, "name");
      yield* mm.munmap(a, PAGE);
    });
    expect(calls).toBe(0); // nothing was inserted: the munmap called no callback
    expect(sim.reports).toEqual([]);
  });

  it("readRetry() and setSeq() name a bad sequence; remove() twice and readBegin() after remove() are UsageErrors in the task; nothing changes", () => {
    const sim = collectingSim({}, { taskExceptions: "expected" });
    const mem = new PhysMem(sim, { pages: 4 });
    const mm = new Mm(sim, mem, { process: "p1" });
    let n: MmuIntervalNotifier | null = null;
    let seq = 0;
    sim.run(function* () {
      const a = (yield* mm.mmap(PAGE)) as number;
      n = yield* MmuIntervalNotifier.insert(mm, a, PAGE, ops);
      seq = yield* n.readBegin();
      expectThrows(() => n?.readRetry("1" as never), ArgumentError, "seq");
      expectThrows(() => n?.readRetry(0.5), ArgumentRangeError, "seq");
      expectThrows(() => n?.setSeq(Number.NaN), ArgumentRangeError, "curSeq");
      expect(n.readRetry(seq)).toBe(false);
      yield* n.remove();
    });
    const removed = n as unknown as MmuIntervalNotifier;
    for (const op of [() => removed.remove(), () => removed.readBegin()]) {
      sim.spawn("again", "process", function* () {
        yield* op();
      });
      sim.runAll();
    }
    expect(sim.reports.map((r) => r.kind)).toEqual(["task-exception", "task-exception"]);
    expect(JSON.stringify(sim.reports)).toContain("already removed");
    expect(UsageError.name).toBe("UsageError");
    expect(removed.isRemoved).toBe(true);
  });
});
