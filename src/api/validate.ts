// Runtime validation with messages a person can act on: each problem names the
// concrete field path (spec.files[1].path) and what is allowed.
import { z } from 'zod';
import { HEAP_FACTOR, MEMO_SIZE, Memo, SHARES, identity, isDeeplyFrozen } from './memo.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * Crossplane renders the same XR, tenant and platform settings on every poll, so the
 * results for the last valid inputs are kept, by their exact JSON. The values
 * are frozen: a cached result cannot be changed by one render and seen by the next, and
 * the same input gives the same object, on which the renderers' own memos are keyed.
 * An input that is itself deeply frozen (what the request decoder keeps) cannot change
 * either, and is found by its identity before its JSON is written.
 *
 * One memo serves every schema, keyed by the schema, the root and the input's JSON, within its
 * share of the cache budget (a parsed value counts HEAP_FACTOR times its JSON). Only valid
 * inputs are kept: an invalid one is parsed anew each time, so that failing inputs cannot fill it.
 */
const BY_JSON = new Memo<Parsed<unknown>>(MEMO_SIZE * 4, SHARES.validated);
const byObject = new WeakMap<z.ZodType, WeakMap<object, Map<string, Parsed<unknown>>>>();

export function parseAt<S extends z.ZodType>(schema: S, value: unknown, root: string): Parsed<z.output<S>> {
  const frozen = value !== null && typeof value === 'object' && isDeeplyFrozen(value);
  let objects = byObject.get(schema);
  if (!objects) byObject.set(schema, (objects = new WeakMap()));
  const known = frozen ? objects.get(value)?.get(root) : undefined;
  if (known) return known as Parsed<z.output<S>>;
  const json = JSON.stringify(value) ?? 'undefined';
  const key = `${identity(schema)}\u0000${root}\u0000${json}`;
  let parsed = BY_JSON.find(key);
  if (parsed === undefined) {
    const result = schema.safeParse(value);
    if (!result.success) {
      return { ok: false, problems: result.error.issues.map((issue) => `${fieldPath(root, issue.path)}: ${issue.message}`) };
    }
    parsed = BY_JSON.keep(key, { ok: true, value: result.data }, HEAP_FACTOR * json.length);
  }
  if (frozen) {
    let roots = objects.get(value);
    if (!roots) objects.set(value, (roots = new Map()));
    roots.set(root, parsed);
  }
  return parsed as Parsed<z.output<S>>;
}

export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out || '.';
}
