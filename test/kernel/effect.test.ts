/**
 * Effect kinds and footprints: definition, commutation, and how a step's
 * footprint resolves when it runs.
 */
import { describe, expect, it } from "vitest";
import { ArgumentError, Completion, defineEffectKind, Kref, Mutex, Sim, SimObject } from "../../src/index.js";
import { EffectKind, type Effect } from "../../src/kernel/effect.js";
import { dependent, sigOf } from "../../src/explore/strategy/dfs.js";
import type { Task } from "../../src/kernel/task.js";

describe("defineEffectKind", () => {
  it("defines any number of kinds, each with its own progress flag", () => {
    const kinds = Array.from({ length: 70 }, (_, i) => defineEffectKind({ name: `test-kind-${i}`, progress: i % 2 === 0 }));
    expect(kinds.every((k) => k instanceof EffectKind)).toBe(true);
    expect(kinds.filter((k) => k.progress)).toHaveLength(35);
    // Codes come from the name, not from the order of definition.
    expect(new Set(kinds.map((k) => k.code)).size).toBe(70);
  });

  it("makes commutation and never-co-enabled symmetric", () => {
    const a = defineEffectKind({ name: "test-a" });
    const b = defineEffectKind({ name: "test-b", commutesWith: [a, "self"], neverCoEnabledWith: [a] });
    expect([a.commutesWith(b), b.commutesWith(a), b.commutesWith(b), a.commutesWith(a)]).toEqual([true, true, true, false]);
    expect([a.neverCoEnabledWith(b), b.neverCoEnabledWith(a)]).toEqual([true, true]);
  });

  it("lets two kinds share a name: a kind is its object", () => {
    const a = defineEffectKind({ name: "test-dup", commutesWith: ["self"] });
    const b = defineEffectKind({ name: "test-dup" });
    expect(a).not.toBe(b);
    expect([a.commutesWith(a), b.commutesWith(b), a.commutesWith(b)]).toEqual([true, false, false]);
  });

  it.each([
    [null, "spec"],
    [42, "spec"],
    [{ name: "" }, "spec.name"],
    [{ name: "has space" }, "spec.name"],
    [{ name: "line\nbreak" }, "spec.name"],
    [{ name: "x".repeat(65) }, "spec.name"],
    [{ name: 7 }, "spec.name"],
    [{ name: "ok", progress: "no" }, "spec.progress"],
    [{ name: "ok", commutesWith: 5 }, "spec.commutesWith"],
    [{ name: "ok", commutesWith: {} }, "spec.commutesWith"],
    [{ name: "ok", commutesWith: null }, "spec.commutesWith"],
    [{ name: "ok", neverCoEnabledWith: ["other"] }, "spec.neverCoEnabledWith"],
  ])("refuses the spec %j with an ArgumentError naming %s", (spec, argument) => {
    expect(() => defineEffectKind(spec as never)).toThrow(ArgumentError);
    expect(() => defineEffectKind(spec as never)).toThrow(expect.objectContaining({ argument }));
  });

  it("changes nothing when a spec is refused half-way through its lists", () => {
    const a = defineEffectKind({ name: "test-keep" });
    expect(() => defineEffectKind({ name: "test-half", commutesWith: [a, 42 as unknown as EffectKind] })).toThrow(ArgumentError);
    expect(() => defineEffectKind({ name: "test-half", commutesWith: [a], neverCoEnabledWith: ["junk" as "self"] })).toThrow(ArgumentError);
    expect(a.commutes.size).toBe(0);
  });
});

describe("footprints", () => {
  /** The footprint of the effect a task yields first inside `body`. */
  function firstSig(sim: Sim, body: () => Iterable<Effect, unknown, unknown>) {
    let sig: ReturnType<typeof sigOf> | null = null;
    sim.setStrategy({
      pick: () => 0,
      choose: () => 0,
      executed: (t: Task, e: Effect) => {
        if (t.name === "probe" && e.kind.name !== "start" && sig === null) sig = sigOf(sim, t, e);
      },
    });
    sim.spawn("probe", "process", body);
    sim.runAll();
    return sig as unknown as ReturnType<typeof sigOf>;
  }

  it("a trylock writes when it takes the lock and only reads when it is busy", () => {
    // The holder exits with the lock held (a report, collected): the probe's trylock finds it busy.
    const sim = new Sim({ onReport: "collect" });
    const m = new Mutex(sim, "m", { static: true });
    sim.spawn("holder", "process", () => m.lock());
    const busy = firstSig(sim, () => m.trylock());
    expect(busy.main).toMatchObject({ write: false });
    const sim2 = new Sim({ onReport: "collect" });
    const m2 = new Mutex(sim2, "m", { static: true });
    const taken = firstSig(sim2, () => m2.trylock());
    expect(taken.main).toMatchObject({ write: true });
  });

  it("kref gets commute with each other, not with a put; a kref is part of its owner's allocation", () => {
    const sim = new Sim();
    const o = new SimObject(sim, "Bo", { name: "b" });
    const k = new Kref(o);
    const get = firstSig(sim, () => k.get());
    expect(dependent(get, get)).toBe(false);
    expect(get.main?.alloc).toBe(o.id);
    expect(get.main?.key).not.toBe(o.id);
  });

  it("a completion's wait with a timeout touches everything (time is shared)", () => {
    const sim = new Sim();
    const c = new Completion(sim, { name: "c" });
    const wait = firstSig(sim, () => c.waitForCompletionTimeout(10));
    expect(wait.everything).toBe(true);
  });
});
