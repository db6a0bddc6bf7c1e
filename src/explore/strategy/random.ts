/**
 * Random walk: at every choice, a uniform pick from a per-execution seed.
 * Cheap and surprisingly good at shallow bugs; every execution is
 * independent, so runs split across workers and shards trivially.
 */
import { Prng } from "../../kernel/prng.js";
import type { Strategy } from "../../kernel/scheduler.js";
import type { Task } from "../../kernel/task.js";

export class RandomWalk implements Strategy {
  private readonly rng: Prng;

  constructor(seed: number) {
    this.rng = new Prng(seed);
  }

  pick(_enabled: readonly Task[], n: number): number {
    return this.rng.nextInt(n);
  }

  choose(n: number): number {
    return this.rng.nextInt(n);
  }
}
