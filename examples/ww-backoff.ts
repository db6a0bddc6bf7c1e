/**
 * docs/locking.md: two tasks lock the same two buffer objects in opposite
 * orders under acquire contexts, with the kernel's back-off loop. Over many
 * schedules they never deadlock; some schedules need a back-off.
 * Run it with `npx tsx examples/ww-backoff.ts`.
 */
import { Lockdep, Sim, SimObject, WwAcquireCtx, WwClass, WwMutex, type Effect } from "../src/index.js";

class Bo extends SimObject {
  readonly resv: WwMutex;
  constructor(sim: Sim, name: string, cls: WwClass) {
    super(sim, "Bo", { name });
    this.resv = new WwMutex(sim, cls, { embeddedIn: this });
  }
}

// Lock every BO under one context, backing off and retrying as drm_exec does.
function* lockAll(sim: Sim, cls: WwClass, bos: readonly Bo[]): Generator<Effect, number, unknown> {
  const ctx = yield* WwAcquireCtx.init(sim, cls);
  let backoffs = 0;
  let contended: Bo | null = null;
  for (;;) {
    const held: Bo[] = [];
    if (contended !== null) {
      yield* contended.resv.lockSlow(ctx); // wait for the one we lost, holding nothing
      held.push(contended);
    }
    let lost: Bo | null = null;
    for (const bo of bos) {
      if (bo === contended) continue;
      const r = yield* bo.resv.lock(ctx);
      if (r === "backoff") {
        lost = bo;
        break;
      }
      held.push(bo);
    }
    if (lost === null) {
      ctx.done();
      for (const bo of held) yield* bo.resv.unlock();
      ctx.fini();
      return backoffs;
    }
    backoffs++;
    for (const bo of held) yield* bo.resv.unlock(); // back off: drop everything
    contended = lost;
  }
}

export function main(): string {
  let backoffs = 0;
  let reports = 0;
  for (let seed = 0; seed < 100; seed++) {
    const sim = new Sim({ seed, onReport: "collect", lockdep: new Lockdep() });
    const cls = new WwClass(sim, "reservation_ww_class", { algorithm: "wait-die" });
    const a = new Bo(sim, "a", cls);
    const b = new Bo(sim, "b", cls);
    for (const [name, order] of [["exec1", [a, b]], ["exec2", [b, a]]] as const) {
      sim.spawn(name, "process", function* () {
        backoffs += yield* lockAll(sim, cls, order);
      });
    }
    sim.runAll();
    reports += sim.reports.length;
  }
  return `100 schedules: ${reports} reports, ${backoffs} back-offs`;
}

if (process.argv[1]?.endsWith("ww-backoff.ts") === true) console.log(main());
