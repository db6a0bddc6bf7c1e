/**
 * `gpuvm-sim explore <module> [export]`: import a user's scenario module and
 * explore one exported scenario (or, with `--all`, every one), printing each
 * failure's report and the `gpuvm-sim replay` line that reproduces it.
 */
import { explore, type ExploreOptions, type ExploreResult } from "../explore/explore.js";
import { failureHeading, formatSummary, plural } from "../explore/format.js";
import { loadScenarios } from "../explore/load.js";
import { formatReport } from "../report/text.js";

/** The strategies `--strategy` accepts. */
export const STRATEGIES = ["random", "pct", "dfs", "portfolio"] as const;

/** Options of `gpuvm-sim explore`; unset fields take explore()'s defaults. */
export interface ExploreCommandOptions {
  /** Path of the scenario module, resolved from `cwd`. */
  readonly module: string;
  /** The exported scenario to explore (default `"default"`). */
  readonly export?: string | undefined;
  /** Explore every exported scenario function instead (default false). */
  readonly all?: boolean | undefined;
  /** As explore()'s `strategy` (default `"portfolio"`). */
  readonly strategy?: (typeof STRATEGIES)[number] | undefined;
  readonly executions?: number | undefined;
  readonly seed?: number | undefined;
  readonly maxSteps?: number | undefined;
  readonly timeMs?: number | undefined;
  /** Run only shard `index` of `count` (default: everything); see docs/exploration.md. */
  readonly shard?: readonly [number, number] | undefined;
  /** Collect every distinct failure instead of stopping at the first (default false). */
  readonly allFailures?: boolean | undefined;
  /** Shrink failing schedules (default true). */
  readonly shrink?: boolean | undefined;
  /** Print one JSON document instead of text (default false). */
  readonly json?: boolean | undefined;
  /** Where `module` is resolved from (default: the working directory). */
  readonly cwd?: string | undefined;
  /**
   * Shows which scenario is being explored while it runs; called with "" when
   * it is done (default: nothing). The command passes a terminal's stderr.
   */
  readonly progress?: ((line: string) => void) | null | undefined;
}

/** Quote `s` for a POSIX shell, when it needs it. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", "'\\''")}'`;
}

/** The command line that replays a token. */
export function replayCommand(module: string, exportName: string, token: string, maxSteps?: number): string {
  const steps = maxSteps === undefined ? "" : ` --max-steps ${maxSteps}`;
  return `gpuvm-sim replay ${shellQuote(module)} ${shellQuote(exportName)} ${shellQuote(token)}${steps}`;
}

function exploreOptionsOf(o: ExploreCommandOptions): ExploreOptions {
  return {
    ...(o.strategy === undefined ? {} : { strategy: o.strategy }),
    ...(o.executions === undefined ? {} : { executions: o.executions }),
    ...(o.seed === undefined ? {} : { seed: o.seed }),
    ...(o.maxSteps === undefined ? {} : { maxSteps: o.maxSteps }),
    ...(o.timeMs === undefined ? {} : { timeMs: o.timeMs }),
    ...(o.shard === undefined ? {} : { shard: o.shard }),
    stopAtFirst: o.allFailures !== true,
    shrink: o.shrink !== false,
  };
}

/**
 * Run `gpuvm-sim explore`: import the module, explore each chosen scenario,
 * and write each failure's report with its replay command, then statistics.
 * Returns the exit code: 1 if any scenario failed, else 0. Throws an
 * ArgumentError for a missing module or export, or a bad option.
 */
export async function runExplore(options: ExploreCommandOptions, write: (s: string) => void): Promise<number> {
  const scenarios = await loadScenarios(options.module, options.export, options.all === true, options.cwd);
  const exploreOptions = exploreOptionsOf(options);
  const strategy = options.strategy ?? "portfolio";
  const runs: { exportName: string; result: ExploreResult; replay: string[] }[] = [];
  for (const { exportName, scenario } of scenarios) {
    // explore() runs synchronously without progress callbacks: the line says what runs, not how far it got.
    options.progress?.(`exploring ${exportName} (strategy ${strategy})...`);
    let result: ExploreResult;
    try {
      result = explore(scenario, exploreOptions);
    } finally {
      options.progress?.("");
    }
    const replay = result.failures.map((f) => replayCommand(options.module, exportName, f.token, options.maxSteps));
    runs.push({ exportName, result, replay });
    if (options.json === true) continue;
    const count = result.failures.length;
    for (const [i, f] of result.failures.entries()) {
      write(`${failureHeading(f, i, count)}\n${formatReport(f.report)}\nReplay from a shell: ${replay[i] ?? ""}\n\n`);
    }
    write(`${formatSummary(exportName, result, strategy)}\n`);
  }
  const failed = runs.filter((r) => r.result.failures.length > 0);
  if (options.json === true) {
    const scenariosJson = runs.map((r) => ({
      export: r.exportName,
      ...r.result,
      failures: r.result.failures.map((f, i) => ({ ...f, replayCommand: r.replay[i] })),
    }));
    write(`${JSON.stringify({ module: options.module, scenarios: scenariosJson }, null, 2)}\n`);
  } else if (runs.length > 1) {
    write(
      failed.length === 0
        ? `\nOK: ${plural(runs.length, "scenario")} passed.\n`
        : `\nFAILED: ${failed.length} of ${plural(runs.length, "scenario")} (${failed.map((r) => r.exportName).join(", ")}).\n`,
    );
  }
  return failed.length === 0 ? 0 : 1;
}
