/**
 * Which copies of gpuvm-sim are loaded in this JavaScript realm.
 *
 * Two copies of the library in one process (the built `dist/` and the
 * `src/` sources, the ESM and the CommonJS build, two installs) have two of
 * every class: a scenario written against one copy hands the other copy's
 * Sim Effects, Ops and SimObjects it does not recognise, and the failure
 * shows up far from its cause (a task "yielded object", an argument that
 * "must be a SimObject"). So every copy, when it loads, signs a register
 * kept on `globalThis` under `Symbol.for("gpuvm-sim.copies")`, and the
 * places where such a mix-up surfaces say what happened and how to fix it.
 *
 * A copy is named by the URL (or path) of the file this module was loaded
 * from and by its module format, so re-evaluating the same file (a test
 * runner that resets its module cache between files) is not counted as a
 * second copy: the newer signature replaces the older one.
 */
import { VERSION } from "./version.js";

/** One loaded copy of gpuvm-sim. */
export interface LoadedCopy {
  /** Where it was loaded from: a `file:` URL, or a path for a CommonJS build. */
  readonly url: string;
  /** `esm` or `cjs`. */
  readonly format: "esm" | "cjs";
  /** Its version (src/version.ts). */
  readonly version: string;
}

const KEY = Symbol.for("gpuvm-sim.copies");

/** The register on globalThis, made by the first copy that loads. */
function register(): LoadedCopy[] {
  const g = globalThis as { [KEY]?: unknown };
  if (!Array.isArray(g[KEY])) g[KEY] = [];
  return g[KEY] as LoadedCopy[];
}

/** `import.meta.url` where there is one; else the file named by this module's own stack frame (a CommonJS bundle). */
function whereLoaded(): string {
  const url: unknown = (import.meta as { url?: unknown }).url;
  if (typeof url === "string" && url !== "") return url;
  const frame = /\((\/[^():]+|[A-Za-z]:\\[^():]+|file:[^()]+?):\d+:\d+\)/.exec(new Error().stack ?? "");
  return frame?.[1] ?? "(unknown file)";
}

function formatOf(): "esm" | "cjs" {
  // CommonJS wraps a module in a function whose `module` parameter has `exports`; an ES module has none.
  const wrapper: unknown = typeof module === "undefined" ? undefined : module;
  return typeof wrapper === "object" && wrapper !== null && typeof (wrapper as { exports?: unknown }).exports === "object" ? "cjs" : "esm";
}

/** This copy. */
export const THIS_COPY: LoadedCopy = Object.freeze({ url: whereLoaded(), format: formatOf(), version: VERSION });

const same = (a: LoadedCopy, b: LoadedCopy): boolean => a.url === b.url && a.format === b.format;

{
  const copies = register();
  const at = copies.findIndex((c) => same(c, THIS_COPY));
  if (at >= 0) copies.splice(at, 1);
  copies.push(THIS_COPY);
}

/** Every copy of gpuvm-sim loaded in this realm, in load order, this one included. */
export function loadedCopies(): readonly LoadedCopy[] {
  return [...register()];
}

/** The copies loaded besides this one. */
export function otherCopies(): readonly LoadedCopy[] {
  return register().filter((c) => !same(c, THIS_COPY));
}

function describe(c: LoadedCopy): string {
  return `${c.url} (${c.format === "cjs" ? "CommonJS" : "ES module"}, version ${c.version})`;
}

/**
 * What to tell the user when `others` (default: every copy besides this one)
 * are loaded: which files, and how to get down to one copy. Empty when
 * there is no other copy.
 */
export function secondCopyMessage(others: readonly LoadedCopy[] = otherCopies()): string {
  if (others.length === 0) return "";
  const both = `two copies of gpuvm-sim are loaded in this process: ${describe(THIS_COPY)} and ${others.map(describe).join(" and ")}; objects of one copy are not recognised by the other. `;
  // In a clone, the command line run from src/ with `tsx` and a module that
  // imports "gpuvm-sim" (which resolves to the clone's own dist/): the
  // import is right, the way the command line was started is not.
  if (others.some((c) => sourcesAndBuildOfOnePackage(THIS_COPY.url, c.url))) {
    return (
      both +
      'In a clone of gpuvm-sim, "gpuvm-sim" resolves to its dist/ unless the sources are asked for: run the command line as ' +
      "`npm run cli -- <command> ...` (tsx with --conditions=gpuvm-sim-source), or `npm run build` and then `node --import tsx dist/cli.js`"
    );
  }
  return (
    both +
    'Import the library as "gpuvm-sim" everywhere (not through a relative path to its src/ or dist/), and load scenario modules as ES modules'
  );
}

/** Whether one URL is under a package's src/ and the other under the same package's dist/. */
function sourcesAndBuildOfOnePackage(a: string, b: string): boolean {
  const root = (u: string): [string, string] | null => {
    const m = /^(.*)\/(src|dist)\/[^/]+$/.exec(u);
    return m === null ? null : [m[1] ?? "", m[2] ?? ""];
  };
  const ra = root(a);
  const rb = root(b);
  return ra !== null && rb !== null && ra[0] === rb[0] && ra[1] !== rb[1];
}
