// Who owns which fields of an object, read from its managedFields (server-side apply). Pure and
// free of @kubernetes/client-node, so commands that need no cluster can use it.
import type { ObjectMeta } from './index.js';

/** Whether `manager` owns `path` (e.g. ['spec', 'access']) of an object, by its managedFields. */
export function ownedBy(obj: { metadata: ObjectMeta } | undefined, manager: string, path: string[]): boolean {
  const entry = obj?.metadata.managedFields?.find((m) => m.manager === manager && m.operation === 'Apply');
  let node: Record<string, any> | undefined = entry?.fieldsV1;
  for (const p of path) node = node?.[p.startsWith('k:') ? p : `f:${p}`];
  return node !== undefined;
}

/** The managers (any operation) that own `path`. */
export function ownersOf(obj: { metadata: ObjectMeta } | undefined, path: string[]): string[] {
  return [...new Set((obj?.metadata.managedFields ?? []).filter((m) => {
    let node: Record<string, any> | undefined = m.fieldsV1;
    for (const p of path) node = node?.[p.startsWith('k:') ? p : `f:${p}`];
    return node !== undefined;
  }).map((m) => m.manager ?? '(unknown)'))];
}
