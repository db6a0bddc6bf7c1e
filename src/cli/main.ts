#!/usr/bin/env node
/**
 * The `gpuvm-sim` command.
 *
 * `gpuvm-sim demo` runs every catalog scenario, its buggy, fixed and further variants, with
 * the seed loop of scenarios/scenario.ts, prints the report that caught each
 * buggy variant (and any report a fixed variant should not have produced),
 * then a summary table. It exits 0 only when every buggy variant is caught
 * with its expected kind and every fixed variant passes its whole budget.
 *
 * `gpuvm-sim explore <module> [export]` imports a user's scenario module and
 * explores one exported scenario (or, with `--all`, every one), printing each
 * failure's report and the `gpuvm-sim replay` line that reproduces it.
 * `gpuvm-sim replay <module> [export] <token>` replays one execution with
 * stacks. A missing module or export, or a bad option, is a one-line error.
 *
 * Exit statuses (output.ts, EXIT): 0 passed, or stdout's reader went away;
 * 1 a bug was found; 2 a usage or load error, a scenario that threw, a
 * replay that diverged; 3 inconclusive (every execution of a scenario hit
 * --max-steps). `--help` lists them.
 *
 * One file per command (demo.ts, explore.ts, replay.ts); this one wires
 * them into commander. The work is done by `runDemo`, `runExplore` and `runReplay`, which write
 * through a callback and return the exit code, so tests call them in-process.
 * The commander wiring runs only when this module is the program's entry
 * point; the module is also bundled to dist/cli.js (ESM) and dist/cli.cjs
 * (CJS, where `import.meta.url` is empty), so the check falls back to the
 * file name there.
 */
import { realpathSync } from "node:fs";
import { basename, isAbsolute, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { Command, InvalidArgumentError, Option } from "commander";
import { ArgumentError, ArgumentRangeError } from "../errors.js";
import { isInstance, thrownText } from "../validate.js";
import { EXIT, Output, PipeClosed } from "./output.js";
import { DEFAULT_SEEDS, runDemo } from "./demo.js";
import { runExplore, shellQuote, STRATEGIES, type ExploreCommandOptions } from "./explore.js";
import { runReplay } from "./replay.js";

export { formatTable, runDemo, type DemoOptions, type DemoResult, type Verdict } from "./demo.js";
export { replayCommand, runExplore, shellQuote, type ExploreCommandOptions, type ExploreVerdict } from "./explore.js";
export { runReplay, type ReplayCommandOptions } from "./replay.js";
export { EXIT, Output, PipeClosed, type OutStream } from "./output.js";
export { findScenarios, loadScenarios, type ModuleScenario, type ModuleScenarios, type SkippedExport } from "../explore/load.js";

function parsePositive(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("must be a positive integer.");
  return n;
}

/** `i/n`: shard i (from 0) of n. */
function parseShard(value: string): readonly [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (m === null || !(count >= 1) || !(index < count)) throw new InvalidArgumentError("must be i/n with 0 <= i < n, such as 0/4.");
  return [index, count];
}

function parseInteger(value: string): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError("must be an integer.");
  return n;
}

/** What a command's failure to run looks like on stderr: one line for a usage error, else where it was thrown. */
function errorText(e: unknown): string {
  const t = thrownText(e);
  if (isInstance(e, ArgumentError) || isInstance(e, ArgumentRangeError)) return `gpuvm-sim: error: ${t.message}\n`;
  // Not a usage error: the scenario itself threw, for instance. Show where.
  return `gpuvm-sim: error: ${t.stack ?? (t.name === "thrown value" ? `${t.name}: ${t.message}` : t.message)}\n`;
}

/**
 * Run a command; a thrown error becomes text on stderr and exit code 2
 * (EXIT.error), and a closed stdout (PipeClosed) ends it quietly with 0.
 */
async function exitCodeOf(run: () => Promise<number>, writeErr: (s: string) => void): Promise<number> {
  try {
    return await run();
  } catch (e) {
    if (isInstance(e, PipeClosed)) return EXIT.ok;
    writeErr(errorText(e));
    return EXIT.error;
  }
}

/** exitCodeOf() for a synchronous command. */
function exitCodeOfSync(run: () => number, writeErr: (s: string) => void): number {
  try {
    return run();
  } catch (e) {
    if (isInstance(e, PipeClosed)) return EXIT.ok;
    writeErr(errorText(e));
    return EXIT.error;
  }
}

/** The exit statuses, for `--help`. */
const EXIT_HELP = `
Exit status:
  0  passed (also when the reader of stdout stops reading, as with | head)
  1  a bug was found (explore: a failure; replay: a report; demo: a wrong verdict)
  2  usage error, a module that cannot be loaded, a scenario that threw,
     or a replay that diverged from its token (wins over 1)
  3  explore found nothing, but every execution of a scenario hit --max-steps
     (inconclusive: nothing was checked to its end)
`;

/** On a terminal, a status line on stderr, rewritten in place; elsewhere nothing. */
function terminalProgress(writeErr: (s: string) => void = (s) => void process.stderr.write(s)): ((line: string) => void) | null {
  if (!process.stdout.isTTY || !process.stderr.isTTY) return null;
  return (line) => {
    writeErr(`\r\x1b[K${line}`);
  };
}

/** What invokedAs() reads of the process (tests pass their own). */
export interface Invocation {
  /** `process.argv[1]`: the script node runs. */
  readonly script: string | undefined;
  /** The npm script running it (`npm_lifecycle_event`), if any. */
  readonly npmScript?: string | undefined;
  /** The package whose npm script it is (`npm_package_name`). */
  readonly npmPackage?: string | undefined;
  /** The working directory, to print the script's path from (default: the process's). */
  readonly cwd?: string | undefined;
  /** Node's own flags (`process.execArgv`): a `--conditions=...` among them is repeated (default none). */
  readonly execArgv?: readonly string[] | undefined;
}

/**
 * How this command was invoked, as a prefix for the command lines it prints
 * (`Replay from a shell: <prefix> replay ...`): `npm run cli --` from the
 * project's `cli` script, `npx tsx src/cli/main.ts` from the sources,
 * `node dist/cli.js` from a build run by path, and `gpuvm-sim` (the bin
 * link, or when nothing better is known).
 */
export function invokedAs(
  inv: Invocation = {
    script: process.argv[1],
    npmScript: process.env["npm_lifecycle_event"],
    npmPackage: process.env["npm_package_name"],
    execArgv: process.execArgv,
  },
): string {
  if (inv.npmScript === "cli" && inv.npmPackage === "gpuvm-sim") return "npm run cli --";
  const script = inv.script;
  if (script === undefined || script === "") return "gpuvm-sim";
  // The bin link (node_modules/.bin/gpuvm-sim, or a global install), and the package's build run through npx.
  if (basename(script) === "gpuvm-sim" || /[\\/]node_modules[\\/]gpuvm-sim[\\/]/.test(script)) return "gpuvm-sim";
  const cwd = inv.cwd ?? process.cwd();
  const rel = relative(cwd, script);
  const path = rel === "" || rel.startsWith("..") || isAbsolute(rel) ? script : rel.replaceAll("\\", "/");
  // `--conditions=gpuvm-sim-source` makes a module's `import "gpuvm-sim"` load the sources: the replay needs it too.
  const flags = (inv.execArgv ?? []).filter((a) => a.startsWith("--conditions=")).map((a) => `${shellQuote(a)} `).join("");
  if (/\.[cm]?ts$/.test(script)) return `npx tsx ${flags}${shellQuote(path)}`;
  if (/\.c?js$/.test(script)) return `node ${flags}${shellQuote(path)}`;
  return "gpuvm-sim";
}

/**
 * The commander program. `write` and `writeErr` receive its output,
 * `setExitCode` each command's exit code, and `progress` a status line while
 * a scenario is explored (default: on a terminal only), and `command` starts
 * the replay lines explore prints (default `gpuvm-sim`; the entry point
 * passes invokedAs()). Commander's own
 * errors (unknown option, bad value) still exit the process unless
 * `exitOverride()` is set. `explore` and `replay` are asynchronous (they
 * import a module): use `parseAsync()`.
 */
export function createProgram(
  write: (s: string) => void = (s) => process.stdout.write(s),
  setExitCode: (code: number) => void = (code) => {
    process.exitCode = code;
  },
  writeErr: (s: string) => void = (s) => process.stderr.write(s),
  progress: ((line: string) => void) | null = terminalProgress(),
  command = "gpuvm-sim",
): Command {
  const program = new Command("gpuvm-sim");
  program.description("Deterministic simulator of Linux kernel GPU memory objects, with lifetime and deadlock checks.");
  program.addHelpText("after", EXIT_HELP);
  program
    .command("demo")
    .description("run the built-in scenario catalog (buggy, fixed and further variants) and print a verdict table")
    .option("--seeds <n>", "executions per variant", parsePositive, DEFAULT_SEEDS)
    .option("--json", "print a JSON array of results instead of text", false)
    .option("--quiet", "print only the table", false)
    .option("--all-reports", "print every report of a caught execution, not only the first", false)
    .addHelpText("after", EXIT_HELP)
    .action((opts: { seeds: number; json: boolean; quiet: boolean; allReports: boolean }) => {
      setExitCode(exitCodeOfSync(() => runDemo(opts, write), writeErr));
    });
  program
    .command("explore")
    .description("explore the interleavings of a scenario module's export; print each failure's report and how to replay it")
    .argument("<module>", "the scenario module, a path from the current directory")
    .argument("[export]", 'the exported scenario function (default: "default")')
    .option("--all", "explore every scenario export: functions of one parameter (sim), and the variants of catalog-shaped objects; other exports are skipped, with a note", false)
    .addOption(new Option("--strategy <name>", "exploration strategy (default: portfolio)").choices(STRATEGIES))
    .option("--executions <n>", "executions to run (default: 1000)", parsePositive)
    .option("--seed <n>", "the run's seed (default: 0)", parseInteger)
    .option("--max-steps <n>", "steps per execution; one cut there is not checked to its end, and a run whose every execution is cut is inconclusive (exit 3) (default: 10000)", parsePositive)
    .option("--time-ms <n>", "wall-clock budget in milliseconds (default: none)", parsePositive)
    .option("--shard <i/n>", "run only shard i of n (from 0), to spread one exploration over machines", parseShard)
    .option("--all-failures", "collect every distinct failure instead of stopping at the first", false)
    .option("--all-reports", "print every report of a failing execution, not only the first", false)
    .option("--no-shrink", "do not shrink failing schedules to the fewest context switches")
    .option("--json", "print one JSON document instead of text", false)
    .addHelpText("after", EXIT_HELP)
    .action(async (module: string, exportName: string | undefined, opts: Omit<ExploreCommandOptions, "module" | "export">) => {
      setExitCode(await exitCodeOf(() => runExplore({ ...opts, module, export: exportName, progress, command }, write), writeErr));
    });
  program
    .command("replay")
    .description("replay one explored execution from its token, with stacks (exit 1: a report, 2: the replay diverged)")
    .usage("[options] <module> [export] <token>")
    .argument("<module>", "the scenario module, a path from the current directory")
    .argument("<export>", 'the exported scenario function (may be left out for "default")')
    .argument("[token]", "the replay token printed by explore")
    .option("--max-steps <n>", "steps before the replay is cut (default: the limit the token records, 10000 when it records none)", parsePositive)
    .option("--no-stacks", "do not record JavaScript stacks")
    .option("--json", "print one JSON document instead of text", false)
    .addHelpText("after", EXIT_HELP)
    .action(async (module: string, exportOrToken: string, token: string | undefined, opts: { maxSteps?: number; stacks: boolean; json: boolean }) => {
      // `replay <module> <token>` replays the default export.
      const [exportName, tok] = token === undefined ? [undefined, exportOrToken] : [exportOrToken, token];
      setExitCode(await exitCodeOf(() => runReplay({ ...opts, module, export: exportName, token: tok }, write), writeErr));
    });
  return program;
}

/** `import.meta.url`, or null where a bundler left it empty (the CJS build). */
function moduleUrl(): string | null {
  const url: unknown = (import.meta as { url?: unknown }).url;
  return typeof url === "string" ? url : null;
}

/**
 * Whether this module is the program being run (`node dist/cli.js`, the
 * `gpuvm-sim` bin link, `tsx src/cli/main.ts`), rather than imported.
 */
export function isEntryPoint(argv1: string | undefined = process.argv[1], url: string | null = moduleUrl()): boolean {
  if (argv1 === undefined) return false;
  let path = argv1;
  try {
    // The bin link in node_modules/.bin is a symlink; the module URL is the real path.
    path = realpathSync(argv1);
  } catch {
    // Not a file we can resolve: compare the name as given.
  }
  if (url !== null) return pathToFileURL(path).href === url;
  return /(?:^|[\\/])(?:cli\.c?js|main\.ts)$/.test(path);
}

if (isEntryPoint()) {
  // Output through guards against a reader that goes away (`gpuvm-sim demo | head -2`): see output.ts.
  const out = new Output(process.stdout, process.stderr);
  const setExitCode = (code: number): void => {
    process.exitCode = out.exitCode(code);
  };
  // A pipe found closed after the command set its status still exits 0.
  process.stdout.on("error", () => {
    if (out.stdoutClosed) process.exitCode = EXIT.ok;
  });
  const program = createProgram(out.write, setExitCode, out.writeErr, terminalProgress(out.writeErr), invokedAs());
  // A usage error exits 2, like a missing module: exit code 1 means "found a failure".
  for (const cmd of [program, ...program.commands]) {
    cmd.exitOverride((e) => process.exit(out.exitCode(e.exitCode === 0 ? EXIT.ok : EXIT.error)));
  }
  program
    .parseAsync()
    .catch((e: unknown) => {
      if (isInstance(e, PipeClosed)) return;
      const t = thrownText(e);
      out.writeErr(`gpuvm-sim: ${t.stack ?? `${t.name}: ${t.message}`}\n`);
      setExitCode(EXIT.error);
    });
}
