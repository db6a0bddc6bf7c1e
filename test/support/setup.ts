/** Vitest setup: after each test, fail it if a collecting Sim saw a task exception it did not expect. */
import { afterEach } from "vitest";
import { checkCollectingSims } from "./collecting-sim.js";

afterEach(() => {
  checkCollectingSims();
});
