// Output: human tables by default, -o json or -o yaml for scripts. Pure functions of the
// objects (and of `now`, for ages), so the tests pin them down without a cluster.
import { stringify } from 'yaml';

type Obj = Record<string, any>;

export const OUTPUTS = ['table', 'json', 'yaml'] as const;
export type Output = (typeof OUTPUTS)[number];

export function parseOutput(value: string): Output {
  if ((OUTPUTS as readonly string[]).includes(value)) return value as Output;
  throw new Error(`-o ${value}: not an output format; use json or yaml (or leave it out for a table)`);
}

/** kubectl's age: 45s, 12m, 5h, 3d. */
export function age(created: string | undefined, now: Date): string {
  const t = Date.parse(created ?? '');
  if (!Number.isFinite(t)) return '<unknown>';
  const s = Math.max(0, Math.floor((now.getTime() - t) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Columns padded to their widest cell, three spaces apart, as kubectl prints them. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** What scripts get: the objects as the API server returned them, minus the bulky managed fields. */
function clean(app: Obj): Obj {
  const { managedFields: _managed, ...metadata } = app.metadata ?? {};
  return { ...app, metadata };
}

export function formatList(apps: Obj[], output: Output, now: Date, allNamespaces = false): string {
  if (output === 'json') return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: apps.map(clean) }, null, 2);
  if (output === 'yaml') return stringify({ apiVersion: 'v1', kind: 'List', items: apps.map(clean) }).trimEnd();
  if (apps.length === 0) return 'No apps found.';
  const header = [...(allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'PHASE', 'URL', 'ACCESS', 'AGE'];
  const rows = apps.map((a) => [
    ...(allNamespaces ? [a.metadata?.namespace ?? ''] : []),
    a.metadata?.name ?? '',
    a.status?.phase ?? 'Pending',
    a.status?.url ?? '',
    a.status?.access ?? (a.spec?.access?.public ? 'public' : 'jwt'),
    age(a.metadata?.creationTimestamp, now),
  ]);
  return table(header, rows);
}

export function formatStatus(app: Obj, output: Output, now: Date): string {
  if (output === 'json') return JSON.stringify(clean(app), null, 2);
  if (output === 'yaml') return stringify(clean(app)).trimEnd();
  const s: Obj = app.status ?? {};
  const access = s.access === 'public' ? 'public (no token required: spec.access.public is true)' : 'jwt (a valid Auth0 token from an allowed group is required)';
  const fields: [string, string | undefined][] = [
    ['App', app.metadata?.name],
    ['Namespace', app.metadata?.namespace],
    ['Phase', s.phase ?? 'Pending'],
    ['Message', s.message],
    ['URL', s.url],
    ['Access', s.url ? access : undefined],
    ['Image', s.image],
    ['Source', s.sourceDigest],
    ['Build', s.build ? `${s.build.phase ?? 'Pending'}${s.build.job ? ` (Job ${s.build.job})` : ''}${s.build.message ? `: ${s.build.message}` : ''}` : undefined],
    ['Runtime', app.spec?.image ? `image ${app.spec.image}` : app.spec?.runtime],
    ['Files', Array.isArray(app.spec?.files) ? app.spec.files.map((f: Obj) => f.path).join(', ') : undefined],
    ['Age', age(app.metadata?.creationTimestamp, now)],
  ];
  const out = fields.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => `${`${k}:`.padEnd(11)}${v}`);
  const conditions: Obj[] = Array.isArray(s.conditions) ? s.conditions : [];
  if (conditions.length > 0) {
    out.push('Conditions:');
    const rows = conditions.map((c) => [c.type ?? '', c.status ?? '', c.reason ?? '', c.message ?? '']);
    out.push(...table(['TYPE', 'STATUS', 'REASON', 'MESSAGE'], rows).split('\n').map((l) => `  ${l}`));
  }
  return out.join('\n');
}
