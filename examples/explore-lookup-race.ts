/**
 * docs/exploration.md: a lookup takes a reference with kref_get while the
 * object's last reference is being dropped. explore() finds the schedule,
 * shrinks it and gives a token that replays it.
 * Run it with `npx tsx examples/explore-lookup-race.ts`.
 */
import { access, condResched, explore, formatReport, kfree, Kref, replay, SimObject, type Effect, type Scenario } from "../src/index.js";

class Bo extends SimObject {
  readonly kref = new Kref<Bo>(this);
}

function* boFree(bo: Bo): Generator<Effect, void, unknown> {
  yield* kfree(bo);
}

// A handle table with one entry; the table holds the BO's only reference.
// sim.share() declares it as state the tasks share, so access() can name it.
export const lookupRace: Scenario = (sim) => {
  const table: { bo: Bo | null } = sim.share({ bo: new Bo(sim, "Bo", { name: "bo0" }) });
  // The table is driver state, not a library object: each task says when it
  // reads or writes it, so the explorer knows these steps conflict.
  sim.spawn("lookup", "process", function* () {
    yield* access(table, "read");
    const bo = table.bo; // no lock, no get_unless_zero: the bug
    yield* condResched();
    if (bo === null) return;
    yield* bo.kref.get();
    yield* bo.kref.put(boFree);
  });
  sim.spawn("close", "process", function* () {
    yield* access(table, "write");
    const bo = table.bo as Bo;
    table.bo = null;
    yield* bo.kref.put(boFree); // the last reference
  });
};

export function main(): string {
  const result = explore(lookupRace, { name: "lookup-race", executions: 500 });
  const failure = result.failures[0];
  if (failure === undefined) return `no failure in ${result.executions} executions`;
  // The token replays that very execution, with stacks at every site.
  const again = replay(lookupRace, failure.token);
  return [
    `found by ${failure.strategy} in execution ${failure.execution}; shrunk to ${failure.shrunk?.to ?? "?"} context switches`,
    formatReport(failure.report),
    `replayed: ${again.report?.kind ?? "nothing"}, diverged: ${again.divergence === null ? "no" : "yes"}`,
  ].join("\n");
}

if (process.argv[1]?.endsWith("explore-lookup-race.ts") === true) console.log(main());
