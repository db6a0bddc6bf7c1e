/**
 * Shared by the locks' bad-input tests: the error class and the argument it
 * names, and a check that a bad constructor call made nothing (the next
 * object gets the id the failed one would have had).
 */
import { expect } from "vitest";
import { SimObject, type Sim } from "../../src/index.js";

/** `fn` throws an instance of `cls` naming `argument`. */
export function expectArgError(fn: () => unknown, cls: abstract new (...args: never[]) => Error, argument: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(cls);
  expect((thrown as { argument?: string }).argument).toBe(argument);
}

/** The id the next object of `sim` will get: unchanged by a constructor that threw. */
export function nextId(sim: Sim): number {
  const probe = new SimObject(sim, "Probe", { static: true });
  return probe.id + 1;
}
