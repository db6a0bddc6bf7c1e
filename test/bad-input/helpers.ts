/**
 * Bad-input tests: each case calls a public entry point with bad input and
 * checks the error's class, the argument it names, and (in the test) that
 * nothing changed.
 */
import { expect } from "vitest";
import { SimObject, type Sim } from "../../src/index.js";

type ErrorClass = abstract new (...args: never[]) => Error;

/** Call `f`, expect it to throw an instance of `cls` naming `argument` (if given); return the error. */
export function expectThrows(f: () => unknown, cls: ErrorClass, argument?: string): Error {
  let caught: unknown = undefined;
  let threw = false;
  try {
    f();
  } catch (e) {
    threw = true;
    caught = e;
  }
  expect(threw, "expected a throw").toBe(true);
  expect(caught).toBeInstanceOf(cls);
  if (argument !== undefined) expect((caught as { argument?: unknown }).argument).toBe(argument);
  return caught as Error;
}

/** As expectThrows, for a promise that must reject. */
export async function expectRejects(p: () => Promise<unknown>, cls: ErrorClass, argument?: string): Promise<Error> {
  let caught: unknown = undefined;
  let threw = false;
  try {
    await p();
  } catch (e) {
    threw = true;
    caught = e;
  }
  expect(threw, "expected a rejection").toBe(true);
  expect(caught).toBeInstanceOf(cls);
  if (argument !== undefined) expect((caught as { argument?: unknown }).argument).toBe(argument);
  return caught as Error;
}

/** The id the next object of `sim` will get: unchanged by a constructor that threw (it allocated nothing). */
export function nextId(sim: Sim): number {
  const probe = new SimObject(sim, "Probe", { static: true });
  return probe.id + 1;
}
