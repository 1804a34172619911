// Inputs shared by the tests: the repo's own platform.yaml and examples, and a
// builder for RunFunctionRequests shaped the way Crossplane sends them.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { parse } from 'yaml';
import { crossplaneRequest } from '../../src/functions/protocol/request.js';
import { tenantRequirement } from '../../src/functions/render/app.js';
import type { KubeObject, RenderInput } from '../../src/functions/render/resources.js';

import { ROOT } from '../../scripts/lib/net.js';

export { ROOT };

export function readYaml<T = KubeObject>(path: string): T {
  return parse(readFileSync(resolve(ROOT, path), 'utf8')) as T;
}

export const platformInput = (): Record<string, unknown> => ({
  apiVersion: 'fn.platform.aerogrid.io/v1alpha1',
  kind: 'PlatformSettings',
  ...readYaml<{ settings: Record<string, unknown> }>('platform.yaml').settings,
});


export const exampleTenant = () => readYaml('examples/tenant.yaml');
export const exampleApp = () => readYaml('examples/app.yaml');

/** A Namespace as the Tenant renders it and the API server returns it. */
export function tenantNamespace(name: string, tenant: string): KubeObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'platform.aerogrid.io/tenant': tenant } }, status: { phase: 'Active' } };
}

/**
 * A Tenant's Namespaces as Crossplane observes them once it applied them: a Tenant composes
 * what lives in its namespaces only then.
 */
export function observedNamespaces(tenant: KubeObject): Record<string, unknown> {
  const spec = tenant.spec as { namespaces: string[] };
  const name = tenant.metadata!.name!;
  const names = spec.namespaces.length === 0 ? [`tenant-${name}`] : spec.namespaces.map((s) => `${name}-${s}`);
  return Object.fromEntries(names.map((ns) => [`namespace-${ns}`, tenantNamespace(ns, name)]));
}

/** The required resources an App needs: its namespace and the tenant that owns it, under the keys it asks for them by. */
export function appRequired(app: KubeObject, tenant: KubeObject): RenderInput['required'] {
  return {
    namespace: [tenantNamespace(app.metadata!.namespace!, tenant.metadata!.name!)],
    [tenantRequirement(tenant.metadata!.name!)]: [tenant],
  };
}

export function request(opts: {
  composite: unknown;
  observed?: Record<string, unknown>;
  required?: Record<string, unknown[]>;
  input?: Record<string, unknown>;
  tag?: string;
}): RunFunctionRequest {
  return crossplaneRequest({ ...opts, tag: opts.tag ?? 'test', input: opts.input ?? platformInput() });
}
