// Memoization shared by the request decoder, the validation and the renderers. Crossplane sends
// the same XR, tenant and platform settings on every poll. The decoder keeps what it decoded
// from the same bytes (src/functions/decode.ts), frozen; the validated specs are memoized by
// those objects' identities, or else by their JSON (validate.ts), and frozen too, so the same
// inputs come back as the same objects. What is composed from them is memoized by those
// objects' identities, and the response encoder (src/functions/wire.ts) keeps the encoded
// bytes of a frozen object.

/** Entries a memo keeps: the XRs of one kind a function process serves without recomputing. */
export const MEMO_SIZE = 1024;

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
  private chars = 0;

  /**
   * @param size most entries kept
   * @param maxChars most characters of keys kept, for keys that are the input itself
   */
  constructor(private readonly size: number, private readonly maxChars = Infinity) {}

  /** The value kept for a key, if any. */
  find(key: string): T | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    hit.used = true;
    return hit.value;
  }

  /** Keeps a value for a key, frozen all the way down, and returns it. */
  keep(key: string, value: T): T {
    deepFreeze(value);
    const old = this.entries.get(key);
    if (old) this.chars -= key.length;
    this.entries.set(key, { value, used: false });
    this.chars += key.length;
    this.evict(key);
    return value;
  }

  /** The value kept for a key, or else make()'s, kept. */
  get(key: string, make: () => T): T {
    const hit = this.find(key);
    return hit !== undefined ? hit : this.keep(key, make());
  }

  get length(): number {
    return this.entries.size;
  }

  /** Makes room after `added` came in; `added` itself is never what goes. */
  private evict(added: string) {
    // Each pass over an entry clears its flag, so this ends within one round of the map.
    while (this.entries.size > this.size || (this.chars > this.maxChars && this.entries.size > 1)) {
      const [key, entry] = this.entries.entries().next().value!;
      this.entries.delete(key);
      if (key === added) {
        this.entries.set(key, entry);
      } else if (entry.used) {
        entry.used = false;
        this.entries.set(key, entry);
      } else {
        this.chars -= key.length;
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
