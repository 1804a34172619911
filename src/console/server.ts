// The web console: sign in with the company's identity provider (OIDC, authorization code with
// PKCE, through openid-client), open an App, edit its files, save, and watch it build and go live.
//
// The console holds no Kubernetes credential of its own. Every request to the cluster carries the
// signed-in person's ID token as a bearer token, and kube-apiserver authenticates it (its
// AuthenticationConfiguration trusts the identity provider) and authorizes it with RBAC: the
// console can never do more than that person. The browser holds only an opaque session cookie
// (Secure, HttpOnly, SameSite=Strict); the tokens stay on the server.
//
// Built on Hono (a small web framework) on Node's HTTP server, aerogrid/client for Tenants and
// Apps, and esbuild for the page's script (bundled once at start, CodeMirror 6 included).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { KubeConfig } from '@kubernetes/client-node';
import { build } from 'esbuild';
import { Hono, type Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { AerogridClient, ClientError, GROUP_VERSION, type App } from '../client/index.js';
import { SCAFFOLD } from '../cli/scaffold.js';
import { escapeHtml, sameSecret } from './safe.js';

export const CONSOLE_FIELD_MANAGER = 'aerogrid-console';
// Sent as __Host-aerogrid-session and __Host-aerogrid-login (Hono's 'host' prefix): Secure, path /, no Domain.
const SESSION_COOKIE = 'aerogrid-session';
const LOGIN_COOKIE = 'aerogrid-login';

export interface ConsoleOptions {
  /** host:port to listen on (default 127.0.0.1:0). */
  address?: string;
  /** The URL people open, for the OIDC callback (default: http://<address>). */
  publicUrl?: string;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** PEM the identity provider's certificate chains to, when it is not a public CA. */
  issuerCa?: string;
  /** kube-apiserver's URL and the PEM of its CA. */
  kubeServer: string;
  kubeCa?: string;
  /** TLS for the console itself (PEM); without it the console serves HTTP (for 127.0.0.1 and a TLS proxy in front). */
  tls?: { cert: string; key: string };
  /** Each request to kube-apiserver; default 30 s. */
  requestTimeoutMs?: number;
  log?: (msg: string) => void;
}

interface Session {
  id: string;
  csrf: string;
  idToken: string;
  user: string;
  groups: string[];
  /** When the ID token expires (ms since the epoch): the session ends with it. */
  expiresAt: number;
}

interface PendingLogin {
  verifier: string;
  state: string;
  nonce: string;
  returnTo: string;
  createdAt: number;
}

export interface RunningConsole {
  url: string;
  stop(): Promise<void>;
  /** The page's JavaScript, as served (for its size). */
  script: string;
}

const webDir = fileURLToPath(new URL('./web/', import.meta.url));

/** The page's script: src/console/web/main.ts and what it imports (CodeMirror 6, the zod schemas), minified. */
export async function bundle(): Promise<string> {
  const out = await build({
    entryPoints: [`${webDir}main.ts`],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    write: false,
    legalComments: 'none',
    logLevel: 'silent',
  });
  return out.outputFiles[0].text;
}

/** The page's policy; CodeMirror writes its styles into a <style> element, which the nonce admits. */
const csp = (styleNonce?: string) => [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'self'${styleNonce ? ` 'nonce-${styleNonce}'` : ''}`,
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export async function startConsole(opts: ConsoleOptions): Promise<RunningConsole> {
  const log = opts.log ?? (() => {});
  const [host, portText] = (opts.address ?? '127.0.0.1:0').split(/:(?=\d+$)/);
  const script = await bundle();
  const scriptTag = createHash('sha256').update(script).digest('hex').slice(0, 16);
  const style = readFileSync(`${webDir}style.css`, 'utf8');
  const page = readFileSync(`${webDir}index.html`, 'utf8').replace('__SCRIPT__', `/assets/app.${scriptTag}.js`);
  const agent = opts.issuerCa ? new Agent({ connect: { ca: opts.issuerCa } }) : undefined;
  const sessions = new Map<string, Session>();
  const logins = new Map<string, PendingLogin>();
  let config: oidc.Configuration | undefined;
  let publicUrl = opts.publicUrl ?? '';

  /** Discovery happens on the first sign-in, so the console starts even while the provider is away. */
  const oidcConfig = async () => {
    if (!config) {
      config = await oidc.discovery(new URL(opts.issuer), opts.clientId, opts.clientSecret, undefined, {
        [oidc.customFetch]: (url: string, init: oidc.CustomFetchOptions) => undiciFetch(url, { ...init, dispatcher: agent } as never) as unknown as Promise<Response>,
      });
    }
    return config;
  };

  const clientFor = (s: Session) => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'cluster', server: opts.kubeServer, ...(opts.kubeCa ? { caData: Buffer.from(opts.kubeCa).toString('base64') } : {}), skipTLSVerify: false }],
      users: [{ name: s.user, token: s.idToken }],
      contexts: [{ name: 'console', cluster: 'cluster', user: s.user }],
      currentContext: 'console',
    });
    return new AerogridClient(kc, { requestTimeoutMs: opts.requestTimeoutMs });
  };

  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    if (!c.res.headers.get('Content-Security-Policy')) c.header('Content-Security-Policy', csp());
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cross-Origin-Opener-Policy', 'same-origin');
    c.header('X-Frame-Options', 'DENY');
    if (!c.res.headers.get('Cache-Control')) c.header('Cache-Control', 'no-store');
  });

  const sessionOf = (c: Context): Session | undefined => {
    const id = getCookie(c, SESSION_COOKIE, 'host');
    const s = id ? sessions.get(id) : undefined;
    if (s && s.expiresAt <= Date.now()) {
      sessions.delete(s.id);
      return undefined;
    }
    return s;
  };

  /** The API's guard: a live session, and for every write the session's CSRF token and our own Origin. */
  const api = new Hono<{ Variables: { session: Session } }>();
  api.use('*', async (c, next) => {
    const s = sessionOf(c);
    if (!s) return c.json({ kind: 'expired', message: 'your session has ended: sign in again' }, 401);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      const origin = c.req.header('Origin');
      const token = c.req.header('X-CSRF-Token') ?? '';
      if ((origin && origin !== new URL(publicUrl).origin) || !sameSecret(token, s.csrf)) {
        return c.json({ kind: 'forbidden', message: 'this request did not come from the console page (CSRF check failed)' }, 403);
      }
    }
    c.set('session', s);
    await next();
  });

  /** A ClientError as the page reads it: the kind, a message, and what else it needs (fields, managers). */
  const failure = (c: Context, err: unknown) => {
    const e = err instanceof ClientError ? err : new ClientError('server', String((err as Error)?.message ?? err));
    const status = { config: 500, missingApi: 404, notFound: 404, unauthorized: 401, forbidden: 403, conflict: 409, invalid: 422, unreachable: 502, timeout: 504, server: 502 }[e.kind];
    const kind = e.kind === 'unauthorized' ? 'expired' : e.kind;
    return c.json({ kind, message: e.message, fields: e.fields, managers: e.managers }, status as 401);
  };

  api.get('/session', (c) => {
    const s = c.get('session');
    return c.json({ user: s.user, groups: s.groups, expiresAt: s.expiresAt, csrf: s.csrf });
  });

  // The namespaces a person can work in, and their Apps: everywhere for a cluster-wide reader;
  // otherwise the namespaces of the tenants of the namespaces the page knows (listAppsAcross).
  api.get('/namespaces', async (c) => {
    const known = (c.req.query('known') ?? '').split(',').filter((n) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(n));
    try {
      const all = await clientFor(c.get('session')).listAppsAcross(known);
      return c.json({ scope: all.scope, namespaces: all.namespaces, apps: all.apps.map(summary), refused: all.refused });
    } catch (err) {
      return failure(c, err);
    }
  });

  api.get('/apps', async (c) => {
    try {
      const { apps, refused } = await clientFor(c.get('session')).listAppsIn((c.req.query('ns') ?? '').split(',').filter(Boolean));
      return c.json({ apps: apps.map(summary), refused });
    } catch (err) {
      return failure(c, err);
    }
  });

  api.get('/apps/:ns/:name', async (c) => {
    try {
      return c.json(withoutManagedFields(await clientFor(c.get('session')).apps.get(c.req.param('name'), c.req.param('ns'))));
    } catch (err) {
      return failure(c, err);
    }
  });

  // Logs, with the person's token: the App's own (its pods'), or its build's (Kaniko's output,
  // from the pods of the Job status.build names). The last lines of each pod; for a container that
  // restarted, its run before that too, which is where a crash said why.
  api.get('/apps/:ns/:name/logs', async (c) => {
    const client = clientFor(c.get('session'));
    const [namespace, name] = [c.req.param('ns'), c.req.param('name')];
    const build = c.req.query('source') === 'build';
    try {
      const job = build ? (await client.apps.get(name, namespace)).status?.build?.job : undefined;
      if (build && !job) return c.json({ pods: [], message: 'no build: this App runs an image it was given, or none has started yet' });
      const pods = (await client.appPods(namespace, name, job)).slice(0, 5);
      const container = build ? 'kaniko' : 'app';
      const logs = await Promise.all(pods.map(async (pod) => {
        const status = pod.status?.containerStatuses?.find((s) => s.name === container);
        const previous = !build && (status?.restartCount ?? 0) > 0 ? await client.podLog(namespace, pod.metadata.name, container, { previous: true, tailLines: 50 }).catch(() => '') : '';
        const text = status?.state?.waiting ? '' : await client.podLog(namespace, pod.metadata.name, container).catch((err: unknown) => `(${err instanceof ClientError ? err.message : String(err)})`);
        return { pod: pod.metadata.name, restarts: status?.restartCount ?? 0, previous, text };
      }));
      return c.json({ pods: logs, ...(pods.length === 0 ? { message: build ? `the pods of build Job ${job} are gone` : 'no pods yet' } : {}) });
    } catch (err) {
      return failure(c, err);
    }
  });

  // Save: a server-side apply of the files as field manager aerogrid-console. The page says which
  // files it started from (`base`, their digest): if the App's files are no longer those (the CLI,
  // Git or another tab changed them), that is a conflict the page shows, never an overwrite. The
  // resourceVersion cannot serve: Crossplane writes the status, and every write changes it. Files
  // another field manager owns are a conflict too (server-side apply's own). With force, the
  // person chose to write over either.
  api.put('/apps/:ns/:name', async (c) => {
    const s = c.get('session');
    const body = await c.req.json<{ files?: unknown; base?: string; force?: boolean }>().catch(() => undefined);
    if (!body || !Array.isArray(body.files)) return c.json({ kind: 'invalid', message: 'send {"files": [...]}', fields: [] }, 400);
    const name = c.req.param('name');
    const namespace = c.req.param('ns');
    const client = clientFor(s);
    const conflict = (current: App | undefined, reason: 'changed' | 'owned', managers: string[], message: string) => c.json({
      kind: 'conflict', reason, message, managers,
      // Who wrote the files, newest first.
      changedBy: (current?.metadata.managedFields ?? [])
        .filter((m) => m.manager !== CONSOLE_FIELD_MANAGER && m.fieldsV1?.['f:spec']?.['f:files'])
        .sort((a, b) => (b.time ?? '').localeCompare(a.time ?? ''))
        .map((m) => ({ manager: m.manager ?? '(unknown)', time: m.time })),
    }, 409);
    try {
      if (body.base && !body.force) {
        const current = await client.apps.find(name, namespace);
        if (current && filesDigest(current.spec.files ?? []) !== body.base) {
          return conflict(current, 'changed', [], 'the App\'s files changed since the page loaded them');
        }
      }
      let applied = await client.apps.apply({ apiVersion: GROUP_VERSION, kind: 'App', metadata: { name, namespace }, spec: { files: body.files as App['spec']['files'] } },
        { fieldManager: CONSOLE_FIELD_MANAGER, force: !!body.force });
      // Saving is pushing: as aerogrid push does, it leaves a rollback and builds from source again.
      const pinned = applied.spec.rollback?.revision;
      if (pinned !== undefined) applied = await client.apps.mergePatch(name, namespace, { spec: { rollback: null } }, CONSOLE_FIELD_MANAGER);
      log(`${s.user} saved App ${namespace}/${name} (generation ${applied.metadata.generation})`);
      return c.json({ ...withoutManagedFields(applied), ...(pinned !== undefined ? { leftRollback: pinned } : {}) });
    } catch (err) {
      if (err instanceof ClientError && err.kind === 'conflict') {
        return conflict(await client.apps.find(name, namespace).catch(() => undefined), 'owned', err.managers, err.message);
      }
      return failure(c, err);
    }
  });

  api.get('/template', (c) => c.json({ files: Object.entries(SCAFFOLD).filter(([p]) => !p.startsWith('.')).map(([path, content]) => ({ path, content })) }));

  // Live updates: a Kubernetes watch per namespace, with the person's token, as Server-Sent Events.
  api.get('/events', (c) => {
    const client = clientFor(c.get('session'));
    const namespaces = (c.req.query('ns') ?? '').split(',').filter(Boolean);
    const name = c.req.query('name');
    return streamSSE(c, async (stream) => {
      const abort = new AbortController();
      stream.onAbort(() => abort.abort());
      const ping = setInterval(() => void stream.writeSSE({ event: 'ping', data: '' }), 15_000);
      await Promise.all(namespaces.map((ns) => client.apps.watch({ namespace: ns, name, signal: abort.signal }, (e) => {
        void stream.writeSSE({ event: 'app', data: JSON.stringify({ type: e.type, app: summary(e.object) }) });
        return false;
      }).catch((err: unknown) => {
        const e = err instanceof ClientError ? err : new ClientError('server', String(err));
        if (!abort.signal.aborted) void stream.writeSSE({ event: 'failure', data: JSON.stringify({ namespace: ns, kind: e.kind === 'unauthorized' ? 'expired' : e.kind, message: e.message }) });
      })));
      clearInterval(ping);
    });
  });

  app.route('/api', api);

  app.get('/auth/login', async (c) => {
    const cfg = await oidcConfig();
    const returnTo = safeReturn(c.req.query('return'));
    const login: PendingLogin = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce(), returnTo, createdAt: Date.now() };
    const id = randomBytes(24).toString('base64url');
    logins.set(id, login);
    for (const [k, l] of logins) if (Date.now() - l.createdAt > 10 * 60_000) logins.delete(k);
    // Lax, not Strict: the identity provider's redirect back is a cross-site navigation.
    setCookie(c, LOGIN_COOKIE, id, { path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: 600, prefix: 'host' });
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: `${publicUrl}/auth/callback`,
      scope: 'openid email profile groups',
      code_challenge: await oidc.calculatePKCECodeChallenge(login.verifier),
      code_challenge_method: 'S256',
      state: login.state,
      nonce: login.nonce,
    });
    return c.redirect(url.href, 302);
  });

  app.get('/auth/callback', async (c) => {
    const cfg = await oidcConfig();
    const id = getCookie(c, LOGIN_COOKIE, 'host');
    const login = id ? logins.get(id) : undefined;
    if (!id || !login) return c.html(errorPage('This sign-in is not one the console started, or it took too long. Sign in again.'), 400);
    logins.delete(id);
    deleteCookie(c, LOGIN_COOKIE, { path: '/', secure: true, prefix: 'host' });
    try {
      const tokens = await oidc.authorizationCodeGrant(cfg, new URL(c.req.url.replace(/^https?:\/\/[^/]+/, publicUrl)), {
        pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce, idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      const session: Session = {
        id: randomBytes(32).toString('base64url'),
        csrf: randomBytes(32).toString('base64url'),
        idToken: tokens.id_token!,
        user: String(claims.sub),
        groups: Array.isArray(claims['https://aerogrid.io/groups']) ? (claims['https://aerogrid.io/groups'] as string[]) : [],
        expiresAt: Number(claims.exp) * 1000,
      };
      for (const [k, old] of sessions) if (old.expiresAt <= Date.now()) sessions.delete(k);
      sessions.set(session.id, session);
      setCookie(c, SESSION_COOKIE, session.id, { path: '/', secure: true, httpOnly: true, sameSite: 'Strict', expires: new Date(session.expiresAt), prefix: 'host' });
      log(`${session.user} signed in (groups ${session.groups.join(', ') || 'none'})`);
      return c.redirect(login.returnTo, 302);
    } catch (err) {
      return c.html(errorPage(`Sign-in failed: ${(err as Error).message}`), 400);
    }
  });

  app.post('/auth/logout', (c) => {
    const s = sessionOf(c);
    if (s && sameSecret(c.req.header('X-CSRF-Token') ?? '', s.csrf)) sessions.delete(s.id);
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, prefix: 'host' });
    return c.body(null, 204);
  });

  app.get(`/assets/app.${scriptTag}.js`, (c) => {
    c.header('Cache-Control', 'public, max-age=31536000, immutable');
    return c.body(script, 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
  });
  app.get('/assets/style.css', (c) => c.body(style, 200, { 'Content-Type': 'text/css; charset=utf-8' }));
  // Every page is the same shell; the script reads the path.
  app.get('*', (c) => {
    const nonce = randomBytes(16).toString('base64');
    c.header('Content-Security-Policy', csp(nonce));
    return c.html(page.replace('__NONCE__', nonce));
  });

  const port = Number(portText);
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: host, port, ...(opts.tls ? { createServer: createHttpsServer, serverOptions: { cert: opts.tls.cert, key: opts.tls.key } } : {}) }, () => resolve(s));
  });
  const bound = (server.address() as AddressInfo).port;
  publicUrl ||= `${opts.tls ? 'https' : 'http'}://${host}:${bound}`;
  log(`console at ${publicUrl}`);
  return {
    url: publicUrl,
    script,
    stop: () => new Promise<void>((resolve) => {
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

/** The digest of a list of files, as the page computes it (src/console/web/main.ts filesDigest). */
export function filesDigest(files: { path: string; content: string }[]): string {
  return createHash('sha256').update(JSON.stringify(files.map((f) => [f.path, f.content]))).digest('hex');
}

/** Only paths of this console: never an open redirect. */
function safeReturn(value: string | undefined): string {
  return value && /^\/(?!\/)[\w\-./?=&%]*$/.test(value) ? value : '/';
}

/** What lists and live updates carry: no file contents (the page reads those once, with the App). */
function summary(app: App) {
  const { managedFields: _m, ...metadata } = app.metadata;
  const files = (app.spec?.files ?? []).map((f) => ({ path: f.path }));
  return { ...app, metadata, spec: { ...app.spec, files } };
}

function withoutManagedFields(app: App) {
  const { managedFields: _m, ...metadata } = app.metadata;
  return { ...app, metadata };
}

function errorPage(message: string): string {
  const text = escapeHtml(message);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>aerogrid</title><link rel="stylesheet" href="/assets/style.css"></head><body><main><h1>aerogrid</h1><p class="error" role="alert">${text}</p><p><a href="/auth/login">Sign in</a></p></main></body></html>`;
}
