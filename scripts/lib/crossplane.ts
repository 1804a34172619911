// Real Crossplane core v2.3.4 on the local control plane, installed as in any cluster: `helm
// install` of its chart, core and the RBAC manager as Pods, and aerogrid installed through its
// package manager: aerogrid's Function and Configuration built with `crossplane xpkg build`,
// pushed with `crossplane xpkg push` to the platform's registry, and installed as a platform
// engineer would. Crossplane's default Deployment runtime runs the function from the image its
// package embeds (images.ts), with the TLS Secrets Crossplane makes.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { functionName } from '../../src/compositions/packages.js';
import { platformFileOf } from '../../src/compositions/synth.js';
import type { ControlPlane } from './controlplane.js';
import { ensureTool, toolPath } from './controlplane.js';
import { aerogridImages } from './images.js';
import { getObject, installCrds, must } from './install.js';
import { scrapeUrl } from './metrics.js';
import { ROOT } from './net.js';

type Obj = Record<string, any>;

export const CROSSPLANE_NAMESPACE = 'crossplane-system';
/** Where platform.yaml says the packages are published; an ImageConfig points it at the local registry. */
const PACKAGE_PREFIX = 'xpkg.aerogrid.io/';

export interface Crossplane {
  version: string;
  /** host:port of the local OCI registry. */
  registry: string;
  /** Core's metrics (Prometheus text), from its pod. */
  coreMetrics(): Promise<string>;
  /** The client certificate core dials functions with (tls.crt, tls.key, ca.crt). */
  clientCertsDir: string;
  logs(): string;
  /** Builds and pushes dist/function and dist/configuration (and the legacy flavour) at this version. */
  publish(version: string): void;
  /** Installs the Configuration (which pulls in the Function) and waits until both are healthy and the XRDs established. */
  install(version: string, opts?: { legacy?: boolean }): Promise<void>;
  /** Moves the installed Function to another published version (a package upgrade). */
  upgradeFunction(version: string): Promise<void>;
  /** What every running replica of the function logged (its pods', or its processes'). */
  functionLogs(): string;
  /** Kills every replica of the function at once, as a crash would (pods deleted without grace); they come back by themselves. */
  killFunction(): Promise<void>;
  /** The function's pods (running or not): name, IP, and whether Ready. */
  functionPods(): Promise<FunctionPod[]>;
  /** Sets the replicas in the function's DeploymentRuntimeConfig, as a platform team would, and waits until exactly that many pods are Ready. */
  setFunctionReplicas(n: number): Promise<void>;
  /** The function's endpoint, as the active FunctionRevision gives it to core (dns:///<service>.<namespace>:9443). */
  functionEndpoint(): string;
  /** Its pods go with the node. */
  stop(): Promise<void>;
}

export interface FunctionPod { name: string; ip?: string; ready: boolean }

export interface HelmOptions {
  say?: (msg: string) => void;
  /** host:port of the platform's registry, where the packages are published (registry.ts). */
  registry: string;
  /** The registry as pods name it (platform.yaml), where the node's images are: core's among them. */
  registryName: string;
  /** Core's flags, as the chart's `args` value. */
  coreFlags?: string[];
  /** Where core's, the RBAC manager's and the function's pods must run (make scale's node kept for the platform, kwok.ts). */
  placement?: { nodeSelector: Record<string, string>; tolerations: Obj[] };
}

export async function waitUntil<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, detail: () => string = () => ''): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}\n${detail()}`.trimEnd());
    await new Promise((r) => setTimeout(r, 250));
  }
}

const condition = (o: Obj | undefined, type: string) => (o?.status?.conditions ?? []).find((c: Obj) => c.type === type);
export const isTrue = (o: Obj | undefined, type: string) => condition(o, type)?.status === 'True';

/** The client certificate core dials functions with, from the Secret Crossplane made, as files in <dir>/tls-client. */
function clientCerts(cp: ControlPlane, dir: string): string {
  const clientDir = join(dir, 'tls-client');
  mkdirSync(clientDir, { recursive: true });
  const client = JSON.parse(must(cp.kubectl('get', 'secret', 'crossplane-tls-client', '-n', CROSSPLANE_NAMESPACE, '-o', 'json')).stdout);
  for (const f of ['tls.crt', 'tls.key', 'ca.crt']) writeFileSync(join(clientDir, f), Buffer.from(client.data[f], 'base64'));
  return clientDir;
}

/** What installs aerogrid through Crossplane's package manager, whichever way core runs. */
interface PackageManagerOptions {
  dir: string;
  registry: string;
  say: (msg: string) => void;
  logs: () => string;
  /** The function's image, embedded in the Function package as its runtime (Deployment runtime). */
  runtimeImage?: string;
  /** The DeploymentRuntimeConfig and Function a platform team applies first (examples/platform/function-runtime.yaml). */
  runtimeConfig?: Obj[];
}

async function packageManager(cp: ControlPlane, o: PackageManagerOptions): Promise<Pick<Crossplane, 'publish' | 'install' | 'upgradeFunction'>> {
  const { dir, registry, say, logs } = o;
  const cli = toolPath('crossplane-cli');
  // Istio's CRDs: the cluster's, installed before aerogrid as Istio would be.
  const istio = spawnSync('bash', [join(ROOT, 'scripts/imports.sh'), '--print-crds'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).stdout;
  installCrds(cp, parseAllDocuments(istio).map((d) => d.toJS()));

  // Packages are named as platform.yaml publishes them; this ImageConfig sends their pulls to
  // the local registry, as a platform team mirroring packages would.
  must(cp.apply([{
    apiVersion: 'pkg.crossplane.io/v1beta1', kind: 'ImageConfig', metadata: { name: 'aerogrid-local-registry' },
    spec: { matchImages: [{ type: 'Prefix', prefix: PACKAGE_PREFIX }], rewriteImage: { prefix: `${registry}/` } },
  }]));

  const { packages } = platformFileOf(parseYaml(readFileSync(join(ROOT, 'platform.yaml'), 'utf8')));
  const local = (ref: string) => ref.replace(PACKAGE_PREFIX, `${registry}/`);
  const xpkg = (...args: string[]) => {
    const r = spawnSync(cli, ['xpkg', ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
    if (r.status !== 0) throw new Error(`crossplane xpkg ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  };
  const get = (kind: string, name?: string) => getObject(cp, kind, name);
  const fn = functionName(packages.function);
  const tail = () => logs().slice(-3000);

  return {
    publish(pkgVersion: string) {
      // Each published version carries its version in its metadata, so that two versions are two
      // packages (two digests, two revisions) even when nothing else in dist/ changed.
      const build = (root: string, file: string, ...extra: string[]) => {
        const copy = join(dir, `src-${pkgVersion}`, root);
        cpSync(join(ROOT, root), copy, { recursive: true });
        const meta = join(copy, 'crossplane.yaml');
        writeFileSync(meta, readFileSync(meta, 'utf8').replace(/^  annotations:\n/m, `  annotations:\n    platform.aerogrid.io/package-version: ${pkgVersion}\n`));
        xpkg('build', `--package-root=${copy}`, `--examples-root=${join(dir, 'no-examples')}`, `--package-file=${join(dir, file)}`, ...extra);
      };
      build('dist/function', `function-${pkgVersion}.xpkg`, ...(o.runtimeImage ? [`--embed-runtime-image-tarball=${o.runtimeImage}`] : []));
      build('dist/configuration', `configuration-${pkgVersion}.xpkg`);
      build('dist/legacy/configuration', `configuration-legacy-${pkgVersion}.xpkg`);
      xpkg('push', `--package-files=${join(dir, `function-${pkgVersion}.xpkg`)}`, `${local(packages.function)}:${pkgVersion}`);
      xpkg('push', `--package-files=${join(dir, `configuration-${pkgVersion}.xpkg`)}`, `${local(packages.configuration)}:${pkgVersion}`);
      xpkg('push', `--package-files=${join(dir, `configuration-legacy-${pkgVersion}.xpkg`)}`, `${local(packages.configuration)}-legacy:${pkgVersion}`);
      say(`crossplane xpkg build + push: ${packages.function}:${pkgVersion}${o.runtimeImage ? ' (its runtime image embedded)' : ''}, ${packages.configuration}:${pkgVersion} (and -legacy) → ${registry}`);
    },
    async install(pkgVersion: string, { legacy = false } = {}) {
      const name = legacy ? 'configuration-aerogrid-legacy' : 'configuration-aerogrid';
      if (o.runtimeConfig) {
        const objects = o.runtimeConfig.map((x) => (x.kind === 'Function' ? { ...x, spec: { ...x.spec, package: `${packages.function}:${pkgVersion}` } } : x));
        must(cp.apply(objects));
      }
      must(cp.apply([{
        apiVersion: 'pkg.crossplane.io/v1', kind: 'Configuration', metadata: { name },
        spec: { package: `${packages.configuration}${legacy ? '-legacy' : ''}:${pkgVersion}` },
      }]));
      const detail = () => `${cp.kubectl('get', 'configurations,configurationrevisions,functions,functionrevisions').stdout}\n${tail()}`;
      await waitUntil(`Configuration ${name} healthy`, () => {
        const c = get('configuration', name);
        return isTrue(c, 'Installed') && isTrue(c, 'Healthy');
      }, 180_000, detail);
      await waitUntil(`Function ${fn} healthy`, () => {
        const f = get('function', fn);
        return isTrue(f, 'Installed') && isTrue(f, 'Healthy');
      }, 180_000, detail);
      await waitUntil('the XRDs established and offered', () => {
        const xrds: Obj[] = get('compositeresourcedefinitions')?.items ?? [];
        return xrds.length > 0 && xrds.every((x) => isTrue(x, 'Established') && (!x.spec.claimNames || isTrue(x, 'Offered')));
      }, 120_000, () => `${cp.kubectl('get', 'xrd').stdout}\n${tail()}`);
      say(`installed ${name} ${pkgVersion} through Crossplane's package manager: Configuration and Function healthy, XRDs established`);
    },
    async upgradeFunction(pkgVersion: string) {
      must(cp.kubectl('patch', 'function', fn, '--type=merge', '-p', JSON.stringify({ spec: { package: `${packages.function}:${pkgVersion}` } })));
      await waitUntil(`Function ${fn} at ${pkgVersion} and healthy`, () => {
        const revisions: Obj[] = get('functionrevisions')?.items ?? [];
        const active = revisions.find((r) => r.spec.desiredState === 'Active');
        return active?.spec.image?.endsWith(`:${pkgVersion}`) && isTrue(active, 'RevisionHealthy') && isTrue(active, 'RuntimeHealthy') && isTrue(get('function', fn), 'Healthy');
      }, 180_000, () => `${cp.kubectl('get', 'functions,functionrevisions').stdout}\n${tail()}`);
    },
  };
}

/** Crossplane's chart in the source archive of the core version tools.sh builds. */
export const crossplaneChart = () => join(spawnSync('bash', [join(ROOT, 'scripts/tools.sh'), 'crossplane-src'], { encoding: 'utf8' }).stdout.trim(), 'crossplane/cluster/charts/crossplane');

/**
 * Crossplane as a platform team installs it: `helm install` of its chart, with core's image
 * (built from the source archive by tools.sh, pushed to the platform's registry by the node) and
 * the values in deploy/crossplane-values.yaml. Core and the RBAC manager run as their
 * ServiceAccounts; core's permissions are the chart's ClusterRole, which aggregates aerogrid's
 * (dist/rbac/). The function runs on Crossplane's default Deployment runtime, from the image its
 * package embeds (images.ts).
 */
export async function startCrossplaneWithHelm(cp: ControlPlane, opts: HelmOptions): Promise<Crossplane> {
  const say = opts.say ?? (() => {});
  const version = spawnSync(toolPath('crossplane'), ['--version'], { encoding: 'utf8' }).stdout.trim();
  const dir = join(cp.dir, 'crossplane');
  mkdirSync(dir, { recursive: true });
  const images = await aerogridImages(say);
  const started = Date.now();
  const helm = spawnSync(ensureTool('helm'), ['install', 'crossplane', crossplaneChart(), '--kubeconfig', cp.kubeconfig,
    '--namespace', CROSSPLANE_NAMESPACE, '--create-namespace', '--values', join(ROOT, 'deploy/crossplane-values.yaml'),
    '--set', `image.repository=${opts.registryName}/platform/crossplane`, '--set', `image.tag=${version}`,
    '--set-json', `args=${JSON.stringify(opts.coreFlags ?? [])}`,
    ...Object.entries(opts.placement ?? {}).flatMap(([key, value]) => ['--set-json', `${key}=${JSON.stringify(value)}`, '--set-json', `rbacManager.${key}=${JSON.stringify(value)}`]),
    '--wait', '--timeout=5m'], { encoding: 'utf8', timeout: 330_000 });
  const logs = () => {
    const r = cp.kubectl('logs', '-n', CROSSPLANE_NAMESPACE, 'deployment/crossplane', '--tail=200');
    return r.stdout + r.stderr;
  };
  if (helm.status !== 0) {
    throw new Error(`helm install crossplane failed:\n${helm.stdout}${helm.stderr}\n${cp.kubectl('get', 'pods', '-n', CROSSPLANE_NAMESPACE, '-o', 'wide').stdout}\n${logs().slice(-3000)}`);
  }
  say(`Crossplane ${version} installed with helm (its chart; core and the RBAC manager as Pods) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const clientDir = clientCerts(cp, dir);
  const runtimeConfig = parseAllDocuments(readFileSync(join(ROOT, 'examples/platform/function-runtime.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
  const fn = runtimeConfig.find((x) => x.kind === 'Function')!.metadata.name as string;
  const drc = runtimeConfig.find((x) => x.kind === 'DeploymentRuntimeConfig')!;
  if (opts.placement) Object.assign(drc.spec.deploymentTemplate.spec.template.spec, opts.placement);
  const fnSelector = `pkg.crossplane.io/function=${fn}`;
  const functionPods = async (): Promise<FunctionPod[]> => {
    const list = JSON.parse(must(await cp.kubectlAsync('get', 'pods', '-n', CROSSPLANE_NAMESPACE, '-l', fnSelector, '-o', 'json')).stdout);
    return (list.items as Obj[]).filter((p) => !p.metadata.deletionTimestamp).map((p) => ({
      name: p.metadata.name, ip: p.status?.podIP, ready: (p.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True'),
    }));
  };
  const packages = await packageManager(cp, { dir, registry: opts.registry, say, logs, runtimeImage: images.functionTarball, runtimeConfig });
  return {
    version,
    registry: opts.registry,
    clientCertsDir: clientDir,
    logs,
    ...packages,
    async coreMetrics() {
      // The chart's metrics port (deploy/crossplane-values.yaml), on the pod's IP, which the host routes to.
      const pods = JSON.parse(must(await cp.kubectlAsync('get', 'pods', '-n', CROSSPLANE_NAMESPACE, '-l', 'app=crossplane', '-o', 'json')).stdout).items as Obj[];
      const ip = pods.find((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp)?.status?.podIP;
      if (!ip) return '';
      return scrapeUrl(`http://${ip}:8080/metrics`);
    },
    functionLogs() {
      const r = cp.kubectl('logs', '-n', CROSSPLANE_NAMESPACE, '-l', fnSelector, '--tail=-1', '--max-log-requests=10');
      return r.stdout;
    },
    async killFunction() {
      must(await cp.kubectlAsync('delete', 'pods', '-n', CROSSPLANE_NAMESPACE, '-l', fnSelector, '--grace-period=0', '--force'));
    },
    functionPods,
    async setFunctionReplicas(n: number) {
      must(await cp.kubectlAsync('patch', 'deploymentruntimeconfig', drc.metadata.name, '--type=merge', '-p', JSON.stringify({ spec: { deploymentTemplate: { spec: { replicas: n } } } })));
      await waitUntil(`${n} function pods Ready`, async () => {
        const pods = await functionPods();
        return pods.length === n && pods.every((p) => p.ready);
      }, 180_000, () => cp.kubectl('get', 'pods', '-n', CROSSPLANE_NAMESPACE, '-l', fnSelector, '-o', 'wide').stdout);
    },
    functionEndpoint() {
      const revisions: Obj[] = getObject(cp, 'functionrevisions')?.items ?? [];
      const active = revisions.find((r) => r.spec.desiredState === 'Active' && r.status?.endpoint);
      if (!active) throw new Error('no active FunctionRevision with an endpoint');
      return active.status.endpoint as string;
    },
    async stop() {
      // Its pods go with the node.
    },
  };
}
