/** HeldStack: a task's held-lock stack that keeps its slots. */
import { describe, expect, it } from "vitest";
import { HeldStack } from "../../src/kernel/held-stack.js";
import type { HeldLock } from "../../src/kernel/lockdep.js";

const entry = (n: number) => ({ n }) as unknown as HeldLock;

describe("HeldStack", () => {
  it("pushes, pops and reads newest last, past its first four slots", () => {
    const s = new HeldStack();
    const es = [0, 1, 2, 3, 4, 5].map(entry);
    for (const e of es) s.push(e);
    expect(s.length).toBe(6);
    expect([...s]).toEqual(es);
    expect(s.at(0)).toBe(es[0]);
    expect(s.top()).toBe(es[5]);
    expect(s.pop()).toBe(es[5]);
    expect(s.map((_, i) => i)).toEqual([0, 1, 2, 3, 4]);
  });

  it("removes from the middle, keeping the order of the rest", () => {
    const s = new HeldStack();
    const es = [0, 1, 2, 3].map(entry);
    for (const e of es) s.push(e);
    s.removeAt(1);
    expect([...s]).toEqual([es[0], es[2], es[3]]);
    s.set(0, es[1] as HeldLock);
    expect(s.at(0)).toBe(es[1]);
  });

  it("is empty after clear(), and pop/top of an empty stack give undefined", () => {
    const s = new HeldStack();
    s.push(entry(1));
    s.clear();
    expect(s.length).toBe(0);
    expect(s.pop()).toBeUndefined();
    expect(s.top()).toBeUndefined();
    expect([...s]).toEqual([]);
  });
});
