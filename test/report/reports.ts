/**
 * One small program per report kind, run with a fixed seed. The text tests
 * pin their exact output in test/report/__snapshots__/, and docs/reports.md
 * shows those files.
 */
import { Completion, condResched, kfree, Sim, SimObject, type Report, type ReportKind } from "../../src/index.js";
import { Bo, freeIt } from "../fixtures.js";

function collect(seed = 1): Sim {
  return new Sim({ seed, onReport: "collect" });
}

export const programs: Record<ReportKind, () => Report> = {
  "use-after-free": () => {
    // 1. closer: kref_put (last)   2. closer: kfree   3. user: bo.size
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      const closer = sim.spawn("closer", "process", function* () {
        yield* bo.kref.put(freeIt);
      });
      sim.spawn("user", "process", function* () {
        while (closer.state !== "done") yield* condResched();
        return bo.size;
      });
    });
    return sim.reports[0] as Report;
  },
  "double-free": () => {
    const sim = collect();
    sim.run(function* () {
      const o = new SimObject(sim, "Thing", { name: "t" });
      yield* kfree(o);
      yield* kfree(o);
    });
    return sim.reports[0] as Report;
  },
  "refcount-underflow": () => {
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0", "creator");
      yield* bo.kref.put(freeIt, "creator");
      yield* bo.kref.put(freeIt, "creator");
    });
    return sim.reports[0] as Report;
  },
  "refcount-inc-from-zero": () => {
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      yield* bo.kref.put(() => undefined);
      yield* bo.kref.get("late");
    });
    return sim.reports[0] as Report;
  },
  "refcount-saturated": () => {
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      bo.kref.set(0x7fffffff);
      yield* bo.kref.get();
    });
    return sim.reports[0] as Report;
  },
  "refcount-holder-mismatch": () => {
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0", "creator");
      yield* bo.kref.get("vm");
      yield* bo.kref.put(freeIt, "shrinker");
    });
    return sim.reports[0] as Report;
  },
  leak: () => {
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0", "creator");
      yield* bo.kref.get("vm");
      yield* bo.kref.get();
    });
    return sim.checkLeaks() as Report;
  },
  deadlock: () => {
    const sim = collect();
    const x = new Completion(sim, { name: "x" });
    const y = new Completion(sim, { name: "y" });
    sim.spawn("A", "process", function* () {
      yield* x.waitForCompletion();
      yield* y.complete();
    });
    sim.spawn("B", "process", function* () {
      yield* y.waitForCompletion();
      yield* x.complete();
    });
    sim.runAll();
    return sim.reports[0] as Report;
  },
  "unstarted-op": () => {
    const sim = collect();
    sim.run(function* () {
      const bo = new Bo(sim, "bo0");
      bo.kref.put(freeIt);
      yield* condResched();
    });
    return sim.reports[0] as Report;
  },
  "step-limit": () => {
    const sim = new Sim({ onReport: "collect", maxSteps: 6 });
    sim.spawn("spinner", "process", function* () {
      for (;;) yield* condResched();
    });
    sim.runAll();
    return sim.reports[0] as Report;
  },
  "task-exception": () => {
    const sim = collect();
    sim.spawn("crash", "process", function* () {
      yield* condResched();
      throw new RangeError("index 7 out of range");
    });
    sim.runAll();
    const r = sim.reports[0] as Report;
    // The JavaScript stack names files on this machine: keep it out of the pinned text.
    return { ...r, stack: undefined } as unknown as Report;
  },
};
