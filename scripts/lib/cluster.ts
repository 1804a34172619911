// The cluster services a node needs beyond kubelet, as a kubeadm cluster has them:
//   - kube-proxy, in the node's network namespace (its iptables rules are made there, never in
//     the host's, and go with the namespace), so that ClusterIP Services work;
//   - CoreDNS as a Deployment behind the kube-dns Service, so that pods resolve
//     `*.svc.cluster.local`; names outside the cluster go on to the node's resolver, which answers
//     the platform's own (registry, package index) and nothing else.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

type Obj = Record<string, any>;

export const DNS_NAMESPACE = 'kube-system';
/** Above 1024, so that CoreDNS needs no capability as a non-root user; the Service maps 53 to it. */
const DNS_PORT = 1053;

/** kube-proxy's configuration: iptables mode, and nothing it would change outside the node's namespace. */
export function kubeProxyConfig(c: { kubeconfig: string; node: string; podCidr: string }): string {
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: ${c.kubeconfig}
hostnameOverride: ${c.node}
clusterCIDR: ${c.podCidr}
# The namespace's own loopback: these ports never meet another run's.
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
iptables:
  # Every Service connection is masqueraded to the bridge's address: a reply from a pod on the
  # same bridge then comes back through the rules (the host has no br_netfilter to see it).
  masqueradeAll: true
  localhostNodePorts: false
  minSyncPeriod: 1s
# 0: leave the kernel's conntrack settings alone (nf_conntrack_max is the whole machine's).
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
`;
}

export function writeKubeProxyConfig(dir: string, c: Parameters<typeof kubeProxyConfig>[0]): string {
  const file = join(dir, 'kube-proxy.yaml');
  writeFileSync(file, kubeProxyConfig(c));
  return file;
}

/**
 * CoreDNS, as kubeadm deploys it but non-root, with a read-only root filesystem and no
 * capability: its ServiceAccount and the read-only ClusterRole its kubernetes plugin needs, the
 * Corefile, the Deployment and the kube-dns Service at `dnsIp`.
 */
export function coreDnsObjects(image: string, dnsIp: string): Obj[] {
  const labels = { 'k8s-app': 'kube-dns' };
  const meta = (name: string) => ({ name, namespace: DNS_NAMESPACE, labels });
  const corefile = `.:${DNS_PORT} {
    errors
    health :8080 {
        lameduck 5s
    }
    ready :8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}
`;
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta('coredns') },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'system:coredns', labels },
      rules: [
        { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name: 'system:coredns', labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:coredns' },
      subjects: [{ kind: 'ServiceAccount', name: 'coredns', namespace: DNS_NAMESPACE }],
    },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: meta('coredns'), data: { Corefile: corefile } },
    {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta('coredns'),
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'coredns',
            priorityClassName: 'system-cluster-critical',
            // The node's resolver, for the names outside the cluster.
            dnsPolicy: 'Default',
            // As kubeadm's CoreDNS: it also runs on a node kept for the platform (make scale's, kwok.ts).
            tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' }],
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
            containers: [{
              name: 'coredns', image, args: ['-conf', '/etc/coredns/Corefile'],
              ports: [
                { name: 'dns', containerPort: DNS_PORT, protocol: 'UDP' },
                { name: 'dns-tcp', containerPort: DNS_PORT, protocol: 'TCP' },
                { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
              ],
              resources: { requests: { cpu: '50m', memory: '40Mi' }, limits: { memory: '170Mi' } },
              livenessProbe: { httpGet: { path: '/health', port: 8080 }, initialDelaySeconds: 10, timeoutSeconds: 5, failureThreshold: 5 },
              readinessProbe: { httpGet: { path: '/ready', port: 8181 }, periodSeconds: 1 },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [{ name: 'config', mountPath: '/etc/coredns', readOnly: true }],
            }],
            volumes: [{ name: 'config', configMap: { name: 'coredns' } }],
          },
        },
      },
    },
    {
      apiVersion: 'v1', kind: 'Service', metadata: { ...meta('kube-dns'), labels: { ...labels, 'kubernetes.io/name': 'CoreDNS' } },
      spec: {
        clusterIP: dnsIp, selector: labels,
        ports: [
          { name: 'dns', port: 53, targetPort: DNS_PORT, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, targetPort: DNS_PORT, protocol: 'TCP' },
          { name: 'metrics', port: 9153, targetPort: 9153, protocol: 'TCP' },
        ],
      },
    },
  ];
}
