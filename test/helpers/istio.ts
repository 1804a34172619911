// Scenarios for the Istio tier (test/istio.test.ts): what the function composes, placed in the
// mesh a platform team runs (istio-system, the ingress gateway and its Gateway, as platform.yaml
// names them), with the Pods that its Deployments and build Jobs would make, injected with a
// sidecar as Istio's injector would. The harness (test/istio/, built by scripts/tools.sh) runs
// Istio's analyzers and config generator over them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, platformInput } from './fixtures.js';

type Obj = Record<string, any>;

export interface Call { port: number; tls: 'plaintext' | 'mtls' }
export interface Workload { namespace: string; pod: string; ip: string; labels: Record<string, string>; calls: Call[] }
export interface Scenario { name: string; objects: Obj[]; workloads: Workload[] }

export interface Finding { code: string; level: string; origin: string; message: string }
export interface CallResult extends Call { error?: string; filterChain?: string }
export interface WorkloadResult { namespace: string; pod: string; inbound: Obj; calls: CallResult[] }
export interface ScenarioResult {
  name: string; all: string[]; analyzers: string[] | null; skipped: string[] | null; findings: Finding[]; workloads: WorkloadResult[];
  /** Istio's parser refused the objects: nothing was analyzed. */
  loadError?: string;
  /** istiod's config parser refused the Istio objects: no sidecar got any configuration. */
  configError?: string;
}

/** The proxy image Istio's injector would add; the version the harness is. */
export const PROXY_IMAGE = 'docker.io/istio/proxyv2:1.31.0';
export const TRUST_DOMAIN = 'cluster.local';
export const spiffe = (namespace: string, sa: string) => `spiffe://${TRUST_DOMAIN}/ns/${namespace}/sa/${sa}`;

/** A certificate for the apps domain, as the Gateway's credential (made once per run, with openssl). */
let credential: { crt: string; key: string } | undefined;
function appsCertificate(domain: string): { crt: string; key: string } {
  if (credential) return credential;
  const dir = mkdtempSync(join(tmpdir(), 'aerogrid-istio-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '30',
      '-subj', `/CN=${domain}`, '-addext', `subjectAltName=DNS:${domain}`, '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
    credential = { crt: readFileSync(join(dir, 'tls.crt'), 'base64'), key: readFileSync(join(dir, 'tls.key'), 'base64') };
    return credential;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The mesh around aerogrid: Istio's namespace, the ingress gateway's Deployment pod and Service, and the shared Gateway. */
export function mesh(): Obj[] {
  const s = platformInput() as Obj;
  const [gwNamespace, gwName] = (s.gateway as string).split('/');
  const ingress = s.ingressGateway as { namespace: string; serviceAccount: string };
  const labels = { istio: 'ingressgateway', app: 'istio-ingressgateway' };
  const namespaces = [...new Set([s.istioNamespace, ingress.namespace, gwNamespace])];
  return [
    ...namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'istio-injection': 'disabled' } } })),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: ingress.serviceAccount, namespace: ingress.namespace } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'istio-ingressgateway', namespace: ingress.namespace, labels },
      // protocol: TCP, as the API server defaults it (the analyzer reads only TCP ports).
      spec: { selector: labels, ports: [{ name: 'http2', port: 80, targetPort: 8080, protocol: 'TCP' }, { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' }] } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'istio-ingressgateway-0', namespace: ingress.namespace, labels: { ...labels, 'sidecar.istio.io/inject': 'false' } },
      spec: { serviceAccountName: ingress.serviceAccount, containers: [{ name: 'istio-proxy', image: PROXY_IMAGE, ports: [{ containerPort: 8080 }, { containerPort: 8443 }] }] },
      status: { phase: 'Running', podIP: '10.88.0.2' } },
    { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: gwName, namespace: gwNamespace },
      spec: { selector: { istio: 'ingressgateway' }, servers: [
        { port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: [s.appsDomain], tls: { mode: 'SIMPLE', credentialName: 'apps-tls' } },
      ] } },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'apps-tls', namespace: ingress.namespace }, type: 'kubernetes.io/tls',
      data: { 'tls.crt': appsCertificate(s.appsDomain).crt, 'tls.key': appsCertificate(s.appsDomain).key } },
  ];
}

let pods = 0;
/** A pod address of its own, on 10.88.0.0/16 beside the gateway's 10.88.0.2. */
const nextIp = () => { const n = pods++; return `10.88.${1 + Math.floor(n / 250)}.${2 + (n % 250)}`; };
/**
 * The Pods a Deployment or a Job would make from its template: the template's labels and
 * containers, and, unless the template opts out, the sidecar Istio's injector adds (its
 * container, its status annotation and the labels it sets).
 */
export function podsOf(owner: Obj, count: number): Obj[] {
  const template = owner.spec.template;
  const injected = template.metadata?.annotations?.['sidecar.istio.io/inject'] !== 'false';
  return Array.from({ length: count }, (_, i) => {
    const labels = { ...template.metadata.labels, ...(injected ? { 'security.istio.io/tlsMode': 'istio', 'service.istio.io/canonical-name': owner.metadata.name } : {}) };
    return {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        name: `${owner.metadata.name}-${owner.kind === 'Job' ? '' : 'abc12-'}${'xyzvw'[i]}${i}`, namespace: owner.metadata.namespace, labels,
        annotations: { ...template.metadata?.annotations, ...(injected ? { 'sidecar.istio.io/status': '{"containers":["istio-proxy"],"initContainers":["istio-init"]}' } : {}) },
        ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: `uid-${owner.metadata.name}`, controller: true }],
      },
      spec: {
        ...template.spec,
        serviceAccountName: template.spec.serviceAccountName ?? 'default',
        containers: [...template.spec.containers, ...(injected ? [{ name: 'istio-proxy', image: PROXY_IMAGE }] : [])],
      },
      status: { phase: 'Running', podIP: nextIp() },
    };
  });
}

/** A workload to ask the config generator about: a Pod with a sidecar, and calls to its ports. */
export function workloadOf(pod: Obj): Workload {
  const ports = (pod.spec.containers as Obj[]).filter((c) => c.name !== 'istio-proxy').flatMap((c) => (c.ports ?? []).map((p: Obj) => p.containerPort as number));
  return {
    namespace: pod.metadata.namespace, pod: pod.metadata.name, ip: pod.status.podIP, labels: pod.metadata.labels,
    calls: ports.flatMap((port) => [{ port, tls: 'plaintext' as const }, { port, tls: 'mtls' as const }]),
  };
}

export const hasSidecar = (pod: Obj) => (pod.spec.containers as Obj[]).some((c) => c.name === 'istio-proxy');

/** An App's pod: what the config generator is asked about (the ingress gateway is Istio's, not ours). */
export const appOf = (pod: Obj): string | undefined => pod.metadata.labels?.['platform.aerogrid.io/app'];

/** The harness binary, built by `scripts/tools.sh istio-harness` (cached by version and source). */
export function harness(): string {
  execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), 'istio-harness'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), 'path', 'istio-harness'], { encoding: 'utf8' }).trim();
}

/** Runs Istio's analyzers and config generator over the scenarios, in one process. */
export function runIstio(bin: string, scenarios: Scenario[]): Map<string, ScenarioResult> {
  const dir = mkdtempSync(join(tmpdir(), 'aerogrid-istio-'));
  try {
    writeFileSync(join(dir, 'in.json'), JSON.stringify(scenarios));
    // To run the harness by hand on what a test gave it: AEROGRID_ISTIO_KEEP=FILE keeps a copy.
    if (process.env.AEROGRID_ISTIO_KEEP) writeFileSync(process.env.AEROGRID_ISTIO_KEEP, JSON.stringify(scenarios));
    try {
      execFileSync(bin, ['-test.run', '^TestScenarios$'], {
        cwd: dir,
        encoding: 'utf8',
        maxBuffer: 256 << 20,
        // Without this, istiod's JWT code fetches each issuer's JWKS itself, and there is no network here.
        env: { ...process.env, AEROGRID_ISTIO_IN: join(dir, 'in.json'), AEROGRID_ISTIO_OUT: join(dir, 'out.json'), PILOT_JWT_ENABLE_REMOTE_JWKS: 'envoy' },
      });
    } catch (e) {
      // The harness's own failures and Go's test report; Istio's log lines (its own "error"s about
      // CRD annotations and JWKS clusters) are left out.
      const out = ((e as { stdout?: string }).stdout ?? '').split('\n').filter((l) => !/^\S+Z\t(info|warn|error)\t/.test(l));
      throw new Error(`the Istio harness failed (${bin}):\n${out.slice(-60).join('\n')}`);
    }
    const results = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as ScenarioResult[];
    return new Map(results.map((r) => [r.name, r]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
