// A real control plane, minus what cannot run here: etcd, kube-apiserver and (optionally)
// kube-controller-manager (pinned, built by scripts/tools.sh from the Go module proxy) as local
// processes (the API server on 127.0.0.1, or where a real node's pods reach it), with PKI made per run, RBAC authorization and the default admission
// plugins (Pod Security included). Crossplane core runs on top of it: scripts/lib/crossplane.ts.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, freePort } from './net.js';
import { authority, issue, openssl } from './pki.js';

export interface KubectlResult { status: number; stdout: string; stderr: string }

export interface ControlPlane {
  /** This run's folder: PKI, etcd's data, logs. */
  dir: string;
  kubeconfig: string;
  kubectl(...args: string[]): KubectlResult;
  /** kubectl without blocking the event loop (for loops that run beside gRPC servers). */
  kubectlAsync(...args: string[]): Promise<KubectlResult>;
  /** kubectl with standard input. */
  apply(objects: unknown[], ...args: string[]): { status: number; stdout: string; stderr: string };
  /**
   * A kubeconfig for a real user of this API server: a client certificate from its CA, with
   * the user as CN and the groups as O (with the platform's group prefix, as kube-apiserver
   * gives them to a user of the identity provider).
   */
  kubeconfigFor(user: string, groups: string[], namespace?: string): string;
  /** A kubeconfig for the client certificate <name>.crt and <name>.key already issued in `dir`. */
  kubeconfigWith(name: string): string;
  stop(): Promise<void>;
}

export function toolPath(tool: string): string {
  return execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), 'path', tool], { encoding: 'utf8' }).trim();
}

/**
 * Builds a tool if it is missing, or waits while another run builds it (scripts/tools.sh holds a
 * lock per tool; make test builds Argo CD in the background), and returns its path.
 */
export function ensureTool(tool: string, pathOf = tool): string {
  execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), tool], { stdio: ['ignore', 'ignore', 'inherit'] });
  return toolPath(pathOf);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, logs: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms:\n${logs().slice(-3000)}`);
}

/**
 * `all`: every controller of kube-controller-manager (Deployment, ReplicaSet, Job, HPA, node
 * lifecycle…) but those that need a cloud or allocate node CIDRs, for the real node (node.ts).
 */
const CONTROLLERS = {
  all: '*,-nodeipam,-route,-service,-cloud-node-lifecycle',
};

export interface ControlPlaneOptions {
  controllers?: keyof typeof CONTROLLERS;
  /** Put in front of the groups kubeconfigFor's certificates carry (the platform's oidcGroupPrefix). */
  groupPrefix?: string;
  /**
   * Runs once the control plane's CA exists (ca.crt and ca.key in `dir`) and before
   * kube-apiserver starts, with the address it will listen on; returns more flags for it (say,
   * --authentication-config).
   */
  beforeApiserver?: (dir: string, address: string) => Promise<string[]>;
  /**
   * For a real node's pods: the host address the API server listens on and advertises (the
   * `kubernetes` Service's endpoint), and the Service IP range (the node routes it through
   * kube-proxy's rules). Without it the API server listens on 127.0.0.1 only, with 10.96.0.0/16.
   */
  cluster?: { address: string; serviceCidr: string };
}

/** Address n of a Service range: 1 is the `kubernetes` Service's ClusterIP. */
export const serviceIp = (cidr: string, n: number) => {
  const [a, b, c, d] = cidr.split('/')[0].split('.').map(Number);
  const v = ((a << 24) | (b << 16) | (c << 8) | d) + n;
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
};

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'aerogrid-cp-'));
  let logs = '';
  const children: ChildProcess[] = [];
  const run = (bin: string, args: string[]) => {
    const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d) => (logs += d));
    child.stderr!.on('data', (d) => (logs += d));
    children.push(child);
    return child;
  };
  const stop = async () => {
    for (const c of children.splice(0).reverse()) {
      c.kill('SIGTERM');
      await new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    return await startIn(dir, opts, run, () => logs, stop);
  } catch (err) {
    // Nothing outlives a failed start: a live etcd would keep the caller (jest) from exiting.
    await stop();
    throw err;
  }
}

async function startIn(
  dir: string, opts: ControlPlaneOptions, run: (bin: string, args: string[]) => ChildProcess, logs: () => string, stop: () => Promise<void>,
): Promise<ControlPlane> {
  // PKI for this run only: a CA, the API server's serving cert, an admin client in system:masters.
  authority(dir, 'ca');
  // In-cluster clients dial the `kubernetes` Service: its ClusterIP and its names are in the certificate too.
  const address = opts.cluster?.address ?? '127.0.0.1';
  const serviceCidr = opts.cluster?.serviceCidr ?? '10.96.0.0/16';
  const inCluster = opts.cluster
    ? `,IP:${address},IP:${serviceIp(serviceCidr, 1)},DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local`
    : '';
  issue(dir, 'apiserver', 'ca', '/CN=kube-apiserver', `subjectAltName=IP:127.0.0.1,DNS:localhost${inCluster}\nextendedKeyUsage=serverAuth\n`);
  issue(dir, 'admin', 'ca', '/O=system:masters/CN=aerogrid-admin', 'extendedKeyUsage=clientAuth\n');
  // The API server's client toward kubelets (logs, exec, port-forward), bound to system:kubelet-api-admin below.
  issue(dir, 'apiserver-kubelet-client', 'ca', '/CN=kube-apiserver-kubelet-client', 'extendedKeyUsage=clientAuth\n');
  // The service-account signing key is RSA, the algorithm every Kubernetes version accepts.
  openssl(dir, 'genrsa', '-out', 'sa.key', '2048');
  openssl(dir, 'rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub');
  const [etcdPort, peerPort] = [await freePort(), await freePort()];
  run(toolPath('etcd'), [
    '--data-dir', join(dir, 'etcd'), '--listen-client-urls', `http://127.0.0.1:${etcdPort}`, '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--initial-cluster', `default=http://127.0.0.1:${peerPort}`, '--unsafe-no-fsync', '--log-level', 'warn',
  ]);
  await waitFor('etcd', async () => (await fetch(`http://127.0.0.1:${etcdPort}/health`)).ok, 30000, logs);
  // A /16 of Service IPs by default: every App composes a ClusterIP Service, and a /24 ran out at
  // 253 of the scale run's 1,000 Apps ("failed to allocate a serviceIP: range is full").
  const extraFlags = (await opts.beforeApiserver?.(dir, address)) ?? [];
  const apiserver = (port: number) => run(toolPath('kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`, `--bind-address=${address}`, `--advertise-address=${address}`, `--secure-port=${port}`,
    '--tls-cert-file=apiserver.crt', '--tls-private-key-file=apiserver.key', '--client-ca-file=ca.crt',
    '--service-account-issuer=https://kubernetes.default.svc', '--service-account-key-file=sa.pub', '--service-account-signing-key-file=sa.key',
    `--service-cluster-ip-range=${serviceCidr}`, '--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction', '--allow-privileged=true', '--v=0',
    '--kubelet-client-certificate=apiserver-kubelet-client.crt', '--kubelet-client-key=apiserver-kubelet-client.key',
    '--kubelet-certificate-authority=ca.crt', '--kubelet-preferred-address-types=InternalIP',
    ...extraFlags,
  ]);
  // The port was free when chosen, and released until kube-apiserver binds it; some other process
  // may bind it first (CI once saw "bind: address already in use"). Then a new port, up to 3 times.
  let apiPort = await freePort(address);
  for (let attempt = 1; ; attempt++) {
    const child = apiserver(apiPort);
    await waitFor('kube-apiserver listening', async () => child.exitCode !== null || child.signalCode !== null || logs().includes(`Serving securely on ${address}:${apiPort}`), 90000, logs);
    if (child.exitCode === null && child.signalCode === null) break;
    if (attempt === 3 || !logs().includes(`${apiPort}: bind: address already in use`)) throw new Error(`kube-apiserver exited:\n${logs().slice(-3000)}`);
    apiPort = await freePort(address);
  }
  const writeKubeconfig = (file: string, user: string, namespace?: string) => writeFileSync(file, `apiVersion: v1
kind: Config
clusters: [{ name: aerogrid, cluster: { server: "https://${address}:${apiPort}", certificate-authority: ${join(dir, 'ca.crt')} } }]
users: [{ name: ${user}, user: { client-certificate: ${join(dir, `${user}.crt`)}, client-key: ${join(dir, `${user}.key`)} } }]
contexts: [{ name: aerogrid, context: { cluster: aerogrid, user: ${user}${namespace ? `, namespace: ${namespace}` : ''} } }]
current-context: aerogrid
`);
  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, 'admin');
  const kubectlBin = toolPath('kubectl');
  const kubectl = (...args: string[]) => {
    const r = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', timeout: 60000, maxBuffer: 256 << 20 });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.error ? `${r.error.message}\n${r.stderr}` : r.stderr };
  };
  await waitFor('kube-apiserver', async () => kubectl('get', '--raw', '/readyz').status === 0, 90000, logs);
  const bind = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, 'create', 'clusterrolebinding', 'kube-apiserver-kubelet-client',
    '--clusterrole=system:kubelet-api-admin', '--user=kube-apiserver-kubelet-client'], { encoding: 'utf8' });
  if (bind.status !== 0) throw new Error(`cannot bind the API server's kubelet client: ${bind.stderr}`);
  if (opts.controllers) {
    run(toolPath('kube-controller-manager'), [
      `--kubeconfig=${kubeconfig}`, `--controllers=${CONTROLLERS[opts.controllers]}`, '--service-account-private-key-file=sa.key', '--root-ca-file=ca.crt',
      '--cluster-signing-cert-file=ca.crt', '--cluster-signing-key-file=ca.key',
      '--leader-elect=false', '--bind-address=127.0.0.1', '--secure-port=0', '--v=0',
    ]);
    await waitFor('kube-controller-manager', async () => kubectl('get', 'serviceaccount', 'default', '-n', 'default').status === 0, 60000, logs);
  }
  const kubectlAsync = (...args: string[]) => new Promise<KubectlResult>((resolve) => {
    const child = spawn(kubectlBin, ['--kubeconfig', kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', (err) => resolve({ status: -1, stdout, stderr: `${err.message}\n${stderr}` }));
    child.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
  return {
    dir,
    kubeconfig,
    kubectl,
    kubectlAsync,
    apply(objects: unknown[], ...args: string[]) {
      const r = spawnSync(kubectlBin, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--field-manager', 'aerogrid-test', '-f', '-', ...args], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }), encoding: 'utf8', timeout: 60000, maxBuffer: 256 << 20,
      });
      return { status: r.status ?? -1, stdout: r.stdout, stderr: r.error ? `${r.error.message}\n${r.stderr}` : r.stderr };
    },
    kubeconfigFor(user: string, groups: string[], namespace?: string) {
      const subject = `${groups.map((g) => `/O=${opts.groupPrefix ?? ''}${g}`).join('')}/CN=${user}`;
      issue(dir, user, 'ca', subject, 'extendedKeyUsage=clientAuth\n');
      const file = join(dir, `kubeconfig-${user}`);
      writeKubeconfig(file, user, namespace);
      return file;
    },
    kubeconfigWith(name: string) {
      const file = join(dir, `kubeconfig-${name}`);
      writeKubeconfig(file, name);
      return file;
    },
    stop,
  };
}
