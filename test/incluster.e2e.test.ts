// Tier T3, installed as a platform team installs it: Crossplane v2.3.4 from its Helm chart (core's
// image built from the source archive, in the platform's registry), then aerogrid's Function
// and Configuration through Crossplane's package manager. Crossplane's own default Deployment
// runtime runs the function, from the image its package embeds (scripts/lib/images.ts), with the
// TLS Secrets Crossplane made; core and the RBAC manager run as Pods, as their ServiceAccounts, and
// core may do exactly what its chart's ClusterRole and aerogrid's (dist/rbac/) allow.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { answerWhen } from '../scripts/lib/answer.js';
import { toolPath } from '../scripts/lib/controlplane.js';
import { CROSSPLANE_NAMESPACE, isTrue, waitUntil } from '../scripts/lib/crossplane.js';
import { must } from '../scripts/lib/install.js';
import { ROOT } from '../scripts/lib/net.js';
import { PACKAGE_VERSION, platformSettings, startPlatform, waitForPhase, type Platform } from '../scripts/lib/platform.js';
import { exampleApp, exampleTenant } from './helpers/fixtures.js';

type Obj = Record<string, any>;
let p: Platform;
const FUNCTION = 'aerogrid-function-aerogrid';

beforeAll(async () => {
  p = await startPlatform();
  must(p.cp.apply([exampleTenant()]));
  await waitForPhase(p, 'tenant', 'acme', undefined, 'Ready', 60_000);
}, 400_000);

afterAll(async () => {
  await p?.stop();
}, 60_000);

const list = (what: string, ...args: string[]): Obj[] => JSON.parse(must(p.cp.kubectl('get', what, ...args, '-o', 'json')).stdout).items;
const functionPods = () => list('pods', '-n', CROSSPLANE_NAMESPACE, '-l', `pkg.crossplane.io/function=${FUNCTION}`);
const running = (pods: Obj[]) => pods.filter((x) => x.status.phase === 'Running' && !x.metadata.deletionTimestamp
  && (x.status.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True'));
/** Every event, in every namespace, that says a composite could not be composed. */
const failedComposes = () => list('events', '-A').filter((e) => /cannot compose resources/.test(e.message ?? ''));

describe('Crossplane from its Helm chart', () => {
  test('core and the RBAC manager run as Pods of core\'s image from the platform\'s registry, as their own ServiceAccounts, non-root and read-only', () => {
    const pods = list('pods', '-n', CROSSPLANE_NAMESPACE);
    const core = pods.find((x) => x.metadata.labels?.app === 'crossplane')!;
    const rbac = pods.find((x) => x.metadata.labels?.app === 'crossplane-rbac-manager')!;
    const registry = platformSettings().registry.split('/')[0];
    for (const [pod, account] of [[core, 'crossplane'], [rbac, 'rbac-manager']] as const) {
      expect(pod.status.phase).toBe('Running');
      expect(pod.spec.serviceAccountName).toBe(account);
      expect(pod.spec.containers[0].image).toBe(`${registry}/platform/crossplane:v2.3.4`);
      expect(pod.spec.containers[0].securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    }
    expect(core.spec.containers[0].args).toEqual(expect.arrayContaining(['core', 'start', '--circuit-breaker-burst=1000']));
    // The chart's ClusterRole aggregates every role labelled for it: aerogrid's among them.
    const role = JSON.parse(must(p.cp.kubectl('get', 'clusterrole', 'crossplane', '-o', 'json')).stdout);
    expect(role.rules).toContainEqual(expect.objectContaining({ apiGroups: ['security.istio.io'], resources: ['authorizationpolicies', 'peerauthentications', 'requestauthentications'] }));
  });

  test('the function runs as Pods that Crossplane\'s Deployment runtime made from the package\'s image: Node.js 20.19+, no development dependency, non-root, read-only, with the TLS Secret Crossplane made', () => {
    const revisions = list('functionrevisions');
    const active = revisions.find((r) => r.spec.desiredState === 'Active')!;
    expect(active.status.endpoint).toBe(`dns:///${FUNCTION}.${CROSSPLANE_NAMESPACE}:9443`);
    const deployment = JSON.parse(must(p.cp.kubectl('get', 'deployment', active.metadata.name, '-n', CROSSPLANE_NAMESPACE, '-o', 'json')).stdout);
    expect(deployment.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'FunctionRevision', name: active.metadata.name, controller: true })]);
    const pods = running(functionPods());
    expect(pods).toHaveLength(2); // examples/platform/function-runtime.yaml
    const spec = pods[0].spec;
    expect(spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 2000 });
    expect(spec.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(spec.containers[0].args).toEqual(['--cache-size=64', '--max-connection-age=300', '--max-connection-idle=300', '--keepalive-time=120']);
    const tls = spec.volumes.find((v: Obj) => v.secret)?.secret.secretName;
    expect(tls).toBe(active.status.tlsServerSecretName);
    expect(Object.keys(JSON.parse(must(p.cp.kubectl('get', 'secret', tls, '-n', CROSSPLANE_NAMESPACE, '-o', 'json')).stdout).data).sort()).toEqual(['ca.crt', 'tls.crt', 'tls.key']);
    // Inside the image (it has no shell: node itself answers).
    const inside = must(p.cp.kubectl('exec', '-n', CROSSPLANE_NAMESPACE, pods[0].metadata.name, '--', 'node', '-e', [
      'const fs = require("fs");',
      'let writable = true; try { fs.writeFileSync("/app/x", "x") } catch { writable = false }',
      'console.log(JSON.stringify({ node: process.versions.node, uid: process.getuid(), writable,',
      '  dev: ["jest", "typescript", "tsx", "esbuild"].filter((m) => fs.existsSync(`node_modules/${m}`)),',
      '  prod: ["@grpc/grpc-js", "zod"].filter((m) => fs.existsSync(`node_modules/${m}`)), page: fs.existsSync("lib/src/console/web/app.js") }))',
    ].join('\n'))).stdout;
    const facts = JSON.parse(inside);
    const [major, minor] = facts.node.split('.').map(Number);
    expect(major > 20 || (major === 20 && minor >= 19)).toBe(true);
    expect(facts).toMatchObject({ uid: 2000, writable: false, dev: [], prod: ['@grpc/grpc-js', 'zod'], page: true });
  });

  test('an App builds on the node and answers; `kubectl get pkg` and `crossplane resource trace` read as in any cluster', async () => {
    must(p.cp.apply([exampleApp()]));
    await waitForPhase(p, 'app', 'hello', 'acme-dev', 'Ready', 180_000);
    expect(JSON.parse(await answerWhen(p, 'acme-dev', 'hello', (b) => b.includes('message'), 30_000))).toEqual({ message: 'hello from aerogrid' });
    const pkg = must(p.cp.kubectl('get', 'pkg')).stdout;
    expect(pkg).toMatch(new RegExp(`function\\.pkg\\.crossplane\\.io/${FUNCTION}\\s+True\\s+True\\s+xpkg\\.aerogrid\\.io/aerogrid/function-aerogrid:${PACKAGE_VERSION}`));
    expect(pkg).toMatch(new RegExp(`configuration\\.pkg\\.crossplane\\.io/configuration-aerogrid\\s+True\\s+True\\s+xpkg\\.aerogrid\\.io/aerogrid/configuration-aerogrid:${PACKAGE_VERSION}`));
    const trace = spawnSync(toolPath('crossplane-cli'), ['resource', 'trace', 'tenant', 'acme'], { env: { ...process.env, KUBECONFIG: p.cp.kubeconfig }, encoding: 'utf8', timeout: 60_000 });
    expect(trace.stderr).toBe('');
    const rows = trace.stdout.trim().split('\n').slice(1).map((l) => l.replace(/^[\s│├└─]+/, '').split(/\s{2,}/));
    expect(rows[0]).toEqual(['Tenant/acme', 'True', 'True', expect.stringMatching(/Available/)]);
    expect(rows.map((r) => r[0])).toEqual(expect.arrayContaining(['Namespace/acme-dev', 'Namespace/acme-prod', 'ResourceQuota/aerogrid-quota (acme-dev)']));
    // Composed objects that are not Crossplane's show "-"; none may say False.
    expect(rows.slice(1).filter((r) => r[1] === 'False' || r[2] === 'False')).toEqual([]);
  }, 240_000);
});

describe('the lifecycle on Crossplane\'s runtime', () => {
  test('restarting Crossplane\'s pod during a build loses nothing: the build runs once and the App goes Ready with the new source', async () => {
    const buildsBefore = p.buildsOf('acme-dev', 'hello').length;
    const app = exampleApp() as Obj;
    app.spec.files = app.spec.files.map((f: Obj) => (f.path === 'app.py' ? { ...f, content: f.content.replace('return {"message": os.environ.get("GREETING", "hello")}', 'return {"message": os.environ.get("GREETING", "hello"), "edit": 3}') } : f));
    must(p.cp.apply([app]));
    await waitUntil('the new build Job', () => p.buildsOf('acme-dev', 'hello').length > buildsBefore, 60_000);
    const core = list('pods', '-n', CROSSPLANE_NAMESPACE, '-l', 'app=crossplane')[0].metadata.name;
    must(p.cp.kubectl('delete', 'pod', '-n', CROSSPLANE_NAMESPACE, core, '--wait=false'));
    await waitUntil('a new core pod', () => running(list('pods', '-n', CROSSPLANE_NAMESPACE, '-l', 'app=crossplane')).some((x) => x.metadata.name !== core), 120_000);
    expect(JSON.parse(await answerWhen(p, 'acme-dev', 'hello', (b) => b.includes('"edit"'), 180_000))).toEqual({ message: 'hello from aerogrid', edit: 3 });
    await waitForPhase(p, 'app', 'hello', 'acme-dev', 'Ready', 60_000);
    expect(p.buildsOf('acme-dev', 'hello')).toHaveLength(buildsBefore + 1);
  }, 300_000);

  test('deleting the function\'s pods heals: their Deployment brings them back, and a deleted composed object comes back through them', async () => {
    const before = functionPods().map((x) => x.metadata.name);
    must(p.cp.kubectl('delete', 'pods', '-n', CROSSPLANE_NAMESPACE, ...before, '--wait=false'));
    must(p.cp.kubectl('delete', 'resourcequota', 'aerogrid-quota', '-n', 'acme-prod'));
    await waitUntil('two new function pods', () => running(functionPods()).filter((x) => !before.includes(x.metadata.name)).length === 2, 120_000);
    await waitUntil('the ResourceQuota back', () => p.cp.kubectl('get', 'resourcequota', 'aerogrid-quota', '-n', 'acme-prod').status === 0, 120_000);
    await waitUntil('Tenant acme Synced and Ready', () => {
      const t = p.get('tenant', 'acme');
      return isTrue(t, 'Synced') && isTrue(t, 'Ready');
    }, 60_000);
  }, 240_000);

  // Not yet what issue 30 asks (no failed compose at all): core v2.3.4 marks the new revision
  // Active before its runtime writes the revision's status.endpoint (runtime_function.go, Pre),
  // and its function runner refuses an Active revision without one (xfn/function_runner.go,
  // "has an empty status.endpoint"), although the endpoint, the package's Service, is the same
  // for every revision. Any XR reconciled in that window fails once, then heals. This test holds
  // the window to exactly that message, and every XR Synced and Ready afterwards.
  test('a package upgrade v0.1.0 → v0.1.1 rolls the function\'s pods; the only failed composes are core\'s window without an endpoint; nothing stays failed and no build is repeated', async () => {
    const failedBefore = new Set(failedComposes().map((e) => e.metadata.uid));
    const podsBefore = functionPods().map((x) => x.metadata.name);
    const buildsBefore = p.builds().length;
    p.xp.publish('v0.1.1');
    await p.xp.upgradeFunction('v0.1.1');
    const active = list('functionrevisions').find((r) => r.spec.desiredState === 'Active')!;
    await waitUntil('the new revision\'s two pods, and none of the old', () => {
      const pods = functionPods();
      return running(pods).length === 2 && pods.every((x) => x.metadata.labels['pkg.crossplane.io/revision'] === active.metadata.name && !podsBefore.includes(x.metadata.name));
    }, 180_000);
    for (const [kind, name, ns] of [['tenant', 'acme', undefined], ['app', 'hello', 'acme-dev']] as const) {
      must(p.cp.kubectl('annotate', kind, name, ...(ns ? ['-n', ns] : []), 'aerogrid.test/upgraded=v0.1.1', '--overwrite'));
      await waitUntil(`${kind} ${name} Synced and Ready after the upgrade`, () => {
        const o = p.get(kind, name, ns);
        return isTrue(o, 'Synced') && isTrue(o, 'Ready');
      }, 60_000);
    }
    const failed = failedComposes().filter((e) => !failedBefore.has(e.metadata.uid)).map((e) => e.message);
    const window = `cannot compose resources: cannot run Composition pipeline step "render": cannot get gRPC client connection for Function "${FUNCTION}": cannot determine gRPC target: active FunctionRevision "${active.metadata.name}" has an empty status.endpoint`;
    expect(failed.filter((m) => m !== window)).toEqual([]);
    expect(p.builds().length).toBe(buildsBefore);
  }, 300_000);
});

describe('core\'s permissions are the ClusterRoles', () => {
  test('a permission missing from dist/rbac/ fails a Tenant with Crossplane\'s own message, and the Tenant heals once it is back', async () => {
    const role = parseYaml(readFileSync(join(ROOT, 'dist/rbac/clusterrole.yaml'), 'utf8'));
    const without = { ...role, rules: role.rules.filter((r: Obj) => !r.resources.includes('networkpolicies')) };
    expect(without.rules.length).toBe(role.rules.length - 1);
    must(p.cp.kubectl('delete', 'clusterrole', role.metadata.name));
    must(p.cp.apply([without]));
    const tenant = exampleTenant() as Obj;
    tenant.metadata.name = 'globex';
    tenant.spec.displayName = 'Globex';
    must(p.cp.apply([tenant]));
    const refused = await waitUntil('Tenant globex refused', () => {
      const c = (p.get('tenant', 'globex')?.status?.conditions ?? []).find((x: Obj) => x.type === 'Synced' && x.status === 'False');
      return /networkpolicies/.test(c?.message ?? '') ? c : undefined;
    }, 120_000, () => JSON.stringify(p.get('tenant', 'globex')?.status ?? null));
    expect(refused.message).toMatch(/networkpolicies\.networking\.k8s\.io ".*" is forbidden: User "system:serviceaccount:crossplane-system:crossplane" cannot (get|patch|create) resource "networkpolicies" in API group "networking\.k8s\.io" in the namespace "globex-(dev|prod)"/);
    must(p.cp.apply([role]));
    await waitForPhase(p, 'tenant', 'globex', undefined, 'Ready', 120_000);
  }, 300_000);
});
