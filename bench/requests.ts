// The requests the benchmark sends: the same bytes to the baseline and to aerogrid.
import { appRequired, exampleApp, exampleTenant, request } from '../test/helpers/fixtures.js';

export const CASES = {
  /** An XR aerogrid does not compose: protocol, TLS, decoding, dispatch and a FATAL answer. */
  dispatch: () => request({ composite: { apiVersion: 'example.org/v1', kind: 'XDatabase', metadata: { name: 'db' }, spec: { size: 'small' } } }),
  /** The example Tenant: two namespaces, 34 composed resources. */
  tenant: () => request({ composite: exampleTenant() }),
  /** The example App at its largest phase: build context, Job, Deployment, Service, Istio policies. */
  app: () => {
    const app = exampleApp();
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'hello' }, spec: { template: { spec: { containers: [{ name: 'app', image: 'registry.example.com/aerogrid/acme/hello:91bc' }] } } } };
    return request({ composite: app, observed: { deployment }, required: appRequired(app, exampleTenant()) });
  },
} as const;

export function benchRequest(name: string) {
  const make = CASES[name as keyof typeof CASES];
  if (!make) throw new Error(`unknown case ${name}; one of ${Object.keys(CASES).join(', ')}`);
  return make();
}

/** What aerogrid must answer each case with: the benchmark checks it before and while it measures. */
export const EXPECTED: Record<keyof typeof CASES, { kind: string; severity: 'Normal' | 'Fatal'; resources: number }> = {
  dispatch: { kind: 'other', severity: 'Fatal', resources: 0 },
  tenant: { kind: 'Tenant', severity: 'Normal', resources: 34 },
  app: { kind: 'App', severity: 'Normal', resources: 7 },
};
