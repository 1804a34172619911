// A small seeded PRNG (mulberry32), so that a failing fuzz case can be replayed.
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  string(max: number): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789-./_:*äß漢 \n\t"\'\\';
    let s = '';
    for (let i = this.int(max); i > 0; i--) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  /** Any JSON value a protobuf Struct can carry. */
  value(depth: number): unknown {
    const kind = this.int(depth > 0 ? 7 : 4);
    switch (kind) {
      case 0: return this.string(40);
      case 1: return this.int(2) === 0 ? this.int(1e6) : this.next() * 1e9 - 5e8;
      case 2: return this.int(2) === 0;
      case 3: return null;
      case 4: case 5: {
        const o: Record<string, unknown> = {};
        for (let i = this.int(6); i > 0; i--) o[this.string(12) || 'k'] = this.value(depth - 1);
        return o;
      }
      default: return Array.from({ length: this.int(5) }, () => this.value(depth - 1));
    }
  }
}

/** Replaces, deletes or corrupts one field somewhere inside obj (a deep copy is returned). */
export function mutate(rng: Random, obj: unknown): unknown {
  const copy = structuredClone(obj);
  const paths: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach((v, i) => { paths.push({ parent: node, key: i }); walk(v); });
    else if (node && typeof node === 'object') for (const [k, v] of Object.entries(node)) { paths.push({ parent: node as Record<string, unknown>, key: k }); walk(v); }
  };
  walk(copy);
  if (paths.length === 0) return rng.value(3);
  const { parent, key } = rng.pick(paths);
  const set = (v: unknown) => ((parent as Record<string | number, unknown>)[key] = v);
  switch (rng.int(6)) {
    case 0: if (Array.isArray(parent)) parent.splice(key as number, 1); else delete parent[key as string]; break;
    case 1: set(rng.value(3)); break;
    case 2: set('x'.repeat(rng.pick([1000, 70000, 1 << 20]))); break;
    case 3: { let deep: unknown = 'bottom'; for (let i = 0; i < 60; i++) deep = { d: deep }; set(deep); break; }
    case 4: set(-1); break;
    default: set(rng.string(300)); break;
  }
  return copy;
}
