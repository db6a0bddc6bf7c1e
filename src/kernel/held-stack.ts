/**
 * HeldStack: a task's held-lock stack (and its free list of entries).
 *
 * Why not a plain array: a lock is taken and released over and over, so the
 * stack goes from empty to one entry and back at every pair. V8 drops an
 * array's backing store when its length reaches 0 (pop(), `length = 0`,
 * splice(): each, outside optimised code), and the next push() allocates a
 * new one of 17 slots, about 150 bytes per lock taken. This stack keeps its
 * slots: only `length` moves.
 */
import type { HeldLock } from "./lockdep.js";

/** @internal */
export class HeldStack {
  // Four slots to start with: an empty array's first push allocates 17
  // (about 150 bytes), and a task seldom holds more than a few locks.
  private readonly items: (HeldLock | null)[] = [null, null, null, null];
  /** How many entries it holds, oldest first. */
  length = 0;

  /** The entry at `i` (0 = oldest); `i` must be below `length`. */
  at(i: number): HeldLock {
    return this.items[i] as HeldLock;
  }

  /** The newest entry, or undefined when empty. */
  top(): HeldLock | undefined {
    return this.length === 0 ? undefined : (this.items[this.length - 1] as HeldLock);
  }

  set(i: number, h: HeldLock): void {
    this.items[i] = h;
  }

  push(h: HeldLock): void {
    this.items[this.length++] = h;
  }

  /** Remove and return the newest entry, or undefined when empty. */
  pop(): HeldLock | undefined {
    if (this.length === 0) return undefined;
    const h = this.items[--this.length] as HeldLock;
    // Nothing may keep a released entry alive through the stack.
    this.items[this.length] = null;
    return h;
  }

  /** Remove the entry at `i`, moving the newer ones down. */
  removeAt(i: number): void {
    const last = this.length - 1;
    for (let k = i; k < last; k++) this.items[k] = this.items[k + 1] as HeldLock;
    this.pop();
  }

  /** Forget every entry (their slots stay). */
  clear(): void {
    while (this.length > 0) this.pop();
  }

  map<T>(f: (h: HeldLock, i: number) => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < this.length; i++) out.push(f(this.items[i] as HeldLock, i));
    return out;
  }

  *[Symbol.iterator](): Iterator<HeldLock> {
    for (let i = 0; i < this.length; i++) yield this.items[i] as HeldLock;
  }
}
