/**
 * Cost of use-after-free protection per method call, measured outside any
 * task: the same trivial method on a plain class and on a SimObject
 * subclass. A SimObject is protected by swapping a freed object's prototype
 * for a trap (src/kernel/heap.ts), so a live object should cost what a plain
 * one does; these figures check that, also after objects of many classes
 * were freed, and show the price of the slow path on a freed object.
 *
 * A trivial method is about a nanosecond, so everything here is about not
 * measuring something else: each class and method gets its own loop
 * function (a shared one would make its call site polymorphic), the loop
 * bound is an argument (a module constant costs a TDZ check per
 * iteration), the loops are optimised by many short calls before the long
 * timed ones (so the timed code is the regular optimised function, not an
 * on-stack-replacement entry), and the two sides' runs alternate.
 */
import { kfree, Sim, SimObject } from "../../src/index.js";
import { atMost, measureInterleaved, sink, targeted, untargeted, type Entry, type Figure } from "../harness.js";

const CALLS = 50_000_000;
const RUNS = 7;
const TARGET_OVERHEAD_PERCENT = 30;
const JIT_WARMUP_CALLS = 200;
const JIT_WARMUP_LENGTH = 20_000;

/** Not a SimObject: the baseline. */
class Plain {
  readonly #x: number;
  readonly #y: number;

  constructor() {
    this.#x = 1;
    this.#y = 2;
  }

  value(): number {
    return this.#x + 1;
  }

  mix(): number {
    return this.#x * 3 + this.#y;
  }
}

/** The same methods on a SimObject, protected against use after free. */
class Guarded extends SimObject {
  readonly #x: number;
  readonly #y: number;

  constructor(sim: Sim, typeName = "Guarded") {
    super(sim, typeName);
    this.#x = 1;
    this.#y = 2;
  }

  value(): number {
    return this.#x + 1;
  }

  mix(): number {
    return this.#x * 3 + this.#y;
  }
}

/** Guarded again, as a separate class so its loops are optimised only after `freeManyClasses()`. */
class LateGuarded extends SimObject {
  readonly #x: number;

  constructor(sim: Sim) {
    super(sim, "LateGuarded");
    this.#x = 1;
  }

  value(): number {
    return this.#x + 1;
  }
}

function plainValues(o: Plain, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += o.value();
  return acc;
}

function guardedValues(o: Guarded, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += o.value();
  return acc;
}

function plainMixes(o: Plain, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += o.mix();
  return acc;
}

function guardedMixes(o: Guarded, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += o.mix();
  return acc;
}

function lateGuardedValues(o: LateGuarded, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += o.value();
  return acc;
}

/**
 * A real scenario frees objects of many SimObject subclasses (Bo, Vm,
 * Completion, …), each getting its own trapping prototype. Free eight
 * classes' objects and call methods on them, so any global effect on live
 * objects would show in the next measurement.
 */
function freeManyClasses(sim: Sim): Guarded[] {
  const classes = Array.from({ length: 8 }, () => class extends Guarded {});
  const objects = classes.map((C, k) => new C(sim, `Shape${k}`));
  sim.run(function* () {
    for (const o of objects) yield* kfree(o);
  });
  return objects;
}

function freedValues(o: Guarded, n: number): number {
  let acc = 0;
  for (let i = 0; i < n; i++) acc += o.value();
  return acc;
}

function warmUp(loop: (n: number) => number): void {
  for (let i = 0; i < JIT_WARMUP_CALLS; i++) sink(loop(JIT_WARMUP_LENGTH));
}

function compare(plain: (n: number) => number, guarded: (n: number) => number): Figure[] {
  warmUp(plain);
  warmUp(guarded);
  const [tp, tg] = measureInterleaved([() => plain(CALLS), () => guarded(CALLS)], RUNS) as [number, number];
  const p = (tp / CALLS) * 1e9;
  const g = (tg / CALLS) * 1e9;
  return [
    { label: "plain class", value: p, unit: "ns/call" },
    { label: "SimObject", value: g, unit: "ns/call" },
    { label: "protection cost", value: ((g - p) / p) * 100, unit: "%" },
  ];
}

export function guardWorkloads(): Entry[] {
  // Reports from the freed-object loop are the point of it: collect them.
  const sim = new Sim({ onReport: "collect" });
  const plain = new Plain();
  const guarded = new Guarded(sim);
  const trivial = compare(
    (n) => plainValues(plain, n),
    (n) => guardedValues(guarded, n),
  );
  const twoFields = compare(
    (n) => plainMixes(plain, n),
    (n) => guardedMixes(guarded, n),
  );
  const freed = freeManyClasses(sim);
  const late = new LateGuarded(sim);
  const afterFrees = compare(
    (n) => plainValues(plain, n),
    (n) => lateGuardedValues(late, n),
  );
  // The slow path: every call on a freed object goes through the trap.
  const victim = freed[0] as Guarded;
  const slowCalls = 200_000;
  const [slow] = measureInterleaved([() => freedValues(victim, slowCalls)], 3) as [number];
  return [
    targeted("UAF protection, trivial method (this.#x + 1)", trivial, atMost(TARGET_OVERHEAD_PERCENT, "%")),
    untargeted("UAF protection, two-field method", twoFields),
    untargeted("UAF protection, after freeing 8 classes' objects", afterFrees),
    untargeted("call on a freed object (trap, reported once)", [{ label: "slow path", value: (slow / slowCalls) * 1e9, unit: "ns/call" }]),
  ];
}
