// Tier T6, the node itself (scripts/lib/node.ts): kubelet and kube-scheduler with Debian's
// containerd, runc and CNI plugins, on the local control plane with every controller. Pods get
// addresses on the node's own bridge, the runtimes' base images have `python`, logs and exec go
// through the API server to kubelet, and stopping the node leaves the machine as it found it: no
// process, mount, link, route, network namespace, cgroup, iptables rule, changed sysctl or file
// outside the run directory.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { serviceIp, type ControlPlane } from '../scripts/lib/controlplane.js';
import { waitUntil } from '../scripts/lib/crossplane.js';
import { must } from '../scripts/lib/install.js';
import { OUTSIDE_PATHS, startControlPlaneForNode, startNode, type Node } from '../scripts/lib/node.js';
import { platformSettings } from '../scripts/lib/platform.js';

type Obj = Record<string, any>;

/** What a node could leave on the host, read the same way before and after. */
function host(): Record<string, string[]> {
  const lines = (cmd: string, ...args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.split('\n').filter((l) => l.trim() && !l.startsWith('#')) : [`(${cmd} ${args.join(' ')} failed)`];
  };
  const processes = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((pid) => {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
      return cmd ? [`${pid} ${cmd.slice(0, 200)}`] : [];
    } catch {
      return [];
    }
  });
  return {
    processes,
    mounts: readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[4]),
    links: lines('ip', '-o', 'link', 'show').map((l) => l.split(':')[1].trim().split('@')[0]),
    addresses: lines('ip', '-o', 'addr', 'show').map((l) => l.split(/\s+/).slice(1, 4).join(' ')),
    routes: lines('ip', 'route', 'show', 'table', 'all'),
    netns: lines('ip', 'netns', 'list'),
    // Both backends and both families: kube-proxy runs in the node's namespace and must write none of the host's.
    iptables: ['iptables-save', 'ip6tables-save', 'iptables-legacy-save', 'ip6tables-legacy-save']
      .filter((cmd) => existsSync(`/usr/sbin/${cmd}`)).flatMap((cmd) => lines(cmd).map((l) => `${cmd}: ${l.replace(/\[\d+:\d+\]/g, '')}`)),
    sysctls: sysctls('/proc/sys'),
    cgroups: readdirSync('/sys/fs/cgroup').flatMap((c) => {
      try {
        return readdirSync(join('/sys/fs/cgroup', c), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => `${c}/${d.name}`);
      } catch {
        return [];
      }
    }),
    outside: OUTSIDE_PATHS.flatMap((p) => (existsSync(p) ? [p, ...tree(p)] : [])),
  };
}

/** Counters and random values move by themselves; every other setting must read the same. */
const VOLATILE = /^\/proc\/sys\/(kernel\/(random|ns_last_pid|pty\/nr|sched_domain)|fs\/(dentry-state|inode-nr|inode-state|file-nr|quota)|net\/netfilter\/nf_conntrack_count|vm\/stat_refresh)/;

function sysctls(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (VOLATILE.test(path)) continue;
    if (entry.isDirectory()) {
      out.push(...sysctls(path));
      continue;
    }
    try {
      if ((statSync(path).mode & 0o444) === 0) continue;
      out.push(`${path}=${readFileSync(path, 'utf8').trim()}`);
    } catch {
      // write-only or refused
    }
  }
  return out;
}

function tree(path: string): string[] {
  if (!statSync(path).isDirectory()) return [];
  return readdirSync(path).flatMap((e) => [join(path, e), ...tree(join(path, e))]);
}

const diff = (before: string[], after: string[]) => ({ added: after.filter((x) => !before.includes(x)), removed: before.filter((x) => !after.includes(x)) });

let before: Record<string, string[]>;
let cp: ControlPlane;
let node: Node;
const settings = platformSettings();

beforeAll(async () => {
  before = host();
  let network;
  ({ cp, network } = await startControlPlaneForNode({ controllers: 'all' }));
  const registryName = settings.registry.split('/')[0];
  node = await startNode(cp, { network, registryName, pythonIndex: settings.build.pythonIndex, domain: registryName.split(':')[0].split('.').slice(1).join('.') });
}, 300_000);

afterAll(async () => {
  await node?.stop();
  await cp?.stop();
}, 120_000);

const pod = (name: string, image: string, command: string[], extra: Obj = {}) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' },
  spec: {
    restartPolicy: 'Never', automountServiceAccountToken: false,
    securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [{ name: 'main', image, command, securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } }, ...extra }],
  },
});
const phaseOf = (name: string) => JSON.parse(must(cp.kubectl('get', 'pod', name, '-o', 'json')).stdout).status;

describe('a real node', () => {
  test('is Ready, named in the API server, with containerd as its runtime', () => {
    const n = JSON.parse(must(cp.kubectl('get', 'node', node.name, '-o', 'json')).stdout);
    expect(n.status.conditions.find((c: Obj) => c.type === 'Ready').status).toBe('True');
    expect(n.status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/1\.6\./);
    expect(n.status.nodeInfo.kubeletVersion).toBe('v1.32.2');
    expect(n.status.addresses).toContainEqual({ type: 'InternalIP', address: node.network.hostIp });
  });

  test.each(Object.entries(settings.runtimes))('the base image of %s runs `python` (Debian has none of its own) and `pip`', async (runtime, { baseImage }) => {
    const name = `base-${runtime.replace('.', '-')}`;
    must(cp.apply([pod(name, baseImage, ['sh', '-c', 'python --version && pip --version'])]));
    const status = await waitUntil(`pod ${name} to finish`, () => {
      const s = phaseOf(name);
      return s.phase === 'Succeeded' || s.phase === 'Failed' ? s : undefined;
    }, 120_000);
    const log = must(cp.kubectl('logs', name)).stdout;
    expect({ phase: status.phase, log }).toEqual({ phase: 'Succeeded', log: expect.stringMatching(new RegExp(`^Python ${runtime.slice('python'.length).replace('.', '\\.')}\\.\\d+\\npip \\d+`)) });
  }, 150_000);

  test('a Deployment rolls out; its pods get addresses on the node\'s bridge, answer HTTP from the host, and take exec and logs', async () => {
    const image = settings.runtimes[settings.defaultRuntime].baseImage;
    const web = pod('web', image, ['python', '-m', 'http.server', '8080', '--directory', '/etc'], { readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 } }).spec;
    must(cp.apply([{
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { ...web, restartPolicy: 'Always' } } },
    }]));
    must(cp.kubectl('rollout', 'status', 'deployment/web', '--timeout=120s'));
    const pods: Obj[] = JSON.parse(must(cp.kubectl('get', 'pods', '-l', 'app=web', '-o', 'json')).stdout).items;
    const [a, b, c] = node.network.podCidr.split('.');
    for (const p of pods) {
      expect(p.status.podIP.startsWith(`${a}.${b}.${c}.`)).toBe(true);
      expect(p.status.podIP).not.toBe(node.network.hostIp);
      const r = await node.httpGet(p.status.podIP, 8080, '/hostname');
      expect(r.status).toBe(200);
    }
    expect(must(cp.kubectl('exec', pods[0].metadata.name, '--', 'python', '-c', 'print(6 * 7)')).stdout.trim()).toBe('42');
    expect(must(cp.kubectl('logs', pods[0].metadata.name)).stdout).toMatch(/"GET \/hostname HTTP\/1\.1" 200/);
  }, 180_000);

  test('Services work: pods resolve *.svc.cluster.local through CoreDNS and reach a Service by name through kube-proxy\'s rules, which are in the node\'s namespace only', async () => {
    must(cp.apply([{
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    }]));
    const clusterIp = JSON.parse(must(cp.kubectl('get', 'service', 'web', '-o', 'json')).stdout).spec.clusterIP;
    const registryHost = settings.registry.split('/')[0].split(':')[0];
    const script = [
      'import socket, urllib.request',
      'print(open("/etc/resolv.conf").read().split("nameserver ")[1].split()[0])',
      'print(socket.gethostbyname("kubernetes.default.svc.cluster.local"))',
      'print(socket.gethostbyname("web"))',
      `print(socket.gethostbyname("${registryHost}"))`,
      'print(urllib.request.urlopen("http://web.default.svc/hostname", timeout=10).status)',
    ].join('\n');
    const image = settings.runtimes[settings.defaultRuntime].baseImage;
    must(cp.apply([pod('client', image, ['python', '-c', script])]));
    const status = await waitUntil('pod client to finish', () => {
      const s = phaseOf('client');
      return s.phase === 'Succeeded' || s.phase === 'Failed' ? s : undefined;
    }, 120_000);
    const log = cp.kubectl('logs', 'client').stdout;
    expect({ phase: status.phase, lines: log.trim().split('\n') }).toEqual({
      phase: 'Succeeded',
      lines: [node.network.dnsIp, serviceIp(node.network.serviceCidr, 1), clusterIp, node.network.hostIp, '200'],
    });
    // The rules: in the node's namespace, for this Service; none in the host's (the last test reads all of them).
    const rules = node.network.exec('iptables-save', '-t', 'nat').stdout;
    expect(rules).toMatch(new RegExp(`-A KUBE-SERVICES -d ${clusterIp.replaceAll('.', '\\.')}/32 .*default/web`));
    expect(spawnSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' }).stdout).not.toMatch(/KUBE-/);
  }, 180_000);
});

describe('stopping the node', () => {
  test('leaves nothing behind: processes, mounts, links, routes, namespaces, cgroups, iptables, sysctls, files outside the run directory', async () => {
    const dir = cp.dir;
    await node.stop();
    await cp.stop();
    const after = host();
    // A process of the node's would name the run directory, or be one of these.
    const ours = (p: string) => p.includes(dir) || /(kubelet|kube-scheduler|kube-proxy|coredns|containerd|dnsmasq|docker-registry|pypiserver|etcd|kube-apiserver|kube-controller)/.test(p);
    const found: Record<string, { added: string[]; removed: string[] }> = {};
    for (const key of Object.keys(before)) {
      const d = diff(before[key], after[key]);
      if (key === 'processes') d.added = d.added.filter(ours);
      if (key === 'processes') d.removed = [];
      found[key] = d;
    }
    const empty = Object.fromEntries(Object.keys(before).map((k) => [k, { added: [], removed: [] }]));
    expect(found).toEqual(empty);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(dirname(node.network.netns))).toBe(false);
    expect(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' })).not.toMatch(new RegExp(`\\b${node.network.hostLink}\\b`));
  }, 120_000);
});
