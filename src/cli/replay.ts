/**
 * `gpuvm-sim replay <module> [export] <token>`: replay one execution with
 * stacks; the exit code says whether it filed a report or diverged.
 */
import { plural } from "../explore/format.js";
import { loadScenarios, type ModuleScenario } from "../explore/load.js";
import { replay } from "../explore/replay.js";
import { decodeToken } from "../kernel/token.js";
import { formatReport } from "../report/text.js";

/** Options of `gpuvm-sim replay`. */
export interface ReplayCommandOptions {
  /** Path of the scenario module, resolved from `cwd`. */
  readonly module: string;
  /** The exported scenario (default `"default"`). */
  readonly export?: string | undefined;
  /** The token from `explore`. */
  readonly token: string;
  /** As in the explore run that made the token (default 10,000). */
  readonly maxSteps?: number | undefined;
  /** Record a JavaScript stack at every site (default true). */
  readonly stacks?: boolean | undefined;
  /** Print one JSON document instead of text (default false). */
  readonly json?: boolean | undefined;
  readonly cwd?: string | undefined;
}

/**
 * Run `gpuvm-sim replay`: replay one execution of the module's scenario from
 * its token, with stacks, and write its reports and any divergence. Returns
 * the exit code: 2 if the replay diverged from the token, else 1 if the
 * execution filed a report, else 0. Throws an ArgumentError for a bad token,
 * a missing module or export.
 */
export async function runReplay(options: ReplayCommandOptions, write: (s: string) => void): Promise<number> {
  const data = decodeToken(options.token);
  const [loaded] = await loadScenarios(options.module, options.export, false, options.cwd);
  const { exportName, scenario } = loaded as ModuleScenario;
  const result = replay(scenario, options.token, {
    stacks: options.stacks !== false,
    ...(options.maxSteps === undefined ? {} : { maxSteps: options.maxSteps }),
  });
  const code = result.divergence !== null ? 2 : result.report !== null ? 1 : 0;
  if (options.json === true) {
    write(`${JSON.stringify({ module: options.module, export: exportName, token: options.token, reports: result.reports, divergence: result.divergence }, null, 2)}\n`);
    return code;
  }
  const out: string[] = [];
  if (data.scenario !== exportName && data.scenario !== scenario.name) {
    out.push(`note: the token was made for scenario "${data.scenario}"; replaying export "${exportName}" of ${options.module}`, "");
  }
  const n = result.reports.length;
  for (const [i, r] of result.reports.entries()) out.push(...(n > 1 ? [`Report ${i + 1} of ${n}:`] : []), formatReport(r), "");
  const d = result.divergence;
  if (d !== null) {
    out.push(
      `DIVERGED at choice ${d.choice} (step ${d.step}): ${d.reason}.`,
      "The scenario (or gpuvm-sim) changed since the token was made; the run above followed the token only up to that choice.",
    );
  }
  const what = n === 0 ? "no report" : plural(n, "report");
  out.push(`${exportName}: replayed seed ${data.seed} (${plural(data.choices.length, "choice")}, found by ${data.strategy}): ${what}${d === null ? "" : ", diverged"}`);
  write(`${out.join("\n")}\n`);
  return code;
}
