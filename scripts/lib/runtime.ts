// The function runtime for Crossplane core started with `--package-runtime=Function=External`.
//
// In a cluster, Crossplane's Deployment runtime does this for every FunctionRevision: it writes
// a TLS server certificate signed by Crossplane's root CA into the revision's
// spec.tlsServerSecretName, runs the package's image as a Deployment behind a headless Service,
// and fills in the revision's status (endpoint, tlsServerSecretName, the RuntimeHealthy
// condition). With the External runtime core does none of it, and this machine has no kubelet.
// So, for each active revision, this runtime:
//   - issues the server certificate from the `crossplane-root-ca` Secret (openssl) into a Secret
//     (spec.tlsServerSecretName, which core leaves empty with this runtime, or <package>-tls-server);
//   - runs bin/aerogrid-function.js over mTLS with it, on 127.0.0.1 (restarted if it dies);
//   - writes the revision's status, and keeps it written;
// and stops the process of a revision that is no longer active. It runs the function from this
// checkout: the package's image would hold the same sources (dist/function/Dockerfile).
//
// With `replicas` above one it plays the Deployment's several Pods behind the headless Service
// that core's runtime makes (runtime_function.go): replica i listens on 127.0.0.<i+2>, all on one
// port, and a small DNS server on 127.0.0.1 answers the Service's name with all of their
// addresses. The endpoint names that server (`dns://127.0.0.1:<port>/<service>.crossplane-system:<port>`),
// so that core's gRPC client, whose service config asks for round_robin (function_runner.go),
// resolves several addresses and spreads its calls across them, as it does in a cluster.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import dns2 from 'dns2';
import type { ControlPlane } from './controlplane.js';
import { startFunction, type FunctionProcess } from './function.js';
import { freePort } from './net.js';
import { issue } from './pki.js';

type Obj = Record<string, any>;
const NAMESPACE = 'crossplane-system';

interface Served {
  revision: string;
  service: string;
  secretName: string;
  port: number;
  certsDir: string;
  /** One process per replica, undefined while it is down. */
  processes: (FunctionProcess | undefined)[];
  starting: (Promise<void> | undefined)[];
  /** Times started: the runtime starts a replica again when it dies, as a kubelet restarts a container. */
  restarts: number;
}

export interface RuntimeOptions {
  say?: (msg: string) => void;
  args?: string[];
  /** Run the compiled JavaScript, as the function's image does (startFunction's `image`). */
  image?: boolean;
  /** Function processes per revision, behind one DNS name (see above). Default 1. */
  replicas?: number;
}

export class FunctionRuntime {
  private readonly served = new Map<string, Served>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private loop?: Promise<void>;
  private dns?: { port: number; close: () => void };
  private readonly endpoints = new Map<string, string>();
  private api?: CustomObjectsApi;

  private revisions(): CustomObjectsApi {
    if (!this.api) {
      const kc = new KubeConfig();
      kc.loadFromFile(this.cp.kubeconfig);
      this.api = kc.makeApiClient(CustomObjectsApi);
    }
    return this.api;
  }

  private readonly opts: RuntimeOptions;

  constructor(private readonly cp: ControlPlane, opts: RuntimeOptions = {}) {
    this.opts = { ...opts };
  }

  private get replicas(): number {
    return this.opts.replicas ?? 1;
  }

  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      this.loop = this.reconcile().catch((err) => this.opts.say?.(`function runtime: ${(err as Error).message}`));
      await this.loop;
      if (!this.stopped) this.timer = setTimeout(tick, 250);
    };
    void tick();
  }

  /** The function process serving the active revision (its first replica), once there is one. */
  active(): FunctionProcess | undefined {
    return this.replicaProcesses()[0];
  }

  /** Every running replica of the active revision. */
  replicaProcesses(): FunctionProcess[] {
    return [...this.served.values()].flatMap((s) => s.processes.filter((p): p is FunctionProcess => !!p));
  }

  /** Every function process this runtime started, by revision (its first replica). */
  processes(): Record<string, FunctionProcess | undefined> {
    return Object.fromEntries([...this.served].map(([name, s]) => [name, s.processes[0]]));
  }

  /** Kills the active revision's processes, every replica (as a crash would); the runtime starts them again. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const s = [...this.served.values()].find((x) => x.processes.some(Boolean));
    if (!s) throw new Error('no function process to kill');
    const running = s.processes.filter((p): p is FunctionProcess => !!p);
    s.processes = s.processes.map(() => undefined);
    await Promise.all(running.map((p) => p.stop(signal)));
  }

  /**
   * Runs `n` replicas from now on: the running ones stop, `n` start on their addresses, and the
   * revision's endpoint moves to match (core then dials the new target).
   */
  async setReplicas(n: number): Promise<void> {
    await this.loop;
    const running = [...this.served.values()].flatMap((s) => {
      const ps = s.processes.filter((p): p is FunctionProcess => !!p);
      s.processes = [];
      return ps;
    });
    this.opts.replicas = n;
    await Promise.all(running.map((p) => p.stop()));
  }

  /** The endpoint written into the active revision's status (what core dials). */
  endpoint(): string {
    const s = [...this.served.values()][0];
    if (!s) throw new Error('no function revision is served');
    return this.endpoints.get(s.revision) ?? '';
  }

  /** 127.0.0.1 for a single replica; 127.0.0.<i+2> for replica i of several. */
  private host(i: number): string {
    return this.replicas === 1 ? '127.0.0.1' : `127.0.0.${i + 2}`;
  }

  /** The DNS server that answers a Service's name with every replica's address (started once). */
  private async dnsServer(): Promise<number> {
    if (this.dns) return this.dns.port;
    const port = await freePort();
    const { Packet } = dns2;
    const server = dns2.createServer({
      udp: true,
      handle: (request, send) => {
        const response = Packet.createResponseFromRequest(request);
        const [q] = request.questions;
        const s = [...this.served.values()].find((x) => q && `${x.service}.${NAMESPACE}` === q.name.replace(/\.$/, ''));
        // A records for a Service it serves; nothing else (AAAA, the TXT of gRPC's service config) has an answer.
        if (s && q.type === Packet.TYPE.A) {
          for (let i = 0; i < this.replicas; i++) response.answers.push(Packet.createResourceFromQuestion(q, { ttl: 5, address: this.host(i) }));
        }
        send(response);
      },
    });
    await server.listen({ udp: { port, address: '127.0.0.1' } });
    this.dns = { port, close: () => void server.close() };
    return port;
  }

  private async reconcile(): Promise<void> {
    // In process, not through kubectl: a kubectl process four times a second cost 40% of a core
    // in the scale run, more than the function it runs.
    const list = await this.revisions().listClusterCustomObject({ group: 'pkg.crossplane.io', version: 'v1', plural: 'functionrevisions' }).catch(() => undefined);
    if (!list) return;
    const revisions: Obj[] = (list as { items: Obj[] }).items;
    for (const rev of revisions) {
      const name: string = rev.metadata.name;
      const active = rev.spec.desiredState === 'Active';
      const s = this.served.get(name);
      if (!active) {
        if (s) await this.retire(name, s);
        continue;
      }
      const serving = s ?? (await this.prepare(rev));
      for (let i = 0; i < this.replicas; i++) {
        if (!serving.processes[i] && !serving.starting[i]) {
          serving.starting[i] = this.run(serving, i).finally(() => (serving.starting[i] = undefined));
        }
      }
      await Promise.all(serving.starting);
      await this.writeStatus(rev, serving);
    }
    for (const [name, s] of this.served) {
      if (!revisions.some((rev) => rev.metadata.name === name)) await this.retire(name, s);
    }
  }

  /** The revision's TLS server Secret and certificate files, signed by Crossplane's root CA. */
  private async prepare(rev: Obj): Promise<Served> {
    const name: string = rev.metadata.name;
    const dir = join(this.cp.dir, 'function-runtime', name);
    mkdirSync(dir, { recursive: true });
    const root = JSON.parse((await this.cp.kubectlAsync('get', 'secret', 'crossplane-root-ca', '-n', NAMESPACE, '-o', 'json')).stdout);
    writeFileSync(join(dir, 'root-ca.crt'), Buffer.from(root.data['tls.crt'], 'base64'));
    writeFileSync(join(dir, 'root-ca.key'), Buffer.from(root.data['tls.key'], 'base64'));
    const service = rev.metadata.labels?.['pkg.crossplane.io/package'] ?? name;
    issue(dir, 'tls', 'root-ca', `/O=Crossplane/CN=${service}`,
      `subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${service}.${NAMESPACE},DNS:${service}.${NAMESPACE}.svc\nextendedKeyUsage=serverAuth\n`);
    const certsDir = join(dir, 'certs');
    mkdirSync(certsDir, { recursive: true });
    const files = { 'tls.crt': readFileSync(join(dir, 'tls.crt')), 'tls.key': readFileSync(join(dir, 'tls.key')), 'ca.crt': readFileSync(join(dir, 'root-ca.crt')) };
    for (const [f, data] of Object.entries(files)) writeFileSync(join(certsDir, f), data);
    const secretName: string = rev.spec.tlsServerSecretName ?? `${service}-tls-server`;
    const secret = {
      apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: secretName, namespace: NAMESPACE },
      data: Object.fromEntries(Object.entries(files).map(([f, d]) => [f, d.toString('base64')])),
    };
    await this.cp.kubectlAsync('apply', '--server-side', '--field-manager', 'aerogrid-function-runtime', '-f', writeTemp(dir, 'secret.json', secret));
    const s: Served = { revision: name, service, secretName, port: await freePort(), certsDir, processes: [], starting: [], restarts: 0 };
    this.served.set(name, s);
    return s;
  }

  private async run(s: Served, i: number): Promise<void> {
    if (this.stopped) return;
    const restarted = s.restarts++ >= this.replicas;
    const p = await startFunction(['--tls-certs-dir', s.certsDir, ...(this.opts.args ?? [])], {}, s.port, { image: this.opts.image, host: this.host(i) });
    s.processes[i] = p;
    const which = this.replicas === 1 ? 'the function' : `replica ${i + 1} of ${this.replicas} of the function`;
    this.opts.say?.(`function runtime: ${restarted ? 're' : ''}started ${which} for FunctionRevision ${s.revision} on ${p.address} (mTLS, certificate from Crossplane's CA)`);
    void p.exited.then(() => {
      if (s.processes[i] === p) s.processes[i] = undefined; // crashed: the next pass starts it again
    });
  }

  private async writeStatus(rev: Obj, s: Served): Promise<void> {
    const endpoint = this.replicas === 1 ? `dns:///127.0.0.1:${s.port}` : `dns://127.0.0.1:${await this.dnsServer()}/${s.service}.${NAMESPACE}:${s.port}`;
    this.endpoints.set(s.revision, endpoint);
    const healthy = (rev.status?.conditions ?? []).some((c: Obj) => c.type === 'RuntimeHealthy' && c.status === 'True');
    // Core waits for this name before it installs the package's CRDs (it would inject the
    // certificate as a conversion webhook's CA bundle): "waiting for package runtime controller
    // to set revision's webhook TLS secret".
    const secretName = s.secretName;
    if (rev.status?.endpoint === endpoint && healthy && rev.status?.tlsServerSecretName === secretName) return;
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const conditions = [...(rev.status?.conditions ?? []).filter((c: Obj) => c.type !== 'RuntimeHealthy'),
      { type: 'RuntimeHealthy', status: 'True', reason: 'HealthyPackageRevision', lastTransitionTime: now }];
    await this.cp.kubectlAsync('patch', 'functionrevision', rev.metadata.name, '--subresource=status', '--type=merge', '-p',
      JSON.stringify({ status: { endpoint, tlsServerSecretName: secretName, conditions } }));
  }

  private async retire(name: string, s: Served): Promise<void> {
    this.served.delete(name);
    await Promise.all(s.starting);
    const running = s.processes.filter((p): p is FunctionProcess => !!p);
    if (running.length > 0) {
      this.opts.say?.(`function runtime: FunctionRevision ${name} is no longer active; stopping its function`);
      await Promise.all(running.map((p) => p.stop()));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.loop;
    for (const [name, s] of this.served) await this.retire(name, s);
    this.dns?.close();
  }
}

function writeTemp(dir: string, file: string, obj: unknown): string {
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify(obj));
  return path;
}
