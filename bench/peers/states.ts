// The App in each state of its life, as Crossplane would send it to a function: what is
// observed (the build Job, the Deployment) and the XR's own status from the last reconcile.
// test/peers.test.ts checks the peer template against aerogrid in each of them;
// bench/function.ts loads both with the first.
import type { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { sourceDigest, shortDigest } from '../../src/functions/render/build.js';
import { appRequired, exampleApp, exampleTenant, platformInput, request } from '../../test/helpers/fixtures.js';

type Obj = Record<string, any>;
const settings = platformInput() as Obj;
const OLD_IMAGE = `${settings.registry}/acme/hello:91bc`;

function deployment(image: string, available: boolean): Obj {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'hello', namespace: 'acme-dev', generation: 2 },
    spec: { replicas: 2, template: { spec: { containers: [{ name: 'app', image }] } } },
    status: available
      ? { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, conditions: [{ type: 'Available', status: 'True' }] }
      : { observedGeneration: 2, replicas: 2, updatedReplicas: 1, availableReplicas: 1, conditions: [{ type: 'Available', status: 'False' }] },
  };
}

function job(name: string, status: Obj): Obj {
  return { apiVersion: 'batch/v1', kind: 'Job', metadata: { name, namespace: 'acme-dev' }, status };
}

interface State { request: RunFunctionRequest; phase: string; resources: string[] }

function state(opts: { app?: Obj; observed?: (d: { key: string; job: string; image: string; digest: string }) => Obj; status?: (d: { digest: string; job: string; image: string }) => Obj; phase: string; build: boolean; deployment?: boolean }): () => State {
  return () => {
    const app = (opts.app ?? exampleApp()) as Obj;
    const runtime = app.spec.runtime ?? settings.defaultRuntime;
    const digest = sourceDigest(app.spec.files, runtime, settings.runtimes[runtime].baseImage);
    const short = shortDigest(digest);
    const d = { key: `build-job-${short}`, job: `hello-build-${short}`, image: `${settings.registry}/acme/hello:${digest.slice(7)}`, digest };
    if (opts.status) app.status = opts.status(d);
    const observed = opts.observed?.(d) ?? {};
    const resources = [
      ...(opts.build ? [`build-context-${short}`, d.key] : []),
      ...(opts.deployment === false ? [] : ['deployment']),
      'authorizationpolicy', 'requestauthentication', 'service', 'virtualservice',
    ].sort();
    return {
      request: request({ composite: app, observed, required: appRequired(app as ReturnType<typeof exampleApp>, exampleTenant()) }),
      phase: opts.phase,
      resources,
    };
  };
}

export const APP_STATES: Record<string, () => State> = {
  'first push, nothing built yet': state({ phase: 'Building', build: true, deployment: false }),
  'build pending, an older image serving': state({ phase: 'Building', build: true, observed: () => ({ deployment: deployment(OLD_IMAGE, true) }) }),
  'build running': state({ phase: 'Building', build: true, observed: (d) => ({ deployment: deployment(OLD_IMAGE, true), [d.key]: job(d.job, { active: 1 }) }) }),
  'build failed': state({ phase: 'Failed', build: true, observed: (d) => ({ deployment: deployment(OLD_IMAGE, true), [d.key]: job(d.job, { failed: 2, conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' }] }) }) }),
  'build complete, rolling out': state({ phase: 'Deploying', build: true, observed: (d) => ({ deployment: deployment(OLD_IMAGE, true), [d.key]: job(d.job, { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }) }) }),
  'serving the new image': state({
    phase: 'Ready', build: false,
    status: (d) => ({ image: d.image, sourceDigest: d.digest, build: { digest: d.digest, job: d.job, phase: 'Succeeded' } }),
    observed: (d) => ({ deployment: deployment(d.image, true) }),
  }),
  'a public App': state({
    app: (() => { const a = exampleApp() as Obj; a.spec.access = { public: true }; return a; })(),
    phase: 'Building', build: true, observed: () => ({ deployment: deployment(OLD_IMAGE, true) }),
  }),
};

/**
 * What differs and why; bench/function.ts writes these into RESULTS.md. go-templating takes its
 * own annotations (resource name, readiness) off an object and leaves the empty map behind.
 */
export const DIFFERENCES: { pattern: RegExp; why: string }[] = [
  { pattern: /^results: aerogrid \[\{"severity":2,"message":"build of sha256:[0-9a-f]{12}… failed: .*, go-templating \[\]$/, why: 'a failed build: aerogrid also returns a Warning result (Crossplane turns it into an event on the App); go-templating v0.9.2 has no way for a template to return a result, only conditions' },
  { pattern: /^composite\.status\.(releases|revision): aerogrid .*, go-templating absent$/, why: 'history: aerogrid records each image that reached Ready in `status.releases` (the last 10) and the one served in `status.revision`, which `aerogrid releases` and `rollback` read; the template keeps no history' },
  { pattern: /^resources\.[a-z]+\.resource\.metadata\.annotations: aerogrid absent, go-templating \{\}$/, why: 'go-templating removes its own `gotemplating.fn.crossplane.io/*` annotations and leaves an empty `annotations: {}` on every object that has no other annotation' },
];
export const EXPECTED_DIFFERENCES = DIFFERENCES.map((d) => d.pattern);
