// aerogrid/client: a typed client for Tenants and Apps over @kubernetes/client-node, shared by
// the CLI and the console. Types come from the zod schemas in src/api (nothing is written twice),
// every request has a timeout, and every failure is a ClientError with a kind.
//
//   import { AerogridClient } from 'aerogrid/client';
//   const client = AerogridClient.fromKubeconfig({ context: 'dev', requestTimeoutMs: 10_000 });
//   const app = await client.apps.find('acme-dev', 'shop');
//   await client.apps.apply({ apiVersion: GROUP_VERSION, kind: 'App', metadata: { name: 'shop', namespace: 'acme-dev' },
//     spec: { files: [{ path: 'app.py', content: 'print(1)' }] } }, { fieldManager: 'my-tool' });
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  ApiException, KubeConfig, KubernetesObjectApi, PatchStrategy, ServerConfiguration, createConfiguration,
  type Configuration, type KubernetesObject, type RequestContext, type SecurityAuthentication,
} from '@kubernetes/client-node';
import type { z } from 'zod';
import type { AppSpec, AppStatus } from '../api/app.js';
import { TENANT_DIRECTORY, type TenantSpec, type TenantStatus } from '../api/tenant.js';
import { ClientError, classify } from './errors.js';
import type { Condition, ObjectMeta } from './meta.js';

export { ClientError, type ClientErrorKind, type FieldProblem } from './errors.js';
export { ownedBy, ownersOf } from './fields.js';
export type { Condition, ManagedFieldsEntry, ObjectMeta } from './meta.js';

export const GROUP = 'platform.aerogrid.io';
export const GROUP_VERSION = `${GROUP}/v1alpha1`;
/** kubectl's default for --request-timeout is none; ours is 30 s, so nothing hangs for ever. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** An App as the API server returns it: the spec as written (defaults may be absent), the status as the function writes it. */
export interface App {
  apiVersion: typeof GROUP_VERSION;
  kind: 'App';
  metadata: ObjectMeta;
  spec: z.input<typeof AppSpec>;
  status?: AppStatus & { conditions?: Condition[] };
}

export interface Tenant {
  apiVersion: typeof GROUP_VERSION;
  kind: 'Tenant';
  metadata: ObjectMeta;
  spec: z.input<typeof TenantSpec>;
  status?: TenantStatus & { conditions?: Condition[] };
}

/** What a field manager applies: only the fields it owns. */
export interface Applied<T extends App | Tenant> {
  apiVersion: typeof GROUP_VERSION;
  kind: T['kind'];
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Partial<T['spec']>;
}

/** A Pod, as far as the CLI and the console read one. */
export interface Pod {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string };
  spec?: { containers?: { name: string; image?: string }[] };
  status?: { phase?: string; containerStatuses?: { name: string; ready?: boolean; restartCount?: number; state?: Record<string, any>; lastState?: Record<string, any> }[] };
}

/** A tenant namespace's directory (the aerogrid-tenant ConfigMap the Tenant composes in each). */
export interface TenantDirectory {
  tenant: string;
  namespaces: string[];
  /** The runtimes the platform offers, and the one an App that names none gets. */
  runtimes: string[];
  defaultRuntime?: string;
}

export type WatchEvent<T> = { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T };

export interface ClientOptions {
  /** A kubeconfig file; default $KUBECONFIG, then ~/.kube/config, then in-cluster. */
  kubeconfig?: string;
  context?: string;
  /** Default namespace; default the context's, then `default`. */
  namespace?: string;
  /** Every request's timeout (a watch: until its first byte). Default 30 s. */
  requestTimeoutMs?: number;
}

export class AerogridClient {
  readonly namespace: string;
  readonly context: string;
  readonly server: string;
  readonly requestTimeoutMs: number;
  readonly apps: Resource<App>;
  readonly tenants: Resource<Tenant>;
  private readonly objects: KubernetesObjectApi;

  /** Reads a kubeconfig the way kubectl does. Throws ClientError('config') with what to do. */
  static fromKubeconfig(opts: ClientOptions = {}): AerogridClient {
    const kc = new KubeConfig();
    try {
      if (opts.kubeconfig) {
        if (!existsSync(opts.kubeconfig)) throw new ClientError('config', `--kubeconfig ${opts.kubeconfig}: no such file`);
        kc.loadFromFile(opts.kubeconfig);
      } else if (process.env.KUBECONFIG) {
        const files = process.env.KUBECONFIG.split(':').filter(Boolean);
        const missing = files.filter((f) => !existsSync(f));
        if (missing.length === files.length) {
          throw new ClientError('config', `KUBECONFIG=${process.env.KUBECONFIG}: no such file${files.length > 1 ? 's' : ''}; fix KUBECONFIG or pass --kubeconfig FILE`);
        }
        kc.loadFromDefault();
      } else {
        if (!process.env.KUBERNETES_SERVICE_HOST && !existsSync(join(homedir(), '.kube', 'config'))) {
          throw new ClientError('config', 'no kubeconfig found: set KUBECONFIG, create ~/.kube/config, or pass --kubeconfig FILE');
        }
        kc.loadFromDefault();
      }
    } catch (err) {
      if (err instanceof ClientError) throw err;
      throw new ClientError('config', `cannot read your kubeconfig: ${(err as Error).message}`, { cause: err });
    }
    if (opts.context) {
      if (!kc.getContextObject(opts.context)) {
        throw new ClientError('config', `--context ${opts.context}: no such context in your kubeconfig (it has: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
      }
      kc.setCurrentContext(opts.context);
    }
    if (!kc.getCurrentCluster()) throw new ClientError('config', `your kubeconfig has no cluster for context ${kc.getCurrentContext() || '(none)'}`);
    return new AerogridClient(kc, opts);
  }

  constructor(readonly kc: KubeConfig, opts: Pick<ClientOptions, 'namespace' | 'requestTimeoutMs'> = {}) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.context = kc.getCurrentContext();
    this.namespace = opts.namespace ?? kc.getContextObject(this.context)?.namespace ?? 'default';
    this.server = kc.getCurrentCluster()?.server ?? '(no cluster)';
    this.objects = this.api(KubernetesObjectApi);
    this.apps = new Resource<App>(this, 'App', 'apps', true);
    this.tenants = new Resource<Tenant>(this, 'Tenant', 'tenants', false);
  }

  /**
   * A client of @kubernetes/client-node (KubernetesObjectApi, CoreV1Api, ...) whose every request
   * carries this client's timeout, so a server that accepts TCP and never answers cannot hang a
   * caller. kc.makeApiClient would give it the kubeconfig's credentials and no timeout at all.
   */
  api<T>(type: new (config: Configuration) => T): T {
    const { kc, requestTimeoutMs } = this;
    const timed: SecurityAuthentication = {
      getName: () => 'aerogrid-kubeconfig-with-timeout',
      async applySecurityAuthentication(context: RequestContext) {
        await kc.applySecurityAuthentication(context);
        context.setSignal(AbortSignal.timeout(requestTimeoutMs));
      },
    };
    return new type(createConfiguration({ baseServer: new ServerConfiguration(this.server, {}), authMethods: { default: timed } }));
  }

  /** Runs one request, turning whatever it throws into a ClientError that says what was being done. */
  async call<T>(doing: string, run: (objects: KubernetesObjectApi) => Promise<T>): Promise<T> {
    try {
      return await run(this.objects);
    } catch (err) {
      throw classify(err, doing, this.server);
    }
  }

  /**
   * Apps across every namespace the caller works in. A cluster-wide reader gets every App. Anyone
   * else gets the namespaces of their tenants, found from namespaces they name (`known`): each
   * tenant namespace holds a ConfigMap, aerogrid-tenant, that lists all of the tenant's, which
   * its members may read. A listed namespace the caller may not read is in `refused`.
   */
  async listAppsAcross(known: string[]): Promise<{ scope: 'cluster' | 'tenants'; namespaces: string[]; apps: App[]; refused: { namespace: string; message: string }[] }> {
    try {
      const apps = await this.apps.list('*');
      return { scope: 'cluster', namespaces: [...new Set([...apps.map((a) => a.metadata.namespace!), ...known])].sort(), apps, refused: [] };
    } catch (err) {
      if (!(err instanceof ClientError && err.kind === 'forbidden')) throw err;
    }
    const namespaces = new Set<string>();
    for (const ns of known) {
      if (namespaces.has(ns)) continue;
      try {
        for (const n of (await this.tenantDirectory(ns))?.namespaces ?? []) namespaces.add(n);
      } catch (err) {
        if (!(err instanceof ClientError && err.kind === 'forbidden')) throw err;
      }
    }
    const sorted = [...namespaces].sort();
    return { scope: 'tenants', namespaces: sorted, ...(await this.listAppsIn(sorted)) };
  }

  /**
   * What a tenant namespace's directory ConfigMap says: the tenant, its namespaces, and the
   * runtimes the platform offers (with its default). Undefined when the namespace has none.
   */
  async tenantDirectory(namespace: string): Promise<TenantDirectory | undefined> {
    try {
      const dir = await this.getJson<{ data?: Record<string, string> }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${TENANT_DIRECTORY}`, `read the tenant directory of namespace ${namespace}`);
      const lines = (key: string) => (dir.data?.[key] ?? '').split('\n').filter(Boolean);
      return { tenant: dir.data?.tenant ?? '', namespaces: lines('namespaces'), runtimes: lines('runtimes'), defaultRuntime: dir.data?.defaultRuntime };
    } catch (err) {
      if (err instanceof ClientError && err.kind === 'notFound') return undefined;
      throw err;
    }
  }

  /** Apps in each of these namespaces; one the caller may not read is in `refused`, with the API server's words. */
  async listAppsIn(namespaces: string[]): Promise<{ apps: App[]; refused: { namespace: string; message: string }[] }> {
    const apps: App[] = [];
    const refused: { namespace: string; message: string }[] = [];
    for (const ns of namespaces) {
      try {
        apps.push(...(await this.apps.list(ns)));
      } catch (err) {
        if (err instanceof ClientError && err.kind === 'forbidden') refused.push({ namespace: ns, message: err.message });
        else throw err;
      }
    }
    return { apps, refused };
  }

  /** GET on any path of the API server, as JSON (for the few reads that are not Tenants or Apps). */
  async getJson<T = Record<string, any>>(path: string, doing: string): Promise<T> {
    const { res, body } = await this.raw('GET', path, undefined, doing);
    const text = await readAll(body);
    if (res.statusCode !== 200) throw classify(apiException(res.statusCode ?? 0, text), doing, this.server);
    return JSON.parse(text) as T;
  }

  /**
   * The pods of an App, newest first: those its Deployment runs, or with `build`, those of its
   * build Job (the Job's name, status.build.job).
   */
  async appPods(namespace: string, app: string, build?: string): Promise<Pod[]> {
    const selector = build ? `batch.kubernetes.io/job-name=${build}` : `${GROUP}/app=${app}`;
    const list = await this.getJson<{ items: Pod[] }>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?labelSelector=${encodeURIComponent(selector)}`, `list the pods of App ${app} in namespace ${namespace}`);
    return list.items
      .filter((p) => !!build || !p.metadata.labels?.['batch.kubernetes.io/job-name'])
      .sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || a.metadata.name.localeCompare(b.metadata.name));
  }

  /** The last lines of a container's log (with `previous`, of its run before the last restart). */
  async podLog(namespace: string, pod: string, container: string, opts: { previous?: boolean; tailLines?: number } = {}): Promise<string> {
    const query = new URLSearchParams({ container, tailLines: String(opts.tailLines ?? 200), ...(opts.previous ? { previous: 'true' } : {}) });
    const doing = `read the log of ${container} in pod ${pod}`;
    const { res, body } = await this.raw('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(pod)}/log?${query}`, undefined, doing);
    const text = await readAll(body);
    if (res.statusCode !== 200) throw classify(apiException(res.statusCode ?? 0, text), doing, this.server);
    return text;
  }

  /** POST JSON (SelfSubjectAccessReview and the like). */
  async postJson<T = Record<string, any>>(path: string, payload: unknown, doing: string): Promise<T> {
    const { res, body } = await this.raw('POST', path, JSON.stringify(payload), doing);
    const text = await readAll(body);
    if ((res.statusCode ?? 0) >= 300) throw classify(apiException(res.statusCode ?? 0, text), doing, this.server);
    return JSON.parse(text) as T;
  }

  /**
   * One HTTP request with this kubeconfig's credentials, resolved when the headers arrive or
   * rejected with a timeout when they do not arrive within the request timeout. Used for watches,
   * whose stream then runs as long as the server keeps it; @kubernetes/client-node's Watch has no
   * timeout of its own (it sets one and then overwrites it).
   */
  async raw(method: string, path: string, payload: string | undefined, doing: string, signal?: AbortSignal) {
    const opts: RequestOptions = {};
    try {
      await this.kc.applyToHTTPSOptions(opts);
    } catch (err) {
      throw classify(err, doing, this.server);
    }
    const url = new URL(this.server + path);
    const headers: Record<string, string> = { Accept: 'application/json', ...(opts.headers as Record<string, string> | undefined) };
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString('base64')}`;
    if (payload !== undefined) headers['Content-Type'] = 'application/json';
    const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
    return await new Promise<{ res: import('node:http').IncomingMessage; body: import('node:http').IncomingMessage; abort: () => void }>((resolve, reject) => {
      const req = send(url, { ...opts, auth: undefined, method, headers });
      const timer = setTimeout(() => req.destroy(Object.assign(new Error('timed out'), { name: 'TimeoutError' })), this.requestTimeoutMs);
      const onAbort = () => req.destroy(Object.assign(new Error('aborted'), { name: 'AbortError' }));
      signal?.addEventListener('abort', onAbort, { once: true });
      req.once('response', (res) => {
        clearTimeout(timer);
        resolve({ res, body: res, abort: () => { signal?.removeEventListener('abort', onAbort); req.destroy(); } });
      });
      req.once('error', (err) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(classify(err, doing, this.server));
      });
      req.end(payload);
    });
  }
}

function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (d: string) => (text += d));
    stream.once('end', () => resolve(text));
    stream.once('error', reject);
  });
}

function apiException(code: number, text: string): ApiException<string> {
  return new ApiException<string>(code, `HTTP ${code}`, text, {});
}

/** Tenants or Apps: the same five verbs, namespaced or not. */
export class Resource<T extends App | Tenant> {
  constructor(private readonly client: AerogridClient, readonly kind: T['kind'], readonly plural: string, readonly namespaced: boolean) {}

  private ref(name: string, namespace?: string) {
    return { apiVersion: GROUP_VERSION, kind: this.kind, metadata: { name, ...(this.namespaced ? { namespace: namespace ?? this.client.namespace } : {}) } } as { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } };
  }

  private what(name: string, namespace?: string) {
    return `${this.kind} ${name}${this.namespaced ? ` in namespace ${namespace ?? this.client.namespace}` : ''}`;
  }

  /** The object, or ClientError('notFound'). */
  async get(name: string, namespace?: string): Promise<T> {
    return this.client.call(`read ${this.what(name, namespace)}`, async (o) => (await o.read(this.ref(name, namespace))) as unknown as T);
  }

  /** The object, or undefined when there is none (other errors still throw). */
  async find(name: string, namespace?: string): Promise<T | undefined> {
    try {
      return await this.get(name, namespace);
    } catch (err) {
      if (err instanceof ClientError && err.kind === 'notFound') return undefined;
      throw err;
    }
  }

  /** Every object in one namespace, or (namespace `*`, or cluster-scoped) everywhere the caller may list; sorted. */
  async list(namespace?: string | '*'): Promise<T[]> {
    const ns = !this.namespaced || namespace === '*' ? undefined : (namespace ?? this.client.namespace);
    const doing = `list ${this.plural}${ns ? ` in namespace ${ns}` : this.namespaced ? ' in all namespaces' : ''}`;
    const list = await this.client.call(doing, (o) => o.list(GROUP_VERSION, this.kind, ns));
    return (list.items as unknown as T[]).sort((a, b) => `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace ?? ''}/${b.metadata.name}`));
  }

  /** Server-side apply with a field manager. Without force, a field another manager owns is ClientError('conflict'). */
  async apply(obj: Applied<T>, opts: { fieldManager: string; force?: boolean }): Promise<T> {
    const body = { ...obj, metadata: { ...obj.metadata, ...(this.namespaced ? { namespace: obj.metadata.namespace ?? this.client.namespace } : {}) } };
    return this.client.call(`apply ${this.what(obj.metadata.name, body.metadata.namespace)}`, async (o) =>
      (await o.patch(body as unknown as KubernetesObject, undefined, undefined, opts.fieldManager, !!opts.force, PatchStrategy.ServerSideApply)) as unknown as T);
  }

  /** A JSON merge patch: the way to remove a field that another field manager owns (null removes it). */
  async mergePatch(name: string, namespace: string | undefined, patch: Record<string, unknown>, fieldManager: string): Promise<T> {
    const body = { ...patch, ...this.ref(name, namespace) };
    return this.client.call(`patch ${this.what(name, namespace)}`, async (o) =>
      (await o.patch(body as KubernetesObject, undefined, undefined, fieldManager, undefined, PatchStrategy.MergePatch)) as unknown as T);
  }

  async delete(name: string, namespace?: string): Promise<void> {
    await this.client.call(`delete ${this.what(name, namespace)}`, (o) => o.delete(this.ref(name, namespace)));
  }

  /**
   * Watches objects (one, with `name`) from `resourceVersion` on, calling `onEvent` for each change
   * until it returns true or `signal` aborts. A watch the server ends is started again from the
   * last version seen; after a 410 (that version is too old) the objects are read afresh and
   * delivered as ADDED. Connecting is bounded by the request timeout.
   */
  async watch(opts: { namespace?: string | '*'; name?: string; resourceVersion?: string; signal: AbortSignal }, onEvent: (e: WatchEvent<T>) => boolean | void): Promise<void> {
    const ns = !this.namespaced || opts.namespace === '*' ? undefined : (opts.namespace ?? this.client.namespace);
    const path = `/apis/${GROUP_VERSION}${ns ? `/namespaces/${encodeURIComponent(ns)}` : ''}/${this.plural}`;
    const doing = `watch ${opts.name ? this.what(opts.name, ns) : this.plural}`;
    let rv = opts.resourceVersion;
    const relist = async (): Promise<boolean> => {
      if (opts.name) {
        const obj = await this.find(opts.name, ns);
        if (!obj) return true === onEvent({ type: 'DELETED', object: this.ref(opts.name, ns) as unknown as T });
        rv = obj.metadata.resourceVersion;
        return true === onEvent({ type: 'ADDED', object: obj });
      }
      const list = await this.client.call(doing, (o) => o.list(GROUP_VERSION, this.kind, ns));
      rv = list.metadata?.resourceVersion;
      return (list.items as unknown as T[]).some((object) => true === onEvent({ type: 'ADDED', object }));
    };
    if (rv === undefined && (await relist())) return;
    while (!opts.signal.aborted) {
      const query = new URLSearchParams({ watch: 'true', allowWatchBookmarks: 'true', ...(rv ? { resourceVersion: rv } : {}), ...(opts.name ? { fieldSelector: `metadata.name=${opts.name}` } : {}) });
      let conn: Awaited<ReturnType<AerogridClient['raw']>>;
      try {
        conn = await this.client.raw('GET', `${path}?${query}`, undefined, doing, opts.signal);
      } catch (err) {
        if (opts.signal.aborted) return;
        throw err;
      }
      if (conn.res.statusCode === 410) {
        conn.abort();
        if (await relist()) return;
        continue;
      }
      if (conn.res.statusCode !== 200) {
        const text = await readAll(conn.body);
        throw classify(apiException(conn.res.statusCode ?? 0, text), doing, this.client.server);
      }
      const outcome = await new Promise<'done' | 'ended' | 'gone' | Error>((resolve) => {
        const lines = createInterface({ input: conn.body });
        let settled = false;
        const settle = (v: 'done' | 'ended' | 'gone' | Error) => {
          if (settled) return;
          settled = true;
          lines.close();
          if (v !== 'ended') conn.abort();
          resolve(v);
        };
        lines.on('line', (line) => {
          let event: { type: string; object: any };
          try {
            event = JSON.parse(line);
          } catch {
            return;
          }
          if (event.type === 'ERROR') {
            settle(event.object?.code === 410 ? 'gone' : classify(apiException(event.object?.code ?? 500, JSON.stringify(event.object)), doing, this.client.server));
            return;
          }
          if (event.object?.metadata?.resourceVersion) rv = event.object.metadata.resourceVersion;
          if (event.type === 'BOOKMARK') return;
          if (true === onEvent(event as WatchEvent<T>)) settle('done');
        });
        conn.body.once('close', () => settle('ended'));
        conn.body.once('error', () => settle('ended'));
        opts.signal.addEventListener('abort', () => settle('done'), { once: true });
      });
      if (outcome === 'done') return;
      if (outcome instanceof Error) throw outcome;
      if (outcome === 'gone' && (await relist())) return;
    }
  }
}
