/**
 * VaTree: the GPU VA space's ordered set of non-overlapping ranges.
 *
 * Mirrors: the `rb_root_cached` interval tree plus the address-ordered list
 * that struct drm_gpuvm keeps its drm_gpuva in (`drm_gpuva_it_iter_first` /
 * `_iter_next`, `drm_gpuva_insert` / `_remove`, `drm_gpuva_find`,
 * `drm_gpuva_find_first`, `drm_gpuva_prev` / `_next`). Ranges are
 * `addr` + `range` as in the kernel: `range` is a length in bytes.
 *
 * Ownership: none. The tree holds values (later: Mappings) but no counted
 * references; the VM that owns the tree takes and drops them.
 *
 * Locking: none of its own. It is a plain data structure with no effects;
 * the VM protects it (and declares the footprint) around every call.
 *
 * Layout: a two-level sorted block list over typed arrays. Leaves are
 * fixed-size slots of one pool (starts and exclusive ends in two
 * Float64Arrays, values in one JS array). A top level lists the leaves in
 * address order with each leaf's first start. Insert and remove shift
 * within one leaf; a full leaf splits, a small one merges with a neighbour.
 *
 * Chosen by measurement on W1 (bench/workloads/va-tree.ts; ns/op insert /
 * lookup / range query / remove, bytes per entry; more in docs/va-tree.md):
 *   this tree, 64-entry leaves       686 /  482 /  586 /  594, 23.5 B
 *   sorted-btree 2.1.0, node 128    1397 / 1206 / 1651 / 1483, 43.1 B
 *   kernel interval tree (C)         754 /  757 /  952 /  203, 48 B
 * sorted-btree misses the lookup and remove targets; this passes all.
 *
 * Invariants (checkInvariants): entries sorted by start; each `start < end`;
 * `end <= next start` (no overlap); every leaf non-empty and at most
 * LEAF_CAPACITY entries; the top level's first keys equal each leaf's first
 * start; the entry count equals `size`.
 */
import { ArgumentError, ArgumentRangeError } from "../errors.js";
import { is } from "../validate.js";

/** Entries per leaf. Measured on W1 (docs/va-tree.md): 64 beat 128 and 256 on insert and remove, tied on queries. */
const LEAF_CAPACITY = 64;
/** A leaf that falls under this merges with a neighbour when the two fit in MERGE_LIMIT. */
const MERGE_BELOW = LEAF_CAPACITY >> 2;
const MERGE_LIMIT = (LEAF_CAPACITY * 3) >> 2;

/** A callback of {@link VaTree.forEachInRange}: return `false` to stop the walk (any other result goes on). */
export type VaVisitor<T> = (value: T, addr: number, range: number) => unknown;

/** One entry, as {@link VaTree.entries} yields it. */
export interface VaEntry<T> {
  readonly addr: number;
  readonly range: number;
  readonly value: T;
}

function checkAddr(argument: string, addr: unknown): void {
  if (typeof addr === "number" && Number.isSafeInteger(addr) && addr >= 0) return;
  is.count(argument, addr);
}

function checkRange(addr: number, range: unknown): void {
  if (typeof range !== "number" || !Number.isSafeInteger(range) || range < 1) is.positiveInteger("range", range);
  if (!Number.isSafeInteger(addr + (range as number))) {
    throw new ArgumentRangeError("range", `addr + range must stay a safe integer, got ${addr} + ${range as number}`);
  }
}

/**
 * An ordered set of non-overlapping `[addr, addr + range)` ranges, each
 * with a value. All methods are plain (no effects) and O(log n) except
 * where noted; bad arguments throw ArgumentError / ArgumentRangeError
 * naming `addr` or `range` and change nothing.
 */
export class VaTree<T> {
  /** Leaf pool: entry i of slot s has start `starts[s*LEAF_CAPACITY + i]`, exclusive end `ends[...]`, value `vals[...]`. */
  #starts = new Float64Array(0);
  #ends = new Float64Array(0);
  #vals: (T | undefined)[] = [];
  #counts = new Int32Array(0);
  #freeSlots: number[] = [];
  #slotCap = 0;
  /** Top level: leaf slots in address order and their first starts. */
  #firsts = new Float64Array(0);
  #order = new Int32Array(0);
  #leaves = 0;
  #size = 0;

  /** Number of entries. */
  get size(): number {
    return this.#size;
  }

  /** Drop every entry (and the pool). */
  clear(): void {
    this.#starts = new Float64Array(0);
    this.#ends = new Float64Array(0);
    this.#vals = [];
    this.#counts = new Int32Array(0);
    this.#freeSlots = [];
    this.#slotCap = 0;
    this.#firsts = new Float64Array(0);
    this.#order = new Int32Array(0);
    this.#leaves = 0;
    this.#size = 0;
  }

  // --- search helpers -------------------------------------------------

  /** Position in the top level of the leaf that holds (or would hold) `addr`: the last with first <= addr, or 0. */
  #leafFor(addr: number): number {
    const firsts = this.#firsts;
    let lo = 1;
    let hi = this.#leaves;
    // INVARIANT: firsts[lo-1] <= addr or lo-1 == 0; firsts[hi..] > addr.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((firsts[mid] as number) <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** Index in slot `slot` of the last entry with start <= addr, or -1. */
  #floorIn(slot: number, addr: number): number {
    const keys = this.#starts;
    const base = slot * LEAF_CAPACITY;
    let lo = 0;
    let hi = this.#counts[slot] as number;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((keys[base + mid] as number) <= addr) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /**
   * Mirrors drm_gpuva_it_iter_first(addr, addr): the value of the entry
   * containing `addr`, or undefined (a gap, or an empty tree).
   * @throws ArgumentError / ArgumentRangeError naming `addr`.
   */
  findContaining(addr: number): T | undefined {
    checkAddr("addr", addr);
    if (this.#leaves === 0) return undefined;
    const slot = this.#order[this.#leafFor(addr)] as number;
    const i = this.#floorIn(slot, addr);
    if (i < 0) return undefined;
    const k = slot * LEAF_CAPACITY + i;
    return addr < (this.#ends[k] as number) ? this.#vals[k] : undefined;
  }

  /**
   * Mirrors drm_gpuva_find(): the value of the entry that is exactly
   * `[addr, addr + range)`, or undefined.
   * @throws ArgumentError / ArgumentRangeError naming `addr` or `range`.
   */
  find(addr: number, range: number): T | undefined {
    checkAddr("addr", addr);
    checkRange(addr, range);
    if (this.#leaves === 0) return undefined;
    const slot = this.#order[this.#leafFor(addr)] as number;
    const i = this.#floorIn(slot, addr);
    if (i < 0) return undefined;
    const k = slot * LEAF_CAPACITY + i;
    return this.#starts[k] === addr && this.#ends[k] === addr + range ? this.#vals[k] : undefined;
  }

  /**
   * Mirrors drm_gpuva_find_first(): the value of the lowest entry
   * overlapping `[addr, addr + range)`, or undefined.
   * @throws ArgumentError / ArgumentRangeError naming `addr` or `range`.
   */
  firstOverlap(addr: number, range: number): T | undefined {
    checkAddr("addr", addr);
    checkRange(addr, range);
    let found: T | undefined;
    this.#walk(addr, addr + range, (v) => {
      found = v;
      return false;
    });
    return found;
  }

  /**
   * Call `fn(value, addr, range)` for every entry overlapping
   * `[addr, addr + range)`, in address order, until `fn` returns `false`
   * (mirrors the drm_gpuva_for_each_va_range walk). Allocates nothing.
   * The tree must not be changed during the walk.
   * @returns the number of entries visited.
   * @throws ArgumentError / ArgumentRangeError naming `addr`, `range` or `fn`.
   */
  forEachInRange(addr: number, range: number, fn: VaVisitor<T>): number {
    checkAddr("addr", addr);
    checkRange(addr, range);
    is.function("fn", fn);
    return this.#walk(addr, addr + range, fn);
  }

  #walk(addr: number, end: number, fn: VaVisitor<T>): number {
    if (this.#leaves === 0) return 0;
    const starts = this.#starts;
    const ends = this.#ends;
    const vals = this.#vals;
    const counts = this.#counts;
    const order = this.#order;
    let pos = this.#leafFor(addr);
    let slot = order[pos] as number;
    let i = this.#floorIn(slot, addr);
    // The floor entry counts only if it reaches past addr.
    if (i < 0 || (ends[slot * LEAF_CAPACITY + i] as number) <= addr) i++;
    let visited = 0;
    for (;;) {
      const n = counts[slot] as number;
      const base = slot * LEAF_CAPACITY;
      for (; i < n; i++) {
        const s = starts[base + i] as number;
        if (s >= end) return visited;
        visited++;
        if (fn(vals[base + i] as T, s, (ends[base + i] as number) - s) === false) return visited;
      }
      if (++pos >= this.#leaves) return visited;
      slot = order[pos] as number;
      i = 0;
    }
  }

  /**
   * Every entry overlapping `[addr, addr + range)` (default: all), in
   * address order, as `{ addr, range, value }` objects. Allocates one
   * object per entry; prefer {@link forEachInRange} on hot paths. The tree
   * must not be changed during the iteration.
   * @throws ArgumentError / ArgumentRangeError naming `addr` or `range`.
   */
  entries(addr = 0, range: number = Number.MAX_SAFE_INTEGER - addr): VaEntry<T>[] {
    checkAddr("addr", addr);
    checkRange(addr, range);
    const out: VaEntry<T>[] = [];
    this.#walk(addr, addr + range, (value, a, r) => {
      out.push({ addr: a, range: r, value });
    });
    return out;
  }

  /**
   * Mirrors drm_gpuva_prev() for the entry starting at `addr`: the value
   * of the last entry starting below `addr`, or undefined.
   * @throws ArgumentError / ArgumentRangeError naming `addr`.
   */
  prev(addr: number): T | undefined {
    checkAddr("addr", addr);
    if (this.#leaves === 0 || addr === 0) return undefined;
    // The floor of addr - 1 is the last entry starting below addr.
    const pos = this.#leafFor(addr - 1);
    const slot = this.#order[pos] as number;
    const i = this.#floorIn(slot, addr - 1);
    return i < 0 ? undefined : this.#vals[slot * LEAF_CAPACITY + i];
  }

  /**
   * Mirrors drm_gpuva_next() for the entry starting at `addr`: the value
   * of the first entry starting above `addr`, or undefined.
   * @throws ArgumentError / ArgumentRangeError naming `addr`.
   */
  next(addr: number): T | undefined {
    checkAddr("addr", addr);
    if (this.#leaves === 0) return undefined;
    let pos = this.#leafFor(addr);
    let slot = this.#order[pos] as number;
    let i = this.#floorIn(slot, addr) + 1;
    if (i >= (this.#counts[slot] as number)) {
      if (++pos >= this.#leaves) return undefined;
      slot = this.#order[pos] as number;
      i = 0;
    }
    return this.#vals[slot * LEAF_CAPACITY + i];
  }

  // --- changes ----------------------------------------------------------

  /**
   * Mirrors drm_gpuva_insert()'s tree half: add `[addr, addr + range)` with
   * `value`.
   * @throws ArgumentError naming `addr` when an entry contains `addr`, or
   *   `range` when the range reaches into the next entry (the kernel's
   *   -EEXIST); ArgumentError / ArgumentRangeError for a bad number. The
   *   tree is unchanged when it throws.
   */
  insert(addr: number, range: number, value: T): void {
    checkAddr("addr", addr);
    checkRange(addr, range);
    const end = addr + range;
    if (this.#leaves === 0) {
      const slot = this.#allocSlot();
      this.#topInsert(0, slot, addr);
      this.#starts[slot * LEAF_CAPACITY] = addr;
      this.#ends[slot * LEAF_CAPACITY] = end;
      this.#vals[slot * LEAF_CAPACITY] = value;
      this.#counts[slot] = 1;
      this.#size = 1;
      return;
    }
    let pos = this.#leafFor(addr);
    let slot = this.#order[pos] as number;
    let i = this.#floorIn(slot, addr);
    const starts = this.#starts;
    if (i >= 0) {
      const k = slot * LEAF_CAPACITY + i;
      if ((this.#ends[k] as number) > addr) {
        throw new ArgumentError("addr", `[${hex(addr)}, +${hex(range)}) overlaps the entry [${hex(starts[k] as number)}, ${hex(this.#ends[k] as number)})`);
      }
    }
    const n = this.#counts[slot] as number;
    const nextStart = i + 1 < n ? (starts[slot * LEAF_CAPACITY + i + 1] as number) : pos + 1 < this.#leaves ? (this.#firsts[pos + 1] as number) : Infinity;
    if (nextStart < end) {
      throw new ArgumentError("range", `[${hex(addr)}, +${hex(range)}) overlaps the entry starting at ${hex(nextStart)}`);
    }
    // Validated: change from here on.
    i++;
    if (n === LEAF_CAPACITY) {
      const half = LEAF_CAPACITY >> 1;
      const right = this.#split(pos, slot, half);
      if (i > half) {
        pos++;
        slot = right;
        i -= half;
      }
    }
    this.#insertAt(slot, i, addr, end, value);
    if (i === 0) this.#firsts[pos] = addr;
    this.#size++;
  }

  /**
   * Mirrors drm_gpuva_remove()'s tree half: remove the entry starting at
   * `addr`.
   * @returns its value, or undefined (and nothing changed) when no entry
   *   starts at `addr`.
   * @throws ArgumentError / ArgumentRangeError naming `addr`.
   */
  remove(addr: number): T | undefined {
    checkAddr("addr", addr);
    if (this.#leaves === 0) return undefined;
    const pos = this.#leafFor(addr);
    const slot = this.#order[pos] as number;
    const i = this.#floorIn(slot, addr);
    if (i < 0 || this.#starts[slot * LEAF_CAPACITY + i] !== addr) return undefined;
    const vi = slot * LEAF_CAPACITY + i;
    const value = this.#vals[vi] as T;
    const n = (this.#counts[slot] as number) - 1;
    const base = slot * LEAF_CAPACITY;
    const starts = this.#starts;
    const ends = this.#ends;
    const vals = this.#vals;
    // A plain loop: at these lengths it beats three copyWithin calls.
    for (let j = vi, last = base + n; j < last; j++) {
      starts[j] = starts[j + 1] as number;
      ends[j] = ends[j + 1] as number;
      vals[j] = vals[j + 1];
    }
    vals[base + n] = undefined;
    this.#counts[slot] = n;
    this.#size--;
    if (n === 0) {
      this.#topRemove(pos);
      this.#freeSlots.push(slot);
    } else {
      if (i === 0) this.#firsts[pos] = this.#starts[base] as number;
      if (n < MERGE_BELOW) this.#maybeMerge(pos);
    }
    return value;
  }

  // --- leaf management --------------------------------------------------

  #insertAt(slot: number, i: number, start: number, end: number, value: T): void {
    const base = slot * LEAF_CAPACITY;
    const n = this.#counts[slot] as number;
    const starts = this.#starts;
    const ends = this.#ends;
    const vals = this.#vals;
    for (let j = base + n; j > base + i; j--) {
      starts[j] = starts[j - 1] as number;
      ends[j] = ends[j - 1] as number;
      vals[j] = vals[j - 1];
    }
    starts[base + i] = start;
    ends[base + i] = end;
    vals[base + i] = value;
    this.#counts[slot] = n + 1;
  }

  /** Move entries `from..` of the leaf at top position `pos` into a new leaf after it; returns the new slot. */
  #split(pos: number, slot: number, from: number): number {
    const right = this.#allocSlot();
    const n = this.#counts[slot] as number;
    const vals = this.#vals;
    this.#starts.copyWithin(right * LEAF_CAPACITY, slot * LEAF_CAPACITY + from, slot * LEAF_CAPACITY + n);
    this.#ends.copyWithin(right * LEAF_CAPACITY, slot * LEAF_CAPACITY + from, slot * LEAF_CAPACITY + n);
    for (let j = from; j < n; j++) {
      vals[right * LEAF_CAPACITY + j - from] = vals[slot * LEAF_CAPACITY + j];
      vals[slot * LEAF_CAPACITY + j] = undefined;
    }
    this.#counts[right] = n - from;
    this.#counts[slot] = from;
    this.#topInsert(pos + 1, right, this.#starts[right * LEAF_CAPACITY] as number);
    return right;
  }

  /** Merge the small leaf at `pos` with a neighbour when both fit comfortably in one leaf. */
  #maybeMerge(pos: number): void {
    const order = this.#order;
    const counts = this.#counts;
    let left: number;
    if (pos + 1 < this.#leaves && (counts[order[pos] as number] as number) + (counts[order[pos + 1] as number] as number) <= MERGE_LIMIT) left = pos;
    else if (pos > 0 && (counts[order[pos - 1] as number] as number) + (counts[order[pos] as number] as number) <= MERGE_LIMIT) left = pos - 1;
    else return;
    const a = order[left] as number;
    const b = order[left + 1] as number;
    const na = counts[a] as number;
    const nb = counts[b] as number;
    this.#starts.copyWithin(a * LEAF_CAPACITY + na, b * LEAF_CAPACITY, b * LEAF_CAPACITY + nb);
    this.#ends.copyWithin(a * LEAF_CAPACITY + na, b * LEAF_CAPACITY, b * LEAF_CAPACITY + nb);
    const vals = this.#vals;
    for (let j = 0; j < nb; j++) {
      vals[a * LEAF_CAPACITY + na + j] = vals[b * LEAF_CAPACITY + j];
      vals[b * LEAF_CAPACITY + j] = undefined;
    }
    counts[a] = na + nb;
    counts[b] = 0;
    this.#topRemove(left + 1);
    this.#freeSlots.push(b);
  }

  #allocSlot(): number {
    const free = this.#freeSlots.pop();
    if (free !== undefined) return free;
    if (this.#leaves >= this.#slotCap) {
      const cap = Math.max(8, this.#slotCap * 2);
      const starts = new Float64Array(cap * LEAF_CAPACITY);
      starts.set(this.#starts);
      this.#starts = starts;
      const ends = new Float64Array(cap * LEAF_CAPACITY);
      ends.set(this.#ends);
      this.#ends = ends;
      const counts = new Int32Array(cap);
      counts.set(this.#counts);
      this.#counts = counts;
      for (let j = this.#vals.length; j < cap * LEAF_CAPACITY; j++) this.#vals.push(undefined);
      const firsts = new Float64Array(cap);
      firsts.set(this.#firsts);
      this.#firsts = firsts;
      const order = new Int32Array(cap);
      order.set(this.#order);
      this.#order = order;
      this.#slotCap = cap;
    }
    // INVARIANT: with no free slot, slots 0..leaves-1 are all in use.
    return this.#leaves;
  }

  #topInsert(pos: number, slot: number, first: number): void {
    const nl = this.#leaves;
    this.#firsts.copyWithin(pos + 1, pos, nl);
    this.#order.copyWithin(pos + 1, pos, nl);
    this.#firsts[pos] = first;
    this.#order[pos] = slot;
    this.#leaves = nl + 1;
  }

  #topRemove(pos: number): void {
    const nl = this.#leaves;
    this.#firsts.copyWithin(pos, pos + 1, nl);
    this.#order.copyWithin(pos, pos + 1, nl);
    this.#leaves = nl - 1;
  }

  // --- checks -----------------------------------------------------------

  /**
   * Check the tree's invariants (order, no overlap, leaf bounds, top-level
   * keys, size). O(n).
   * @returns one line per violation; empty when the tree is sound.
   */
  checkInvariants(): string[] {
    const problems: string[] = [];
    let count = 0;
    let prevEnd = -1;
    const seen = new Set<number>();
    for (let pos = 0; pos < this.#leaves; pos++) {
      const slot = this.#order[pos] as number;
      if (seen.has(slot)) problems.push(`leaf slot ${slot} listed twice`);
      seen.add(slot);
      const n = this.#counts[slot] as number;
      if (n < 1 || n > LEAF_CAPACITY) problems.push(`leaf ${pos} holds ${n} entries (1..${LEAF_CAPACITY})`);
      if (n >= 1 && this.#firsts[pos] !== this.#starts[slot * LEAF_CAPACITY]) problems.push(`leaf ${pos}: top-level key ${this.#firsts[pos]} differs from its first start ${this.#starts[slot * LEAF_CAPACITY]}`);
      for (let i = 0; i < n; i++) {
        const s = this.#starts[slot * LEAF_CAPACITY + i] as number;
        const e = this.#ends[slot * LEAF_CAPACITY + i] as number;
        if (!(s < e)) problems.push(`entry at ${hex(s)}: end ${hex(e)} not above its start`);
        if (s < prevEnd) problems.push(`entry at ${hex(s)} overlaps or precedes the previous entry (ending at ${hex(prevEnd)})`);
        prevEnd = e;
        count++;
      }
    }
    if (count !== this.#size) problems.push(`size ${this.#size} but ${count} entries`);
    return problems;
  }
}

function hex(x: number): string {
  return `0x${x.toString(16)}`;
}
