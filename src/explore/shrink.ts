/**
 * Shrinking a failing schedule: the simplest schedule that still fails the
 * same way.
 *
 * A candidate is a list of choices run by a guided strategy: each pick takes
 * the next recorded task if it is enabled, and otherwise (or once the list
 * runs out) keeps running the task that ran last, if it can, else the first
 * enabled one. So dropping a choice means "no switch here". Two passes:
 * delta debugging (ddmin) removes chunks of choices while the run still
 * fails with the same fingerprint; then each remaining choice is dropped on
 * its own if the failure survives. The result is the schedule's actual
 * choices, from which the token is made.
 */
import type { Effect } from "../kernel/effect.js";
import type { Strategy } from "../kernel/scheduler.js";
import { ChoiceKind, choiceKind, choiceValue } from "../kernel/token.js";
import type { Task } from "../kernel/task.js";

/** Follows a list of choices, defaulting to "no switch". Counts context switches. */
export class GuidedStrategy implements Strategy {
  private next = 0;
  private prev = -1;
  /** Steps whose task differs from the previous step's. */
  switches = 0;

  constructor(private readonly choices: readonly number[]) {}

  pick(enabled: readonly Task[], n: number): number {
    const r = this.choices[this.next];
    if (r !== undefined && choiceKind(r) === ChoiceKind.Pick) {
      this.next++;
      const id = choiceValue(r);
      for (let i = 0; i < n; i++) if ((enabled[i] as Task).id === id) return i;
    }
    for (let i = 0; i < n; i++) if ((enabled[i] as Task).id === this.prev) return i;
    return 0;
  }

  choose(n: number): number {
    const r = this.choices[this.next];
    if (r !== undefined && choiceKind(r) === ChoiceKind.Choose) {
      this.next++;
      const v = choiceValue(r);
      return v < n ? v : 0;
    }
    return 0;
  }

  executed(task: Task, _effect: Effect): void {
    if (this.prev !== -1 && task.id !== this.prev) this.switches++;
    this.prev = task.id;
  }
}

/** One guided run: whether it failed the same way, its actual choices, its switches. */
export interface Trial {
  readonly fails: boolean;
  readonly choices: readonly number[];
  readonly switches: number;
}

/**
 * Shrink `choices` (which fail) with at most `budget` trial runs. Returns
 * the best trial found (the original, run guided, if nothing shrank).
 */
export function shrinkChoices(choices: readonly number[], run: (choices: readonly number[]) => Trial, budget = 300): Trial {
  let runs = 0;
  const attempt = (c: readonly number[]): Trial | null => {
    if (runs >= budget) return null;
    runs++;
    const t = run(c);
    return t.fails ? t : null;
  };
  let best = attempt(choices);
  if (best === null) return { fails: true, choices, switches: Infinity };
  let current = [...best.choices];

  // ddmin: remove chunks, halving the chunk size when nothing can go.
  for (let chunk = Math.max(1, current.length >> 1); chunk >= 1 && runs < budget; ) {
    let removed = false;
    for (let at = 0; at < current.length && runs < budget; ) {
      const candidate = [...current.slice(0, at), ...current.slice(at + chunk)];
      const t = attempt(candidate);
      if (t !== null && t.switches <= best.switches) {
        best = t;
        current = [...t.choices];
        removed = true;
      } else {
        at += chunk;
      }
    }
    if (!removed) chunk >>= 1;
  }

  // Then each choice alone, from the end: fewer switches wins.
  for (let i = current.length - 1; i >= 0 && runs < budget; i--) {
    const candidate = [...current.slice(0, i), ...current.slice(i + 1)];
    const t = attempt(candidate);
    if (t !== null && t.switches <= best.switches) {
      best = t;
      current = [...t.choices];
      i = Math.min(i, current.length);
    }
  }
  return best;
}
