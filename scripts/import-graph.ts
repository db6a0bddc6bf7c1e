/**
 * The import graph of src/ and the layering rules it must follow.
 *
 * Layers, lowest first; a file may import only from its own layer or a lower
 * one (copies.ts, errors.ts, validate.ts and version.ts sit at the bottom, so everyone
 * may import them):
 *
 *   report, shared (copies.ts, errors.ts, validate.ts, version.ts)
 *   kernel ← locking ← dma-buf ← drm ← device
 *   explore ← scenarios ← cli ← top (index.ts, vitest.ts)
 *
 * Edges are "value" or "type". A type edge is an `import type` or `export
 * type` declaration: TypeScript erases it, so it never loads the module. An
 * `import { type A }` is a value edge: under `verbatimModuleSyntax` it is
 * emitted as `import {} from`, which still loads (and orders) the module.
 *
 * Rules checked by {@link checkGraph}:
 * - no import from a higher layer (value or type);
 * - no cycle of value imports at all (a cycle makes module load order, and so
 *   which top-level values are still undefined, depend on the entry point);
 * - no cycle of imports of any kind that spans more than one layer. A
 *   type-only cycle inside one layer directory is allowed: it costs nothing
 *   at run time, and breaking it would mean an interface per class (Sim and
 *   Task name each other in their fields) that only repeats the class.
 *
 * Used by test/layers.test.ts and scripts/layers.ts (`npm run layers`).
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import ts from "typescript";

/** Layer names, lowest first. Entries of the same rank may import each other. */
export const LAYERS: readonly { readonly name: string; readonly rank: number }[] = [
  { name: "report", rank: 0 },
  { name: "shared", rank: 0 },
  { name: "kernel", rank: 1 },
  { name: "locking", rank: 2 },
  { name: "dma-buf", rank: 3 },
  { name: "drm", rank: 4 },
  { name: "device", rank: 5 },
  { name: "explore", rank: 6 },
  { name: "scenarios", rank: 7 },
  { name: "cli", rank: 8 },
  { name: "top", rank: 9 },
];

const SHARED_FILES = new Set(["copies.ts", "errors.ts", "validate.ts", "version.ts"]);
const TOP_FILES = new Set(["index.ts", "vitest.ts"]);

/** One import of one file of src/ from another. */
export interface ImportEdge {
  /** Importing file, relative to src/ with forward slashes (`kernel/sim.ts`). */
  readonly from: string;
  /** Imported file, same form. */
  readonly to: string;
  /** The specifier as written (`../report/text.js`). */
  readonly specifier: string;
  /** Whether TypeScript erases the import (`import type`, `export type`). */
  readonly typeOnly: boolean;
}

/** Files (relative to src/) and the imports between them. */
export interface ImportGraph {
  readonly files: readonly string[];
  readonly edges: readonly ImportEdge[];
}

/** The layer of a file given relative to src/, or null if it belongs to none. */
export function layerOf(file: string): string | null {
  const slash = file.indexOf("/");
  if (slash < 0) {
    if (SHARED_FILES.has(file)) return "shared";
    if (TOP_FILES.has(file)) return "top";
    return null;
  }
  const dir = file.slice(0, slash);
  return LAYERS.some((l) => l.name === dir) ? dir : null;
}

function rankOf(layer: string): number {
  const found = LAYERS.find((l) => l.name === layer);
  if (found === undefined) throw new Error(`unknown layer ${layer}`);
  return found.rank;
}

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTs(path));
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
  }
  return out;
}

function specifierEdges(source: ts.SourceFile): { specifier: string; typeOnly: boolean }[] {
  const out: { specifier: string; typeOnly: boolean }[] = [];
  for (const st of source.statements) {
    if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
      out.push({ specifier: st.moduleSpecifier.text, typeOnly: st.importClause?.phaseModifier === ts.SyntaxKind.TypeKeyword });
    } else if (ts.isExportDeclaration(st) && st.moduleSpecifier !== undefined && ts.isStringLiteral(st.moduleSpecifier)) {
      out.push({ specifier: st.moduleSpecifier.text, typeOnly: st.isTypeOnly });
    }
  }
  // Dynamic imports with a literal specifier load the module too.
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg !== undefined && ts.isStringLiteral(arg)) out.push({ specifier: arg.text, typeOnly: false });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

function toKey(srcDir: string, path: string): string {
  return relative(srcDir, path).split(sep).join("/");
}

/** Parse every .ts file under `srcDir` and return the graph of relative imports between them. */
export function readImportGraph(srcDir: string): ImportGraph {
  const root = resolve(srcDir);
  const paths = listTs(root).sort();
  const files = paths.map((p) => toKey(root, p));
  const known = new Set(files);
  const edges: ImportEdge[] = [];
  for (const path of paths) {
    const from = toKey(root, path);
    const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    for (const { specifier, typeOnly } of specifierEdges(source)) {
      if (!specifier.startsWith(".")) continue;
      const target = toKey(root, resolve(dirname(path), specifier.replace(/\.js$/, ".ts")));
      if (!known.has(target)) throw new Error(`${from}: cannot resolve import "${specifier}"`);
      edges.push({ from, to: target, specifier, typeOnly });
    }
  }
  return { files, edges };
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(files: readonly string[], edges: readonly ImportEdge[]): { cycle: string[]; component: string[] }[] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) next.get(e.from)?.push(e.to);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let counter = 0;
  const strong = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (next.get(v) ?? []).includes(v)) out.push(scc);
    }
  };
  for (const f of files) if (!index.has(f)) strong(f);
  return out.map((scc) => ({ cycle: orderCycle(scc, next), component: [...scc].sort() }));
}

/** The shortest cycle through the component's first file (by name), in import order. */
function orderCycle(scc: readonly string[], next: ReadonlyMap<string, string[]>): string[] {
  const start = [...scc].sort()[0] as string;
  if ((next.get(start) ?? []).includes(start)) return [start];
  const members = new Set(scc);
  let best: string[] | null = null;
  for (const w of next.get(start) ?? []) {
    if (!members.has(w)) continue;
    const back = shortestPath(w, start, members, next);
    if (back !== null && (best === null || back.length + 1 < best.length)) best = [start, ...back.slice(0, -1)];
  }
  return best ?? [start];
}

/** The shortest path from `from` to `to` inside `members`, both ends included; null if none. */
function shortestPath(from: string, to: string, members: ReadonlySet<string>, next: ReadonlyMap<string, string[]>): string[] | null {
  const prev = new Map<string, string | null>([[from, null]]);
  const queue = [from];
  while (queue.length > 0) {
    const v = queue.shift() as string;
    if (v === to) {
      const path: string[] = [];
      for (let p: string | null | undefined = v; p !== null && p !== undefined; p = prev.get(p)) path.push(p);
      return path.reverse();
    }
    for (const w of next.get(v) ?? []) {
      if (members.has(w) && !prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return null;
}

/** A cycle of the component that takes `edge` (which must lie inside it). */
function cycleThrough(edge: ImportEdge, scc: readonly string[], edges: readonly ImportEdge[]): string[] {
  const next = new Map<string, string[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const back = shortestPath(edge.to, edge.from, new Set(scc), next) ?? [edge.to];
  return [edge.from, ...back.slice(0, -1)];
}

/**
 * Every layering violation of `graph`, as messages: upward imports, value
 * import cycles, and import cycles (of any kind) spanning layers. Empty when
 * the graph is clean. Files outside every layer are violations too.
 */
export function checkGraph(graph: ImportGraph): string[] {
  const problems: string[] = [];
  for (const f of graph.files) {
    if (layerOf(f) === null) problems.push(`${f}: belongs to no layer (add its directory to LAYERS in scripts/import-graph.ts)`);
  }
  for (const e of graph.edges) {
    const a = layerOf(e.from);
    const b = layerOf(e.to);
    if (a === null || b === null) continue;
    if (rankOf(b) > rankOf(a)) {
      problems.push(
        `${e.from} (layer ${a}) imports ${e.typeOnly ? "type-only " : ""}"${e.specifier}" = ${e.to} (layer ${b}), a higher layer`,
      );
    }
  }
  const valueEdges = graph.edges.filter((e) => !e.typeOnly);
  const valueCycles = cycles(graph.files, valueEdges);
  for (const c of valueCycles) problems.push(`value import cycle: ${describeCycle(c)}`);
  const inValueCycle = new Set(valueCycles.flatMap((c) => c.component));
  for (const c of cycles(graph.files, graph.edges)) {
    const layers = new Set(c.component.map((f) => layerOf(f)));
    // Layers of one rank (report and the shared errors.ts) may import each other's types.
    const ranks = new Set(c.component.map((f) => {
      const l = layerOf(f);
      return l === null ? -1 : rankOf(l);
    }));
    if (ranks.size > 1 && !c.component.every((f) => inValueCycle.has(f))) {
      // Show a cycle that does cross layers: one through its first upward edge.
      const members = new Set(c.component);
      const rank = (f: string): number => {
        const layer = layerOf(f);
        return layer === null ? -1 : rankOf(layer);
      };
      const inside = graph.edges.filter((e) => members.has(e.from) && members.has(e.to) && layerOf(e.from) !== layerOf(e.to));
      const across = inside.find((e) => rank(e.to) > rank(e.from)) ?? inside[0];
      const cycle = across === undefined ? c.cycle : cycleThrough(across, c.component, graph.edges);
      problems.push(`import cycle across layers ${[...layers].join(", ")}: ${describeCycle({ cycle, component: c.component })}`);
    }
  }
  return problems;
}

function describeCycle(c: { cycle: string[]; component: string[] }): string {
  const path = [...c.cycle, c.cycle[0]].join(" -> ");
  return c.component.length > c.cycle.length ? `${path} (one of the cycles among ${c.component.join(", ")})` : path;
}

/** Per layer: the layers it imports (value or type) with how many of its files import each. */
export function layerSummary(graph: ImportGraph): { layer: string; files: number; imports: Map<string, number> }[] {
  return LAYERS.map(({ name }) => {
    const files = graph.files.filter((f) => layerOf(f) === name);
    const imports = new Map<string, number>();
    for (const other of LAYERS) {
      if (other.name === name) continue;
      const importers = new Set(graph.edges.filter((e) => layerOf(e.from) === name && layerOf(e.to) === other.name).map((e) => e.from));
      if (importers.size > 0) imports.set(other.name, importers.size);
    }
    return { layer: name, files: files.length, imports };
  });
}
