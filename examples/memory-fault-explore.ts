/**
 * docs/memory.md: explored fault injection. Each allocation may fail; DFS
 * covers every failure point and finds the error path that frees twice,
 * which runs only when the second allocation fails. The token replays it.
 * Run it with `npx tsx examples/memory-fault-explore.ts`.
 */
import { configureMemory, explore, GFP_KERNEL, kfree, kmalloc, replay, type Scenario } from "../src/index.js";

export const bindTwo: Scenario = (sim) => {
  configureMemory(sim, { fault: { explore: true } });
  sim.spawn("ioctl", "process", function* () {
    const pt = yield* kmalloc(4096, GFP_KERNEL, { site: "page_table" });
    if (pt === null) return;
    const va = yield* kmalloc(64, GFP_KERNEL, { site: "va" });
    if (va === null) {
      yield* kfree(pt);
      yield* kfree(pt); // BUG: the unwind frees the page table twice
      return;
    }
    yield* kfree(va);
    yield* kfree(pt);
  });
};

export function main(): string {
  const result = explore(bindTwo, { name: "bind-two", strategy: "dfs" });
  const failure = result.failures[0];
  if (failure === undefined) return `no failure in ${result.executions} executions`;
  const again = replay(bindTwo, failure.token);
  return [
    `${failure.report.kind} found in execution ${failure.execution} of ${result.executions}`,
    `replayed: ${again.report?.kind ?? "nothing"}, diverged: ${again.divergence === null ? "no" : "yes"}`,
  ].join("\n");
}

if (process.argv[1]?.endsWith("memory-fault-explore.ts") === true) console.log(main());
