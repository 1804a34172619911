// Runtime validation with messages a person can act on: each problem names the
// concrete field path (spec.files[1].path) and what is allowed.
import { z } from 'zod';
import { MEMO_SIZE, Memo, isDeeplyFrozen } from './memo.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/**
 * Crossplane renders the same XR, tenant and platform settings on every poll, so each
 * schema keeps the results for the last inputs it saw, by their exact JSON. The values
 * are frozen: a cached result cannot be changed by one render and seen by the next, and
 * the same input gives the same object, on which the renderers' own memos are keyed.
 * An input that is itself deeply frozen (what the request decoder keeps) cannot change
 * either, and is found by its identity before its JSON is written.
 */
interface Memos {
  byJson: Memo<Parsed<unknown>>;
  byObject: WeakMap<object, Parsed<unknown>>;
}
const memos = new WeakMap<z.ZodType, Map<string, Memos>>();

export function parseAt<S extends z.ZodType>(schema: S, value: unknown, root: string): Parsed<z.output<S>> {
  let roots = memos.get(schema);
  if (!roots) memos.set(schema, (roots = new Map()));
  let memo = roots.get(root);
  if (!memo) roots.set(root, (memo = { byJson: new Memo(MEMO_SIZE), byObject: new WeakMap() }));
  const frozen = value !== null && typeof value === 'object' && isDeeplyFrozen(value);
  let parsed = frozen ? memo.byObject.get(value) : undefined;
  if (parsed === undefined) {
    parsed = memo.byJson.get(JSON.stringify(value) ?? 'undefined', () => {
      const result = schema.safeParse(value);
      return result.success
        ? { ok: true, value: result.data }
        : { ok: false, problems: result.error.issues.map((issue) => `${fieldPath(root, issue.path)}: ${issue.message}`) };
    });
    if (frozen) memo.byObject.set(value, parsed);
  }
  return parsed as Parsed<z.output<S>>;
}

export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out || '.';
}
