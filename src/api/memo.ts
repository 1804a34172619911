// Memoization shared by the request decoder, the validation and the renderers. Crossplane sends
// the same XR, tenant and platform settings on every poll. The decoder keeps what it decoded
// from the same bytes (src/functions/protocol/decode.ts), frozen; the validated specs are memoized by
// those objects' identities, or else by their JSON (validate.ts), and frozen too, so the same
// inputs come back as the same objects. What is composed from them is memoized by those
// objects' identities, and the response encoder (src/functions/protocol/wire.ts) keeps the encoded
// bytes of a frozen object.

/** Entries a memo keeps at most: the XRs of one kind a function process serves without recomputing. */
export const MEMO_SIZE = 1024;

/**
 * The bytes all memos of the process may hold together (--cache-size, FUNCTION_CACHE_SIZE), and
 * each memo's share of them. A memo counts what it keeps by an estimate of its bytes, given by
 * its caller (keys and values are mostly strings and the objects decoded or composed from them).
 */
export const DEFAULT_CACHE_BYTES = 64 << 20;
/**
 * Objects on V8's heap take about this many times the bytes of the JSON or protobuf they came
 * from (property slots, hidden classes, headers): measured with 20,000 distinct Apps, the memos
 * took about 4 MiB of RSS for each MiB of their inputs' bytes.
 */
export const HEAP_FACTOR = 4;
/** The memos' shares of the budget (the rest is slack for estimates). */
export const SHARES = { decoded: 0.25, seen: 0.015, validated: 0.25, appComposed: 0.35, appDigests: 0.01, tenantComposed: 0.1, tenantHints: 0.005 } as const;
const memos: Memo<unknown>[] = [];

/** Sets the process-wide budget: each memo gets its share of it, and evicts down to it now. */
export function setCacheBudget(bytes: number): void {
  for (const m of memos) m.setBudget(bytes);
}

const ids = new WeakMap<object, number>();
let lastId = 0;

/** A number for an object, the same for as long as the object lives and never reused. */
export function identity(o: object): number {
  let id = ids.get(o);
  if (id === undefined) ids.set(o, (id = ++lastId));
  return id;
}

interface Entry<T> {
  value: T;
  /** Estimated bytes of key and value. */
  cost: number;
  /** Looked up since it was added or eviction last passed over it. */
  used: boolean;
}

/**
 * A bounded map from a key to a deep-frozen value, evicting in second-chance order (an
 * approximation of least-recently-used): the oldest entry goes, unless it was looked up since
 * eviction last passed over it, in which case it moves to the back once. A hit only sets a flag,
 * where strict LRU order would take the entry out of the map and put it back on every hit.
 */
export class Memo<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private bytes = 0;
  private maxBytes: number;

  /**
   * @param size most entries kept
   * @param share this memo's fraction of the process-wide byte budget
   */
  constructor(private readonly size: number, private readonly share: number) {
    this.maxBytes = share * DEFAULT_CACHE_BYTES;
    memos.push(this as Memo<unknown>);
  }

  setBudget(total: number): void {
    this.maxBytes = this.share * total;
    this.evict(undefined);
  }

  /** The value kept for a key, if any. */
  find(key: string): T | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    hit.used = true;
    return hit.value;
  }

  /**
   * Keeps a value for a key, frozen all the way down, and returns it. `valueBytes` estimates what
   * the value holds (its key is counted as it is); one larger than this memo's whole budget is
   * returned, frozen, and not kept.
   */
  keep(key: string, value: T, valueBytes: number): T {
    deepFreeze(value);
    const cost = key.length + valueBytes;
    if (cost > this.maxBytes) return value;
    const old = this.entries.get(key);
    if (old) this.bytes -= old.cost;
    this.entries.set(key, { value, cost, used: false });
    this.bytes += cost;
    this.evict(key);
    return value;
  }

  /** The value kept for a key, or else make()'s, kept at the cost `bytesOf` gives it. */
  get(key: string, make: () => T, bytesOf: (value: T) => number): T {
    const hit = this.find(key);
    if (hit !== undefined) return hit;
    const value = make();
    return this.keep(key, value, bytesOf(value));
  }

  get length(): number {
    return this.entries.size;
  }

  /** Estimated bytes kept. */
  get kept(): number {
    return this.bytes;
  }

  /** Makes room after `added` came in; `added` itself is never what goes. */
  private evict(added: string | undefined) {
    // Each pass over an entry clears its flag, so this ends within two rounds of the map.
    while (this.entries.size > this.size || (this.bytes > this.maxBytes && this.entries.size > (added === undefined ? 0 : 1))) {
      const [key, entry] = this.entries.entries().next().value!;
      this.entries.delete(key);
      if (key === added) {
        this.entries.set(key, entry);
      } else if (entry.used) {
        entry.used = false;
        this.entries.set(key, entry);
      } else {
        this.bytes -= entry.cost;
      }
    }
  }
}

/**
 * Frozen all the way down: a memoized value cannot be changed by one render and seen by the next.
 *
 * Nothing in aerogrid freezes an object but this function, and it freezes an object before what
 * it holds, so a frozen object is frozen all the way down, and a frozen part of a value is not
 * walked again. (A set of the objects frozen here, consulted for every object, cost a cold App
 * render more than composing it did, and made every garbage collection walk the set.)
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key in value) deepFreeze(value[key]);
  }
  return value;
}

/** Whether deepFreeze froze this object: nothing in it can change, so what is derived from it can be kept. */
export function isDeeplyFrozen(value: object): boolean {
  return Object.isFrozen(value);
}
