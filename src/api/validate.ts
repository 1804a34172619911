// Runtime validation with messages a person can act on: each problem names the
// concrete field path (spec.files[1].path) and what is allowed.
import { z } from 'zod';

export type Parsed<T> = { ok: true; value: T } | { ok: false; problems: string[] };

export function parseAt<S extends z.ZodType>(schema: S, value: unknown, root: string): Parsed<z.output<S>> {
  const result = schema.safeParse(value);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, problems: result.error.issues.map((issue) => `${fieldPath(root, issue.path)}: ${issue.message}`) };
}

export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  let out = root;
  for (const seg of path) out += typeof seg === 'number' ? `[${seg}]` : out ? `.${String(seg)}` : String(seg);
  return out || '.';
}
