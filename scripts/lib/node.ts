// A real node for the local control plane, as ../shared/real-node/RECIPE.md found it runs here:
// kubelet, kube-scheduler and kube-proxy (built by scripts/tools.sh from the Go module proxy),
// Debian's containerd, runc and CNI plugins, the images tools.sh made (pause, Kaniko, CoreDNS, one
// base per runtime) in a registry, a Python package index, a DNS server that names them, and
// CoreDNS as the cluster's DNS (scripts/lib/cluster.ts).
//
// The network. Pods get addresses on a bridge this node creates, never a host address. The bridge
// lives in a network namespace of the node's own (a file in the run directory); containerd runs
// in it, so every CNI interface, route, sysctl and rule is made there. A veth pair joins it to the
// host: the host side (hostIp, 10.89.X.1) is where the registry, the package index and the DNS
// server listen, and where kubelet serves; the host routes the pod network through the pair, so
// that kubelet's probes, the API server's logs and exec, and the tests reach pods by their IPs.
// The host also routes the Service IPs (a /20 per run, within 10.96.0.0/12) there, where kube-proxy's rules are. The
// API server listens on the host side too (startControlPlaneForNode), the `kubernetes` Service's
// endpoint.
// The host forwards nothing, so pods reach only the platform's own services. X is picked per run
// (the first free veth name), so that two runs on one machine do not meet.
//
// Kubelet runs in the host's network namespace but in a mount namespace of its own, where the six
// kernel settings it would otherwise rewrite for the whole machine (vm.overcommit_memory,
// kernel.panic…) are files with the values it wants; its root directory is a shared mount, so the
// volumes it mounts reach containerd. Its pods go under a cgroup of this node's own (cgroupRoot).
//
// stop() leaves nothing behind: every process of the node and of its pods, every mount under the
// run directory, the namespace with its bridge, veths and kube-proxy's rules, the cgroups, and what containerd 1.6
// and libcni still write outside their roots (shim sockets, CNI result cache, /var/log/containers).
// test/node.e2e.test.ts compares the host before and after.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceIp, startControlPlane, toolPath, type ControlPlane, type ControlPlaneOptions } from './controlplane.js';
import { coreDnsObjects, DNS_NAMESPACE, writeKubeProxyConfig } from './cluster.js';
import { freePort } from './net.js';
import { issue } from './pki.js';
import { platformImages, startRegistry, type Registry } from './registry.js';

type Obj = Record<string, any>;

/** kubelet's kernel settings (container_manager_linux.go, setupKernelTunables) and the values it wants. */
const KUBELET_SYSCTLS: Record<string, string> = {
  'vm/overcommit_memory': '1',
  'vm/panic_on_oom': '0',
  'kernel/panic': '10',
  'kernel/panic_on_oops': '1',
  'kernel/keys/root_maxkeys': '1000000',
  'kernel/keys/root_maxbytes': '25000000',
};

/** Paths outside the run directory that containerd 1.6, libcni and kubelet write to (RECIPE.md, pitfall 12). */
export const OUTSIDE_PATHS = ['/run/containerd', '/var/lib/cni', '/var/log/containers'];

export interface NodeNetwork {
  /** The run's network number X: pods on 10.88.X.0/24, the veth pair on 10.89.X.0/24. */
  index: number;
  /** The host side of the veth pair: the platform's services listen here, and kubelet. */
  hostIp: string;
  /** The node namespace's side of the pair. */
  nodeIp: string;
  podCidr: string;
  /**
   * The cluster's Service IPs, a /20 of 10.96.0.0/12 per network number (4,094 Services: one per
   * App, and make scale's 1,000 Apps; a /24 ran out at 253): the host routes them into the node's
   * namespace, where kube-proxy's rules are.
   */
  serviceCidr: string;
  /** The cluster DNS Service's ClusterIP (the range's tenth address), which kubelet gives pods. */
  dnsIp: string;
  /** The file that holds the node's network namespace. */
  netns: string;
  hostLink: string;
  /** Runs a command in the node's network namespace. */
  exec(...args: string[]): { status: number; stdout: string; stderr: string };
  remove(): void;
}

const sh = (cmd: string, ...args: string[]) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: (r.error?.message ?? '') + (r.stderr ?? '') };
};
const must = (r: { status: number; stdout: string; stderr: string }, what: string) => {
  if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr.trim()}`);
  return r;
};

/**
 * The node's network: a veth pair whose name is the lock on the network number, a network
 * namespace held by a file in `dir`, and the host's route to the pod network through the pair.
 */
export function createNetwork(dir: string): NodeNetwork {
  mkdirSync(dir, { recursive: true });
  let index = 0;
  for (let x = 1; x < 250 && !index; x++) {
    if (sh('ip', 'link', 'add', `ag${x}`, 'type', 'veth', 'peer', 'name', `ag${x}n`).status === 0) index = x;
  }
  if (!index) throw new Error('no free network for the node: veth ag1 to ag249 all exist (ip link add failed for each)');
  const hostLink = `ag${index}`;
  const netns = join(dir, 'netns');
  const hostIp = `10.89.${index}.1`;
  const nodeIp = `10.89.${index}.2`;
  const podCidr = `10.88.${index}.0/24`;
  const serviceCidr = `10.${96 + (index >> 4)}.${(index & 15) << 4}.0/20`;
  const dnsIp = serviceIp(serviceCidr, 10);
  const exec = (...args: string[]) => sh('nsenter', `--net=${netns}`, '--', ...args);
  const remove = () => {
    sh('ip', 'link', 'del', hostLink); // its peer in the namespace goes with it, and the routes through it
    if (existsSync(netns)) {
      sh('umount', netns);
      rmSync(netns, { force: true });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    closeSync(openSync(netns, 'w'));
    must(sh('unshare', `--net=${netns}`, 'true'), 'unshare --net (the node network namespace)');
    must(sh('ip', 'link', 'set', `${hostLink}n`, 'netns', netns), 'moving the veth into the node namespace');
    must(sh('ip', 'addr', 'add', `${hostIp}/24`, 'dev', hostLink), 'ip addr add');
    must(sh('ip', 'link', 'set', hostLink, 'up'), 'ip link set up');
    must(exec('ip', 'link', 'set', 'lo', 'up'), 'lo up in the node namespace');
    must(exec('ip', 'link', 'set', `${hostLink}n`, 'name', 'eth0'), 'renaming the node veth');
    must(exec('ip', 'addr', 'add', `${nodeIp}/24`, 'dev', 'eth0'), 'ip addr add in the node namespace');
    must(exec('ip', 'link', 'set', 'eth0', 'up'), 'eth0 up in the node namespace');
    must(exec('ip', 'route', 'add', 'default', 'via', hostIp), 'the node namespace default route');
    // Between the bridge and the veth: in the node's namespace only, never the host's.
    must(exec('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'), 'ip_forward in the node namespace');
    must(sh('ip', 'route', 'add', podCidr, 'via', nodeIp, 'dev', hostLink), 'the host route to the pod network');
    // ClusterIPs from the host (the API server's webhook calls, the tests) go where kube-proxy's rules are.
    must(sh('ip', 'route', 'add', serviceCidr, 'via', nodeIp, 'dev', hostLink), 'the host route to the Service IPs');
  } catch (err) {
    remove();
    throw err;
  }
  return { index, hostIp, nodeIp, podCidr, serviceCidr, dnsIp, netns, hostLink, exec, remove };
}

/**
 * A control plane a node's pods can use: the node's network first, then an API server that
 * listens on its host side and advertises that address, so that the `kubernetes` Service (through
 * kube-proxy) reaches it from any pod. Pass the network on to startNode, which owns it from then on.
 */
export async function startControlPlaneForNode(opts: ControlPlaneOptions = {}): Promise<{ cp: ControlPlane; network: NodeNetwork }> {
  const network = createNetwork(mkdtempSync(join(tmpdir(), 'aerogrid-net-')));
  try {
    const cp = await startControlPlane({ ...opts, cluster: { address: network.hostIp, serviceCidr: network.serviceCidr } });
    const stop = cp.stop;
    return { cp: { ...cp, stop: async () => { await stop(); network.remove(); } }, network };
  } catch (err) {
    network.remove();
    throw err;
  }
}

export interface NodeOptions {
  say?: (msg: string) => void;
  /** The network startControlPlaneForNode made (its control plane removes it when it stops). */
  network: NodeNetwork;
  /** host:port of the registry as platform.yaml names it (registry.aerogrid.internal:5000). */
  registryName: string;
  /** The package index platform.yaml names (http://pypi.aerogrid.internal:3141/simple/). */
  pythonIndex: string;
  /** The DNS domain the node's DNS server answers for the platform's services. */
  domain: string;
}

/** A build Job the node saw, in the order they were created. */
export interface BuildSeen { namespace: string; job: string; app: string; created: number }

export interface Node {
  name: string;
  network: NodeNetwork;
  registry: Registry;
  /** host:port where the package index listens. */
  pypi: { address: string; stop(): Promise<void>; start(): Promise<void> };
  /** Every build Job seen since the node started, namespace/name, in order (a watch on Jobs). */
  readonly builds: string[];
  buildsOf(namespace: string, app: string): string[];
  /** GET http://<pod IP>:<port><path> from the host, as kubelet's probes do. */
  httpGet(ip: string, port: number, path?: string, timeoutMs?: number): Promise<{ status: number; body: string }>;
  logs(): string;
  stop(): Promise<void>;
}

/** A pod's CPU so far (core-seconds, all its containers) and its working set (bytes). */
export interface PodStats { cpu: number; memory: number }

/**
 * Every pod's CPU and memory on one node, namespace/name → stats, from kubelet's summary API
 * through the API server (what `kubectl top` shows).
 */
export async function podStats(cp: ControlPlane, node: string): Promise<Map<string, PodStats>> {
  const r = await cp.kubectlAsync('get', '--raw', `/api/v1/nodes/${node}/proxy/stats/summary`);
  if (r.status !== 0) throw new Error(`kubelet's summary of ${node}: ${r.stderr.trim()}`);
  const summary = JSON.parse(r.stdout) as { pods?: Record<string, any>[] };
  return new Map((summary.pods ?? []).map((pod) => [`${pod.podRef.namespace}/${pod.podRef.name}`, {
    cpu: (pod.containers as Record<string, any>[] ?? []).reduce((a, c) => a + (c.cpu?.usageCoreNanoSeconds ?? 0), 0) / 1e9,
    memory: (pod.containers as Record<string, any>[] ?? []).reduce((a, c) => a + (c.memory?.workingSetBytes ?? 0), 0),
  }]));
}

/** What was started, undone in the reverse order: a failure part way stops exactly that. */
class Started {
  private readonly steps: (() => Promise<void> | void)[] = [];
  add(undo: () => Promise<void> | void): void {
    this.steps.push(undo);
  }
  async undo(): Promise<void> {
    const steps = this.steps.splice(0).reverse();
    for (const step of steps) {
      try {
        await step();
      } catch {
        // best effort: the rest must still run
      }
    }
  }
}

export async function startNode(cp: ControlPlane, opts: NodeOptions): Promise<Node> {
  const say = opts.say ?? (() => {});
  const dir = join(cp.dir, 'node');
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const outsideBefore = new Set(OUTSIDE_PATHS.filter((p) => existsSync(p)));
  const started = new Started();
  const children: ChildProcess[] = [];
  const run = (name: string, file: string, args: string[], env: NodeJS.ProcessEnv = process.env) => {
    const log = openSync(join(dir, 'logs', `${name}.log`), 'a');
    const child = spawn(file, args, { cwd: dir, env, stdio: ['ignore', log, log] });
    closeSync(log);
    children.push(child);
    return child;
  };
  const network = opts.network;
  const name = `aerogrid-${network.index}`;
  const cgroupRoot = `/aerogrid-${network.index}`;
  try {
    // The platform's services, on the host side of the pair.
    const registry = await startRegistry(join(dir, 'registry'), `${network.hostIp}:${opts.registryName.split(':')[1] ?? '5000'}`);
    started.add(() => registry.stop());
    const images = platformImages();
    const bases = images.filter((i) => BASE_IMAGE.test(i.ref));
    const pushed = Promise.all(images.filter((i) => !bases.includes(i)).map((i) => registry.push(i.layout, i.ref)));

    const index = new URL(opts.pythonIndex);
    const pypiDir = toolPath('pypi');
    const pypiAddress = `${network.hostIp}:${index.port || '80'}`;
    let pypiChild: ChildProcess | undefined;
    const pypi = {
      address: pypiAddress,
      async start() {
        pypiChild = run('pypiserver', join(pypiDir, 'venv/bin/python'), ['-m', 'pypiserver', 'run', '--host', network.hostIp, '--port', index.port || '80',
          '--disable-fallback', '--authenticate', '.', '--passwords', '.', '--log-stream', 'none', join(pypiDir, 'packages')]);
        await waitFor(`the package index on ${pypiAddress}`, async () => (await fetch(`http://${pypiAddress}/simple/`).catch(() => undefined))?.ok === true, 30_000, () => tail(join(dir, 'logs/pypiserver.log')));
      },
      async stop() {
        if (pypiChild && pypiChild.exitCode === null) {
          pypiChild.kill('SIGTERM');
          await new Promise((r) => pypiChild!.once('exit', r));
        }
      },
    };
    await pypi.start();
    started.add(() => pypi.stop());

    // DNS for the pods: the platform's names (registry, package index) and nothing else.
    const dns = run('dnsmasq', '/usr/sbin/dnsmasq', ['--keep-in-foreground', '--log-facility=-', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--no-poll',
      `--listen-address=${network.hostIp}`, '--bind-interfaces', '--pid-file=', `--address=/${opts.domain}/${network.hostIp}`]);
    started.add(() => stopChild(dns));

    // containerd in the node's network namespace. Once it and kubelet are stopped, the sweep ends
    // whatever they left: every process in the node's cgroups, its shims, every mount under the
    // run directory, the cgroups, and what was written outside the run directory.
    const containerd = writeContainerdConfig(dir, opts.registryName, registry.address, `${opts.registryName}/platform/pause:3.10`, network.index, network.nodeIp);
    const containers: string[] = [];
    started.add(() => sweep({ dir, cgroupRoot, socket: containerd.socket, index: network.index, outsideBefore, containers }));
    const ctrd = run('containerd', 'nsenter', [`--net=${network.netns}`, '--', '/usr/bin/containerd', '--config', containerd.config]);
    started.add(() => stopChild(ctrd));
    // Before containerd stops: its containers' tasks killed and deleted, so that their shims exit
    // and take their sockets with them; the ids name what libcni cached for them.
    started.add(() => {
      containers.push(...removeContainers(containerd.socket));
    });
    await waitFor('containerd', async () => sh('ctr', '-a', containerd.socket, 'version').status === 0, 30_000, () => tail(join(dir, 'logs/containerd.log')));

    // cgroups of the node's own, in every hierarchy (cpuset needs its cpus and mems filled in).
    for (const controller of cgroupControllers()) {
      const path = join('/sys/fs/cgroup', controller, cgroupRoot);
      mkdirSync(path, { recursive: true });
      if (controller === 'cpuset') {
        for (const f of ['cpuset.cpus', 'cpuset.mems']) writeFileSync(join(path, f), readFileSync(join('/sys/fs/cgroup/cpuset', f)));
      }
    }

    // PKI: kubelet's client certificate (Node authorizer: system:node:<name> in system:nodes) and its
    // serving certificate, which the API server checks against the cluster CA.
    issue(cp.dir, 'kubelet-client', 'ca', `/O=system:nodes/CN=system:node:${name}`, 'extendedKeyUsage=clientAuth\n');
    issue(cp.dir, 'kubelet-serving', 'ca', `/CN=${name}`, `subjectAltName=IP:${network.hostIp},DNS:${name}\nextendedKeyUsage=serverAuth\n`);
    issue(cp.dir, 'kube-scheduler', 'ca', '/CN=system:kube-scheduler', 'extendedKeyUsage=clientAuth\n');
    const kubeletKubeconfig = cp.kubeconfigWith('kubelet-client');
    const schedulerKubeconfig = cp.kubeconfigWith('kube-scheduler');

    const kubeletRoot = join(dir, 'kubelet');
    mkdirSync(kubeletRoot, { recursive: true });
    // A shared mount, so that what kubelet mounts in its own mount namespace reaches containerd.
    must(sh('mount', '--bind', kubeletRoot, kubeletRoot), 'bind-mounting the kubelet root');
    must(sh('mount', '--make-rshared', kubeletRoot), 'making the kubelet root shared');
    const sysctls = join(dir, 'kubelet-sysctl');
    mkdirSync(sysctls, { recursive: true });
    for (const [key, value] of Object.entries(KUBELET_SYSCTLS)) writeFileSync(join(sysctls, key.replaceAll('/', '.')), `${value}\n`);
    writeFileSync(join(dir, 'resolv.conf'), `nameserver ${network.hostIp}\noptions ndots:1\n`);
    const [kubeletPort, healthzPort] = [await freePort(), await freePort()];
    writeFileSync(join(dir, 'kubelet.yaml'), kubeletConfig({
      dir, hostIp: network.hostIp, dnsIp: network.dnsIp, port: kubeletPort, healthzPort, podCidr: network.podCidr, cgroupRoot, socket: containerd.socket, ca: join(cp.dir, 'ca.crt'),
      cert: join(cp.dir, 'kubelet-serving.crt'), key: join(cp.dir, 'kubelet-serving.key'),
    }));
    const binds = Object.keys(KUBELET_SYSCTLS).map((k) => `mount --bind ${join(sysctls, k.replaceAll('/', '.'))} /proc/sys/${k}`).join(' && ');
    const kubelet = run('kubelet', 'unshare', ['-m', '--propagation', 'unchanged', '--', 'sh', '-c', `${binds} && exec "$0" "$@"`, toolPath('kubelet'),
      `--config=${join(dir, 'kubelet.yaml')}`, `--kubeconfig=${kubeletKubeconfig}`, `--root-dir=${kubeletRoot}`, `--cert-dir=${join(dir, 'kubelet-pki')}`,
      `--hostname-override=${name}`, `--node-ip=${network.hostIp}`, '--v=1']);
    started.add(() => stopChild(kubelet));
    const scheduler = run('kube-scheduler', toolPath('kube-scheduler'), [`--kubeconfig=${schedulerKubeconfig}`, '--leader-elect=false', '--secure-port=0', '--v=1']);
    started.add(() => stopChild(scheduler));
    // kube-proxy in the node's network namespace: its rules are made there, and go with it.
    issue(cp.dir, 'kube-proxy', 'ca', '/CN=system:kube-proxy', 'extendedKeyUsage=clientAuth\n');
    const proxyConfig = writeKubeProxyConfig(dir, { kubeconfig: cp.kubeconfigWith('kube-proxy'), node: name, podCidr: network.podCidr });
    const proxy = run('kube-proxy', 'nsenter', [`--net=${network.netns}`, '--', toolPath('kube-proxy'), `--config=${proxyConfig}`, '--v=1']);
    started.add(() => stopChild(proxy));

    await waitFor(`node ${name} Ready`, async () => {
      const r = await cp.kubectlAsync('get', 'node', name, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}');
      return r.stdout === 'True';
    }, 60_000, () => tail(join(dir, 'logs/kubelet.log')));
    await pushed;
    const coredns = images.find((i) => i.ref.startsWith('platform/coredns:'))!.ref;
    must(cp.apply(coreDnsObjects(`${opts.registryName}/${coredns}`, network.dnsIp)), 'creating CoreDNS');
    const kaniko = images.find((i) => i.ref.startsWith('platform/kaniko-executor:'))!.ref;
    await publishBases(cp, registry, bases, `${opts.registryName}/${kaniko}`, opts.registryName, say);
    // Ready once its kubernetes plugin has listed the cluster: through the `kubernetes` Service, so through kube-proxy.
    must(await cp.kubectlAsync('rollout', 'status', '-n', DNS_NAMESPACE, 'deployment/coredns', '--timeout=120s'), 'CoreDNS to roll out');
    say(`node ${name} Ready: kubelet and kube-scheduler ${sh(toolPath('kubelet'), '--version').stdout.trim().replace('Kubernetes ', '')}, Debian's containerd and runc; pods on ${network.podCidr} (a bridge in the node's own network namespace); `
      + `kube-proxy, CoreDNS at ${network.dnsIp}; registry ${opts.registryName} and package index ${opts.pythonIndex} at ${network.hostIp}`);

    const builds: BuildSeen[] = [];
    const watch = watchBuilds(cp, builds);
    started.add(() => watch.stop());
    return {
      name,
      network,
      registry,
      pypi,
      get builds() {
        return builds.map((b) => `${b.namespace}/${b.job}`);
      },
      buildsOf: (namespace, app) => builds.filter((b) => b.namespace === namespace && b.app === app).map((b) => `${b.namespace}/${b.job}`),
      httpGet: (ip, port, path = '/', timeoutMs = 5_000) => httpGet(`http://${ip}:${port}${path}`, timeoutMs),
      logs: () => ['kubelet', 'containerd', 'kube-scheduler', 'kube-proxy'].map((f) => `== ${f}\n${tail(join(dir, 'logs', `${f}.log`), 2000)}`).join('\n'),
      async stop() {
        await started.undo();
      },
    };
  } catch (err) {
    const logs = ['kubelet', 'containerd'].map((f) => `== ${f}\n${tail(join(dir, 'logs', `${f}.log`), 2000)}`).join('\n');
    await started.undo();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
}

/** The runtimes' base images among the platform's images. */
const BASE_IMAGE = /^platform\/python:/;

/**
 * The runtimes' base images, as Kaniko's --reproducible writes them. Kaniko rewrites every layer
 * of the image it builds to zero its timestamps, the base image's too (go-containerregistry's
 * mutate.Canonical): a base made by mmdebstrap would come out of every App's build as a new
 * 55 MB blob. Rewritten once more, a canonical layer stays the same bytes, so the platform's bases
 * are built by the same Kaniko, FROM the mmdebstrap image with --reproducible, the first time a
 * platform starts; the result is kept beside the layout scripts/tools.sh made (keyed by Kaniko's
 * version) and only pushed after that. An App's image then holds the very base layer the registry
 * already has, and its build's init container mounts it into the App's repository (build.ts).
 */
async function publishBases(cp: ControlPlane, registry: Registry, bases: { ref: string; layout: string }[], kanikoImage: string, registryName: string, say: (m: string) => void): Promise<void> {
  const kaniko = kanikoImage.split(':').pop()!;
  const todo: { ref: string; layout: string; canonical: string }[] = [];
  for (const base of bases) {
    const canonical = `${base.layout}.kaniko-${kaniko}`;
    if (existsSync(join(canonical, 'index.json'))) await registry.push(canonical, base.ref);
    else todo.push({ ...base, canonical });
  }
  if (todo.length === 0) return;
  const started = Date.now();
  const ns = 'aerogrid-platform';
  must(await cp.kubectlAsync('create', 'namespace', ns), `creating namespace ${ns}`);
  await waitFor(`the default ServiceAccount of ${ns}`, async () => (await cp.kubectlAsync('get', 'serviceaccount', 'default', '-n', ns)).status === 0, 30_000, () => '');
  const objects = await Promise.all(todo.map(async (base, i) => {
    await registry.push(base.layout, `${base.ref}-mmdebstrap`);
    const name = `base-${i}`;
    return [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data: { Dockerfile: `FROM ${registryName}/${base.ref}-mmdebstrap\n` } },
      {
        apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns },
        spec: {
          restartPolicy: 'Never', automountServiceAccountToken: false,
          containers: [{
            name: 'kaniko', image: kanikoImage,
            args: ['--dockerfile=/build/Dockerfile', '--context=dir:///build', `--destination=${registryName}/${base.ref}`, '--reproducible', `--insecure-registry=${registryName}`],
            volumeMounts: [{ name: 'build', mountPath: '/build' }],
          }],
          volumes: [{ name: 'build', configMap: { name } }],
        },
      },
    ];
  }));
  must(cp.apply(objects.flat()), 'creating the base image builds');
  for (let i = 0; i < todo.length; i++) {
    let phase = '';
    await waitFor(`Kaniko to build ${todo[i].ref}`, async () => {
      phase = (await cp.kubectlAsync('get', 'pod', `base-${i}`, '-n', ns, '-o', 'jsonpath={.status.phase}')).stdout;
      if (phase === 'Failed') throw new Error((await cp.kubectlAsync('logs', `base-${i}`, '-n', ns)).stdout.slice(-2000));
      return phase === 'Succeeded';
    }, 300_000, () => `phase ${phase}`);
    // Kept for the next start, under a lock, renamed into place once whole.
    const tmp = `${todo[i].canonical}.${process.pid}`;
    must(sh('flock', `${todo[i].layout}.lock`, toolPath('crane'), 'pull', '--insecure', '--format=oci', `${registry.address}/${todo[i].ref}`, tmp), `crane pull ${todo[i].ref}`);
    if (!existsSync(join(todo[i].canonical, 'index.json'))) sh('mv', '-T', tmp, todo[i].canonical);
    rmSync(tmp, { recursive: true, force: true });
  }
  must(await cp.kubectlAsync('delete', 'namespace', ns, '--wait=false'), `deleting namespace ${ns}`);
  say(`the runtimes' base images rebuilt by Kaniko with --reproducible (${todo.map((t) => t.ref).join(', ')}) in ${((Date.now() - started) / 1000).toFixed(1)} s; kept for the next start`);
}

async function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: r.status, body: await r.text() };
}

/** Records every build Job as it is created: `kubectl get --watch`, since Jobs are deleted once built. */
function watchBuilds(cp: ControlPlane, into: BuildSeen[]): { stop(): void } {
  const child = spawn(toolPath('kubectl'), ['--kubeconfig', cp.kubeconfig, 'get', 'jobs', '-A', '--watch', '-l', 'app.kubernetes.io/component=build',
    '-o', 'jsonpath={.metadata.namespace} {.metadata.name} {.metadata.labels.platform\\.aerogrid\\.io/app}{"\\n"}'], { stdio: ['ignore', 'pipe', 'ignore'] });
  let rest = '';
  child.stdout!.on('data', (d) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      const [namespace, job, app] = line.trim().split(' ');
      if (job && !into.some((b) => b.namespace === namespace && b.job === job)) into.push({ namespace, job, app, created: Date.now() });
    }
  });
  return { stop: () => void child.kill('SIGTERM') };
}

function cgroupControllers(): string[] {
  return readdirSync('/sys/fs/cgroup').filter((c) => c !== 'unified' && existsSync(join('/sys/fs/cgroup', c, 'cgroup.procs')));
}

function writeContainerdConfig(dir: string, registryName: string, registryAddress: string, sandboxImage: string, index: number, streamAddress: string): { config: string; socket: string } {
  const root = join(dir, 'containerd');
  for (const d of ['root', 'state', 'opt', 'runc', 'certs.d', 'cni/net.d', 'cni/ipam']) mkdirSync(join(root, d), { recursive: true });
  const socket = join(root, 'containerd.sock');
  // Pulls of the registry's name go to its address, over plain HTTP, as a mirror config would.
  for (const host of [registryName, registryAddress]) {
    mkdirSync(join(root, 'certs.d', host), { recursive: true });
    writeFileSync(join(root, 'certs.d', host, 'hosts.toml'), `server = "http://${registryAddress}"\n\n[host."http://${registryAddress}"]\n  capabilities = ["pull", "resolve"]\n`);
  }
  // The bridge plugin with no masquerade and no port mapping: the CNI chain touches no iptables.
  writeFileSync(join(root, 'cni/net.d/10-aerogrid.conflist'), JSON.stringify({
    cniVersion: '1.0.0',
    name: `aerogrid-${index}`,
    plugins: [{
      type: 'bridge', bridge: 'aerogrid0', isGateway: true, isDefaultGateway: true, ipMasq: false, hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: `10.88.${index}.0/24`, gateway: `10.88.${index}.1` }]], dataDir: join(root, 'cni/ipam') },
    }],
  }, null, 2));
  const config = join(root, 'config.toml');
  writeFileSync(config, `version = 2
root = "${join(root, 'root')}"
state = "${join(root, 'state')}"
oom_score = 0

[grpc]
  address = "${socket}"

[ttrpc]
  address = "${socket}.ttrpc"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "${join(root, 'opt')}"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "${sandboxImage}"
    enable_selinux = false
    max_container_log_line_size = 16384
    netns_mounts_under_state_dir = true
    # kubelet (on the host) proxies exec, attach and port-forward to this server: it must listen
    # where the host reaches it, the node namespace's side of the veth, not its loopback.
    stream_server_address = "${streamAddress}"
    stream_server_port = "0"
    # Root here lacks CAP_SYS_RESOURCE: the negative oom_score_adj the CRI gives sandboxes (-998)
    # makes runc init fail. This clamps it to containerd's own (RECIPE.md, pitfall 2).
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          BinaryName = "/usr/sbin/runc"
          Root = "${join(root, 'runc')}"
          SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "${join(root, 'cni/net.d')}"
      max_conf_num = 1
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "${join(root, 'certs.d')}"
`);
  return { config, socket };
}

function kubeletConfig(c: { dir: string; hostIp: string; dnsIp: string; port: number; healthzPort: number; podCidr: string; cgroupRoot: string; socket: string; ca: string; cert: string; key: string }): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: ${c.hostIp}
port: ${c.port}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${c.healthzPort}
tlsCertFile: ${c.cert}
tlsPrivateKeyFile: ${c.key}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${c.ca}}
authorization:
  mode: Webhook
cgroupDriver: cgroupfs
cgroupsPerQOS: true
cgroupRoot: ${c.cgroupRoot}
containerRuntimeEndpoint: unix://${c.socket}
imageServiceEndpoint: unix://${c.socket}
failSwapOn: false
podCIDR: ${c.podCidr}
resolvConf: ${join(c.dir, 'resolv.conf')}
clusterDomain: cluster.local
clusterDNS: [${c.dnsIp}]
podLogsDir: ${join(c.dir, 'pod-logs')}
makeIPTablesUtilChains: false
protectKernelDefaults: false
serializeImagePulls: false
rotateCertificates: false
registerNode: true
maxPods: 110
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "2%"
  imagefs.available: "2%"
imageGCHighThresholdPercent: 95
imageGCLowThresholdPercent: 90
enforceNodeAllocatable: ["pods"]
`;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${detail()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function tail(file: string, chars = 3000): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}

async function stopChild(child: ChildProcess, ms = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), ms);
  await exited;
  clearTimeout(timer);
}

/** Every pid in a cgroup tree of one hierarchy. */
function pidsUnder(path: string): number[] {
  if (!existsSync(path)) return [];
  const pids = readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isDirectory()) pids.push(...pidsUnder(join(path, entry.name)));
  return pids;
}

/** Processes whose command line names this path (containerd's shims carry its socket's address). */
function processesNaming(path: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(path)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Mount points under `dir`, deepest first, from this process's mount table. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean)
    .map((line) => line.split(' ')[4].replace(/\\040/g, ' '))
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Kills and deletes every container of the node's containerd (pods' and sandboxes'); returns their ids. */
function removeContainers(socket: string): string[] {
  const ctr = (...args: string[]) => sh('ctr', '-a', socket, '-n', 'k8s.io', ...args);
  const ids = ctr('containers', 'ls', '-q').stdout.split('\n').filter(Boolean);
  for (const id of ids) ctr('tasks', 'kill', '-s', 'SIGKILL', id);
  for (const id of ids) {
    ctr('tasks', 'delete', '--force', id);
    ctr('containers', 'delete', id);
  }
  return ids;
}

interface Sweep { dir: string; cgroupRoot: string; socket: string; index: number; outsideBefore: Set<string>; containers: string[] }

/**
 * What containerd and kubelet leave when they are stopped: any process still in the node's
 * cgroups (a container whose shim died) or naming its containerd (a shim), every mount under the
 * run directory, the cgroups, libcni's cached results of its containers, shim sockets nobody
 * serves any more, kubelet's links in /var/log/containers, and the folders outside the run
 * directory that did not exist before the node.
 */
async function sweep(s: Sweep): Promise<void> {
  for (let round = 0; round < 50; round++) {
    const pids = new Set([...pidsUnder(join('/sys/fs/cgroup/pids', s.cgroupRoot)), ...processesNaming(s.socket)]);
    if (pids.size === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const m of mountsUnder(s.dir)) if (m !== join(s.dir, 'netns')) sh('umount', '-l', m);
  removeCgroups(s.cgroupRoot);
  const results = '/var/lib/cni/results';
  if (existsSync(results)) {
    for (const f of readdirSync(results)) {
      if (f.startsWith(`aerogrid-${s.index}-`) || s.containers.some((id) => f.includes(`-${id}-`))) rmSync(join(results, f), { force: true });
    }
  }
  const shims = '/run/containerd/s';
  if (existsSync(shims)) for (const f of readdirSync(shims)) if (!(await listening(join(shims, f)))) rmSync(join(shims, f), { force: true });
  if (existsSync('/var/log/containers')) {
    for (const f of readdirSync('/var/log/containers')) {
      const link = join('/var/log/containers', f);
      try {
        if (readlinkSync(link).startsWith(s.dir)) rmSync(link, { force: true });
      } catch {
        // not a link
      }
    }
  }
  for (const p of OUTSIDE_PATHS) if (!s.outsideBefore.has(p)) removeEmptyTree(p);
}

/** Whether a unix socket has a server behind it. */
function listening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Removes a folder tree bottom-up, folder by folder, keeping any folder that still holds a file. */
function removeEmptyTree(path: string): void {
  if (!existsSync(path) || !statSync(path).isDirectory()) return;
  for (const entry of readdirSync(path, { withFileTypes: true })) if (entry.isDirectory()) removeEmptyTree(join(path, entry.name));
  try {
    rmdirSync(path);
  } catch {
    // not empty: someone else's
  }
}

function removeCgroups(cgroupRoot: string): void {
  for (const controller of [...cgroupControllers(), 'unified']) removeEmptyTree(join('/sys/fs/cgroup', controller, cgroupRoot));
}

export type { Obj };
