/**
 * Every report kind's data type is exported from the package: a user who
 * narrows `Report` by `kind` can name the type of what they get.
 */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const dir = new URL("../../src/report/", import.meta.url);
const index = readFileSync(new URL("../../src/index.ts", import.meta.url), "utf8");

describe("report types", () => {
  it("every `interface ...Report extends ReportBase` in src/report is exported from src/index.ts", () => {
    const missing: string[] = [];
    for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
      const text = readFileSync(new URL(file, dir), "utf8");
      for (const m of text.matchAll(/export interface (\w+Report) extends ReportBase/g)) {
        const name = m[1] as string;
        if (!new RegExp(`\\b${name}\\b`).test(index)) missing.push(`${name} (${file})`);
      }
    }
    expect(missing).toEqual([]);
  });
});
