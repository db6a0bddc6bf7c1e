/**
 * Bad input to the scenario loader (src/explore/load.ts): each is refused
 * with a typed error naming the argument, and loads nothing.
 */
import { describe, expect, it } from "vitest";
import { findScenarios, loadScenario } from "../../src/explore/load.js";
import { ArgumentError, loadedCopies } from "../../src/index.js";
import { FIXTURE, ROOT } from "../cli/helpers.js";

async function expectRefused(f: () => Promise<unknown>, argument: string): Promise<void> {
  const copies = loadedCopies();
  const e = await f().then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ArgumentError);
  expect(e).toMatchObject({ argument });
  expect(loadedCopies()).toEqual(copies);
}

describe("findScenarios", () => {
  const cases: [string, () => Promise<unknown>, string][] = [
    ["a module that is not a string", () => findScenarios(42 as unknown as string, undefined, false, ROOT), "module"],
    ["an empty module", () => findScenarios("", undefined, false, ROOT), "module"],
    ["an empty export", () => findScenarios(FIXTURE, "", false, ROOT), "export"],
    ["all not a boolean", () => findScenarios(FIXTURE, undefined, "yes" as unknown as boolean, ROOT), "all"],
    ["an empty cwd", () => findScenarios(FIXTURE, undefined, false, ""), "cwd"],
    ["an export and all", () => findScenarios(FIXTURE, "abba", true, ROOT), "export"],
    ["a missing file", () => findScenarios("test/cli/fixtures/nope.ts", undefined, false, ROOT), "module"],
    ["a missing export", () => findScenarios(FIXTURE, "nope", false, ROOT), "export"],
    ["a dotted path to nothing", () => findScenarios(FIXTURE, "abba.variants.fixed", false, ROOT), "export"],
    ["a class", () => findScenarios(FIXTURE, "Helper", false, ROOT), "export"],
    ["a module without scenarios, with all", () => findScenarios("test/cli/fixtures/no-scenarios.ts", undefined, true, ROOT), "module"],
  ];
  for (const [what, f, argument] of cases) {
    it(`refuses ${what}`, async () => {
      await expectRefused(f, argument);
    });
  }
});

describe("loadScenario", () => {
  it("refuses a relative module path and a missing export", async () => {
    await expectRefused(() => loadScenario({ module: FIXTURE, export: "abba" }), "target.module");
    await expectRefused(() => loadScenario({ module: `${ROOT}${FIXTURE}`, export: "nope" }), "target.export");
  });
});
