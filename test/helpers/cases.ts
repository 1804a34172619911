// The render cases under test/cases/{tenant,app}/: each data file becomes the RunFunctionRequest
// Crossplane would send, and is rendered by the function's RunFunction entry point. Shared by
// test/cases.test.ts (what each case expects) and test/istio.test.ts (what Istio makes of what
// each case composes).
import { readdirSync } from 'node:fs';
import { Severity, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { AppSpec } from '../../src/api/app.js';
import { buildNames, sourceDigest } from '../../src/functions/render/build.js';
import { tenantRequirement } from '../../src/functions/render/app.js';
import { runFunction } from '../../src/functions/render/fn.js';
import { ROOT, exampleApp, exampleTenant, platformInput, readYaml, request, tenantNamespace } from './fixtures.js';

type Obj = Record<string, any>;

export const casesIn = (dir: 'tenant' | 'app') => readdirSync(`${ROOT}/test/cases/${dir}`).filter((f) => f.endsWith('.yaml')).sort()
  .map((f) => [f, readYaml<Obj>(`test/cases/${dir}/${f}`)] as const);

export interface Rendered {
  rsp: RunFunctionResponse;
  /** The desired composed resources, by the key the function gave them. */
  resources: Record<string, Obj>;
  status: Obj;
  fatal?: string;
}

export function render(req: ReturnType<typeof request>): Rendered {
  const { response: rsp } = runFunction(req);
  const fatal = rsp.results.find((r) => r.severity === Severity.SEVERITY_FATAL)?.message;
  const resources = Object.fromEntries(Object.entries(rsp.desired?.resources ?? {}).map(([k, r]) => [k, r.resource as Obj]));
  // A protobuf Struct cannot carry undefined, and Crossplane would read an empty value as null.
  const empty = holes(resources, '');
  if (empty.length) throw new Error(`empty values in the desired resources: ${empty.join(', ')}`);
  return { rsp, resources, status: (rsp.desired?.composite?.resource as Obj | undefined)?.status ?? {}, fatal };
}

function holes(v: unknown, path: string): string[] {
  if (v === undefined || v === null) return [path];
  if (typeof v !== 'object') return [];
  return Object.entries(v).flatMap(([k, x]) => holes(x, `${path}.${k}`));
}

const settingsWith = (patch: Obj | undefined) => ({ ...platformInput(), ...patch });

/** A Tenant case's Tenant: the example, patched, or the case's own. */
export const caseTenant = (c: Obj): Obj => c.tenant === 'example' ? { ...exampleTenant(), spec: { ...(exampleTenant().spec as Obj), ...c.patch } } : c.tenant;

/**
 * A Tenant case, rendered as Crossplane would get it rendered: first with nothing observed (the
 * Namespaces alone), then with its Namespaces observed, then, for `observed: all`, with every
 * desired object observed.
 */
export function renderTenantCase(c: Obj): { tenant: Obj; first: Rendered; result: Rendered } {
  const tenant = caseTenant(c);
  const required: Record<string, Obj[]> = {};
  for (const [key, value] of Object.entries<any>(c.required ?? {})) {
    required[key] = key.startsWith('apps-')
      ? Array.from({ length: value }, (_, i) => ({ apiVersion: 'platform.aerogrid.io/v1alpha1', kind: 'App', metadata: { name: `app-${i}`, namespace: key.slice(5) } }))
      : [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: key.slice('namespace-'.length), labels: value.labels } }];
  }
  const input = settingsWith(c.settings);
  const first = render(request({ composite: tenant, required, input }));
  let result = first;
  if (!result.fatal) {
    const namespaces = Object.fromEntries(Object.entries(result.resources).map(([k, r]) => [k, { ...r, status: { phase: 'Active' } }]));
    result = render(request({ composite: tenant, required, input, observed: namespaces }));
  }
  if (c.observed === 'all' && !result.fatal) {
    // Play the API server: every desired object exists, namespaces are Active, quotas have status.
    const observed = Object.fromEntries(Object.entries(result.resources).map(([k, r]) => [k, {
      ...r,
      status: r.kind === 'Namespace' ? { phase: 'Active' } : r.kind === 'ResourceQuota' ? { hard: r.spec.hard, used: {} } : undefined,
    }]));
    result = render(request({ composite: tenant, required, input, observed }));
  }
  return { tenant, first, result };
}

export const OLD_IMAGE = 'registry.example.com/aerogrid/acme/hello:91bc0000000000000000000000000000000000000000000000000000000000aa';

/** An App case's App and the Tenant it belongs to. */
export function caseApp(c: Obj): { app: Obj; tenant: Obj } {
  const base = exampleApp() as Obj;
  const app: Obj = { ...base, spec: { ...base.spec, ...JSON.parse(JSON.stringify(c.app ?? {}).replaceAll('$OLD_IMAGE', OLD_IMAGE)) } };
  const tenant: Obj = { ...exampleTenant(), spec: { ...(exampleTenant().spec as Obj), ...c.tenant } };
  return { app, tenant };
}

/**
 * An App case, rendered once with what the case says Crossplane observed and fetched. `subst`
 * replaces the placeholders ($BUILT, $JOB, $DIGEST, $BUILT_R1, $JOB_R1, $OLD_IMAGE) with what the
 * current source builds to.
 */
export function renderAppCase(c: Obj): Rendered & { app: Obj; tenant: Obj; subst: (v: unknown) => any } {
  const { app, tenant } = caseApp(c);
  const input = settingsWith(c.settings);

  // What the current source builds to, for the $BUILT, $JOB and $DIGEST placeholders.
  const spec = AppSpec.parse(app.spec);
  const runtime = spec.runtime ?? (input.defaultRuntime as string);
  const baseImage = (input.runtimes as Obj)[runtime]?.baseImage ?? 'none';
  const digest = sourceDigest(spec.files, runtime, baseImage);
  const names = buildNames(input as never, 'acme', 'hello', digest);
  const rebuilt = buildNames(input as never, 'acme', 'hello', digest, 1);
  const vars: Record<string, string> = {
    $BUILT: names.image, $JOB: names.job, $DIGEST: digest, $BUILT_R1: rebuilt.image, $JOB_R1: rebuilt.job,
    $OLD_IMAGE: OLD_IMAGE,
  };
  const subst = (v: unknown): any => JSON.parse(JSON.stringify(v ?? null).replace(/\$[A-Z_0-9]+/g, (m) => vars[m] ?? m));

  const ns = tenantNamespace('acme-dev', 'acme');
  if (c.namespace) ns.metadata!.labels = c.namespace.labels;
  const required: Record<string, unknown[]> = c.required === 'none' ? {} : { namespace: [ns], [tenantRequirement('acme')]: [tenant] };
  // The App's pods and the namespace's events, as Crossplane fetched them when the function asked.
  for (const key of ['pods', 'events'] as const) if (c[key]) required[key] = subst(c[key]);
  const composite: Obj = { ...app, ...(c.status ? { status: subst(c.status) } : {}) };
  if (c.appNamespace) composite.metadata = { ...composite.metadata, namespace: c.appNamespace };
  // Observed objects as Crossplane hands them over: a build's Job under that build's own key.
  const observed = Object.fromEntries(Object.entries<Obj>(subst(c.observed ?? {})).map(([k, o]) => [k === 'job' ? buildKey(o) : k, o]));
  return { ...render(request({ composite, required, input, observed })), app: composite, tenant, subst };
}

/** The key Crossplane observes a build's Job under: each build has a key of its own that follows its name. */
export const buildKey = (o: Obj) => `build-job-${o.metadata.name.slice(o.metadata.name.lastIndexOf('-build-') + '-build-'.length)}`;
