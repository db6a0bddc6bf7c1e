import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { formatReport } from "../../src/index.js";
import { catalog } from "../../src/scenarios/catalog.js";
import { runOnce, runSeeds, type SeedRunResult } from "../../src/scenarios/scenario.js";

function texts(run: SeedRunResult): string[] {
  return run.firstFailure?.reports.map(formatReport) ?? [];
}

describe("catalog", () => {
  it("lists the scenarios in order, with kebab-case names and a description", () => {
    expect(catalog.map((c) => c.name)).toEqual([
      "uaf-last-reference",
      "completion-deadlock",
      "shrinker-resv-inversion",
      "alloc-in-fence-signalling",
      "fence-wait-under-lock",
      "flush-work-under-lock",
      "gpuvm-list-walk",
      "vm-bo-last-gem-ref",
      "gem-vmbo-list-locking",
      "vm-who-refcounts-whom",
      "gem-free-vs-shrinker",
      "invalidate-stale-dma",
    ]);
    for (const c of catalog) {
      expect(c.name).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(c.title).not.toBe("");
      const sentences = c.description.split(/[.!?](?:\s|$)/).filter((s) => s.trim() !== "");
      expect(sentences.length).toBeGreaterThanOrEqual(2);
      expect(sentences.length).toBeLessThanOrEqual(4);
    }
  });

  it("is listed in the README's table, in order, with the kind each buggy variant is caught as", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const rows = [...readme.matchAll(/^\| `([a-z0-9-]+)` \| .* \| `([a-z-]+)` \|$/gm)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual(catalog.map((c) => [c.name, c.expect]));
  });

  describe.each(catalog.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    it("buggy variant is caught within 50 executions, with the expected kind", () => {
      const run = runSeeds(c.variants.buggy, { seeds: 50 });
      expect(run.firstFailure?.report.kind).toBe(c.expect);
      expect(run.executions).toBe((run.firstFailure?.executionIndex ?? -1) + 1);
    });

    it("fixed variant passes the whole budget of 200 executions", () => {
      const run = runSeeds(c.variants.fixed);
      expect(run.firstFailure).toBeNull();
      expect(run.executions).toBe(200);
    });

    it("further variants: each caught with its kind within 50 executions, or clean for 100; names unique and kebab-case", () => {
      const names = (c.more ?? []).map((m) => m.name);
      expect(new Set([...names, "buggy", "fixed"]).size).toBe(names.length + 2);
      for (const m of c.more ?? []) {
        expect(m.name).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
        expect(m.title).not.toBe("");
        const run = runSeeds(m.scenario, { seeds: m.expect === null ? 100 : 50 });
        expect(run.firstFailure?.report.kind ?? null).toBe(m.expect);
      }
    });

    it("runSeeds is deterministic: the same results twice", () => {
      for (const variant of [c.variants.buggy, c.variants.fixed]) {
        const a = runSeeds(variant, { seeds: 30, firstSeed: 7 });
        const b = runSeeds(variant, { seeds: 30, firstSeed: 7 });
        expect((b)).toEqual((a));
        // Byte for byte, as the text people read.
        expect(texts(b)).toEqual(texts(a));
      }
    });

    it("the first failure replays alone, from its seed or its replay token", () => {
      const run = runSeeds(c.variants.buggy, { seeds: 50, firstSeed: 100 });
      const failure = run.firstFailure;
      expect(failure).not.toBeNull();
      if (failure === null) return;
      expect(failure.seed).toBe(100 + failure.executionIndex);
      const again = runSeeds(c.variants.buggy, { seeds: 1, firstSeed: failure.seed });
      expect(again.firstFailure?.reports).toEqual(failure.reports);
      expect(runOnce(c.variants.buggy, { replay: failure.report.replay }).reports).toEqual(failure.reports);
    });
  });
});
