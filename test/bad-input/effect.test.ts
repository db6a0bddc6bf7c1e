import { describe, expect, it } from "vitest";
import { ArgumentError, defineEffectKind, type EffectKindSpec } from "../../src/index.js";
import { expectThrows } from "./helpers.js";

describe("bad input: defineEffectKind()", () => {
  const base = defineEffectKind({ name: "bad-input-base" });
  const cases: [string, unknown, string][] = [
    ["null", null, "spec"],
    ["a string", "list-add", "spec"],
    ["an array", [], "spec"],
    ["no name", {}, "spec.name"],
    ["a name with spaces", { name: "list add" }, "spec.name"],
    ["an unknown key", { name: "k", progres: true }, "spec.progres"],
    ["progress not a boolean", { name: "k", progress: "yes" }, "spec.progress"],
    ["commutesWith not an array", { name: "k", commutesWith: "self" }, "spec.commutesWith"],
    ["commutesWith with a stranger", { name: "k", commutesWith: [base, 5] }, "spec.commutesWith"],
    ["neverCoEnabledWith with a stranger", { name: "k", neverCoEnabledWith: [base, "other"] }, "spec.neverCoEnabledWith"],
  ];
  for (const [what, spec, argument] of cases) {
    it(`${what} names '${argument}'; no kind is related to another`, () => {
      expectThrows(() => defineEffectKind(spec as EffectKindSpec), ArgumentError, argument);
      expect(base.commutes.size).toBe(0);
      expect(base.exclusive.size).toBe(0);
    });
  }

  it("an unknown key lists the known ones", () => {
    const e = expectThrows(() => defineEffectKind({ name: "k", progres: true } as never), ArgumentError, "spec.progres");
    expect(e.message).toMatch(/did you mean 'progress'/);
  });
});
