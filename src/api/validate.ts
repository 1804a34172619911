// Runtime validation with messages a person can act on: each problem names the
// concrete field path (spec.files[1].path) and what is allowed.
import { z } from 'zod';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * Crossplane renders the same XR, tenant and platform settings on every poll, so each
 * schema keeps the results for the last inputs it saw, by their exact JSON. The values
 * are frozen: a cached result cannot be changed by one render and seen by the next.
 */
const MEMO_SIZE = 256;
const memos = new WeakMap<z.ZodType, Map<string, Parsed<unknown>>>();

export function parseAt<S extends z.ZodType>(schema: S, value: unknown, root: string): Parsed<z.output<S>> {
  const key = `${root}\u0000${JSON.stringify(value) ?? 'undefined'}`;
  let memo = memos.get(schema);
  if (!memo) memos.set(schema, (memo = new Map()));
  const hit = memo.get(key);
  if (hit) {
    memo.delete(key);
    memo.set(key, hit); // most recently used last
    return hit as Parsed<z.output<S>>;
  }
  const result = schema.safeParse(value);
  const parsed: Parsed<z.output<S>> = result.success
    ? { ok: true, value: deepFreeze(result.data) }
    : { ok: false, problems: result.error.issues.map((issue) => `${fieldPath(root, issue.path)}: ${issue.message}`) };
  memo.set(key, parsed);
  if (memo.size > MEMO_SIZE) memo.delete(memo.keys().next().value!);
  return parsed;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out || '.';
}
