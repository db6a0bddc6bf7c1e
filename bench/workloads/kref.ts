/**
 * Kref get/put pairs per second inside one task, with the checks on, off,
 * and with holder tags (the most expensive accounting: a site record per
 * get). The ratio says what the default checks cost a scenario that is
 * mostly refcounting.
 */
import { Kref, Sim, SimObject, type Checks, type Effect } from "../../src/index.js";
import { measure, untargeted, type Entry } from "../harness.js";

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
  ];
}
