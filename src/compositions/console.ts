// dist/console/: the web console as a platform team installs it, from platform.yaml's `console`.
//
// - A namespace of its own, at Pod Security `restricted`.
// - The Deployment: aerogrid's image with the console's entry point (AEROGRID_IMAGE), its page
//   built into the image; non-root, a read-only root filesystem, no capabilities, and no
//   ServiceAccount token: the console holds no credential of its own and calls kube-apiserver
//   with each person's ID token. It reaches kube-apiserver through the kubernetes Service and
//   checks it against the cluster's CA (the kube-root-ca.crt ConfigMap every namespace has).
//   One replica: sessions live in the process (a second replica would not know them).
// - The issuer, client ID, public URL and groups claim as a ConfigMap; the client secret as a
//   reference to a Secret the platform team makes (it never goes to Git).
// - A Service, and a NetworkPolicy that lets the console reach only the cluster DNS, the
//   identity provider and kube-apiserver, and be reached only on its port.
import type { ConsoleSettings, PlatformFile } from '../api/platform.js';
import { AEROGRID_IMAGE } from './packages.js';

export const CONSOLE_NAME = 'aerogrid-console';
const KUBE_CA_DIR = '/etc/aerogrid/kube-ca';
const ISSUER_CA_DIR = '/etc/aerogrid/issuer-ca';
/** The ConfigMap keys, as the container's environment names them. */
export const CONSOLE_CONFIG = {
  issuer: 'AEROGRID_CONSOLE_ISSUER',
  clientId: 'AEROGRID_CONSOLE_CLIENT_ID',
  publicUrl: 'AEROGRID_CONSOLE_PUBLIC_URL',
  groupsClaim: 'AEROGRID_CONSOLE_GROUPS_CLAIM',
} as const;

/** The ConfigMap's data: what differs between installs. */
export const consoleConfigData = (c: Pick<ConsoleSettings, 'issuer' | 'clientId' | 'publicUrl' | 'groupsClaim'>): Record<string, string> => ({
  [CONSOLE_CONFIG.issuer]: c.issuer,
  [CONSOLE_CONFIG.clientId]: c.clientId,
  [CONSOLE_CONFIG.publicUrl]: c.publicUrl,
  [CONSOLE_CONFIG.groupsClaim]: c.groupsClaim,
});

/** The console's egress: the cluster DNS, then each destination range with its ports. */
export function consoleEgress(c: Pick<ConsoleSettings, 'egress'>): Record<string, unknown>[] {
  const to = (d: { cidr: string; ports: number[] }) => ({ to: [{ ipBlock: { cidr: d.cidr } }], ports: d.ports.map((port) => ({ protocol: 'TCP', port })) });
  return [
    {
      to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
      ports: [{ protocol: 'UDP', port: 53 }, { protocol: 'TCP', port: 53 }],
    },
    ...c.egress.identityProvider.map(to),
    ...c.egress.apiserver.map(to),
  ];
}

export function consoleFiles(file: PlatformFile): Map<string, unknown[]> {
  const c = file.console;
  const namespace = c.namespace;
  const labels = { 'app.kubernetes.io/name': CONSOLE_NAME, 'app.kubernetes.io/part-of': 'aerogrid' };
  const meta = (name = CONSOLE_NAME) => ({ name, namespace, labels: { ...labels } });
  const port = AEROGRID_IMAGE.console.port;
  const env = (name: string, key: string) => ({ name, valueFrom: { configMapKeyRef: { name: CONSOLE_NAME, key } } });
  const probe = (periodSeconds: number, failureThreshold: number) => ({ httpGet: { path: '/healthz', port: 'http' }, periodSeconds, failureThreshold, timeoutSeconds: 2 });
  const deployment = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(),
    spec: {
      replicas: 1,
      // Sessions live in the process: never two consoles at once, each with half of them.
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { 'app.kubernetes.io/name': CONSOLE_NAME } },
      template: {
        metadata: { labels: { ...labels } },
        spec: {
          serviceAccountName: CONSOLE_NAME,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [{
            name: 'console',
            image: c.image,
            command: [...AEROGRID_IMAGE.console.entrypoint],
            args: [
              `--address=0.0.0.0:${port}`,
              `--issuer=$(${CONSOLE_CONFIG.issuer})`,
              `--client-id=$(${CONSOLE_CONFIG.clientId})`,
              `--public-url=$(${CONSOLE_CONFIG.publicUrl})`,
              `--groups-claim=$(${CONSOLE_CONFIG.groupsClaim})`,
              '--kube-server=https://kubernetes.default.svc',
              `--kube-ca=${KUBE_CA_DIR}/ca.crt`,
              ...(c.issuerCa ? [`--issuer-ca=${ISSUER_CA_DIR}/${c.issuerCa.key}`] : []),
            ],
            env: [
              ...Object.entries(CONSOLE_CONFIG).map(([, key]) => env(key, key)),
              { name: 'AEROGRID_CONSOLE_CLIENT_SECRET', valueFrom: { secretKeyRef: { name: c.clientSecret.name, key: c.clientSecret.key } } },
            ],
            ports: [{ name: 'http', containerPort: port, protocol: 'TCP' }],
            readinessProbe: probe(5, 3),
            livenessProbe: probe(10, 6),
            resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            volumeMounts: [
              { name: 'kube-ca', mountPath: KUBE_CA_DIR, readOnly: true },
              ...(c.issuerCa ? [{ name: 'issuer-ca', mountPath: ISSUER_CA_DIR, readOnly: true }] : []),
            ],
          }],
          volumes: [
            { name: 'kube-ca', configMap: { name: 'kube-root-ca.crt' } },
            ...(c.issuerCa ? [{ name: 'issuer-ca', configMap: { name: c.issuerCa.configMap } }] : []),
          ],
        },
      },
    },
  };
  const out = new Map<string, unknown[]>();
  out.set('console/namespace.yaml', [{
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: namespace, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted', 'pod-security.kubernetes.io/audit': 'restricted' } },
  }]);
  out.set('console/console.yaml', [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(), automountServiceAccountToken: false },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta(), data: consoleConfigData(c) },
    deployment,
    {
      apiVersion: 'v1', kind: 'Service', metadata: meta(),
      spec: { selector: { 'app.kubernetes.io/name': CONSOLE_NAME }, ports: [{ name: 'http', port, targetPort: 'http', protocol: 'TCP' }] },
    },
    {
      apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: meta(),
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': CONSOLE_NAME } },
        policyTypes: ['Ingress', 'Egress'],
        ingress: [{ ports: [{ protocol: 'TCP', port }] }],
        egress: consoleEgress(c),
      },
    },
  ]);
  return out;
}
