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
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ControlPlane } from './controlplane.js';
import { startFunction, type FunctionProcess } from './function.js';
import { freePort } from './net.js';
import { issue } from './pki.js';

type Obj = Record<string, any>;
const NAMESPACE = 'crossplane-system';

interface Served {
  revision: string;
  secretName: string;
  port: number;
  certsDir: string;
  process?: FunctionProcess;
  starting?: Promise<void>;
  /** Times started: the runtime starts it again when it dies, as a kubelet restarts a container. */
  restarts: number;
}

export class FunctionRuntime {
  private readonly served = new Map<string, Served>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private loop?: Promise<void>;

  constructor(private readonly cp: ControlPlane, private readonly opts: { say?: (msg: string) => void; args?: string[] } = {}) {}

  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      this.loop = this.reconcile().catch((err) => this.opts.say?.(`function runtime: ${(err as Error).message}`));
      await this.loop;
      if (!this.stopped) this.timer = setTimeout(tick, 250);
    };
    void tick();
  }

  /** The function process serving the active revision, once there is one. */
  active(): FunctionProcess | undefined {
    return [...this.served.values()].find((s) => s.process)?.process;
  }

  /** Every function process this runtime started, by revision. */
  processes(): Record<string, FunctionProcess | undefined> {
    return Object.fromEntries([...this.served].map(([name, s]) => [name, s.process]));
  }

  /** Kills the active revision's process (as a crash would); the runtime starts it again. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const s = [...this.served.values()].find((x) => x.process);
    if (!s?.process) throw new Error('no function process to kill');
    const p = s.process;
    s.process = undefined;
    await p.stop(signal);
  }

  private async reconcile(): Promise<void> {
    const r = await this.cp.kubectlAsync('get', 'functionrevisions', '-o', 'json');
    if (r.status !== 0) return;
    const revisions: Obj[] = JSON.parse(r.stdout).items;
    for (const rev of revisions) {
      const name: string = rev.metadata.name;
      const active = rev.spec.desiredState === 'Active';
      const s = this.served.get(name);
      if (!active) {
        if (s) await this.retire(name, s);
        continue;
      }
      const serving = s ?? (await this.prepare(rev));
      if (!serving.process && !serving.starting) {
        serving.starting = this.run(serving).finally(() => (serving.starting = undefined));
      }
      await serving.starting;
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
    const s: Served = { revision: name, secretName, port: await freePort(), certsDir, restarts: 0 };
    this.served.set(name, s);
    return s;
  }

  private async run(s: Served): Promise<void> {
    if (this.stopped) return;
    const restarted = s.restarts++ > 0;
    s.process = await startFunction(['--tls-certs-dir', s.certsDir, ...(this.opts.args ?? [])], {}, s.port);
    this.opts.say?.(`function runtime: ${restarted ? 're' : ''}started the function for FunctionRevision ${s.revision} on 127.0.0.1:${s.port} (mTLS, certificate from Crossplane's CA)`);
    const p = s.process;
    void p.exited.then(() => {
      if (s.process === p) s.process = undefined; // crashed: the next pass starts it again
    });
  }

  private async writeStatus(rev: Obj, s: Served): Promise<void> {
    const endpoint = `dns:///127.0.0.1:${s.port}`;
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
    await s.starting;
    if (s.process) {
      this.opts.say?.(`function runtime: FunctionRevision ${name} is no longer active; stopping its function`);
      await s.process.stop();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.loop;
    for (const [name, s] of this.served) await this.retire(name, s);
  }
}

function writeTemp(dir: string, file: string, obj: unknown): string {
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify(obj));
  return path;
}
