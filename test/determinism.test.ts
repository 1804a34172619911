// The same observed state renders to the same bytes, every time, with one build Job.
import { RunFunctionResponse, Severity } from '@crossplane-org/function-sdk-typescript';
import { runFunction } from '../src/functions/render/fn.js';
import { appRequired, exampleApp, exampleTenant, request } from './helpers/fixtures.js';

test('1,000 renders of one observed App state: identical bytes, exactly one build Job', () => {
  const app = exampleApp();
  const req = request({ composite: app, required: appRequired(app, exampleTenant()) });
  const before = JSON.stringify(req);
  const first = Buffer.from(RunFunctionResponse.encode(runFunction(req).response).finish());
  const jobs = new Set<string>();
  for (let i = 0; i < 1000; i++) {
    const { response } = runFunction(req);
    expect(Buffer.from(RunFunctionResponse.encode(response).finish()).equals(first)).toBe(true);
    for (const r of Object.values(response.desired!.resources)) {
      const o = r.resource as { kind: string; metadata: { name: string } };
      if (o.kind === 'Job') jobs.add(o.metadata.name);
    }
  }
  expect(jobs.size).toBe(1);
  // And the request is never mutated along the way.
  expect(JSON.stringify(req)).toBe(before);
});

test('the Tenant renders to the same bytes whatever order Crossplane lists observed resources in', () => {
  const tenant = exampleTenant();
  // The Namespaces observed, so that everything in them is composed too.
  const a = runFunction(request({ composite: tenant, observed: { 'namespace-acme-dev': { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'acme-dev' } }, 'namespace-acme-prod': { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'acme-prod' } } } })).response;
  const b = runFunction(request({ composite: tenant, observed: { 'namespace-acme-prod': { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'acme-prod' } }, 'namespace-acme-dev': { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'acme-dev' } } } })).response;
  expect(Object.keys(a.desired!.resources)).toHaveLength(36);
  expect(Buffer.from(RunFunctionResponse.encode(a).finish()).equals(Buffer.from(RunFunctionResponse.encode(b).finish()))).toBe(true);
});

test('a pipeline step before ours keeps its desired resources and its context, and the request is not changed', () => {
  const app = exampleApp();
  const req = request({ composite: app, required: appRequired(app, exampleTenant()) });
  req.desired = { composite: undefined, resources: { earlier: { resource: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-step-1' } }, connectionDetails: {}, ready: 0 } } };
  const environment = { apiVersion: 'internal.crossplane.io/v1alpha1', kind: 'Environment', region: 'eu-west-1' };
  req.context = { 'apiextensions.crossplane.io/environment': environment };
  const before = JSON.stringify(req);
  const { response } = runFunction(req);
  expect(response.desired!.resources.earlier.resource).toEqual({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-step-1' } });
  expect(Object.keys(response.desired!.resources).filter((k) => k.startsWith('build-job-'))).toHaveLength(1);
  // Crossplane gives the next step the context this one returns.
  expect(RunFunctionResponse.decode(RunFunctionResponse.encode(response).finish()).context).toEqual({ 'apiextensions.crossplane.io/environment': environment });
  expect(JSON.stringify(req)).toBe(before);
  // A FATAL answer stops the pipeline, and still hands back what it was given.
  const fatal = runFunction({ ...req, observed: { ...req.observed!, composite: { ...req.observed!.composite!, resource: { ...app, spec: { files: 'none' } } } } }).response;
  expect(fatal.results[0].severity).toBe(Severity.SEVERITY_FATAL);
  expect(fatal.context).toEqual(req.context);
  expect(fatal.desired!.resources.earlier).toBeDefined();
});
