/** The command line's wiring: src/cli/main.ts. */
import { pathToFileURL } from "node:url";
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { createProgram, invokedAs, isEntryPoint } from "../../src/cli/main.js";
import { ABBA_TOKEN, FIXTURE, ROOT } from "./helpers.js";

describe("createProgram", () => {
  /** Parse user arguments; commander's exits become CommanderErrors. */
  function parse(args: string[]): { code: number | null; out: string; err: string } {
    let out = "";
    let err = "";
    let code: number | null = null;
    const program = createProgram(
      (s) => (out += s),
      (c) => (code = c),
    );
    for (const cmd of [program, ...program.commands]) {
      cmd.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    }
    program.parse(args, { from: "user" });
    return { code, out, err };
  }

  it("runs demo with its options", { timeout: 60_000 }, () => {
    // Ten: enough for every buggy variant at the default seed (gpuvm-list-walk's needs seven).
    const { code, out } = parse(["demo", "--seeds", "50", "--quiet"]);
    expect(code).toBe(0);
    expect(out).toMatch(/^completion-deadlock\s+fixed\s+pass\s+-\s+\d+\s/m);
  });

  it("refuses a budget that is not a positive integer", () => {
    for (const bad of ["0", "-3", "1.5", "many"]) {
      expect(() => parse(["demo", "--seeds", bad])).toThrow(CommanderError);
    }
  });
});

describe("invokedAs", () => {
  const cwd = "/home/u/gpuvm-sim";
  it("names the project's npm script, the sources run through tsx, a build run by path, or the bin link", () => {
    expect(invokedAs({ script: `${cwd}/src/cli/main.ts`, npmScript: "cli", npmPackage: "gpuvm-sim", cwd })).toBe("npm run cli --");
    // Another package's script called "cli" is not ours.
    expect(invokedAs({ script: `${cwd}/src/cli/main.ts`, npmScript: "cli", npmPackage: "other", cwd })).toBe("npx tsx src/cli/main.ts");
    expect(invokedAs({ script: `${cwd}/src/cli/main.ts`, cwd, execArgv: ["--require", "x.cjs", "--conditions=gpuvm-sim-source"] })).toBe(
      "npx tsx --conditions=gpuvm-sim-source src/cli/main.ts",
    );
    expect(invokedAs({ script: `${cwd}/dist/cli.js`, cwd })).toBe("node dist/cli.js");
    expect(invokedAs({ script: "/elsewhere/my dir/main.ts", cwd })).toBe("npx tsx '/elsewhere/my dir/main.ts'");
    expect(invokedAs({ script: `${cwd}/node_modules/.bin/gpuvm-sim`, cwd })).toBe("gpuvm-sim");
    expect(invokedAs({ script: "/app/node_modules/gpuvm-sim/dist/cli.js", cwd: "/app" })).toBe("gpuvm-sim");
    expect(invokedAs({ script: undefined })).toBe("gpuvm-sim");
  });
});

describe("isEntryPoint", () => {
  it("compares the started script with the module URL when there is one", () => {
    const script = "/opt/gpuvm-sim/dist/cli.js";
    expect(isEntryPoint(script, pathToFileURL(script).href)).toBe(true);
    expect(isEntryPoint("/usr/lib/node_modules/vitest/vitest.mjs", pathToFileURL(script).href)).toBe(false);
    expect(isEntryPoint(undefined, pathToFileURL(script).href)).toBe(false);
  });

  it("falls back to the file name where import.meta.url is empty (the CJS build)", () => {
    expect(isEntryPoint("/opt/gpuvm-sim/dist/cli.cjs", null)).toBe(true);
    expect(isEntryPoint("/opt/gpuvm-sim/dist/cli.js", null)).toBe(true);
    expect(isEntryPoint("/work/src/cli/main.ts", null)).toBe(true);
    expect(isEntryPoint("/opt/app/server.js", null)).toBe(false);
  });

  it("is false under the test runner", () => {
    expect(isEntryPoint()).toBe(false);
  });
});

describe("createProgram: explore and replay", () => {
  const fixture = `${ROOT}${FIXTURE}`;

  /** Parse user arguments asynchronously; commander's exits become CommanderErrors. */
  async function parseAsync(args: string[]): Promise<{ code: number | null; out: string; err: string; progress: string[] }> {
    let out = "";
    let err = "";
    let code: number | null = null;
    const progress: string[] = [];
    const program = createProgram(
      (s) => (out += s),
      (c) => (code = c),
      (s) => (err += s),
      (l) => progress.push(l),
    );
    for (const cmd of [program, ...program.commands]) {
      cmd.exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (err += s) });
    }
    await program.parseAsync(args, { from: "user" });
    return { code, out, err, progress };
  }

  it("explores with the flags given and sets the exit code", async () => {
    const bad = await parseAsync(["explore", fixture, "abba", "--strategy", "pct", "--executions", "30", "--seed", "-4", "--max-steps", "99"]);
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(/found by pct\(3\) at execution \d+/);
    expect(bad.out).toMatch(/gpuvm-sim replay \S+ abba '?gpuvm-sim:2:[^:]+:abba:pct\(3\):-?\d+@99:[^ ]+\n/);
    expect(bad.progress).toEqual(["exploring abba (strategy pct)...", ""]);
    const good = await parseAsync(["explore", fixture, "--executions", "5", "--all-failures", "--no-shrink"]);
    expect(good.code).toBe(0);
    expect(good.out).toMatch(/^default: passed 5 executions; strategy portfolio;/);
  });

  it("runs one shard of an exploration with --shard i/n, and rejects a bad one", async () => {
    // Random executions are dealt out by index: shard 1 of 2 runs executions 1, 3 and 5 of 6.
    const shard = await parseAsync(["explore", fixture, "--strategy", "random", "--executions", "6", "--shard", "1/2", "--json"]);
    expect(shard.code).toBe(0);
    const doc = JSON.parse(shard.out) as { scenarios: { executions: number }[] };
    expect(doc.scenarios[0]?.executions).toBe(3);
    await expect(parseAsync(["explore", fixture, "--shard", "2/2"])).rejects.toThrow(/must be i\/n with 0 <= i < n/);
  });

  it("replays with and without the export name", async () => {
    expect((await parseAsync(["replay", fixture, "abba", ABBA_TOKEN])).code).toBe(1);
    // The default export is the fixed scenario: no report, but not the recorded schedule either.
    const dflt = await parseAsync(["replay", fixture, ABBA_TOKEN, "--no-stacks"]);
    expect(dflt.code).toBe(2);
    expect(dflt.out).toContain('replaying export "default"');
  });

  it("reports a missing module or export in one line on stderr, exit code 2", async () => {
    const missing = await parseAsync(["explore", "no/such/module.js"]);
    expect(missing).toMatchObject({ code: 2, out: "" });
    expect(missing.err).toBe(`gpuvm-sim: error: invalid argument 'module': no such file: ${process.cwd()}/no/such/module.js\n`);
    const noExport = await parseAsync(["replay", fixture, "nope", ABBA_TOKEN]);
    expect(noExport.code).toBe(2);
    expect(noExport.err).toMatch(/^gpuvm-sim: error: invalid argument 'export': .* has no export "nope"/);
    const badToken = await parseAsync(["replay", fixture, "abba", "nonsense"]);
    expect(badToken.code).toBe(2);
    expect(badToken.err).toMatch(/^gpuvm-sim: error: invalid argument 'token': not a gpuvm-sim explore token/);
  });

  it("lists the exit statuses in --help", async () => {
    for (const args of [["--help"], ["explore", "--help"], ["replay", "--help"], ["demo", "--help"]]) {
      const e = await parseAsync(args).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(CommanderError);
      expect(e).toMatchObject({ exitCode: 0 });
    }
    const help = createProgram().commands.find((c) => c.name() === "explore")?.helpInformation() ?? "";
    expect(help).toContain("--all-reports");
    let out = "";
    const program = createProgram();
    program.configureOutput({ writeOut: (s) => (out += s) });
    program.exitOverride();
    try {
      program.parse(["--help"], { from: "user" });
    } catch {
      // commander ends --help with a CommanderError of exit code 0.
    }
    expect(out).toMatch(/\nExit status:\n {2}0 {2}passed \(also when the reader of stdout stops reading, as with \| head\)\n {2}1 {2}a bug was found/);
    expect(out).toMatch(/\n {2}3 {2}explore found nothing, but every execution of a scenario hit --max-steps\n/);
  });

  it("explores every export of a module with one that throws: the others reported, exit 2", async () => {
    const { code, out, err } = await parseAsync(["explore", `${ROOT}test/cli/fixtures/mixed.ts`, "--all", "--strategy", "dfs", "--max-steps", "20"]);
    expect(code).toBe(2);
    expect(err).toBe("");
    expect(out).toContain("broken: ERROR, the scenario threw Error: setup broke: no device\n");
    expect(out).toMatch(/^good: passed/m);
  });

  it("a module that throws while it loads: one line on stderr, exit 2; with --json, one JSON document on stdout too", async () => {
    const text = await parseAsync(["explore", `${ROOT}test/cli/fixtures/throws-at-load.ts`, "--all"]);
    expect(text.code).toBe(2);
    expect(text.out).toBe("");
    const { code, out, err } = await parseAsync(["explore", `${ROOT}test/cli/fixtures/throws-at-load.ts`, "--all", "--json"]);
    expect(code).toBe(2);
    expect(err).toMatch(/^gpuvm-sim: error: invalid argument 'module': cannot import \S+throws-at-load\.ts: no GPU found at load time\n$/);
    const doc = JSON.parse(out) as { module: string; error: { name: string; message: string; argument: string | null } };
    expect(doc.module).toBe(`${ROOT}test/cli/fixtures/throws-at-load.ts`);
    expect(doc.error).toMatchObject({ name: "ArgumentError", argument: "module" });
    expect(doc.error.message).toMatch(/no GPU found at load time/);
  });

  const jsonErrors: [string, string[], string][] = [
    ["a missing export", ["explore", fixture, "nope", "--json"], "export"],
    ["a directory as the module", ["explore", `${ROOT}test/cli/fixtures`, "--json"], "module"],
    ["a missing module", ["explore", `${ROOT}test/cli/fixtures/nope.ts`, "--json"], "module"],
    ["replay: a missing export", ["replay", fixture, "nope", ABBA_TOKEN, "--json"], "export"],
    ["replay: a bad token", ["replay", fixture, "abba", "not-a-token", "--json"], "token"],
  ];
  for (const [what, args, argument] of jsonErrors) {
    it(`with --json, ${what} prints one JSON document naming '${argument}', exit 2`, async () => {
      const { code, out, err } = await parseAsync(args);
      expect(code).toBe(2);
      expect(err).toMatch(/^gpuvm-sim: error: /);
      const doc = JSON.parse(out) as { error: { name: string; argument: string | null } };
      expect(doc.error.argument).toBe(argument);
    });
  }

  it("refuses bad flag values", async () => {
    for (const args of [
      ["--strategy", "greedy"],
      ["--executions", "0"],
      ["--seed", "1.5"],
      ["--time-ms", "-1"],
    ]) {
      await expect(parseAsync(["explore", fixture, ...args])).rejects.toThrow(CommanderError);
    }
  });
});
