/**
 * Loading scenarios from modules: the one loader, used by the worker
 * threads (a scenario named by module URL and export path) and by the
 * command line (a module path and an export name, or every export).
 */
import { existsSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { otherCopies, secondCopyMessage, type LoadedCopy } from "../copies.js";
import { ArgumentError } from "../errors.js";
import { arg, is, thrownText } from "../validate.js";
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
  let source: string;
  let kind: unknown;
  try {
    source = Function.prototype.toString.call(v);
    kind = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  } catch (e) {
    // A Proxy whose traps throw (or a revoked one).
    return `a function that throws when read (${thrownText(e).message})`;
  }
  if (/^class\b/.test(source)) return "a class";
  if (kind === "GeneratorFunction" || kind === "AsyncGeneratorFunction") return "a generator function (a task body?)";
  if (kind === "AsyncFunction") return "an async function";
  return null;
}

/** An error's message, or what a thrown non-Error is (never throws). */
function thrownMessage(e: unknown): string {
  const t = thrownText(e);
  return t.name === "thrown value" ? `threw ${t.message}` : t.message;
}

/**
 * Import the module at `url`. Throws an ArgumentError naming `argument`
 * with `what` (the module as the user named it) and the import's error.
 */
async function importUrl(url: string, argument: string, what: string): Promise<Record<string, unknown>> {
  try {
    return (await import(url)) as Record<string, unknown>;
  } catch (e) {
    let typescript = false;
    try {
      typescript = (e as { code?: unknown }).code === "ERR_UNKNOWN_FILE_EXTENSION";
    } catch {
      // A thrown value whose `code` cannot be read: no hint.
    }
    const hint = typescript ? " (a TypeScript module needs a loader: node --import tsx node_modules/gpuvm-sim/dist/cli.js ...)" : "";
    throw new ArgumentError(argument, `cannot import ${what}: ${thrownMessage(e)}${hint}`);
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
  let value: unknown = await importScenarioModule(url, "target.module", target.module);
  for (const part of target.export.split(".")) value = step(value, part);
  if (typeof value !== "function") {
    throw new ArgumentError("target.export", `${target.module} has no export ${target.export} that is a scenario function (sim) => void`);
  }
  const scenario = value as Scenario;
  loaded.set(key, scenario);
  return scenario;
}

/** An export `--all` left out, and why (`a number`, `a class`, `takes 2 parameters`). */
export interface SkippedExport {
  readonly exportName: string;
  readonly why: string;
}

/** What a module offers: its scenarios (one, or every one with `all`) and, with `all`, the exports left out. */
export interface ModuleScenarios {
  readonly scenarios: ModuleScenario[];
  readonly skipped: SkippedExport[];
}

/**
 * Why a plain function is not taken as a scenario by `--all`, or null if it
 * is one: a scenario declares exactly one parameter, the Sim.
 */
function arityProblem(f: (...args: never[]) => unknown): string | null {
  if (f.length === 1) return null;
  return f.length === 0 ? "a function of no parameters" : `a function of ${f.length} parameters`;
}

/**
 * One part of a dotted export path: `value[part]`; in an array (a catalog
 * entry's `more`) without that index, the `scenario` of the element named
 * `part` (`more.stale-tlb`); else undefined.
 */
function step(value: unknown, part: string): unknown {
  if (typeof value !== "object" || value === null) return undefined;
  if (Object.hasOwn(value, part)) return (value as Record<string, unknown>)[part];
  if (!Array.isArray(value)) return undefined;
  const named = (value as unknown[]).find((m) => typeof m === "object" && m !== null && (m as { name?: unknown }).name === part);
  return named === undefined ? undefined : (named as { scenario?: unknown }).scenario;
}

/** Whether a further variant's name can stand in a dotted path: non-empty, no dot, not an index. */
function pathName(name: unknown): name is string {
  return typeof name === "string" && name !== "" && !name.includes(".") && !/^\d+$/.test(name);
}

/**
 * A catalog-shaped export (`{ variants: { buggy, fixed }, more?: [{ name, scenario }] }`,
 * as src/scenarios/scenario.ts): its variants as [path below the export
 * (`variants.buggy`, `more.stale-tlb`; `more.0.scenario` for a further
 * variant without a usable, unique name), function], or null.
 */
function variantsOf(v: unknown): [string, unknown][] | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return null;
  const variants = (v as { variants?: unknown }).variants;
  if (typeof variants !== "object" || variants === null) return null;
  const entries: [string, unknown][] = Object.entries(variants)
    .filter(([, f]) => typeof f === "function")
    .map(([name, f]) => [`variants.${name}`, f]);
  const more = (v as { more?: unknown }).more;
  if (Array.isArray(more)) {
    const names = more.map((m: unknown) => (typeof m === "object" && m !== null ? (m as { name?: unknown }).name : undefined));
    more.forEach((m: unknown, i) => {
      const f = typeof m === "object" && m !== null ? (m as { scenario?: unknown }).scenario : undefined;
      if (typeof f !== "function") return;
      const name = names[i];
      const unique = pathName(name) && names.indexOf(name) === i && names.lastIndexOf(name) === i;
      entries.push([unique ? `more.${name}` : `more.${i}.scenario`, f]);
    });
  }
  return entries.length === 0 ? null : entries;
}

/**
 * A hint for exports skipped as functions of no or several parameters: if
 * one is a factory returning a scenario, a module of one's own exports a
 * scenario that calls it. "" when there is none.
 */
function factoryHint(skipped: readonly SkippedExport[]): string {
  const f = skipped.find((s) => /^a function of (no|\d+) parameters?$/.test(s.why));
  if (f === undefined) return "";
  const name = f.exportName;
  return `. If ${name} makes a scenario (a factory), export one that calls it, in this module or a module of your own: export const myScenario = (sim) => ${name}(/* its options */)(sim);`;
}

/** The value at a dotted export path (`uafLastReference.variants.fixed`), or undefined. */
function atPath(ns: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(ns, path)) return ns[path];
  let value: unknown = ns;
  for (const part of path.split(".")) value = step(value, part);
  return value;
}

/** The copies of gpuvm-sim each module brought into the process when first imported (see copies.ts). */
const broughtCopies = new Map<string, readonly LoadedCopy[]>();

/**
 * Import a user's module; throws an ArgumentError naming `argument` if it
 * cannot be imported or if importing it loaded another copy of gpuvm-sim
 * (the scenario would build its world from classes this copy does not
 * know).
 */
async function importScenarioModule(url: string, argument: string, path: string): Promise<Record<string, unknown>> {
  const before = new Set(otherCopies());
  const ns = await importUrl(url, argument, path);
  if (!broughtCopies.has(url)) broughtCopies.set(url, otherCopies().filter((c) => !before.has(c)));
  const brought = broughtCopies.get(url) ?? [];
  if (brought.length > 0) {
    throw new ArgumentError(argument, `importing ${path} loaded a second copy of gpuvm-sim: ${secondCopyMessage(brought)}`);
  }
  return ns;
}

/**
 * Import `module` (a path resolved from `cwd`) and take the named export
 * (default `default`; a dotted path reaches into objects:
 * `uafLastReference.variants.fixed`) or, with `all`, every scenario export,
 * sorted by name, with the exports left out and why.
 *
 * With `all`, a scenario export is a plain function of one parameter (the
 * Sim), or a catalog-shaped object (`{ variants: { buggy, fixed } }`, as
 * src/scenarios/scenario.ts), whose variants are taken as
 * `name.variants.buggy` and so on, and its further variants by their names,
 * `name.more.stale-tlb` (by index, `name.more.0.scenario`, when a name is
 * missing, repeated, or holds a dot). Everything else is skipped: values that
 * are not functions, classes, generator and async functions, and functions
 * of no or several parameters. A default export that is also a named one
 * counts once, under its name.
 *
 * Throws an ArgumentError naming `module`, `export`, `all` or `cwd` when it
 * is not of its type; naming `module` for a missing file, one that
 * cannot be imported or that loads a second copy of gpuvm-sim, or, with
 * `all`, one without a scenario export; naming `export` for a missing export
 * or one that cannot be a scenario (a class, a generator, an async
 * function).
 */
export async function findScenarios(module: string, exportName: string | undefined, all: boolean, cwd: string = process.cwd()): Promise<ModuleScenarios> {
  arg("module", is.nonEmptyString, module);
  if (exportName !== undefined) arg("export", is.nonEmptyString, exportName);
  arg("all", is.boolean, all);
  arg("cwd", is.nonEmptyString, cwd);
  if (all && exportName !== undefined) throw new ArgumentError("export", "name one export or pass --all, not both");
  const path = resolve(cwd, module);
  if (!existsSync(path)) throw new ArgumentError("module", `no such file: ${path}`);
  const ns = await importScenarioModule(pathToFileURL(path).href, "module", path);
  // Sorted by name, as Node's module namespaces are (a bundler's or Vitest's may not be).
  const entries = Object.entries(ns).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const functions = entries.filter(([, v]) => notAScenario(v) === null) as [string, Scenario][];
  if (all) {
    const found: [string, Scenario][] = [];
    const skipped: SkippedExport[] = [];
    for (const [k, v] of entries) {
      let variants: [string, unknown][] | null;
      let not: string | null;
      try {
        variants = variantsOf(v);
        not = variants === null ? (notAScenario(v) ?? arityProblem(v as Scenario)) : null;
      } catch (e) {
        // A Proxy whose traps throw, a throwing getter: not a scenario, and the other exports still run.
        skipped.push({ exportName: k, why: `an export that throws when read (${thrownText(e).message})` });
        continue;
      }
      if (variants !== null) {
        for (const [variant, f] of variants) {
          let not: string | null;
          try {
            not = notAScenario(f) ?? arityProblem(f as Scenario);
          } catch (e) {
            not = `a function that throws when read (${thrownText(e).message})`;
          }
          if (not === null) found.push([`${k}.${variant}`, f as Scenario]);
          else skipped.push({ exportName: `${k}.${variant}`, why: not });
        }
        continue;
      }
      if (not === null) found.push([k, v as Scenario]);
      else skipped.push({ exportName: k, why: not });
    }
    const named = new Set(found.filter(([k]) => !k.startsWith("default")).map(([, v]) => v));
    const scenarios = found.filter(([k, v]) => !(k === "default" || k.startsWith("default.")) || !named.has(v)).map(([k, v]) => ({ exportName: k, scenario: v }));
    if (scenarios.length === 0) {
      const why = skipped.map((s) => `${s.exportName} (${s.why})`).join(", ");
      throw new ArgumentError("module", `${module} exports no scenario functions (sim) => void${why === "" ? "" : `; it exports ${why}`}${factoryHint(skipped)}`);
    }
    return { scenarios, skipped };
  }
  const name = exportName ?? "default";
  const value = atPath(ns, name);
  if (value === undefined && !Object.hasOwn(ns, name)) {
    const names = functions.map(([k]) => k).join(", ");
    throw new ArgumentError("export", `${module} has no export "${name}" (its scenario exports: ${names === "" ? "none" : names})`);
  }
  const variants = variantsOf(value);
  if (variants !== null) {
    const paths = variants.map(([v]) => `${name}.${v}`).join(" or ");
    throw new ArgumentError("export", `"${name}" of ${module} is a catalog scenario with variants: name one, ${paths}`);
  }
  const not = notAScenario(value);
  if (not !== null) throw new ArgumentError("export", `"${name}" of ${module} is ${not}, not a scenario function (sim) => void`);
  return { scenarios: [{ exportName: name, scenario: value as Scenario }], skipped: [] };
}

/** As findScenarios(), without the exports left out. */
export async function loadScenarios(module: string, exportName: string | undefined, all: boolean, cwd: string = process.cwd()): Promise<ModuleScenario[]> {
  return (await findScenarios(module, exportName, all, cwd)).scenarios;
}
