// Tier T3: the real control plane judges what no unit test can. etcd, kube-apiserver and
// kube-controller-manager run as local processes, Crossplane core v2.3.4 reconciles, and aerogrid
// is installed from dist/ through Crossplane's package manager (scripts/lib/platform.ts). Here:
// that our XRD schemas and CEL rules reject bad input at admission with the field named (and what
// they leave to the function is refused by it, as Crossplane reports it), that every object the
// function composes is admitted (the Istio objects against Istio's own CRDs), Pod Security, the
// RBAC matrix, and the Tenant deletion policy. The Apps here are built by Kaniko on the real node
// (scripts/lib/node.ts), whose pods are admitted or refused by the same Pod Security.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { toolPath, type ControlPlane } from '../scripts/lib/controlplane.js';
import { waitUntil } from '../scripts/lib/crossplane.js';
import { compositionInput, dist, installCrds, must } from '../scripts/lib/install.js';
import { platformSettings, startPlatform, waitForPhase, type Platform } from '../scripts/lib/platform.js';
import { ROOT, exampleApp, exampleTenant } from './helpers/fixtures.js';

type Obj = Record<string, any>;
let p: Platform;
let cp: ControlPlane;
/** Invalid examples that admission lets through: file, object, the message the function must give. */
const checkedByFunction: [string, Obj, string][] = [];

const ok = must;

/** `kubectl create --dry-run=server` of one object sent as JSON. */
function create(obj: Obj): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(toolPath('kubectl'), ['--kubeconfig', cp.kubeconfig, 'create', '--dry-run=server', '-f', '-'], { input: JSON.stringify(obj), encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** The message Crossplane reports when the function refuses an XR (Synced=False). */
async function refusal(kind: string, name: string, namespace?: string): Promise<string> {
  const o = await waitUntil(`${kind} ${name} to be refused`, () => {
    const x = p.get(kind, name, namespace);
    return (x?.status?.conditions ?? []).find((c: Obj) => c.type === 'Synced' && c.status === 'False');
  }, 30_000, () => JSON.stringify(p.get(kind, name, namespace)?.status ?? null));
  return o.message as string;
}

beforeAll(async () => {
  p = await startPlatform();
  cp = p.cp;
}, 300_000);

afterAll(async () => {
  await p?.stop();
});

describe('admission of the APIs', () => {
  test('the example Tenant and the platform settings are admitted', () => {
    ok(cp.apply([exampleTenant()]));
    // Crossplane installs no CRD for a function's input (it is only ever embedded in a
    // Composition); the package ships one for validation, which must admit the settings.
    installCrds(cp, dist('function/input/fn.platform.aerogrid.io_platformsettings.yaml'));
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
    // Created from JSON, as a client library would: server-side apply sends YAML, whose decoder
    // refuses control characters before any rule runs (app-content-binary.yaml).
    const r = create(obj);
    if (/^# checked by: function/m.test(text)) {
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      checkedByFunction.push([file, obj, expected[2]]);
      return;
    }
    expect(r.status).not.toBe(0);
    // The API server reports the concrete field (spec.files[1].path).
    const field = expected[1].replace(/\[\d+\]/g, '');
    expect(r.stderr.replace(/\[\d+\]/g, '')).toContain(field);
    // Where the rule is one of our CEL rules, its message reaches the user verbatim. Built-in
    // checks (bounds, enums, patterns) get the API server's own wording, which also says what is
    // allowed: the example records it whole (# admission:), and the whole of it must be there.
    const cel = celMessages.find((m) => m === expected[2] || expected[2].startsWith(m.slice(0, 40)));
    const builtIn = /^# admission: (.+)$/m.exec(text)?.[1];
    if (!cel && !builtIn) throw new Error(`examples/invalid/${file}: its message is not one of our CEL rules; record the API server's whole message as "# admission: ...". It said:\n${r.stderr}`);
    expect(r.stderr).toContain(cel ?? builtIn);
  });
});

describe('what Crossplane composes through the function is admitted by the API server', () => {
  test('every Tenant object, Istio policies included: the Tenant goes Ready', async () => {
    ok(cp.apply([exampleTenant()]));
    const tenant = await waitForPhase(p, 'tenant', 'acme', undefined, 'Ready');
    expect(tenant.status.namespaces).toEqual(['acme-dev', 'acme-prod']);
    const kinds = JSON.parse(ok(cp.kubectl('get', 'configmaps,networkpolicies,roles,rolebindings,resourcequotas,limitranges,peerauthentications.security.istio.io,authorizationpolicies.security.istio.io', '-n', 'acme-dev', '-o', 'json')).stdout).items.map((o: Obj) => o.kind);
    expect(new Set(kinds)).toEqual(new Set(['ConfigMap', 'NetworkPolicy', 'Role', 'RoleBinding', 'ResourceQuota', 'LimitRange', 'PeerAuthentication', 'AuthorizationPolicy']));
    // A second tenant, for the isolation checks below.
    ok(cp.apply([{ ...exampleTenant(), metadata: { name: 'globex' }, spec: { ...(exampleTenant().spec as Obj), groups: { admin: ['globex-admins'] } } }]));
    await waitForPhase(p, 'tenant', 'globex', undefined, 'Ready');
  });

  test('the function refuses a tenant whose namespace names collide with another tenant\'s, using the live namespace', async () => {
    // Tenant "solo" owns tenant-solo; a Tenant named "tenant" with suffix "solo" would derive the same name.
    const solo = { ...exampleTenant(), metadata: { name: 'solo' }, spec: { ...(exampleTenant().spec as Obj), namespaces: [], groups: { admin: ['solo-admins'] } } };
    ok(cp.apply([solo]));
    await waitForPhase(p, 'tenant', 'solo', undefined, 'Ready');
    ok(cp.apply([{ ...solo, metadata: { name: 'tenant' }, spec: { ...solo.spec, namespaces: ['solo'] } }]));
    expect(await refusal('tenant', 'tenant')).toContain('spec.namespaces: namespace tenant-solo already belongs to tenant solo');
    // Nothing of solo's was touched.
    expect(p.get('namespace', 'tenant-solo')!.metadata.labels['platform.aerogrid.io/tenant']).toBe('solo');
  });

  test('every App object in each phase: the Kaniko Job under baseline, the Deployment restricted-clean', async () => {
    ok(cp.apply([exampleApp()]));
    await waitForPhase(p, 'app', 'hello', 'acme-dev', 'Ready', 180_000);
    const [build] = p.buildsOf('acme-dev', 'hello');
    expect(build).toBeDefined();
    const deployment = p.get('deployment', 'hello', 'acme-dev')!;
    // A Pod exactly like the Deployment's template is admitted where restricted is enforced.
    ok(cp.apply([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'restricted-check', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'restricted-check' } },
    ]));
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hello-probe', namespace: 'restricted-check' }, spec: deployment.spec.template.spec };
    const admitted = ok(cp.apply([pod], '--dry-run=server'));
    expect(admitted.stderr).not.toMatch(/PodSecurity/);
    // And the Kaniko pod, which needs root, is not: that is why build tenants enforce baseline.
    const app = exampleApp() as Obj;
    app.spec.files = app.spec.files.map((f: Obj) => (f.path === 'app.py' ? { ...f, content: `${f.content}\n# a second build\n` } : f));
    ok(cp.apply([app]));
    const job = await waitUntil('the second build Job', () => JSON.parse(ok(cp.kubectl('get', 'jobs', '-n', 'acme-dev', '-o', 'json')).stdout).items.find((j: Obj) => !j.metadata.name.endsWith(build.split('-build-')[1])), 30_000);
    const kaniko = cp.apply([{ ...pod, metadata: { name: 'kaniko-probe', namespace: 'restricted-check' }, spec: job.spec.template.spec }], '--dry-run=server');
    expect(kaniko.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
    // In the tenant's namespace (baseline enforced) the same Pod is admitted.
    ok(cp.apply([{ ...pod, metadata: { name: 'kaniko-probe', namespace: 'acme-dev' }, spec: job.spec.template.spec }], '--dry-run=server'));
  });

  test('the invalid examples that admission lets through are refused by the function, as Crossplane reports it', async () => {
    expect(checkedByFunction.length).toBeGreaterThan(0);
    for (const [file, obj, message] of checkedByFunction) {
      if (obj.kind === 'App') obj.metadata.namespace = 'acme-dev';
      ok(cp.apply([obj]));
      const got = await refusal(obj.kind.toLowerCase(), obj.metadata.name, obj.metadata.namespace);
      console.log(`examples/invalid/${file}: refused by the function: ${got}`);
      expect(got).toContain(message);
      ok(cp.kubectl('delete', obj.kind.toLowerCase(), obj.metadata.name, ...(obj.metadata.namespace ? ['-n', obj.metadata.namespace] : []), '--wait=false'));
    }
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
    // As kube-apiserver gives a user of the identity provider their groups: with the platform's prefix.
    const args = ['auth', 'can-i', verb, kind, ...(subresource ? [`--subresource=${subresource}`] : []), '--as', `user-of-${group}`, '--as-group', `${platformSettings().oidcGroupPrefix}${group}`];
    if (ns) args.push('-n', ns);
    const r = cp.kubectl(...args);
    printed.push(`${group.padEnd(16)} ${verb.padEnd(7)} ${resource.padEnd(42)} ${(ns || '(cluster)').padEnd(11)} ${r.stdout.trim()}`);
    expect(r.stdout.trim()).toBe(answer);
  });
  afterAll(() => console.log(`RBAC matrix (kubectl auth can-i):\n${printed.join('\n')}`));
});

describe('a Tenant that still has Apps is protected from deletion', () => {
  test('deletion is refused while status counts Apps, and allowed once annotated', async () => {
    // The function counts the App through Crossplane's required resources.
    await waitUntil('Tenant acme to count its App', () => p.get('tenant', 'acme')?.status?.apps === 1, 30_000);
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
    // The packages too: Crossplane core's CRDs are installed here.
    const objects = ['root.yaml', 'apps/projects.yaml', 'apps/platform.yaml', 'apps/tenants.yaml', 'argocd-cm.yaml', 'platform/rbac.yaml', 'platform/protection.yaml', 'platform/function.yaml', 'platform/configuration.yaml']
      .flatMap((f) => dist(`argocd/${f}`));
    const r = ok(cp.apply(objects, '--dry-run=server'));
    expect(r.stdout.split('\n').filter((l) => l.includes('serverside-applied')).length).toBe(objects.length);
    // Fields the CRD schemas do not know would be pruned: what the server kept is what we wrote.
    const set = JSON.parse(ok(cp.apply([dist('argocd/apps/tenants.yaml')[0]], '--dry-run=server', '-o', 'json')).stdout);
    expect(set.spec.template.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
    expect(set.spec.generators[0].git.directories).toEqual([{ path: 'tenants/*' }]);
  });
});
