/**
 * Loading scenarios from modules: the one loader, used by the worker
 * threads (a scenario named by module URL and export path) and by the
 * command line (a module path and an export name, or every export).
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ArgumentError } from "../errors.js";
import type { Scenario } from "./execution.js";

/**
 * A scenario named by where it lives, so a worker thread can import it. The
 * module must be an ES module that imports gpuvm-sim with `import`, as the
 * worker does: a CommonJS module gets the CommonJS build, a second copy of
 * the simulator, whose tasks the worker's scheduler does not know.
 */
export interface ScenarioModule {
  /** An absolute path or a `file:` URL of an ES module (`.ts` when tsx is installed). */
  readonly module: string;
  /** The export's name; a dotted path reaches into objects (`uafLastReference.variants.fixed`). */
  readonly export: string;
}

/** One scenario exported by a user's module. */
export interface ModuleScenario {
  /** The export's name (`default` for the default export). */
  readonly exportName: string;
  readonly scenario: Scenario;
}

/** What a value that is not a scenario function is (`a class`, `null`), or null for a plain function. */
export function notAScenario(v: unknown): string | null {
  if (typeof v !== "function") return v === null ? "null" : `a ${typeof v}`;
  if (/^class\b/.test(Function.prototype.toString.call(v))) return "a class";
  const kind = (Object.getPrototypeOf(v) as { constructor: { name: string } }).constructor.name;
  if (kind === "GeneratorFunction" || kind === "AsyncGeneratorFunction") return "a generator function (a task body?)";
  if (kind === "AsyncFunction") return "an async function";
  return null;
}

/**
 * Import the module at `url`. Throws an ArgumentError naming `argument`
 * with `what` (the module as the user named it) and the import's error.
 */
async function importUrl(url: string, argument: string, what: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    const typescript = (e as { code?: unknown }).code === "ERR_UNKNOWN_FILE_EXTENSION";
    const hint = typescript ? " (a TypeScript module needs a loader: node --import tsx node_modules/gpuvm-sim/dist/cli.js ...)" : "";
    throw new ArgumentError(argument, `cannot import ${what}: ${e instanceof Error ? e.message : String(e)}${hint}`);
  }
}

/** The module's URL, or an ArgumentError naming `target.module` / `target.export`. */
export function moduleUrl(target: ScenarioModule): string {
  if (typeof target !== "object" || typeof target.module !== "string" || target.module === "") {
    throw new ArgumentError("target.module", "must be a non-empty string: an absolute path or a file: URL");
  }
  if (typeof target.export !== "string" || target.export === "") throw new ArgumentError("target.export", "must be a non-empty string");
  const m = target.module;
  if (m.startsWith("file:")) return m;
  if (isAbsolute(m)) return pathToFileURL(m).href;
  throw new ArgumentError("target.module", `must be an absolute path or a file: URL (workers do not share your working directory's resolution), got ${m}`);
}

const loaded = new Map<string, Scenario>();

/**
 * Import the scenario a target names (once per thread). Throws an
 * ArgumentError naming `target.module` or `target.export`.
 */
export async function loadScenario(target: ScenarioModule): Promise<Scenario> {
  const url = moduleUrl(target);
  const key = `${url}#${target.export}`;
  const cached = loaded.get(key);
  if (cached !== undefined) return cached;
  let value: unknown = await importUrl(url, "target.module", target.module);
  for (const part of target.export.split(".")) {
    value = typeof value === "object" && value !== null && Object.hasOwn(value, part) ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (typeof value !== "function") {
    throw new ArgumentError("target.export", `${target.module} has no export ${target.export} that is a scenario function (sim) => void`);
  }
  const scenario = value as Scenario;
  loaded.set(key, scenario);
  return scenario;
}

/**
 * Import `module` (a path resolved from `cwd`) and take the named export
 * (default `default`) or, with `all`, every exported scenario function,
 * sorted by name; a default export that is also a named one counts once,
 * under its name. Throws an ArgumentError naming `module` or `export` for a
 * missing file, a missing export, or an export that cannot be a scenario (a
 * class, a generator, an async function).
 */
export async function loadScenarios(module: string, exportName: string | undefined, all: boolean, cwd: string = process.cwd()): Promise<ModuleScenario[]> {
  if (all && exportName !== undefined) throw new ArgumentError("export", "name one export or pass --all, not both");
  const path = resolve(cwd, module);
  if (!existsSync(path)) throw new ArgumentError("module", `no such file: ${path}`);
  const ns = await importUrl(pathToFileURL(path).href, "module", path);
  // Sorted by name, as Node's module namespaces are (a bundler's or Vitest's may not be).
  const scenarios = Object.entries(ns)
    .filter(([, v]) => notAScenario(v) === null)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) as [string, Scenario][];
  if (all) {
    const named = new Set(scenarios.filter(([k]) => k !== "default").map(([, v]) => v));
    const list = scenarios.filter(([k, v]) => k !== "default" || !named.has(v)).map(([k, v]) => ({ exportName: k, scenario: v }));
    if (list.length === 0) throw new ArgumentError("module", `${module} exports no scenario functions`);
    return list;
  }
  const name = exportName ?? "default";
  if (!(name in ns)) {
    const names = scenarios.map(([k]) => k).join(", ");
    throw new ArgumentError("export", `${module} has no export "${name}" (its scenario exports: ${names === "" ? "none" : names})`);
  }
  const value = ns[name];
  const not = notAScenario(value);
  if (not !== null) throw new ArgumentError("export", `"${name}" of ${module} is ${not}, not a scenario function (sim) => void`);
  return [{ exportName: name, scenario: value as Scenario }];
}
