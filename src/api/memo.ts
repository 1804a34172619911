// Memoization shared by the validation and the renderers. Crossplane sends the same XR,
// tenant and platform settings on every poll. The validated specs are memoized by their JSON
// (validate.ts) and frozen, so the same inputs come back as the same objects. What is
// composed from them is memoized by those objects' identities: the same inputs give the same
// frozen objects, and the response encoder (src/functions/wire.ts) keeps the encoded bytes
// of a frozen object too.

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

/** A bounded, least-recently-used map from a key to a deep-frozen value. */
export class Memo<T> {
  private readonly entries = new Map<string, T>();

  constructor(private readonly size: number) {}

  get(key: string, make: () => T): T {
    const hit = this.entries.get(key);
    if (hit !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, hit); // most recently used last
      return hit;
    }
    const value = deepFreeze(make());
    this.entries.set(key, value);
    if (this.entries.size > this.size) this.entries.delete(this.entries.keys().next().value!);
    return value;
  }
}

const deeplyFrozen = new WeakSet<object>();

/** Frozen all the way down: a memoized value cannot be changed by one render and seen by the next. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !deeplyFrozen.has(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
    deeplyFrozen.add(value);
  }
  return value;
}

/** Whether deepFreeze froze this object: nothing in it can change, so what is derived from it can be kept. */
export function isDeeplyFrozen(value: object): boolean {
  return deeplyFrozen.has(value);
}
