/**
 * Cost of the use-after-free guard (`SimObject.guard`) per method call,
 * measured outside any task: plain JavaScript calls on two otherwise
 * identical classes, one of which guards.
 *
 * A trivial method is about a nanosecond, so everything here is about not
 * measuring something else: each class and method gets its own loop
 * function (a shared one would make its call site polymorphic), the loop
 * bound is an argument (a module constant costs a TDZ check per
 * iteration), the loops are optimised by many short calls before the long
 * timed ones (so the timed code is the regular optimised function, not an
 * on-stack-replacement entry), and plain and guarded runs alternate.
 */
import { Sim, SimObject } from "../../src/index.js";
import { atMost, measureInterleaved, sink, targeted, untargeted, type Entry, type Figure } from "../harness.js";

const CALLS = 50_000_000;
const RUNS = 7;
const TARGET_OVERHEAD_PERCENT = 30;
const JIT_WARMUP_CALLS = 200;
const JIT_WARMUP_LENGTH = 20_000;

class Plain extends SimObject {
  private readonly x: number;
  private readonly y: number;

  constructor(sim: Sim) {
    super(sim, "Plain");
    this.x = 1;
    this.y = 2;
  }

  value(): number {
    return this.x + 1;
  }

  mix(): number {
    return this.x * 3 + this.y;
  }
}

class Guarded extends SimObject {
  private readonly x: number;
  private readonly y: number;

  constructor(sim: Sim, typeName = "Guarded") {
    super(sim, typeName);
    this.x = 1;
    this.y = 2;
  }

  value(): number {
    this.guard("Guarded.value");
    return this.x + 1;
  }

  mix(): number {
    this.guard("Guarded.mix");
    return this.x * 3 + this.y;
  }
}

/** Guarded again, as a separate class so its loops are optimised only after `polluteGuardFeedback()`. */
class LateGuarded extends SimObject {
  private readonly x: number;

  constructor(sim: Sim) {
    super(sim, "LateGuarded");
    this.x = 1;
  }

  value(): number {
    this.guard("LateGuarded.value");
    return this.x + 1;
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
 * A real scenario calls `guard()` on many SimObject subclasses (Bo, Vm,
 * Completion, …), each with its own hidden class, so the property loads
 * inside `guard()` see more shapes than V8 handles polymorphically (4).
 * Calling it through eight distinct subclasses reproduces that.
 */
function polluteGuardFeedback(sim: Sim): void {
  const classes = Array.from({ length: 8 }, () => class extends Guarded {});
  const objects = classes.map((C, k) => new C(sim, `Shape${k}`));
  for (let i = 0; i < 10_000; i++) for (const o of objects) sink(o.value());
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
    { label: "plain method", value: p, unit: "ns/call" },
    { label: "guarded method", value: g, unit: "ns/call" },
    { label: "guard overhead", value: ((g - p) / p) * 100, unit: "%" },
  ];
}

export function guardWorkloads(): Entry[] {
  const sim = new Sim();
  const plain = new Plain(sim);
  const guarded = new Guarded(sim);
  const trivial = compare(
    (n) => plainValues(plain, n),
    (n) => guardedValues(guarded, n),
  );
  const twoFields = compare(
    (n) => plainMixes(plain, n),
    (n) => guardedMixes(guarded, n),
  );
  // Last: once guard()'s feedback is megamorphic it stays so for the process.
  polluteGuardFeedback(sim);
  const late = new LateGuarded(sim);
  const megamorphic = compare(
    (n) => plainValues(plain, n),
    (n) => lateGuardedValues(late, n),
  );
  return [
    targeted("guard, trivial method (this.x + 1)", trivial, atMost(TARGET_OVERHEAD_PERCENT, "%")),
    untargeted("guard, two-field method (this.x * 3 + this.y)", twoFields),
    untargeted("guard, trivial method, guard() seen on 9+ classes", megamorphic),
  ];
}
