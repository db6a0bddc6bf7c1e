/**
 * docs/lifetimes.md: tag references with their holder, and a leak report
 * names the holder that never let go and where it took its reference.
 * Run it with `npx tsx examples/leak-with-holders.ts`.
 */
import { formatReport, kfree, Kref, Sim, SimObject, type Effect } from "../src/index.js";

class Gem extends SimObject {
  readonly kref: Kref<Gem>;

  constructor(sim: Sim, name: string) {
    super(sim, "Gem", { name });
    this.kref = new Kref<Gem>(this, { holder: "handle" }); // the creator's reference
  }
}

function* gemFree(gem: Gem): Generator<Effect, void, unknown> {
  yield* kfree(gem);
}

export function main(): string {
  const sim = new Sim({ onReport: "collect" });
  sim.run(function* () {
    const gem = new Gem(sim, "bo0");
    yield* gem.kref.get("vm_bo"); // a VM links the object...
    yield* gem.kref.get("exec"); // ...and a submission uses it
    yield* gem.kref.put(gemFree, "exec");
    yield* gem.kref.put(gemFree, "handle"); // userspace closes its handle
    // The unlink that should drop "vm_bo" never happens.
  });
  const [leak] = sim.teardown(); // every end-of-run check; here, the leak scan
  return leak === undefined ? "no leak" : formatReport(leak);
}

if (process.argv[1]?.endsWith("leak-with-holders.ts") === true) console.log(main());
