/**
 * Vitest setup: every Sim a test runs is watched, and after each test a
 * watched Sim that collected a task exception the test did not expect fails
 * it (see collecting-sim.ts).
 */
import { afterEach } from "vitest";
import { Sim } from "../../src/index.js";
import { checkCollectingSims, watchSim } from "./collecting-sim.js";

const proto = Sim.prototype as unknown as { run: (...a: unknown[]) => unknown; runAll: (...a: unknown[]) => unknown };
const { run, runAll } = proto;
proto.run = function (this: Sim, ...a: unknown[]) {
  if (this.onReport === "collect") watchSim(this);
  return run.apply(this, a);
};
proto.runAll = function (this: Sim, ...a: unknown[]) {
  if (this.onReport === "collect") watchSim(this);
  return runAll.apply(this, a);
};

afterEach(() => {
  checkCollectingSims();
});
