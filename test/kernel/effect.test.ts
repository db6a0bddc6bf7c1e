import { describe, expect, it } from "vitest";
import { Completion, Effect, Sim, SimObject } from "../../src/index.js";

describe("Effect", () => {
  it("describes itself for schedules", () => {
    const sim = new Sim();
    const o = new SimObject(sim, "Bo", { name: "b" });
    const c = new Completion(sim, { name: "c" });
    expect(new Effect("resched", null).describe()).toBe("resched");
    expect(new Effect("kref-get", o).describe()).toBe('kref-get Bo#1 "b"');
    expect(new Effect("wait-completion", c, c).describe()).toBe('wait-completion Completion#2 "c"');
  });

  it("never blocks unless it names a waitable, and has no deadline by default", () => {
    const e = new Effect("resched", null);
    expect(e.waitsFor).toBeNull();
    expect(e.deadline).toBe(Infinity);
  });
});
