// The CLI's side of the cluster: aerogrid/client (src/client) for Tenants and Apps, the way
// kubectl reads kubeconfig, --context and --namespace, and one-line explanations of what went
// wrong, with hints that carry the flags the user gave.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { Log } from '@kubernetes/client-node';
import { AerogridClient, ClientError, GROUP_VERSION, type App, type Applied, type Pod } from '../client/index.js';
import { CliError, EXIT } from './errors.js';

/** Field managers: each command owns only its own fields, so the CLI, the console and Argo CD can share an App. */
export const MANAGERS = {
  push: 'aerogrid',
  env: 'aerogrid-env',
  scale: 'aerogrid-scale',
  rebuild: 'aerogrid-rebuild',
  rollback: 'aerogrid-rollback',
} as const;

export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  requestTimeoutMs?: number;
  /** The flags the user gave, to repeat in hints (`-n acme-prod --context dev`). */
  flags?: string;
}

export class Cluster {
  readonly client: AerogridClient;
  readonly namespace: string;
  readonly server: string;
  readonly context: string;
  /** The flags a hint must carry for the next command to reach the same place. */
  readonly flags: string;
  private readonly file?: string;

  constructor(opts: ClusterOptions) {
    try {
      this.client = AerogridClient.fromKubeconfig(opts);
    } catch (err) {
      throw err instanceof ClientError ? new CliError(err.message) : err;
    }
    this.file = opts.kubeconfig;
    this.namespace = this.client.namespace;
    this.server = this.client.server;
    this.context = this.client.context;
    this.flags = opts.flags ?? '';
  }

  /** `aerogrid <args>` with the user's -n, --context and --kubeconfig. */
  hint(args: string): string {
    return `aerogrid ${args}${this.flags}`;
  }

  async getApp(name: string): Promise<App | undefined> {
    return this.run(() => this.client.apps.find(name, this.namespace));
  }

  async mustGetApp(name: string): Promise<App> {
    const app = await this.getApp(name);
    if (!app) throw new CliError(`App ${name} not found in namespace ${this.namespace}; see ${this.hint('list')}`);
    return app;
  }

  /**
   * Apps across namespaces: every one for a cluster-wide reader, otherwise those of the caller's
   * tenants, found from the namespace in use and the namespaces of the kubeconfig's other contexts
   * for the same cluster and user (aerogrid/client's listAppsAcross).
   */
  async listAppsEverywhere(): Promise<{ apps: App[]; scope: 'cluster' | 'tenants'; namespaces: string[]; unreadable: string[] }> {
    const all = await this.run(() => this.client.listAppsAcross(this.candidateNamespaces()));
    if (all.scope === 'tenants' && all.namespaces.length === 0) {
      throw new CliError(`cannot list Apps in all namespaces: you may not read them cluster-wide, and namespace ${this.namespace} is not a namespace of a tenant you belong to. Pass -n with one of your tenant's namespaces`);
    }
    return { apps: all.apps, scope: all.scope, namespaces: all.scope === 'cluster' ? [] : all.namespaces, unreadable: all.refused.map((r) => r.namespace) };
  }

  /** The namespace in use, then those of the kubeconfig's contexts that reach the same cluster as the same user. */
  private candidateNamespaces(): string[] {
    const kc = this.client.kc;
    const current = kc.getContextObject(this.context);
    const others = kc.getContexts().filter((c) => c.cluster === current?.cluster && c.user === current?.user && c.namespace).map((c) => c.namespace!);
    return [this.namespace, ...others];
  }

  async listApps(): Promise<App[]> {
    return this.run(() => this.client.apps.list(this.namespace));
  }

  /** Server-side apply of only the fields `manager` owns. Without force, a field another manager owns is a conflict. */
  async apply(app: Applied<App>, manager: string, force = false): Promise<App> {
    return this.run(() => this.client.apps.apply({ ...app, metadata: { ...app.metadata, namespace: this.namespace } }, { fieldManager: manager, force }));
  }

  /** Removes fields whatever manager owns them (a merge patch; null removes). */
  async removeFields(name: string, spec: Record<string, null>, manager: string): Promise<App> {
    return this.run(() => this.client.apps.mergePatch(name, this.namespace, { spec }, manager));
  }

  async deleteApp(name: string): Promise<void> {
    try {
      await this.client.apps.delete(name, this.namespace);
    } catch (err) {
      if (err instanceof ClientError && err.kind === 'notFound') throw new CliError(`App ${name} not found in namespace ${this.namespace}; see ${this.hint('list')}`);
      throw this.explain(err);
    }
  }

  /** Follows one App from a resourceVersion until `onChange` says it is done or `signal` aborts. */
  async watchApp(name: string, resourceVersion: string | undefined, onChange: (app: App) => boolean, signal: AbortSignal): Promise<void> {
    let deleted = false;
    await this.run(() => this.client.apps.watch({ namespace: this.namespace, name, resourceVersion, signal }, (e) => {
      if (e.type === 'DELETED') return (deleted = true);
      return onChange(e.object);
    }));
    if (deleted) throw new CliError(`App ${name} was deleted while we watched it`);
  }

  /** The pods of an App, or of its build Job (client.appPods). */
  async appPods(app: string, build?: string): Promise<Pod[]> {
    return this.run(() => this.client.appPods(this.namespace, app, build));
  }

  /**
   * Copies a container's logs to `out` (left open: several pods may follow). Connecting is
   * bounded by the request timeout; a followed stream then runs as long as it lasts.
   */
  async logs(pod: string, container: string, out: Writable, opts: { follow?: boolean; previous?: boolean } = {}): Promise<void> {
    const doing = `read the logs of ${pod}`;
    const sink = new PassThrough();
    sink.pipe(out, { end: false });
    await new Promise<void>((resolve, reject) => {
      sink.once('end', resolve);
      const timer = setTimeout(() => {
        reject(this.explain(new ClientError('timeout', 'no answer in time', { doing }), doing));
        void started.then((c) => c?.abort(), () => undefined);
      }, this.client.requestTimeoutMs);
      const started = new Log(this.client.kc).log(this.namespace, pod, container, sink, { follow: !!opts.follow, previous: !!opts.previous, timestamps: false });
      started.then(() => clearTimeout(timer), (err) => {
        clearTimeout(timer);
        reject(this.explain(err, doing));
      });
    });
  }

  private async run<T>(f: () => Promise<T>, doing?: string): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw this.explain(err, doing);
    }
  }

  /** One line: what went wrong and what to do about it. */
  explain(err: unknown, doing?: string): CliError {
    if (err instanceof CliError) return err;
    const e = err instanceof ClientError ? err : new ClientError('server', err instanceof Error ? err.message : String(err), { doing });
    const what = doing ?? e.details.doing ?? 'talk to the cluster';
    switch (e.kind) {
      case 'config':
        return new CliError(e.message);
      case 'missingApi':
        return new CliError(`the App API (${GROUP_VERSION}) is not installed on ${this.server}: install aerogrid's Configuration (dist/configuration) there, or pick another cluster with --context`);
      case 'unauthorized':
        return new CliError(`cannot ${what}: the cluster at ${this.server} does not accept your credentials (context ${this.context}); log in again or check your kubeconfig`);
      case 'forbidden':
        return new CliError(`cannot ${what}: forbidden: ${e.message.replace(/^.*? is forbidden: /, '')}. Use a namespace of your tenant (-n), or ask the tenant's admins for access`);
      case 'notFound':
        return new CliError(`cannot ${what}: not found: ${e.message}`);
      case 'conflict':
        return new CliError(`cannot ${what}: ${conflictMessage(e)}`);
      case 'invalid':
        return new CliError(`cannot ${what}: the cluster refused it: ${e.message.replace(/^App\.platform\.aerogrid\.io ".*?" is invalid: /, '')}`, EXIT.usage);
      case 'timeout':
        return new CliError(`cannot ${what}: the cluster at ${this.server} did not answer within ${seconds(this.client.requestTimeoutMs)} (--request-timeout); is it overloaded or unreachable? Check ${this.kubeconfigHint()}`, EXIT.timeout);
      case 'unreachable':
        return /TLS/.test(e.message)
          ? new CliError(`cannot reach the cluster at ${this.server}: ${e.message}; check the certificate authority in your kubeconfig`)
          : new CliError(`cannot reach the cluster at ${this.server} (${e.message}): is it running? Check ${this.kubeconfigHint()}, or pick another with --context`);
      default:
        return new CliError(`cannot ${what}: ${e.message}`);
    }
  }

  private kubeconfigHint(): string {
    if (this.file) return `${this.file} (context ${this.context})`;
    if (process.env.KUBECONFIG) return `KUBECONFIG (${process.env.KUBECONFIG}, context ${this.context})`;
    return `${join(homedir(), '.kube', 'config')} (context ${this.context})`;
  }
}

const seconds = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);

function conflictMessage(e: ClientError): string {
  const fields = e.fields.map((f) => f.path).filter(Boolean);
  if (e.managers.length === 0) return e.message;
  return `${fields.join(', ') || 'fields of this App'} ${fields.length === 1 ? 'is' : 'are'} managed by ${e.managers.join(', ')}. Change the App where it is managed (for Argo CD: in Git), or take it over with --force`;
}
