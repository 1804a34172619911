// Output: human tables by default, -o json or -o yaml for scripts. Pure functions of the
// objects (and of `now`, for ages), so the tests pin them down without a cluster.
import { Document, visit } from 'yaml';
import { ownersOf } from '../client/fields.js';
import type { App } from '../client/index.js';
import { age } from '../present/age.js';

export { age };

type Obj = Record<string, any>;

export const OUTPUTS = ['table', 'json', 'yaml'] as const;
export type Output = (typeof OUTPUTS)[number];

export function parseOutput(value: string): Output {
  if ((OUTPUTS as readonly string[]).includes(value)) return value as Output;
  throw new Error(`-o ${value}: not an output format; use json or yaml (or leave it out for a table)`);
}

/** Columns padded to their widest cell, three spaces apart, as kubectl prints them. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('   ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * YAML as kubectl prints it: a timestamp is a quoted string, so that every YAML reader (1.1
 * ones turn a bare one into a date) reads the same string that -o json gives.
 */
export function stringify(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && TIMESTAMP.test(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString();
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
  const header = [...(allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'PHASE', 'URL', 'REVISION', 'ACCESS', 'AGE'];
  const rows = apps.map((a) => [
    ...(allNamespaces ? [a.metadata?.namespace ?? ''] : []),
    a.metadata?.name ?? '',
    a.status?.phase ?? 'Pending',
    a.status?.url ?? '',
    revisionOf(a),
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
    ['Revision', revisionOf(app) ? `${revisionOf(app)} of ${(s.releases ?? []).length} release(s)${app.spec?.rollback ? ' (rolled back: aerogrid push builds from source again)' : ''}` : undefined],
    ['Image', s.image],
    ['Source', s.sourceDigest],
    ['Build', s.build ? `${s.build.phase ?? 'Pending'}${s.build.job ? ` (Job ${s.build.job})` : ''}${s.build.message ? `: ${s.build.message}` : ''}` : undefined],
    ['Runtime', app.spec?.image ? `image ${app.spec.image}` : app.spec?.runtime],
    ['Files', Array.isArray(app.spec?.files) && app.spec.files.length > 0 ? app.spec.files.map((f: Obj) => f.path).join(', ') : undefined],
    ['Scale', app.spec?.autoscaling
      ? `autoscaling ${app.spec.autoscaling.minReplicas ?? 1}-${app.spec.autoscaling.maxReplicas} at ${app.spec.autoscaling.targetCPUUtilizationPercentage ?? 80}% CPU`
      : `${app.spec?.replicas ?? 1} replica(s)`],
    ['Env', envSummary(app)],
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

/** The revision an App serves: `3`, or `-` before its first release. */
function revisionOf(app: Obj): string {
  return typeof app.status?.revision === 'number' ? String(app.status.revision) : '';
}

function envSummary(app: Obj): string | undefined {
  const names = [...(app.spec?.env ?? []).map((e: Obj) => e.name), ...(app.spec?.envFromSecrets ?? []).map((s: Obj) => `from Secret ${s.name}`)];
  return names.length > 0 ? names.join(', ') : undefined;
}

/** The short tag of a built image (`sha256:3f2a11112222…`, `-r1` for a rebuild), or the image as given. */
function imageTag(image: string): string {
  const m = /:([a-f0-9]{64})(-r\d+)?$/.exec(image);
  return m ? `${m[1].slice(0, 12)}${m[2] ?? ''}` : image;
}

export function formatReleases(app: Obj, output: Output, now: Date): string {
  const releases: Obj[] = app.status?.releases ?? [];
  if (output === 'json') return JSON.stringify({ current: app.status?.revision ?? null, releases }, null, 2);
  if (output === 'yaml') return stringify({ current: app.status?.revision ?? null, releases }).trimEnd();
  if (releases.length === 0) return `App ${app.metadata?.name} has no release yet: none of its images has reached Ready`;
  const rows = releases.map((r) => [
    `${r.revision === app.status?.revision ? '*' : ' '}${r.revision}`,
    imageTag(r.image),
    r.sourceDigest ? `${r.sourceDigest.slice(0, 'sha256:'.length + 12)}` : '(image given)',
    r.readyAt ? `${age(r.readyAt, now)} ago` : '',
  ]);
  return table(['REVISION', 'IMAGE', 'SOURCE', 'READY'], rows);
}

export function formatEnv(app: Obj, output: Output): string {
  const env: Obj[] = app.spec?.env ?? [];
  const secrets: Obj[] = app.spec?.envFromSecrets ?? [];
  if (output === 'json') return JSON.stringify({ env, envFromSecrets: secrets }, null, 2);
  if (output === 'yaml') return stringify({ env, envFromSecrets: secrets }).trimEnd();
  if (env.length === 0 && secrets.length === 0) return `App ${app.metadata?.name} has no environment variables (PORT is always set from spec.port)`;
  const by = (path: string[]) => ownersOf(app as App, path).join(', ');
  const rows = [
    ...env.map((e) => [e.name, e.value, by(['spec', 'env', `k:${JSON.stringify({ name: e.name })}`])]),
    ...secrets.map((s) => [`(Secret ${s.name})`, 'every key, as a variable', by(['spec', 'envFromSecrets', `k:${JSON.stringify({ name: s.name })}`])]),
  ];
  return table(['NAME', 'VALUE', 'SET BY'], rows);
}

