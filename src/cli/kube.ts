// The CLI's side of the Kubernetes API, through @kubernetes/client-node: kubeconfig,
// --context and --namespace as kubectl reads them, server-side apply with field manager
// `aerogrid`, watches, pod logs, and one-line explanations for what goes wrong.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import {
  ApiException, CoreV1Api, KubeConfig, KubernetesObjectApi, Log, PatchStrategy, Watch, type KubernetesObject,
} from '@kubernetes/client-node';
import { CliError, EXIT } from './errors.js';
import { API_VERSION, type AppManifest } from './manifest.js';

type Obj = Record<string, any>;

export const FIELD_MANAGER = 'aerogrid';
const APPS_PATH = (ns: string) => `/apis/${API_VERSION}/namespaces/${encodeURIComponent(ns)}/apps`;

export interface ClusterOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

export class Cluster {
  readonly kc = new KubeConfig();
  readonly namespace: string;
  readonly server: string;
  readonly context: string;
  private readonly file?: string;
  private readonly objects: KubernetesObjectApi;

  constructor(opts: ClusterOptions) {
    try {
      if (opts.kubeconfig) {
        if (!existsSync(opts.kubeconfig)) throw new CliError(`--kubeconfig ${opts.kubeconfig}: no such file`);
        this.kc.loadFromFile(opts.kubeconfig);
      } else {
        if (!process.env.KUBECONFIG && !process.env.KUBERNETES_SERVICE_HOST && !existsSync(join(homedir(), '.kube', 'config'))) {
          throw new CliError('no kubeconfig found: set KUBECONFIG, create ~/.kube/config, or pass --kubeconfig FILE');
        }
        this.kc.loadFromDefault();
      }
    } catch (err) {
      if (err instanceof CliError) throw err;
      throw new CliError(`cannot read your kubeconfig: ${(err as Error).message}`);
    }
    if (opts.context) {
      if (!this.kc.getContextObject(opts.context)) {
        throw new CliError(`--context ${opts.context}: no such context in your kubeconfig (it has: ${this.kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
      }
      this.kc.setCurrentContext(opts.context);
    }
    this.file = opts.kubeconfig;
    this.context = this.kc.getCurrentContext();
    this.namespace = opts.namespace ?? this.kc.getContextObject(this.context)?.namespace ?? 'default';
    this.server = this.kc.getCurrentCluster()?.server ?? '(no cluster)';
    this.objects = KubernetesObjectApi.makeApiClient(this.kc);
  }

  private ref(name: string, namespace = this.namespace) {
    return { apiVersion: API_VERSION, kind: 'App', metadata: { name, namespace } };
  }

  async getApp(name: string): Promise<Obj | undefined> {
    try {
      return (await this.objects.read(this.ref(name))) as Obj;
    } catch (err) {
      if (err instanceof ApiException && err.code === 404 && !isMissingApi(err)) return undefined;
      throw this.explain(err, `read App ${name}`);
    }
  }

  async mustGetApp(name: string): Promise<Obj> {
    const app = await this.getApp(name);
    if (!app) throw new CliError(`App ${name} not found in namespace ${this.namespace}; see aerogrid list`);
    return app;
  }

  async listApps(allNamespaces: boolean): Promise<Obj[]> {
    try {
      const list = await this.objects.list(API_VERSION, 'App', allNamespaces ? undefined : this.namespace);
      return (list.items as Obj[]).sort((a, b) => `${a.metadata?.namespace}/${a.metadata?.name}`.localeCompare(`${b.metadata?.namespace}/${b.metadata?.name}`));
    } catch (err) {
      throw this.explain(err, allNamespaces ? 'list Apps in all namespaces' : `list Apps in namespace ${this.namespace}`);
    }
  }

  /** Server-side apply, field manager `aerogrid`. Without force, a field another manager owns is a conflict. */
  async apply(app: AppManifest, force: boolean): Promise<Obj> {
    try {
      return (await this.objects.patch(app as unknown as KubernetesObject, undefined, undefined, FIELD_MANAGER, force, PatchStrategy.ServerSideApply)) as Obj;
    } catch (err) {
      throw this.explain(err, `apply App ${app.metadata.name}`);
    }
  }

  async deleteApp(name: string): Promise<void> {
    try {
      await this.objects.delete(this.ref(name));
    } catch (err) {
      if (err instanceof ApiException && err.code === 404 && !isMissingApi(err)) {
        throw new CliError(`App ${name} not found in namespace ${this.namespace}; see aerogrid list`);
      }
      throw this.explain(err, `delete App ${name}`);
    }
  }

  /**
   * Watches one App from a resourceVersion on, until `onChange` says it is done or `signal`
   * aborts. A watch the server ends (they time out) is started again from the last version seen.
   */
  async watchApp(name: string, resourceVersion: string, onChange: (app: Obj) => boolean, signal: AbortSignal): Promise<void> {
    const watch = new Watch(this.kc);
    let rv = resourceVersion;
    while (!signal.aborted) {
      const ended = await new Promise<{ done: boolean; err?: unknown }>((resolve) => {
        let controller: AbortController | undefined;
        let finished = false;
        // Whatever ends this watch (done, an error, the caller's signal) closes its connection.
        const finish = (r: { done: boolean; err?: unknown }) => {
          if (finished) return;
          finished = true;
          signal.removeEventListener('abort', onAbort);
          controller?.abort();
          resolve(r);
        };
        const onAbort = () => finish({ done: true });
        signal.addEventListener('abort', onAbort, { once: true });
        watch.watch(APPS_PATH(this.namespace), { fieldSelector: `metadata.name=${name}`, resourceVersion: rv, allowWatchBookmarks: true }, (type, obj: Obj) => {
          if (obj?.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
          if (type === 'DELETED') finish({ done: true, err: new CliError(`App ${name} was deleted while we watched it`) });
          else if ((type === 'ADDED' || type === 'MODIFIED') && onChange(obj)) finish({ done: true });
        }, (err) => finish({ done: false, err })).then((c) => {
          controller = c;
          if (finished) c.abort();
        }, (err) => finish({ done: false, err }));
      });
      if (ended.err && !(ended.err instanceof Error && ended.err.name === 'AbortError')) {
        if (ended.err instanceof CliError) throw ended.err;
        // 410 Gone: our version is too old; read the App afresh and go on from there.
        if (ended.err instanceof ApiException && ended.err.code === 410) {
          const app = await this.mustGetApp(name);
          if (onChange(app)) return;
          rv = app.metadata.resourceVersion;
          continue;
        }
        if (!ended.done) throw this.explain(ended.err, `watch App ${name}`);
      }
      if (ended.done) return;
    }
  }

  async pods(labelSelector: string): Promise<Obj[]> {
    try {
      const list = await this.kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: this.namespace, labelSelector });
      return (list.items as Obj[]).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
    } catch (err) {
      throw this.explain(err, `list pods in namespace ${this.namespace}`);
    }
  }

  async logs(pod: string, container: string, out: Writable, follow: boolean): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      out.once('finish', resolve);
      new Log(this.kc).log(this.namespace, pod, container, out, { follow, timestamps: false }).catch((err) => reject(this.explain(err, `read the logs of ${pod}`)));
    });
  }

  /** One line, what went wrong and what to do about it. */
  explain(err: unknown, doing: string): CliError {
    if (err instanceof CliError) return err;
    if (err instanceof ApiException) {
      const body = statusOf(err);
      const message: string = body.message ?? err.message;
      if (isMissingApi(err)) {
        return new CliError(`the App API (${API_VERSION}) is not installed on ${this.server}: install aerogrid's Configuration (dist/configuration) there, or pick another cluster with --context`);
      }
      switch (err.code) {
        case 401:
          return new CliError(`cannot ${doing}: the cluster at ${this.server} does not accept your credentials (context ${this.context}); log in again or check your kubeconfig`);
        case 403:
          return new CliError(`cannot ${doing}: forbidden: ${message.replace(/^.*? is forbidden: /, '')}. Use a namespace of your tenant (-n), or ask the tenant's admins for access`);
        case 409:
          return new CliError(`cannot ${doing}: ${conflictMessage(body, message)}`);
        case 422:
          return new CliError(`cannot ${doing}: the cluster refused it: ${message.replace(/^App\.platform\.aerogrid\.io ".*?" is invalid: /, '')}`, EXIT.usage);
        default:
          return new CliError(`cannot ${doing}: ${message} (HTTP ${err.code})`);
      }
    }
    const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
    const code = e?.cause?.code ?? e?.code;
    const text = `${e?.message ?? ''} ${e?.cause?.message ?? ''}`;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || code === 'ECONNRESET' || /fetch failed|ECONNREFUSED|ENOTFOUND|socket hang up/.test(text)) {
      const where = this.kubeconfigHint();
      return new CliError(`cannot reach the cluster at ${this.server} (${code ?? 'connection failed'}): is it running? Check ${where}, or pick another with --context`);
    }
    if (/certificate|self[- ]signed|SSL|TLS/i.test(text)) {
      return new CliError(`cannot reach the cluster at ${this.server}: TLS failed (${text.trim()}); check the certificate authority in your kubeconfig`);
    }
    return new CliError(`cannot ${doing}: ${text.trim() || String(err)}`);
  }

  private kubeconfigHint(): string {
    if (this.file) return `${this.file} (context ${this.context})`;
    if (process.env.KUBECONFIG) return `KUBECONFIG (${process.env.KUBECONFIG}, context ${this.context})`;
    return `${join(homedir(), '.kube', 'config')} (context ${this.context})`;
  }
}

function safeJson(s: string): Obj | undefined {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}

/** The body of an API error: a Status object, which the client may hand over as text. */
function statusOf(err: ApiException<unknown>): Obj {
  const body = err.body;
  if (typeof body === 'string') return safeJson(body) ?? { message: body };
  return (body as Obj | undefined) ?? {};
}

/** A 404 from discovery, or from a path the API server does not serve: no such API. */
function isMissingApi(err: unknown): boolean {
  if (err instanceof ApiException) {
    if (err.message.startsWith('Failed to fetch resource metadata')) return true;
    // A missing resource type gets a bare "404 page not found"; a missing object gets a Status naming it.
    return err.code === 404 && !statusOf(err).details?.name;
  }
  return err instanceof Error && err.message.startsWith('Unrecognized API version and kind');
}

function conflictMessage(body: Obj, message: string): string {
  const managers = [...new Set(((body.details?.causes ?? []) as Obj[]).map((c) => /conflict with "([^"]+)"/.exec(c.message ?? '')?.[1]).filter(Boolean))];
  const fields = ((body.details?.causes ?? []) as Obj[]).map((c) => c.field).filter(Boolean);
  if (managers.length === 0) return message;
  return `${fields.join(', ') || 'fields of this App'} ${fields.length === 1 ? 'is' : 'are'} managed by ${managers.join(', ')}, not by aerogrid push. Change the App where it is managed (for Argo CD: in Git), or take it over with --force`;
}
