/** Which copies of gpuvm-sim are loaded: src/copies.ts, and what loading a second one does. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { loadScenarios } from "../src/cli/main.js";
import { otherCopies, secondCopyMessage, THIS_COPY } from "../src/copies.js";
import { loadScenario } from "../src/explore/load.js";
import { ArgumentError, loadedCopies } from "../src/index.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const register = (globalThis as Record<symbol, unknown>)[Symbol.for("gpuvm-sim.copies")] as { url: string }[];

/** Run `node --import tsx <args>` from the repository's root: status, stdout, stderr. */
function run(args: readonly string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, out, err });
    });
  });
}

describe("the register of loaded copies", () => {
  afterEach(() => {
    // Remove what the fixture signed, so other tests see one copy.
    for (let i = register.length - 1; i >= 0; i--) if (register[i]?.url.startsWith("file:///elsewhere/")) register.splice(i, 1);
  });

  it("holds this copy once, however often its file is evaluated", () => {
    expect(loadedCopies().filter((c) => c.url === THIS_COPY.url && c.format === THIS_COPY.format)).toHaveLength(1);
    expect(THIS_COPY.url).toMatch(/src\/copies\.ts$/);
    expect(otherCopies()).toEqual([]);
    expect(secondCopyMessage()).toBe("");
  });

  it("makes loading a scenario module that brings a second copy an error naming `module`, both copies and the fix", async () => {
    const e = await loadScenarios("test/cli/fixtures/second-copy.ts", "scenario", false, ROOT).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e).toMatchObject({ argument: "module" });
    const message = (e as Error).message;
    expect(message).toContain(`importing ${ROOT}test/cli/fixtures/second-copy.ts loaded a second copy of gpuvm-sim: two copies of gpuvm-sim are loaded in this process: `);
    // (Under Vitest, whose module runner gives modules a `module` object, this copy reads as CommonJS.)
    const self = `${THIS_COPY.url} (${THIS_COPY.format === "esm" ? "ES module" : "CommonJS"}, version 0.1.0)`;
    expect(message).toContain(`${self} and file:///elsewhere/node_modules/gpuvm-sim/dist/index.js (ES module, version 0.0.9)`);
    expect(message).toContain('Import the library as "gpuvm-sim" everywhere');
    // Asked again (the module is cached now), it says the same.
    await expect(loadScenarios("test/cli/fixtures/second-copy.ts", "scenario", false, ROOT)).rejects.toThrow("loaded a second copy of gpuvm-sim");
  });

  it("tells a clone's user, whose command line runs from src/ while the module's \"gpuvm-sim\" loads dist/, to run npm run cli", () => {
    const dist = { ...THIS_COPY, url: THIS_COPY.url.replace(/\/src\/copies\.ts$/, "/dist/chunk-ABC.js") };
    const message = secondCopyMessage([dist]);
    expect(message).toContain("In a clone of gpuvm-sim, \"gpuvm-sim\" resolves to its dist/ unless the sources are asked for: run the command line as `npm run cli -- <command> ...`");
    expect(message).not.toContain("Import the library as");
    // Another package's copy is not this clone's build.
    expect(secondCopyMessage([{ ...dist, url: "file:///elsewhere/node_modules/gpuvm-sim/dist/index.js" }])).toContain('Import the library as "gpuvm-sim" everywhere');
  });

  it("makes a worker's load of such a module an error naming `target.module`", async () => {
    const e = await loadScenario({ module: `${ROOT}test/cli/fixtures/second-copy.ts`, export: "scenario" }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ArgumentError);
    expect(e).toMatchObject({ argument: "target.module" });
    expect((e as Error).message).toContain("loaded a second copy of gpuvm-sim: two copies of gpuvm-sim are loaded in this process");
  });
});

describe("a real second copy (CommonJS next to the ES module copy), in a child process", { timeout: 30_000 }, () => {
  it("an op of the other copy run in a task is a task-exception whose UsageError names both copies", async () => {
    const script = [
      'import { createRequire } from "node:module";',
      'import { explore, loadedCopies } from "./src/index.ts";',
      'const copy = createRequire(import.meta.url)("./src/index.ts");',
      "const scenario = (sim) => { sim.spawn('t', 'process', function* () { yield* copy.condResched(); }); };",
      "const r = explore(scenario, { executions: 1 }).failures[0].report;",
      "console.log(JSON.stringify({ kind: r.kind, error: r.error, copies: loadedCopies().length }));",
    ].join("\n");
    const { out, err } = await run(["--input-type=module", "-e", script]);
    expect(err).toBe("");
    const filed = JSON.parse(out) as { kind: string; error: string; copies: number };
    expect(filed.kind).toBe("task-exception");
    expect(filed.copies).toBe(2);
    expect(filed.error).toMatch(/^UsageError: op cond_resched driven outside a simulated task: .*; two copies of gpuvm-sim are loaded in this process: \S+src\/copies\.ts \(CommonJS, version 0\.1\.0\) and \S+src\/copies\.ts \(ES module, version 0\.1\.0\)/);
  });

  it("the command line refuses the module with one line on stderr and exit 2", async () => {
    const { code, out, err } = await run(["src/cli/main.ts", "explore", "test/cli/fixtures/cjs-copy.ts", "scenario"]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toMatch(/^gpuvm-sim: error: invalid argument 'module': importing \S+test\/cli\/fixtures\/cjs-copy\.ts loaded a second copy of gpuvm-sim: .*\(CommonJS, version 0\.1\.0\).*Import the library as "gpuvm-sim" everywhere/);
    expect(err.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe("npm run cli: the sources, with the gpuvm-sim-source condition", { timeout: 30_000 }, () => {
  it("runs a scenario module that imports \"gpuvm-sim\" on the same copy as the command line", async () => {
    const { code, out, err } = await run(["--conditions=gpuvm-sim-source", "src/cli/main.ts", "explore", "test/cli/fixtures/imports-package.ts", "doubleFree", "--executions", "1"]);
    expect(err).toBe("");
    expect(out).toContain("BUG: gpuvm-sim: double-free of Bo#1");
    expect(code).toBe(1);
  });
});
