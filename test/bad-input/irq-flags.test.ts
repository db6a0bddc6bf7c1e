/**
 * Every *_unlock_irqrestore() takes only the flags an *_irqsave() returned:
 * anything else is refused at the call, naming `flags` (or its depth), with
 * the lock still held and the task's irq state as it was.
 */
import { describe, expect, it } from "vitest";
import { ArgumentError, ArgumentRangeError, LocalLock, RawSpinLock, RwLock, SpinLock, type IrqFlags, type Op, type Sim } from "../../src/index.js";
import { collectingSim } from "../support/collecting-sim.js";
import { expectThrows } from "./helpers.js";

type Restore = (flags: IrqFlags) => Op<void>;
const LOCKS: [string, (sim: Sim) => { save: () => Op<IrqFlags>; restore: Restore; held: () => boolean }][] = [
  ["SpinLock", (sim) => {
    const l = new SpinLock(sim, "s");
    return { save: () => l.lockIrqsave(), restore: (f) => l.unlockIrqrestore(f), held: () => l.isLocked() };
  }],
  ["RawSpinLock", (sim) => {
    const l = new RawSpinLock(sim, "r");
    return { save: () => l.lockIrqsave(), restore: (f) => l.unlockIrqrestore(f), held: () => l.isLocked() };
  }],
  ["RwLock (read side)", (sim) => {
    const l = new RwLock(sim, "rw");
    return { save: () => l.readLockIrqsave(), restore: (f) => l.readUnlockIrqrestore(f), held: () => l.isLocked() };
  }],
  ["RwLock (write side)", (sim) => {
    const l = new RwLock(sim, "rw");
    return { save: () => l.writeLockIrqsave(), restore: (f) => l.writeUnlockIrqrestore(f), held: () => l.isLocked() };
  }],
  ["LocalLock", (sim) => {
    const l = new LocalLock(sim, "ll");
    return { save: () => l.lockIrqsave(), restore: (f) => l.unlockIrqrestore(f), held: () => l.isLocked() };
  }],
];

const BAD: [string, unknown, typeof ArgumentError | typeof ArgumentRangeError, string][] = [
  ["null", null, ArgumentError, "flags"],
  ["a number", 0, ArgumentError, "flags"],
  ["an object without irqsOff", {}, ArgumentError, "flags.irqsOff"],
  ["irqsOff a string", { irqsOff: "x" }, ArgumentError, "flags.irqsOff"],
  ["irqsOff NaN", { irqsOff: NaN }, ArgumentRangeError, "flags.irqsOff"],
  ["irqsOff -Infinity (once an endless loop)", { irqsOff: -Infinity }, ArgumentRangeError, "flags.irqsOff"],
  ["irqsOff -5", { irqsOff: -5 }, ArgumentRangeError, "flags.irqsOff"],
  ["irqsOff 1e9", { irqsOff: 1e9 }, ArgumentRangeError, "flags.irqsOff"],
];

describe("bad input: irqrestore flags", () => {
  for (const [name, make] of LOCKS) {
    it(`${name}: every bad flags value is refused, the lock stays held and irqs stay off; the real flags then restore`, () => {
      const sim = collectingSim();
      const lock = make(sim);
      const out = sim.run(function* () {
        const flags = yield* lock.save();
        const task = sim.tasks[0];
        for (const [, value, cls, argument] of BAD) {
          expectThrows(() => lock.restore(value as IrqFlags), cls, argument);
          expect(lock.held()).toBe(true);
          expect(task?.irqsOff).toBe(1);
        }
        yield* lock.restore(flags);
        return [lock.held(), task?.irqsOff];
      });
      expect(out).toEqual([false, 0]);
      expect(sim.reports).toEqual([]);
    });
  }
});
