/**
 * What the CLI tests share: the fixture module, the token the portfolio
 * finds first in it, and running a command function in-process.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { runExplore, runReplay, type ExploreCommandOptions, type ReplayCommandOptions } from "../../src/cli/main.js";

// The fixture module: `abba` takes two static mutexes in opposite orders in
// two tasks (a lock-order cycle); `ordered`, also the default export, takes
// them in one order. It also exports a number, a class and a generator.
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const FIXTURE = "test/cli/fixtures/scenarios.ts";
/** What the portfolio finds first in abba, at execution 0 (random walk, seed 0). */
export const ABBA_TOKEN = "gpuvm-sim:2:0.1.0:abba:random:3298878556:7c7b3a9c:11.17.1b.1a.1a";

/** Run a command function in-process; its exit code and everything it wrote. */
export async function capture<O>(run: (o: O, write: (s: string) => void) => Promise<number>, options: O): Promise<{ code: number; out: string }> {
  let out = "";
  const code = await run(options, (s) => (out += s));
  return { code, out };
}

export const exploreCmd = (o: Omit<ExploreCommandOptions, "module" | "cwd">) => capture(runExplore, { module: FIXTURE, cwd: ROOT, ...o });
export const replayCmd = (o: Omit<ReplayCommandOptions, "module" | "cwd">) => capture(runReplay, { module: FIXTURE, cwd: ROOT, ...o });

/** What a spawned `gpuvm-sim` showed: its exit status, stdout and stderr. */
export interface Spawned {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly out: string;
  readonly err: string;
}

/**
 * Run the command line from the sources in a child process (`node --import
 * tsx src/cli/main.ts ...args`), from the repository's root. `close` shuts
 * the read end of the child's stdout or stderr before it writes anything, as
 * `| head` does once it has read enough.
 */
export function spawnCli(args: readonly string[], close: "stdout" | "stderr" | null = null): Promise<Spawned> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    if (close === "stdout") child.stdout.destroy();
    else child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    if (close === "stderr") child.stderr.destroy();
    else child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      resolve({ code, signal, out, err });
    });
  });
}
