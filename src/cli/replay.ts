/**
 * `gpuvm-sim replay <module> [export] <token>`: replay one execution with
 * stacks; the exit code says whether it filed a report or diverged.
 */
import { plural } from "../explore/format.js";
import { functionName } from "../explore/execution.js";
import { loadScenarios, type ModuleScenario } from "../explore/load.js";
import { replay, type Divergence } from "../explore/replay.js";
import { decodeToken } from "../kernel/token.js";
import { formatReport } from "../report/text.js";
import { ArgumentError } from "../errors.js";
import { arg, checkOptions, is } from "../validate.js";
import { EXIT, jsonErrorDocument } from "./output.js";

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
 * Whether a divergence looks like a token cut short (copy-paste): the run
 * followed every recorded choice, each after the effects the token recorded
 * for it (the four trace-hash bits every choice carries matched), and then
 * wanted another. A changed scenario usually shows earlier, as a choice
 * whose effects differ; one that only added work at the end looks the same.
 */
function cutShort(d: Divergence, recorded: number): boolean {
  return d.choice === recorded && recorded > 0 && d.reason.startsWith("the run makes more choices");
}

/**
 * Run `gpuvm-sim replay`: replay one execution of the module's scenario from
 * its token, with stacks, and write its reports and any divergence. Returns
 * the exit code: 2 if the replay diverged from the token, else 1 if the
 * execution filed a report, else 0. Throws an ArgumentError for a bad token,
 * a missing module or export, or a module that loads a second copy of
 * gpuvm-sim; an ArgumentError or ArgumentRangeError naming the option at
 * fault.
 */
export async function runReplay(options: ReplayCommandOptions, write: (s: string) => void): Promise<number> {
  checkOptions<ReplayCommandOptions>("options", options, {
    module: is.nonEmptyString,
    export: is.nonEmptyString,
    token: is.any, // decodeToken() says what is wrong with it
    maxSteps: is.positiveInteger,
    stacks: is.boolean,
    json: is.boolean,
    cwd: is.nonEmptyString,
  });
  if ((options.module as string | undefined) === undefined) throw new ArgumentError("module", "is required: the path of the scenario module");
  arg("write", is.function, write);
  let data: ReturnType<typeof decodeToken>;
  let loaded: ModuleScenario;
  let result: ReturnType<typeof replay>;
  try {
    data = decodeToken(options.token);
    loaded = (await loadScenarios(options.module, options.export, false, options.cwd))[0] as ModuleScenario;
    result = replay(loaded.scenario, options.token, {
      stacks: options.stacks !== false,
      ...(options.maxSteps === undefined ? {} : { maxSteps: options.maxSteps }),
    });
  } catch (e) {
    // With --json, stdout still gets one document, saying what went wrong; the error goes on (stderr, exit 2).
    if (options.json === true) write(jsonErrorDocument(options.module, e));
    throw e;
  }
  const { exportName, scenario } = loaded;
  const code = result.divergence !== null ? EXIT.error : result.report !== null ? EXIT.bug : EXIT.ok;
  const maxSteps = result.maxSteps;
  if (options.json === true) {
    const doc = {
      module: options.module,
      export: exportName,
      token: options.token,
      maxSteps,
      recordedMaxSteps: result.recordedMaxSteps,
      stepLimit: result.stepLimit,
      reports: result.reports,
      divergence: result.divergence,
    };
    write(`${JSON.stringify(doc, null, 2)}\n`);
    return code;
  }
  const out: string[] = [];
  if (data.scenario !== exportName && data.scenario !== functionName(scenario)) {
    out.push(`note: the token was made for scenario "${data.scenario}"; replaying export "${exportName}" of ${options.module}`, "");
  }
  const n = result.reports.length;
  for (const [i, r] of result.reports.entries()) out.push(...(n > 1 ? [`Report ${i + 1} of ${n}:`] : []), formatReport(r), "");
  const d = result.divergence;
  const limit = `the step limit of ${maxSteps} (--max-steps)`;
  const other = result.recordedMaxSteps;
  if (other !== null) {
    out.push(`note: replaying with --max-steps ${maxSteps}, but the explore run that made the token used ${other}: the run may end elsewhere.`);
  }
  if (d !== null) {
    out.push(
      `DIVERGED at choice ${d.choice} (step ${d.step}): ${d.reason}.`,
      result.stepLimit && other !== null
        ? `The replay ran into ${limit}; replay without --max-steps to use the recorded ${other}.`
        : cutShort(d, data.choices.length)
          ? `Every recorded choice was followed, each after the effects the token recorded, and the run makes more: the token was probably cut short (copy all of it); else the scenario (or gpuvm-sim) changed after that point. The run above followed the token up to its end.`
          : "The scenario (or gpuvm-sim) changed since the token was made, or the token was cut short; the run above followed the token only up to that choice.",
    );
  } else if (result.stepLimit) {
    out.push(`note: this execution ran into ${limit}${other === null ? ", as the recorded one did" : ""}; a different --max-steps may change the outcome.`);
  }
  const what = n === 0 ? "no report" : plural(n, "report");
  out.push(`${exportName}: replayed seed ${data.seed} (${plural(data.choices.length, "choice")}, found by ${data.strategy}): ${what}${d === null ? "" : ", diverged"}`);
  write(`${out.join("\n")}\n`);
  return code;
}
