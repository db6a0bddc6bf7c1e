/**
 * `npm run bench [-- name...]`: run the workloads, print a table, and write
 * bench/results.json. Names (`scheduler`, `kref`, `fence`, `dfs`, `drm-exec`, `resv`, `memory`, `va-tree`, `split-merge`, `page-table`, `engine`, `toy-driver`, `guard`) select a subset.
 *
 * To add a workload, export a function returning Entry[] from a module in
 * bench/workloads/ and list it in WORKLOADS.
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { formatValue, sunkValue, type Entry } from "./harness.js";
import { dfsWorkloads } from "./workloads/dfs.js";
import { drmExecWorkloads } from "./workloads/drm-exec.js";
import { exploreWorkloads } from "./workloads/explore.js";
import { fenceWorkloads } from "./workloads/fence.js";
import { guardWorkloads } from "./workloads/guard.js";
import { krefWorkloads } from "./workloads/kref.js";
import { lockWorkloads } from "./workloads/locks.js";
import { toyDriverWorkloads } from "./workloads/toy-driver.js";
import { memoryWorkloads } from "./workloads/memory.js";
import { pageTableWorkloads } from "./workloads/page-table.js";
import { engineWorkloads } from "./workloads/engine.js";
import { resvWorkloads } from "./workloads/resv.js";
import { schedulerWorkloads } from "./workloads/scheduler.js";
import { splitMergeWorkloads } from "./workloads/split-merge.js";
import { vaTreeWorkloads } from "./workloads/va-tree.js";

const WORKLOADS: readonly { readonly name: string; readonly run: () => Entry[] }[] = [
  { name: "scheduler", run: schedulerWorkloads },
  { name: "kref", run: krefWorkloads },
  { name: "locks", run: lockWorkloads },
  { name: "toy-driver", run: toyDriverWorkloads },
  { name: "fence", run: fenceWorkloads },
  { name: "explore", run: exploreWorkloads },
  { name: "dfs", run: dfsWorkloads },
  { name: "drm-exec", run: drmExecWorkloads },
  { name: "resv", run: resvWorkloads },
  { name: "memory", run: memoryWorkloads },
  { name: "va-tree", run: vaTreeWorkloads },
  { name: "split-merge", run: splitMergeWorkloads },
  { name: "page-table", run: pageTableWorkloads },
  { name: "engine", run: engineWorkloads },
  // Keep last: it frees objects of many classes, which later workloads should not inherit.
  { name: "guard", run: guardWorkloads },
];

const COLUMNS = [50, 16, 18, 16, 4] as const;

function row(cells: readonly string[]): string {
  return cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(COLUMNS[i] ?? 0))).join(" ").trimEnd();
}

/** The entry's rows; target and met go on the first figure in the target's unit. */
function rows(e: Entry): string[] {
  const targetRow = e.target === null ? -1 : e.figures.findIndex((f) => f.unit === e.target?.unit);
  return e.figures.map((f, i) => {
    const target = i === targetRow && e.target !== null ? e.target.description : "";
    const met = i === targetRow && e.met !== null ? (e.met ? "yes" : "NO") : "";
    return row([i === 0 ? e.name : "", f.label, formatValue(f.value, f.unit), target, met]);
  });
}

function main(): void {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !WORKLOADS.some((x) => x.name === w));
  if (unknown.length > 0) {
    console.error(`unknown workload ${unknown.join(", ")}; known: ${WORKLOADS.map((w) => w.name).join(", ")}`);
    process.exitCode = 2;
    return;
  }
  if (globalThis.gc === undefined) console.error("note: run with --expose-gc (npm run bench) for steadier timings");
  const started = process.hrtime.bigint();
  const entries: Entry[] = [];
  console.log(row(["workload", "figure", "value", "target", "met"]));
  for (const w of WORKLOADS) {
    if (wanted.length > 0 && !wanted.includes(w.name)) continue;
    // Rows are printed as each workload finishes, so a slow run shows progress.
    for (const e of w.run()) {
      entries.push(e);
      for (const line of rows(e)) console.log(line);
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    platform: `${process.platform}-${process.arch}`,
    cpu: cpus()[0]?.model ?? "unknown",
    cpus: cpus().length,
    gcExposed: globalThis.gc !== undefined,
    seconds,
    workloads: entries,
  };
  writeFileSync(new URL("./results.json", import.meta.url), JSON.stringify(results, null, 2) + "\n");
  const missed = entries.filter((e) => e.met === false).length;
  console.log(`\n${entries.length} workloads in ${seconds.toFixed(1)} s; ${missed === 0 ? "every target met" : `${missed} target(s) NOT met`}; wrote bench/results.json (checksum ${sunkValue()})`);
}

main();
