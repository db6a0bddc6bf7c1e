/**
 * Kref get/put pairs per second inside one task, with the checks on, off,
 * and with holder tags (the most expensive accounting: a site record per
 * get). The ratio says what the default checks cost a scenario that is
 * mostly refcounting.
 *
 * The holder-order rows take HOLDERS references with distinct tags, then
 * put them back first-in-first-out, last-in-first-out and in a fixed
 * shuffled order: holder tracking is O(1) per get and put, so the three
 * rates should be close (a put that searched the holder list made FIFO
 * quadratic: 51 s for 100,000 holders).
 */
import { Kref, Sim, SimObject, type Checks, type Effect } from "../../src/index.js";
import { atLeast, measure, targeted, untargeted, type Entry } from "../harness.js";

const PAIRS = 300_000;
const CHECKS_OFF: Checks = { lifetimes: false, refcounts: false, deadlock: false, unstartedOps: false, lockdep: false, context: false, footprint: false };

class Obj extends SimObject {
  readonly kref = new Kref(this);

  constructor(sim: Sim) {
    super(sim, "Obj");
  }
}

// The initial reference is never put, so release never runs.
function* release(): Generator<Effect, void, unknown> {
  // nothing to free
}

function* untaggedPairs(obj: Obj): Generator<Effect, void, unknown> {
  const kref = obj.kref;
  for (let i = 0; i < PAIRS; i++) {
    yield* kref.get();
    yield* kref.put(release);
  }
}

function* taggedPairs(obj: Obj): Generator<Effect, void, unknown> {
  const kref = obj.kref;
  for (let i = 0; i < PAIRS; i++) {
    yield* kref.get("h");
    yield* kref.put(release, "h");
  }
}

const HOLDERS = 100_000;
const TAGS = Array.from({ length: HOLDERS }, (_, i) => `h${i}`);

/** A permutation of 0..n-1 from a fixed xorshift stream. */
function shuffled(n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  let x = 0x2545f491;
  for (let i = n - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}

const PUT_ORDERS: Record<string, readonly number[]> = {
  FIFO: Array.from({ length: HOLDERS }, (_, i) => i),
  LIFO: Array.from({ length: HOLDERS }, (_, i) => HOLDERS - 1 - i),
  random: shuffled(HOLDERS),
};

/** Gets and puts per second: HOLDERS tagged gets, then the puts in `order`. */
function holderOpsPerSecond(order: readonly number[]): number {
  const m = measure(
    () => {
      const sim = new Sim({ seed: 1, maxSteps: 1e9 });
      const obj = new Obj(sim);
      sim.spawn("refs", "process", function* () {
        const kref = obj.kref;
        for (let i = 0; i < HOLDERS; i++) yield* kref.get(TAGS[i]);
        for (const i of order) yield* kref.put(release, TAGS[i]);
      });
      return { sim, obj };
    },
    ({ sim }) => sim.runAll().outcome,
    3,
  );
  if (m.result !== "done" || m.state.obj.kref.read() !== 1) throw new Error(`kref holder bench ended with ${m.result}, count ${m.state.obj.kref.read()}`);
  return (2 * HOLDERS) / m.seconds;
}

function pairsPerSecond(checksOn: boolean, body: (obj: Obj) => Generator<Effect, void, unknown>): number {
  const m = measure(
    () => {
      const sim = new Sim(checksOn ? { seed: 1, maxSteps: 1e9 } : { seed: 1, maxSteps: 1e9, checks: CHECKS_OFF });
      const obj = new Obj(sim);
      sim.spawn("refs", "process", () => body(obj));
      return { sim, obj };
    },
    ({ sim }) => sim.runAll().outcome,
  );
  if (m.result !== "done" || m.state.obj.kref.read() !== 1) throw new Error(`kref bench ended with ${m.result}, count ${m.state.obj.kref.read()}`);
  return PAIRS / m.seconds;
}

export function krefWorkloads(): Entry[] {
  const on = pairsPerSecond(true, untaggedPairs);
  const off = pairsPerSecond(false, untaggedPairs);
  const tagged = pairsPerSecond(true, taggedPairs);
  return [
    untargeted("kref get/put, checks on", [{ label: "pairs", value: on, unit: "pairs/s" }]),
    untargeted("kref get/put, checks off", [{ label: "pairs", value: off, unit: "pairs/s" }]),
    untargeted("kref get/put, holder tags, checks on", [{ label: "pairs", value: tagged, unit: "pairs/s" }]),
    // Time per pair with checks on over time with them off: the checks' cost factor.
    untargeted("kref get/put, checks on vs off", [{ label: "time on / off", value: off / on, unit: "x" }]),
    ...Object.entries(PUT_ORDERS).map(([name, order]) =>
      // 100k holders at 200k ops/s is one second; quadratic tracking was 51 s for FIFO.
      targeted(`kref ${HOLDERS / 1000}k tagged holders, puts ${name}`, [{ label: "gets+puts", value: holderOpsPerSecond(order), unit: "ops/s" }], atLeast(200_000, "ops/s")),
    ),
  ];
}
