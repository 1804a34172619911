// Who owns which fields of an object, read from its managedFields (server-side apply). Pure and
// free of @kubernetes/client-node, so commands that need no cluster can use it.
import type { ObjectMeta } from './meta.js';

/** Whether a managedFields entry's fieldsV1 holds `path` (`k:` segments as given, others as `f:`). */
function holds(fieldsV1: Record<string, any> | undefined, path: string[]): boolean {
  let node = fieldsV1;
  for (const p of path) node = node?.[p.startsWith('k:') ? p : `f:${p}`];
  return node !== undefined;
}

/** Whether `manager` owns `path` (e.g. ['spec', 'access']) of an object, by its managedFields. */
export function ownedBy(obj: { metadata: ObjectMeta } | undefined, manager: string, path: string[]): boolean {
  return holds(obj?.metadata.managedFields?.find((m) => m.manager === manager && m.operation === 'Apply')?.fieldsV1, path);
}

/** The managers (any operation) that own `path`. */
export function ownersOf(obj: { metadata: ObjectMeta } | undefined, path: string[]): string[] {
  return [...new Set((obj?.metadata.managedFields ?? []).filter((m) => holds(m.fieldsV1, path)).map((m) => m.manager ?? '(unknown)'))];
}
