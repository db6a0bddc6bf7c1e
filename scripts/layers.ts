/**
 * Print src/'s import graph by layer: for each layer, how many files it has
 * and which layers its files import (with how many of its files import each),
 * then any layering problem test/layers.test.ts would fail on.
 *
 * Usage: npm run layers
 */
import { fileURLToPath } from "node:url";
import { checkGraph, layerSummary, readImportGraph } from "./import-graph.js";

const graph = readImportGraph(fileURLToPath(new URL("../src", import.meta.url)));
console.log("layer      files  imports (layer: importing files)");
for (const { layer, files, imports } of layerSummary(graph)) {
  const list = [...imports].map(([to, n]) => `${to}: ${n}`).join(", ");
  console.log(`${layer.padEnd(10)} ${String(files).padStart(5)}  ${list === "" ? "-" : list}`);
}
const types = graph.edges.filter((e) => e.typeOnly).length;
console.log(`${graph.files.length} files, ${graph.edges.length} imports (${types} type-only)`);
const problems = checkGraph(graph);
for (const p of problems) console.log(`PROBLEM: ${p}`);
if (problems.length === 0) console.log("no upward import, no value-import cycle, no cycle across layers");
process.exitCode = problems.length === 0 ? 0 : 1;
