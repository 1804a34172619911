// Runtime validation with messages a person can act on: each problem names the
// concrete field path (spec.files[1].path) and what is allowed.
import { z } from 'zod';
import { MEMO_SIZE, Memo } from './memo.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * Crossplane renders the same XR, tenant and platform settings on every poll, so each
 * schema keeps the results for the last inputs it saw, by their exact JSON. The values
 * are frozen: a cached result cannot be changed by one render and seen by the next, and
 * the same input gives the same object, on which the renderers' own memos are keyed.
 */
const memos = new WeakMap<z.ZodType, Memo<Parsed<unknown>>>();

export function parseAt<S extends z.ZodType>(schema: S, value: unknown, root: string): Parsed<z.output<S>> {
  let memo = memos.get(schema);
  if (!memo) memos.set(schema, (memo = new Memo(MEMO_SIZE)));
  return memo.get(`${root}\u0000${JSON.stringify(value) ?? 'undefined'}`, () => {
    const result = schema.safeParse(value);
    return result.success
      ? { ok: true, value: result.data }
      : { ok: false, problems: result.error.issues.map((issue) => `${fieldPath(root, issue.path)}: ${issue.message}`) };
  }) as Parsed<z.output<S>>;
}

export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out || '.';
}
