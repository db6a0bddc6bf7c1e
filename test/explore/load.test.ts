/**
 * Loading scenario modules (the CLI tests load whole modules through it).
 */
import { describe, expect, it } from "vitest";
import { loadScenario, moduleUrl } from "../../src/explore/load.js";

const target = { module: "/abs/scenarios.js", export: "abba" };

describe("load", () => {
  it("turns module paths into file URLs and names a bad target", () => {
    expect(moduleUrl(target)).toBe("file:///abs/scenarios.js");
    expect(moduleUrl({ module: "file:///x.js", export: "y" })).toBe("file:///x.js");
    expect(() => moduleUrl({ module: "", export: "y" })).toThrow(expect.objectContaining({ argument: "target.module" }) as Error);
    expect(() => moduleUrl({ module: "/x.js", export: "" })).toThrow(expect.objectContaining({ argument: "target.export" }) as Error);
  });

  it("reaches into objects with a dotted export", async () => {
    const module = new URL("./fixtures/scenarios.ts", import.meta.url).href;
    expect(typeof (await loadScenario({ module, export: "abba" }))).toBe("function");
    await expect(loadScenario({ module, export: "nope.abba" })).rejects.toThrow(expect.objectContaining({ argument: "target.export" }) as Error);
  });
});
