/**
 * Laws every refcounted object type obeys. A new type joins with one line in
 * `types` below; later issues add GEM objects, VM/BO links, VMs and fences.
 */
import { describe, expect, it } from "vitest";
import { Completion, GemObject, kfree, Kref, Sim, SimObject, type Effect, type Op, type Report } from "../../src/index.js";
import { Bo, freeIt, leakAtTeardown } from "../fixtures.js";

/** How the laws drive one object type. */
interface Refcounted<T> {
  readonly name: string;
  /** Create an object holding one reference, tagged `holder`. */
  create(sim: Sim, holder: string): T;
  get(obj: T, holder: string): Op<unknown>;
  put(obj: T, holder: string): Op<unknown>;
  isFreed(obj: T): boolean;
}

/** A job with an embedded completion, freed as one allocation. */
class Job extends SimObject {
  readonly kref: Kref<Job>;
  readonly done: Completion;
  constructor(sim: Sim, holder: string) {
    super(sim, "Job");
    this.kref = new Kref<Job>(this, { holder });
    this.done = new Completion(sim, { name: "done", embeddedIn: this });
  }
}

function* freeJob(job: Job): Generator<Effect, void, unknown> {
  yield* kfree(job);
}

/** Erase the object type so different types share one table. */
function law<T>(type: Refcounted<T>): Refcounted<unknown> {
  return type;
}

const types: Refcounted<unknown>[] = [
  law<Bo>({ name: "Bo (Kref, kfree on release)", create: (s, h) => new Bo(s, "bo", h), get: (o, h) => o.kref.get(h), put: (o, h) => o.kref.put(freeIt, h), isFreed: (o) => o.isFreed }),
  law<Job>({ name: "Job (Kref, embedded Completion)", create: (s, h) => new Job(s, h), get: (o, h) => o.kref.get(h), put: (o, h) => o.kref.put(freeJob, h), isFreed: (o) => o.isFreed }),
  law<GemObject>({ name: "GemObject (own resv, fini and kfree on release)", create: (s) => new GemObject(s, { size: 4096 }), get: (o, h) => o.get(h), put: (o, h) => o.put(h), isFreed: (o) => o.isFreed }),
];

function kindOf<K extends Report["kind"]>(sim: Sim, kind: K): Extract<Report, { kind: K }> {
  expect(sim.reports.map((r) => r.kind)).toEqual([kind]);
  return sim.reports[0] as Extract<Report, { kind: K }>;
}

describe.each(types)("refcount laws: $name", (type) => {
  it("balanced gets and puts free the object and leave nothing behind", () => {
    const sim = new Sim({ onReport: "collect" });
    const freed = sim.run(function* () {
      const obj = type.create(sim, "creator");
      for (const h of ["a", "b", "c"]) yield* type.get(obj, h);
      for (const h of ["b", "a", "c", "creator"]) yield* type.put(obj, h);
      return type.isFreed(obj);
    });
    expect(freed).toBe(true);
    expect(sim.reports).toEqual([]);
    expect(leakAtTeardown(sim)).toBeNull();
  });

  it("balanced gets and puts from three tasks, in any interleaving, leave nothing behind", () => {
    for (let seed = 0; seed < 25; seed++) {
      const sim = new Sim({ seed, onReport: "collect" });
      const obj = type.create(sim, "creator");
      sim.run(function* () {
        for (const h of ["u1", "u2", "u3"]) {
          // ORDER: take the user's reference before the user can run.
          yield* type.get(obj, h);
          sim.spawn(h, "process", function* () {
            yield* type.put(obj, h);
          });
        }
        yield* type.put(obj, "creator");
      });
      expect(sim.reports).toEqual([]);
      expect(type.isFreed(obj)).toBe(true);
    }
  });

  it("an extra put reports underflow naming the extra put and the put that zeroed the count", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      const obj = type.create(sim, "creator");
      yield* type.put(obj, "creator");
      yield* type.put(obj, "creator");
    });
    const r = kindOf(sim, "refcount-underflow");
    expect(r.zeroedBy).toMatchObject({ task: "main/1", step: 2, op: "kref_put" });
    expect(r.put.op).toBe("kref_put");
    expect(r.put.step).toBeGreaterThan(2);
    expect(r.freed?.op).toBe("kfree");
  });

  it("a get after the last put reports an increment from zero", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      const obj = type.create(sim, "creator");
      yield* type.put(obj, "creator");
      yield* type.get(obj, "late");
    });
    const r = kindOf(sim, "refcount-inc-from-zero");
    expect(r.zeroedBy?.op).toBe("kref_put");
    expect(r.get.op).toBe("kref_get");
  });

  it("teardown with a reference still held reports a leak naming its holder", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      const obj = type.create(sim, "creator");
      yield* type.get(obj, "forgetful");
      yield* type.put(obj, "creator");
    });
    const leak = leakAtTeardown(sim);
    expect(leak?.objects).toHaveLength(1);
    expect(leak?.objects[0]?.refcounts[0]?.holders).toEqual([
      { holder: "forgetful", count: 1, site: { task: "main/1", step: 2, op: "kref_get" } },
    ]);
  });

  it("a put by a holder that holds nothing is reported", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      const obj = type.create(sim, "creator");
      yield* type.get(obj, "a");
      yield* type.put(obj, "b");
    });
    expect(kindOf(sim, "refcount-holder-mismatch").holder).toBe("b");
  });
});
