import { describe, expect, it } from "vitest";
import { ArgumentError, Completion, condResched, kfree, Sim, SimObject, type Report } from "../../src/index.js";
import { Bo, freeIt, leakAtTeardown } from "../fixtures.js";

function kinds(sim: Sim): string[] {
  return sim.reports.map((r) => r.kind);
}

describe("heap: lifetimes", () => {
  it("gives per-simulation ids and labels", () => {
    const a = new Sim();
    const b = new Sim();
    const x = new SimObject(a, "Thing", { name: "x" });
    const y = new SimObject(a, "Thing");
    const z = new SimObject(b, "Thing");
    expect([x.id, y.id, z.id]).toEqual([1, 2, 1]);
    expect(x.label).toBe('Thing#1 "x"');
    expect(y.label).toBe("Thing#2");
  });

  it("reports a use-after-free with the access, allocation and free sites", () => {
    // 1. main allocates bo          (step 1)
    // 2. closer drops the last ref  (kref_put, then kfree)
    // 3. user reads bo.size         -> use-after-free
    const sim = new Sim({ onReport: "collect", strategy: "round-robin" });
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
    expect(kinds(sim)).toEqual(["use-after-free"]);
    const r = sim.reports[0] as Extract<Report, { kind: "use-after-free" }>;
    expect(r.object).toEqual({ id: 1, type: "Bo", name: "bo0", label: 'Bo#1 "bo0"' });
    expect(r.access).toBe("Bo.size");
    expect(r.accessed.task).toBe("user/3");
    expect(r.allocated).toMatchObject({ task: "main/1", step: 1, op: "new Bo" });
    expect(r.freed).toMatchObject({ task: "closer/2", op: "kfree" });
    expect(r.freed.step).toBeLessThan(r.accessed.step);
    expect(r.refHistory.map((e) => e.op)).toEqual(["init", "put-release"]);
  });

  it("traps every method and accessor of a freed object, with no code in the class", () => {
    class Fence extends SimObject {
      #seqno = 7;
      get seqno(): number {
        return this.#seqno;
      }
      set seqno(v: number) {
        this.#seqno = v;
      }
      signal(): number {
        return this.#seqno;
      }
    }
    const accessOf = (use: (f: Fence) => unknown): string => {
      const sim = new Sim({ onReport: "collect" });
      sim.run(function* () {
        const f = new Fence(sim, "Fence");
        yield* kfree(f);
        use(f);
      });
      const r = sim.reports[0] as Extract<Report, { kind: "use-after-free" }>;
      expect(r.kind).toBe("use-after-free");
      return r.access;
    };
    expect(accessOf((f) => f.signal())).toBe("Fence.signal");
    expect(accessOf((f) => f.seqno)).toBe("Fence.seqno");
    expect(
      accessOf((f) => {
        f.seqno = 9;
      }),
    ).toBe("Fence.seqno");
  });

  it("keeps a freed object's identity: instanceof, label, isFreed, id read quietly", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      const bo = new Bo(sim, "b");
      yield* kfree(bo);
      expect(bo).toBeInstanceOf(Bo);
      expect(bo).toBeInstanceOf(SimObject);
      expect([bo.label, bo.isFreed, bo.id, bo.typeName]).toEqual(['Bo#1 "b"', true, 1, "Bo"]);
      // Probes of members the model does not define (promise checks, symbols) stay quiet too.
      expect((bo as unknown as { then?: unknown }).then).toBeUndefined();
      expect(Object.prototype.toString.call(bo)).toBe("[object Object]");
    });
    expect(sim.reports).toEqual([]);
  });

  it("traps objects embedded in a freed container", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      const job = new SimObject(sim, "Job");
      const done = new Completion(sim, { embeddedIn: job });
      yield* kfree(job);
      done.completionDone();
    });
    const r = sim.reports[0] as Extract<Report, { kind: "use-after-free" }>;
    expect([r.kind, r.access]).toEqual(["use-after-free", "Completion.completionDone"]);
  });

  it("reports only the first bad access to an object, as KASAN does", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      const bo = new Bo(sim);
      yield* kfree(bo);
      expect(bo.size).toBe(4096);
      expect(bo.size).toBe(4096);
      yield* bo.kref.get();
    });
    expect(kinds(sim)).toEqual(["use-after-free"]);
  });

  it("reports a double free with both free sites", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      const o = new SimObject(sim, "Thing");
      yield* kfree(o);
      yield* kfree(o);
    });
    expect(kinds(sim)).toEqual(["double-free"]);
    const r = sim.reports[0] as Extract<Report, { kind: "double-free" }>;
    expect(r.firstFree).toMatchObject({ task: "main/1", step: 2, op: "kfree" });
    expect(r.secondFree).toMatchObject({ task: "main/1", step: 3, op: "kfree" });
    expect(r.allocated.step).toBe(1);
  });

  it("frees embedded objects with their container and names the container", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      const job = new SimObject(sim, "Job", { name: "j" });
      const done = new Completion(sim, { name: "done", embeddedIn: job });
      expect(done.label).toBe('Completion#2 "done" in Job#1 "j"');
      yield* kfree(job);
      expect(done.isFreed).toBe(true);
      yield* done.complete();
    });
    const r = sim.reports[0] as Extract<Report, { kind: "use-after-free" }>;
    expect(r.kind).toBe("use-after-free");
    expect(r.object.label).toBe('Completion#2 "done" in Job#1 "j"');
    expect(r.freed.op).toBe("kfree");
  });

  it("lists every live object with its holders at teardown", () => {
    const sim = new Sim({ onReport: "collect" });
    sim.run(function* () {
      const a = new Bo(sim, "a", "creator");
      yield* a.kref.get("vm");
      yield* a.kref.get();
      const b = new Bo(sim, "b");
      yield* b.kref.put(freeIt);
      new SimObject(sim, "Plain", { name: "c" });
    });
    const leak = leakAtTeardown(sim);
    expect(leak?.kind).toBe("leak");
    expect(leak?.objects.map((o) => o.object.label)).toEqual(['Bo#1 "a"', 'Plain#3 "c"']);
    const a = leak?.objects[0];
    expect(a?.allocated).toMatchObject({ task: "main/1", op: "new Bo" });
    expect(a?.refcounts).toHaveLength(1);
    expect(a?.refcounts[0]?.count).toBe(3);
    expect(a?.refcounts[0]?.holders).toEqual([
      { holder: "creator", count: 1, site: { task: "main/1", step: 1, op: "kref_init" } },
      { holder: "vm", count: 1, site: { task: "main/1", step: 2, op: "kref_get" } },
      { holder: null, count: 1, site: null },
    ]);
    expect(leak?.objects[1]?.refcounts).toEqual([]);
    expect(sim.reports).toEqual([leak]);
  });

  it("teardown files no leak when everything was freed, and never throws", () => {
    const sim = new Sim();
    sim.run(function* () {
      yield* new Bo(sim).kref.put(freeIt);
    });
    expect(leakAtTeardown(sim)).toBeNull();
    const leaky = new Sim();
    new SimObject(leaky, "Thing");
    expect(leakAtTeardown(leaky)?.objects).toHaveLength(1);
  });

  it("static objects are never freed and never leak", () => {
    const sim = new Sim();
    const global = new Completion(sim, { name: "probe_done", static: true });
    expect(() => kfree(global)).toThrow(/statically allocated/);
    expect(leakAtTeardown(sim)).toBeNull();
    expect(sim.liveObjects()).toEqual([]);
  });

  it("liveObjects() lists allocated, unfreed objects in allocation order", () => {
    const sim = new Sim();
    const [a, b] = sim.run(function* () {
      const a = new SimObject(sim, "A");
      const b = new SimObject(sim, "B");
      new SimObject(sim, "Inner", { embeddedIn: b });
      const c = new SimObject(sim, "C");
      yield* kfree(c);
      return [a, b];
    });
    expect(sim.liveObjects()).toEqual([a, b]);
  });

  it("does not report with the lifetimes check off", () => {
    const sim = new Sim({ onReport: "collect", checks: { lifetimes: false } });
    sim.run(function* () {
      const o = new Bo(sim);
      yield* kfree(o);
      yield* kfree(o);
      expect(o.size).toBe(4096);
    });
    expect(sim.reports).toEqual([]);
    expect(leakAtTeardown(sim)).toBeNull();
  });

  it("rejects bad arguments with typed errors", () => {
    const sim = new Sim();
    const other = new Sim();
    const job = new SimObject(sim, "Job");
    const inner = new SimObject(sim, "Inner", { embeddedIn: job });
    expect(() => new SimObject(sim, "")).toThrow(expect.objectContaining({ argument: "typeName" }) as Error);
    expect(() => new SimObject(other, "X", { embeddedIn: job })).toThrow(ArgumentError);
    expect(() => kfree({} as never)).toThrow(expect.objectContaining({ argument: "obj" }) as Error);
    expect(() => kfree(inner)).toThrow(/embedded/);
    expect(job.isFreed).toBe(false);
  });
});

