/** current(): the running task, set by the scheduler around each step. */
import { describe, expect, it } from "vitest";
import { current, Sim, UsageError } from "../../src/index.js";
import { currentOrNull } from "../../src/kernel/current.js";

describe("current()", () => {
  it("is the running task inside a task, and nobody outside", () => {
    const sim = new Sim();
    expect(() => current()).toThrow(UsageError);
    expect(currentOrNull()).toBeNull();
    const seen = sim.run(function* () {
      yield* [];
      return current().label;
    });
    expect(seen).toBe("main/1");
    expect(currentOrNull()).toBeNull();
  });

  it("follows the task that runs each step", () => {
    const sim = new Sim({ strategy: "round-robin" });
    const seen: string[] = [];
    for (const name of ["a", "b"]) {
      sim.spawn(name, "process", function* () {
        seen.push(current().name);
        yield* sim.choose(1);
        seen.push(current().name);
      });
    }
    sim.runAll();
    expect(seen.sort()).toEqual(["a", "a", "b", "b"]);
  });
});
