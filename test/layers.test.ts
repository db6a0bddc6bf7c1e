/**
 * Layers: every file of src/ imports only from its own layer or a lower one,
 * and no files import each other in a circle.
 *
 * Layers, lowest first: report and shared (errors.ts, version.ts); kernel;
 * locking; dma-buf; drm; device; explore; scenarios; cli; top (index.ts,
 * vitest.ts). The rules and the graph are in scripts/import-graph.ts;
 * `npm run layers` prints the graph by layer.
 *
 * Value-import cycles are forbidden everywhere: with one, which module's
 * top-level values are still undefined while another loads depends on the
 * entry point. Type-only cycles (`import type`, erased by TypeScript) are
 * allowed inside one layer directory: they never load a module, and breaking
 * them would take an interface per class that only repeats the class (Sim
 * names its Tasks, each Task its Sim). A type-only cycle across layers is
 * forbidden, as it always means one layer knows a higher one.
 */
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkGraph, layerOf, readImportGraph, type ImportEdge, type ImportGraph } from "../scripts/import-graph.js";

const SRC = fileURLToPath(new URL("../src", import.meta.url));

function graph(files: string[], edges: [from: string, to: string, typeOnly?: boolean][]): ImportGraph {
  const list: ImportEdge[] = edges.map(([from, to, typeOnly]) => ({ from, to, specifier: `./${to}`, typeOnly: typeOnly === true }));
  return { files, edges: list };
}

describe("src/ layers", () => {
  it("import only downwards, with no value-import cycle and no cycle across layers", () => {
    const g = readImportGraph(SRC);
    expect(g.files.length).toBeGreaterThan(30);
    expect(g.edges.length).toBeGreaterThan(100);
    expect(checkGraph(g)).toEqual([]);
  });

  it("nothing in src/kernel imports src/locking, and nothing in src/report imports another layer but the shared errors", () => {
    const g = readImportGraph(SRC);
    expect(g.edges.filter((e) => e.from.startsWith("kernel/") && e.to.startsWith("locking/"))).toEqual([]);
    expect(g.edges.filter((e) => e.from.startsWith("report/") && !e.to.startsWith("report/") && e.to !== "errors.ts")).toEqual([]);
  });
});

describe("checkGraph", () => {
  it("names the file, the import and both layers of an upward import", () => {
    const g = graph(["kernel/sim.ts", "locking/lockdep.ts"], [["kernel/sim.ts", "locking/lockdep.ts"]]);
    expect(checkGraph(g)).toEqual([
      'kernel/sim.ts (layer kernel) imports "./locking/lockdep.ts" = locking/lockdep.ts (layer locking), a higher layer',
    ]);
  });

  it("reports a type-only upward import too, saying it is type-only", () => {
    const g = graph(["report/text.ts", "kernel/task.ts"], [["report/text.ts", "kernel/task.ts", true]]);
    expect(checkGraph(g)).toEqual([
      'report/text.ts (layer report) imports type-only "./kernel/task.ts" = kernel/task.ts (layer kernel), a higher layer',
    ]);
  });

  it("allows downward imports and imports of errors.ts from every layer", () => {
    const g = graph(
      ["errors.ts", "report/report.ts", "kernel/sim.ts", "locking/mutex.ts", "index.ts"],
      [
        ["errors.ts", "report/report.ts", true],
        ["kernel/sim.ts", "errors.ts"],
        ["locking/mutex.ts", "kernel/sim.ts"],
        ["index.ts", "locking/mutex.ts"],
      ],
    );
    expect(checkGraph(g)).toEqual([]);
  });

  it("lists a value-import cycle's files in import order", () => {
    const g = graph(
      ["kernel/op.ts", "kernel/sim.ts", "kernel/task.ts"],
      [
        ["kernel/sim.ts", "kernel/task.ts"],
        ["kernel/task.ts", "kernel/op.ts"],
        ["kernel/op.ts", "kernel/sim.ts"],
      ],
    );
    expect(checkGraph(g)).toEqual(["value import cycle: kernel/op.ts -> kernel/sim.ts -> kernel/task.ts -> kernel/op.ts"]);
  });

  it("allows a type-only cycle inside one layer", () => {
    const g = graph(
      ["kernel/sim.ts", "kernel/task.ts"],
      [
        ["kernel/sim.ts", "kernel/task.ts"],
        ["kernel/task.ts", "kernel/sim.ts", true],
      ],
    );
    expect(checkGraph(g)).toEqual([]);
  });

  it("reports a type-only cycle across layers, besides its upward import", () => {
    const g = graph(
      ["kernel/sim.ts", "locking/lockdep.ts"],
      [
        ["locking/lockdep.ts", "kernel/sim.ts"],
        ["kernel/sim.ts", "locking/lockdep.ts", true],
      ],
    );
    expect(checkGraph(g)).toEqual([
      'kernel/sim.ts (layer kernel) imports type-only "./locking/lockdep.ts" = locking/lockdep.ts (layer locking), a higher layer',
      "import cycle across layers kernel, locking: kernel/sim.ts -> locking/lockdep.ts -> kernel/sim.ts",
    ]);
  });

  it("reports a file that belongs to no layer", () => {
    expect(layerOf("misc/helper.ts")).toBeNull();
    expect(checkGraph(graph(["misc/helper.ts"], []))).toEqual([
      "misc/helper.ts: belongs to no layer (add its directory to LAYERS in scripts/import-graph.ts)",
    ]);
  });
});

describe("readImportGraph", () => {
  it("tells `import type` from a value import, and `import { type X }` counts as a value import", () => {
    const g = readImportGraph(SRC);
    const find = (from: string, to: string) => g.edges.find((e) => e.from === from && e.to === to);
    expect(find("kernel/task.ts", "kernel/sim.ts")?.typeOnly).toBe(true);
    expect(find("kernel/sim.ts", "kernel/task.ts")?.typeOnly).toBe(false);
    expect(find("index.ts", "explore/strategy/dfs.ts")?.typeOnly).toBe(true);
  });
});
