// `aerogrid render FILE...`: Tenant and App YAML through the function, in this process,
// with no cluster. What the function asks for (namespaces, the App's tenant, a tenant's
// Apps) is answered from the files themselves and from what their Tenants compose, the
// way Crossplane would answer it from the API server.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Severity, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { parseAllDocuments, stringify } from 'yaml';
import { INPUT_GROUP, INPUT_KIND, INPUT_VERSION, PlatformFile } from '../api/platform.js';
import { parseAt } from '../api/validate.js';
import { PACKAGE_ROOT } from '../meta.js';
import { runFunction } from '../functions/render/fn.js';
import { crossplaneRequest } from '../functions/protocol/request.js';
import { GROUP } from '../functions/render/resources.js';
import { CliError, EXIT } from './errors.js';

type Obj = Record<string, any>;

/** The platform.yaml that ships with aerogrid: the default settings for a render. */
export const DEFAULT_PLATFORM = join(PACKAGE_ROOT, 'platform.yaml');

export interface Rendered {
  xr: string;
  status: Obj;
  resources: Obj[];
  fatal?: string;
  warnings: string[];
}

export function readDocuments(files: string[]): Obj[] {
  const docs: Obj[] = [];
  for (const file of files) {
    if (!existsSync(file)) throw new CliError(`${file}: no such file`);
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new CliError(`${file}: not valid YAML: ${doc.errors[0].message.split('\n')[0]}`);
      const value = doc.toJS();
      if (value === null || value === undefined) continue;
      if (typeof value !== 'object' || Array.isArray(value)) throw new CliError(`${file}: a document is not a Kubernetes object`);
      if (!String(value.apiVersion ?? '').startsWith(`${GROUP}/`) || !['Tenant', 'App', 'XTenant', 'XApp'].includes(value.kind)) {
        throw new CliError(`${file}: ${value.kind ?? 'an object with no kind'} ${value.metadata?.name ?? ''}: aerogrid renders Tenant and App objects of ${GROUP}`.replace('  ', ' '));
      }
      docs.push(value);
    }
  }
  if (docs.length === 0) throw new CliError(`${files.join(', ')}: no Tenant or App to render`);
  return docs;
}

export function platformInput(file: string): Obj {
  let raw: unknown;
  try {
    raw = parseAllDocuments(readFileSync(file, 'utf8'))[0]?.toJS();
  } catch (err) {
    throw new CliError(`--platform ${file}: ${(err as Error).message}`);
  }
  const parsed = parseAt(PlatformFile, raw, '');
  if (!parsed.ok) throw new CliError(`--platform ${file}: ${parsed.problems.join('; ')}`, EXIT.usage);
  return { apiVersion: `${INPUT_GROUP}/${INPUT_VERSION}`, kind: INPUT_KIND, ...parsed.value.settings };
}

const keyOf = (o: Obj) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

/** Renders Tenants first: the namespaces they compose are what Apps then find. */
export function render(docs: Obj[], input: Obj): Rendered[] {
  const world = new Map<string, Obj>();
  for (const d of docs) world.set(keyOf(d), d);
  const tenantsFirst = [...docs].sort((a, b) => Number(a.kind.endsWith('App')) - Number(b.kind.endsWith('App')));
  const out: Rendered[] = [];
  for (const xr of tenantsFirst) {
    const name = `${xr.kind} ${xr.metadata?.namespace ? `${xr.metadata.namespace}/` : ''}${xr.metadata?.name ?? '(no name)'}`;
    const ns = xr.kind === 'App' ? xr.metadata?.namespace : undefined;
    if (ns && !world.has(`Namespace//${ns}`)) {
      out.push({ xr: name, status: {}, resources: [], warnings: [], fatal: `${name}: no Tenant in these files composes namespace ${ns}; pass the Tenant's YAML too (aerogrid render tenant.yaml app.yaml)` });
      continue;
    }
    // The server gives these; a render plays the API server.
    const composite = { ...xr, metadata: { generation: 1, ...xr.metadata } };
    // Call again, as Crossplane would, until the function asks for nothing new and composes
    // nothing new: what it composed counts as observed (a Tenant composes its Namespaces first).
    let rsp: RunFunctionResponse | undefined;
    let required: Record<string, Obj[]> = {};
    let observed: Record<string, Obj> = {};
    for (let i = 0; i < 5; i++) {
      rsp = runFunction(crossplaneRequest({ tag: 'aerogrid-render', composite, input, required, observed })).response;
      const wanted = { ...(rsp.requirements?.resources ?? {}), ...(rsp.requirements?.extraResources ?? {}) };
      const composed = Object.fromEntries(Object.entries(rsp.desired?.resources ?? {}).map(([k, r]) => [k, r.resource as Obj]));
      if (Object.keys(wanted).every((k) => k in required) && Object.keys(composed).every((k) => k in observed)) break;
      required = Object.fromEntries(Object.entries(wanted).map(([k, s]) => [k, find(world, s)]));
      observed = composed;
    }
    const fatal = rsp!.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
    const warnings = rsp!.results.filter((r) => r.severity === Severity.SEVERITY_WARNING).map((r) => r.message);
    const resources = Object.values(rsp!.desired?.resources ?? {}).map((r) => r.resource as Obj);
    for (const r of resources) world.set(keyOf(r), r);
    const status = (rsp!.desired?.composite?.resource as Obj | undefined)?.status ?? {};
    if (!fatal && status.phase === 'Pending' && /tenant/.test(status.message ?? '')) {
      warnings.push(`${status.message}: pass that Tenant's YAML too (aerogrid render tenant.yaml app.yaml)`);
    }
    out.push({ xr: name, status, resources, fatal, warnings });
  }
  return out;
}

function find(world: Map<string, Obj>, s: { kind: string; matchName?: string; namespace?: string; matchLabels?: { labels: Record<string, string> } }): Obj[] {
  return [...world.values()].filter((o) => o.kind === s.kind
    && (s.matchName === undefined || o.metadata?.name === s.matchName)
    && (s.namespace === undefined || o.metadata?.namespace === s.namespace)
    && Object.entries(s.matchLabels?.labels ?? {}).every(([k, v]) => o.metadata?.labels?.[k] === v));
}

/** Multi-document YAML, each object headed by the XR that composes it. */
export function formatRendered(results: Rendered[], output: 'yaml' | 'json'): string {
  if (output === 'json') {
    return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: results.flatMap((r) => r.resources) }, null, 2);
  }
  return results.filter((r) => !r.fatal).flatMap((r) => [
    `# ${r.xr}: ${r.status.phase ?? 'rendered'}, ${r.resources.length} composed resource(s)`,
    ...r.resources.map((o) => `---\n# ${r.xr} → ${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}\n${stringify(o).trimEnd()}`),
  ]).join('\n');
}
