// dist/console/, read for what it means: a Deployment that can start (flags the console takes,
// every $(VAR) defined, every reference to a key that exists), that holds no credential, that
// cannot write or escalate, whose probe path the console serves, and a NetworkPolicy that lets it
// reach the cluster DNS, the identity provider and kube-apiserver, and nothing else.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { platformFileOf, synthesize } from '../src/compositions/synth.js';
import { startConsole } from '../src/console/server.js';
import { ROOT } from '../scripts/lib/net.js';

type Obj = Record<string, any>;
const platform = () => parseYaml(readFileSync(join(ROOT, 'platform.yaml'), 'utf8'));
const files = synthesize(platformFileOf(platform()));
const docs = (path: string): Obj[] => parseAllDocuments(files.get(path)!).map((d) => d.toJS());
const console_ = docs('console/console.yaml');
const of = (kind: string) => console_.find((d) => d.kind === kind)!;
const deployment = of('Deployment');
const pod = deployment.spec.template.spec;
const container = pod.containers[0];

describe('dist/console/', () => {
  test('has no YAML aliases (a reader sees every field where it applies)', () => {
    expect(files.get('console/console.yaml')).not.toMatch(/[&*]a\d/);
  });

  test("every flag in the Deployment's args is one aerogrid-console takes", () => {
    const help = spawnSync(process.execPath, [join(ROOT, 'bin/aerogrid-console.js'), '--help'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(help.status).toBe(0);
    const known = new Set([...help.stdout.matchAll(/--([a-z-]+)/g)].map((m) => m[1]));
    const flags = (container.args as string[]).map((a) => /^--([a-z-]+)=/.exec(a)?.[1]);
    expect(flags.every((f) => f !== undefined)).toBe(true);
    expect(flags.filter((f) => !known.has(f!))).toEqual([]);
    // The ones the console needs in a cluster.
    expect(flags).toEqual(expect.arrayContaining(['address', 'issuer', 'client-id', 'public-url', 'kube-server', 'kube-ca']));
    expect(container.command).toEqual(['node', 'lib/src/console/main.js']);
  });

  test('every $(VAR) is defined in env, and every reference names a key that exists', () => {
    const defined = new Set((container.env as Obj[]).map((e) => e.name));
    const used = (container.args as string[]).flatMap((a) => [...a.matchAll(/\$\(([A-Z_]+)\)/g)].map((m) => m[1]));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((v) => !defined.has(v))).toEqual([]);
    const data = of('ConfigMap').data as Record<string, string>;
    for (const e of container.env as Obj[]) {
      const ref = e.valueFrom?.configMapKeyRef;
      if (ref) expect([ref.name, ref.key in data]).toEqual([of('ConfigMap').metadata.name, true]);
    }
    // The client secret comes from a Secret, never from the ConfigMap or a literal.
    const secret = (container.env as Obj[]).find((e) => e.name === 'AEROGRID_CONSOLE_CLIENT_SECRET')!;
    expect(secret.value).toBeUndefined();
    expect(secret.valueFrom.secretKeyRef).toEqual({ name: 'aerogrid-console-oidc', key: 'client-secret' });
    expect(JSON.stringify(of('ConfigMap'))).not.toMatch(/secret/i);
  });

  test('holds no credential and can neither write nor escalate', () => {
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(of('ServiceAccount').automountServiceAccountToken).toBe(false);
    expect(console_.map((d) => d.kind)).not.toEqual(expect.arrayContaining(['Role', 'RoleBinding', 'ClusterRoleBinding']));
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
    expect(docs('console/namespace.yaml')[0].metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    // kube-apiserver's CA from the ConfigMap every namespace has, not from a ServiceAccount token's volume.
    expect(pod.volumes).toContainEqual({ name: 'kube-ca', configMap: { name: 'kube-root-ca.crt' } });
  });

  test('the probes ask for a path the console serves', async () => {
    const paths = new Set([container.readinessProbe.httpGet.path, container.livenessProbe.httpGet.path]);
    const running = await startConsole({ issuer: 'https://idp.invalid/', clientId: 'x', clientSecret: 'y', kubeServer: 'https://127.0.0.1:1' });
    try {
      for (const path of paths) {
        const r = await fetch(`${running.url}${path}`);
        expect([path, r.status, await r.text()]).toEqual([path, 200, 'ok']);
      }
      // Any other path answers the page (200 too, for the page's own routes): the body is what tells them apart.
      const other = await fetch(`${running.url}/healthz-not`);
      expect(await other.text()).not.toBe('ok');
    } finally {
      await running.stop();
    }
  });

  test('the NetworkPolicy: in on the console port only; out to the cluster DNS, the identity provider and kube-apiserver only', () => {
    const policy = of('NetworkPolicy');
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toEqual([{ ports: [{ protocol: 'TCP', port: container.ports[0].containerPort }] }]);
    const { egress } = platformFileOf(platform()).console;
    const egressRules = policy.spec.egress as Obj[];
    // Every rule names both where and which ports: none is open to everything.
    for (const r of egressRules) expect([Array.isArray(r.to) && r.to.length > 0, Array.isArray(r.ports) && r.ports.length > 0]).toEqual([true, true]);
    const ranges = egressRules.flatMap((r) => r.to).filter((t: Obj) => t.ipBlock).map((t: Obj) => t.ipBlock.cidr);
    expect(ranges.sort()).toEqual([...egress.identityProvider, ...egress.apiserver].map((d) => d.cidr).sort());
    const dns = egressRules.find((r) => r.to.some((t: Obj) => t.podSelector))!;
    expect(dns.to).toEqual([{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }]);
  });

  test('platform.yaml: an egress range of the whole internet is refused, naming the field', () => {
    const file = platform();
    file.console.egress.identityProvider = [{ cidr: '0.0.0.0/0', ports: [443] }];
    expect(() => platformFileOf(file)).toThrow(/console\.egress\.identityProvider\[\]\.cidr must not be a \/0/);
    const plain = platform();
    plain.console.publicUrl = 'http://console.example.com';
    expect(() => platformFileOf(plain)).toThrow(/console\.publicUrl must be an https URL/);
  });
});
