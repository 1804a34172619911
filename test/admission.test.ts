// Tier T3 (partial): a real etcd and kube-apiserver on 127.0.0.1. They judge what no unit
// test can: that our XRD schemas and CEL rules compile and reject bad input at admission
// with the field named, that every object the function renders is admitted (the Istio
// objects against Istio's own CRDs), Pod Security, the RBAC matrix, and the Tenant
// deletion policy. Crossplane core cannot be built here (see test/helpers/apiserver.ts):
// this test plays its part, applying what the function rendered, and says so.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { runFunction } from '../src/functions/fn.js';
import { Severity } from '@crossplane-org/function-sdk-typescript';
import { applyComposed, settle } from '../scripts/lib/composer.js';
import { startControlPlane, type ControlPlane } from '../scripts/lib/controlplane.js';
import { compositionInput, dist, installAerogrid, installCrds, must } from '../scripts/lib/install.js';
import { ROOT, exampleApp, exampleTenant, request } from './helpers/fixtures.js';

type Obj = Record<string, any>;
let cp: ControlPlane;

const ok = must;

/** Renders an XR the way Crossplane calls the function, with required resources from the API server. */
async function renderLive(composite: Obj, observed: Record<string, Obj> = {}): Promise<Obj[]> {
  const response = await settle(cp, async (required) => runFunction(request({ composite, required, observed })).response);
  const fatal = response.results.find((r) => r.severity === Severity.SEVERITY_FATAL);
  if (fatal) throw new Error(fatal.message);
  return Object.values(response.desired!.resources).map((r) => r.resource as Obj);
}

beforeAll(async () => {
  cp = await startControlPlane();
  installAerogrid(cp);
}, 180_000);

afterAll(async () => {
  await cp?.stop();
});

describe('admission of the APIs', () => {
  test('the example Tenant and the platform settings are admitted', () => {
    ok(cp.apply([exampleTenant()]));
    ok(cp.apply([{ ...compositionInput(), metadata: { name: 'platform', namespace: 'default' } }]));
  });

  const celMessages = ['tenants', 'apps'].flatMap((api) => {
    const found: string[] = [];
    JSON.stringify(dist(`configuration/apis/${api}/definition.yaml`)[0], (k, v) => (k === 'x-kubernetes-validations' && v.forEach((r: Obj) => found.push(r.message)), v));
    return found;
  });
  const invalid = readdirSync(`${ROOT}/examples/invalid`).filter((f) => f.endsWith('.yaml')).sort();
  test.each(invalid)('invalid example %s is refused at admission, naming the field (or left to the function)', (file) => {
    const text = readFileSync(`${ROOT}/examples/invalid/${file}`, 'utf8');
    const expected = /^# expect: ([^:]+): (.+)$/m.exec(text)!;
    const obj = parse(text);
    // Admission does not depend on the namespace: dry-run Apps in one that exists.
    if (obj.kind === 'App') obj.metadata.namespace = 'default';
    const r = cp.apply([obj], '--dry-run=server');
    if (/^# checked by: function/m.test(text)) {
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      return;
    }
    expect(r.status).not.toBe(0);
    // The API server reports the concrete field (spec.files[1].path).
    const field = expected[1].replace(/\[\d+\]/g, '');
    expect(r.stderr.replace(/\[\d+\]/g, '')).toContain(field);
    // Where the rule is one of our CEL rules, its message reaches the user verbatim; built-in
    // checks (bounds, enums) get the API server's own wording, which also says what is allowed.
    const cel = celMessages.find((m) => expected[2].startsWith(m.slice(0, 40)));
    if (cel) expect(r.stderr).toContain(cel);
    else expect(r.stderr).toMatch(/should|Unsupported value|duplicate entries|must/);
  });
});

describe('what the function renders is admitted by the API server', () => {
  
  test('every Tenant object, Istio policies included', async () => {
    const tenantObjects = await renderLive(exampleTenant());
    const r = applyComposed(cp, tenantObjects);
    expect(r.stdout.split('\n').filter((l) => l.includes('serverside-applied')).length).toBe(tenantObjects.length);
    // A second tenant, for the isolation checks below.
    const globex = { ...exampleTenant(), metadata: { name: 'globex' }, spec: { ...(exampleTenant().spec as Obj), groups: { admin: ['globex-admins'] } } };
    ok(cp.apply([globex]));
    applyComposed(cp, await renderLive(globex));
  });

  test('the function refuses a tenant whose namespace names collide with another tenant\'s, using the live namespace', async () => {
    // Tenant "solo" owns tenant-solo; a Tenant named "tenant" with suffix "solo" would derive the same name.
    const solo = { ...exampleTenant(), metadata: { name: 'solo' }, spec: { ...(exampleTenant().spec as Obj), namespaces: [], groups: { admin: ['solo-admins'] } } };
    ok(cp.apply([solo]));
    applyComposed(cp, await renderLive(solo));
    const thief = { ...solo, metadata: { name: 'tenant' }, spec: { ...solo.spec, namespaces: ['solo'] } };
    await expect(renderLive(thief)).rejects.toThrow('spec.namespaces: namespace tenant-solo already belongs to tenant solo');
  });

  test('every App object in each phase: the Kaniko Job under baseline, the Deployment restricted-clean', async () => {
    ok(cp.apply([exampleApp()]));
    // Pods need their namespace's default ServiceAccount; with no controller-manager here, we create it.
    ok(cp.apply([{ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'acme-dev' } }]));
    const building = await renderLive(exampleApp());
    const job = building.find((o) => o.kind === 'Job')!;
    const r1 = applyComposed(cp, building);
    expect(r1.stdout).toContain(`job.batch/${job.metadata.name} serverside-applied`);
    // No kubelet runs the Job: mark it complete as the job controller would.
    ok(cp.kubectl('patch', 'job', job.metadata.name, '-n', 'acme-dev', '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { startTime: '2026-01-01T00:00:00Z', completionTime: '2026-01-01T00:01:00Z', succeeded: 1, conditions: [
        { type: 'SuccessCriteriaMet', status: 'True' }, { type: 'Complete', status: 'True' }] } })));
    const observedJob = JSON.parse(ok(cp.kubectl('get', 'job', job.metadata.name, '-n', 'acme-dev', '-o', 'json')).stdout);
    const deploying = await renderLive(exampleApp(), { job: observedJob });
    const deployment = deploying.find((o) => o.kind === 'Deployment')!;
    applyComposed(cp, deploying.filter((o) => o !== deployment));
    // The namespace warns at restricted: the Kaniko Job draws warnings (it must run as root), the App none.
    const r2 = ok(cp.apply([deployment]));
    expect(r2.stdout).toContain('deployment.apps/hello serverside-applied');
    expect(r2.stderr).not.toMatch(/PodSecurity/);
    // A Pod exactly like the Deployment's template is admitted where restricted is enforced.
    ok(cp.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'restricted-check', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'restricted-check' } },
    ]));
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hello-probe', namespace: 'restricted-check' }, spec: deployment.spec.template.spec };
    ok(cp.apply([pod], '--dry-run=server'));
    // And the Kaniko pod, which needs root, is not: that is why build tenants enforce baseline.
    const kaniko = cp.apply([{ ...pod, metadata: { name: 'kaniko-probe', namespace: 'restricted-check' }, spec: job.spec.template.spec }], '--dry-run=server');
    expect(kaniko.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
  });
});

describe('Pod Security in a tenant namespace', () => {
  test('a privileged Pod is rejected', () => {
    const r = cp.apply([{
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'root-shell', namespace: 'acme-dev' },
      spec: { containers: [{ name: 'sh', image: 'busybox', securityContext: { privileged: true } }] },
    }]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/violates PodSecurity "baseline:latest": privileged/);
  });
});

describe('RBAC, measured with kubectl auth can-i as impersonated tenant users', () => {
  const matrix: [string, string, string, string, 'yes' | 'no'][] = [
    ['acme-admins', 'create', 'apps.platform.aerogrid.io', 'acme-dev', 'yes'],
    ['acme-admins', 'create', 'apps.platform.aerogrid.io', 'acme-prod', 'yes'],
    ['acme-admins', 'get', 'secrets', 'acme-dev', 'yes'],
    ['acme-admins', 'create', 'apps.platform.aerogrid.io', 'globex-dev', 'no'],
    ['acme-admins', 'get', 'secrets', 'globex-dev', 'no'],
    ['acme-admins', 'create', 'namespaces', '', 'no'],
    ['acme-admins', 'create', 'clusterroles', '', 'no'],
    ['acme-admins', 'create', 'rolebindings', 'acme-dev', 'no'],
    ['acme-admins', 'delete', 'networkpolicies', 'acme-dev', 'no'],
    ['acme-admins', 'patch', 'resourcequotas', 'acme-dev', 'no'],
    ['acme-admins', 'delete', 'authorizationpolicies.security.istio.io', 'acme-dev', 'no'],
    ['acme-developers', 'create', 'pods/exec', 'acme-dev', 'yes'],
    ['acme-developers', 'get', 'pods/log', 'acme-dev', 'yes'],
    ['acme-developers', 'patch', 'apps.platform.aerogrid.io', 'acme-dev', 'yes'],
    ['acme-developers', 'create', 'apps.platform.aerogrid.io', 'acme-dev', 'yes'],
    ['acme-developers', 'delete', 'apps.platform.aerogrid.io', 'acme-prod', 'yes'],
    ['acme-developers', 'create', 'apps.platform.aerogrid.io', 'globex-dev', 'no'],
    ['acme-developers', 'create', 'jobs.batch', 'acme-dev', 'no'],
    ['acme-developers', 'get', 'secrets', 'acme-dev', 'no'],
    ['acme-auditors', 'list', 'pods', 'acme-prod', 'yes'],
    ['acme-auditors', 'get', 'secrets', 'acme-prod', 'no'],
    ['acme-auditors', 'create', 'apps.platform.aerogrid.io', 'acme-prod', 'no'],
  ];
  const printed: string[] = [];
  test.each(matrix)('%s may %s %s in %s: %s', (group, verb, resource, ns, answer) => {
    const [kind, subresource] = resource.split('/');
    const args = ['auth', 'can-i', verb, kind, ...(subresource ? [`--subresource=${subresource}`] : []), '--as', `user-of-${group}`, '--as-group', group];
    if (ns) args.push('-n', ns);
    const r = cp.kubectl(...args);
    printed.push(`${group.padEnd(16)} ${verb.padEnd(7)} ${resource.padEnd(42)} ${(ns || '(cluster)').padEnd(11)} ${r.stdout.trim()}`);
    expect(r.stdout.trim()).toBe(answer);
  });
  afterAll(() => console.log(`RBAC matrix (kubectl auth can-i):\n${printed.join('\n')}`));
});

describe('a Tenant that still has Apps is protected from deletion', () => {
  test('deletion is refused while status counts Apps, and allowed once annotated', () => {
    ok(cp.kubectl('patch', 'tenant', 'acme', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { apps: 1 } })));
    const refused = cp.kubectl('delete', 'tenant', 'acme', '--dry-run=server');
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toContain('tenant acme still has 1 App(s); delete them first, or annotate the Tenant platform.aerogrid.io/allow-delete=true');
    ok(cp.kubectl('annotate', 'tenant', 'acme', 'platform.aerogrid.io/allow-delete=true'));
    ok(cp.kubectl('delete', 'tenant', 'acme', '--dry-run=server'));
  });
});

describe('dist/argocd/ against Argo CD\'s own CRDs', () => {
  test('the projects, the app-of-apps, the ApplicationSet and the argocd-cm entries are admitted', () => {
    const crdDir = execFileSync('bash', [`${ROOT}/scripts/tools.sh`, 'argocd-crds'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const crds = ['application-crd.yaml', 'applicationset-crd.yaml', 'appproject-crd.yaml'].flatMap((f) => parseAllDocuments(readFileSync(`${crdDir}/${f}`, 'utf8')).map((d) => d.toJS()));
    installCrds(cp, crds);
    ok(cp.apply([{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'argocd' } }]));
    // Everything but the pkg.crossplane.io Function and Configuration, whose CRDs come with
    // Crossplane core (not available here).
    const objects = ['projects.yaml', 'root.yaml', 'apps/platform.yaml', 'apps/tenants.yaml', 'argocd-cm.yaml', 'platform/rbac.yaml', 'platform/protection.yaml']
      .flatMap((f) => dist(`argocd/${f}`));
    const r = ok(cp.apply(objects, '--dry-run=server'));
    expect(r.stdout.split('\n').filter((l) => l.includes('serverside-applied')).length).toBe(objects.length);
    // Fields the CRD schemas do not know would be pruned: what the server kept is what we wrote.
    const set = JSON.parse(ok(cp.apply([dist('argocd/apps/tenants.yaml')[0]], '--dry-run=server', '-o', 'json')).stdout);
    expect(set.spec.template.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
    expect(set.spec.generators[0].git.directories).toEqual([{ path: 'tenants/*' }]);
  });
});
