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
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { KubeConfig } from '@kubernetes/client-node';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { AppSpec } from '../api/app.js';
import { DNS_LABEL_PATTERN } from '../api/rules.js';
import { parseAt } from '../api/validate.js';
import { AerogridClient, ClientError, GROUP_VERSION, type App } from '../client/index.js';
import { SCAFFOLD } from '../present/scaffold.js';
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
  /** The scopes the console asks for (default `openid email profile groups`). */
  scope?: string;
  /** The ID token claim that holds the person's groups, as kube-apiserver reads it (default https://aerogrid.io/groups). */
  groupsClaim?: string;
  /** A session ends after this long without a request (default 30 minutes)... */
  idleTimeoutMs?: number;
  /** ...and after this long in any case, or when its ID token expires, whichever is first (default 12 hours). */
  maxSessionMs?: number;
  log?: (msg: string) => void;
}

/** The limits on what one person can make the console hold or do. */
export const LIMITS = {
  /** Bytes of a request body: a save of the largest App the schema allows, with room for JSON. */
  body: 3 * 2 ** 20,
  /** Characters of the path a sign-in returns to. */
  returnTo: 512,
  /** Live streams open at once per session (a few tabs), and namespaces in one. */
  streams: 4,
  namespacesPerStream: 20,
  /** Events a stream may have waiting for a slow reader before it is closed. */
  pendingEvents: 100,
};

interface Session {
  id: string;
  csrf: string;
  idToken: string;
  user: string;
  groups: string[];
  /** When it ends whatever happens (ms since the epoch): its absolute cap or its ID token's expiry. */
  expiresAt: number;
  /** When it was last used: it ends after the idle timeout. */
  lastSeen: number;
  /** Its live streams, aborted when it ends. */
  streams: Set<AbortController>;
}

/**
 * A sign-in in progress, kept by the browser, not the server: an encrypted, authenticated,
 * short-lived cookie (AES-256-GCM with a key of this process). Anyone may start any number of
 * sign-ins; none of them costs the console memory.
 */
interface PendingLogin {
  verifier: string;
  state: string;
  nonce: string;
  returnTo: string;
  expiresAt: number;
}

export interface RunningConsole {
  url: string;
  stop(): Promise<void>;
  /** The page's JavaScript, as served (for its size). */
  script: string;
}

const webDir = fileURLToPath(new URL('./web/', import.meta.url));

/**
 * The page's script: src/console/web/main.ts and what it imports (CodeMirror 6, the zod schemas),
 * minified. esbuild (a development dependency) is loaded only here: the npm package and the
 * console's image carry the script built once (web/app.js), and never bundle at start.
 * Bundled once per process; esbuild's service process is then stopped, not left running beside us.
 */
let bundled: Promise<string> | undefined;
export function bundle(): Promise<string> {
  bundled ??= bundleOnce().catch((e) => {
    bundled = undefined;
    throw e;
  });
  return bundled;
}

async function bundleOnce(): Promise<string> {
  const { build, stop } = await import('esbuild');
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
  }).finally(stop);
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
  const prebuilt = `${webDir}app.js`;
  const script = existsSync(prebuilt) ? readFileSync(prebuilt, 'utf8') : await bundle();
  const scriptTag = createHash('sha256').update(script).digest('hex').slice(0, 16);
  const style = readFileSync(`${webDir}style.css`, 'utf8');
  const page = readFileSync(`${webDir}index.html`, 'utf8').replace('__SCRIPT__', `/assets/app.${scriptTag}.js`);
  const agent = opts.issuerCa ? new Agent({ connect: { ca: opts.issuerCa } }) : undefined;
  const sessions = new Map<string, Session>();
  const loginKey = randomBytes(32);
  const scope = opts.scope ?? 'openid email profile groups';
  const groupsClaim = opts.groupsClaim ?? 'https://aerogrid.io/groups';
  const idleTimeoutMs = opts.idleTimeoutMs ?? 30 * 60_000;
  const maxSessionMs = opts.maxSessionMs ?? 12 * 3600_000;
  let config: oidc.Configuration | undefined;
  let publicUrl = opts.publicUrl ?? '';

  const endSession = (s: Session, why: string) => {
    if (!sessions.delete(s.id)) return;
    for (const stream of s.streams) stream.abort();
    log(`${s.user}'s session ended: ${why}`);
  };
  const expired = (s: Session, now = Date.now()) => s.expiresAt <= now || now - s.lastSeen > idleTimeoutMs;
  // Sessions end on time even when nobody asks: their streams with them.
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const s of sessions.values()) if (expired(s, now)) endSession(s, s.expiresAt <= now ? 'expired' : 'idle');
  }, 5_000);
  sweeper.unref();

  const sealLogin = (login: PendingLogin) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', loginKey, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(login), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url');
  };
  const openLogin = (sealed: string | undefined): PendingLogin | undefined => {
    try {
      const raw = Buffer.from(sealed ?? '', 'base64url');
      const decipher = createDecipheriv('aes-256-gcm', loginKey, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      const login = JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8')) as PendingLogin;
      return login.expiresAt > Date.now() ? login : undefined;
    } catch {
      return undefined;
    }
  };

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

  // For kubelet's probes: the process serves. Nothing else is checked here: an identity provider
  // or API server that is down is the page's to report, and restarting the console would not help.
  app.get('/healthz', (c) => c.text('ok'));

  const sessionOf = (c: Context): Session | undefined => {
    const id = getCookie(c, SESSION_COOKIE, 'host');
    const s = id ? sessions.get(id) : undefined;
    if (s && expired(s)) {
      endSession(s, s.expiresAt <= Date.now() ? 'expired' : 'idle');
      return undefined;
    }
    return s;
  };

  /**
   * A write comes from the console's own page: its Origin, or, from a browser that sends none,
   * Sec-Fetch-Site same-origin; a request with neither is refused.
   */
  const sameOrigin = (c: Context) => {
    const origin = c.req.header('Origin');
    if (origin) return origin === new URL(publicUrl).origin;
    return c.req.header('Sec-Fetch-Site') === 'same-origin';
  };

  /** The API's guard: a live session, and for every write the session's CSRF token from the console's own page. */
  const api = new Hono<{ Variables: { session: Session } }>();
  api.use('*', async (c, next) => {
    const s = sessionOf(c);
    if (!s) return c.json({ kind: 'expired', message: 'your session has ended: sign in again' }, 401);
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      if (!sameOrigin(c) || !sameSecret(c.req.header('X-CSRF-Token') ?? '', s.csrf)) {
        return c.json({ kind: 'forbidden', message: 'this request did not come from the console page (CSRF check failed)' }, 403);
      }
    }
    s.lastSeen = Date.now();
    c.set('session', s);
    await next();
  });
  api.use('*', bodyLimit({ maxSize: LIMITS.body, onError: (c) => c.json({ kind: 'invalid', message: `the request is larger than ${LIMITS.body / 2 ** 20} MiB` }, 413) }));
  // Names in paths and queries are Kubernetes names, or the request goes no further.
  const badName = (...names: (string | undefined)[]) => names.find((n) => n !== undefined && !(n.length <= 253 && DNS_LABEL.test(n)));
  for (const path of ['/apps/:ns/:name', '/apps/:ns/:name/logs']) {
    api.use(path, async (c, next) => {
      const bad = badName(c.req.param('ns'), c.req.param('name'));
      if (bad !== undefined) return c.json({ kind: 'invalid', message: `not a namespace or App name: ${JSON.stringify(bad.slice(0, 64))}` }, 400);
      await next();
    });
  }

  /** A ClientError as the page reads it: the kind, a message, and what else it needs (fields, managers). */
  const failure = (c: Context, err: unknown) => {
    const e = err instanceof ClientError ? err : new ClientError('server', String((err as Error)?.message ?? err));
    const status = { config: 500, missingApi: 404, notFound: 404, unauthorized: 401, forbidden: 403, conflict: 409, invalid: 422, unreachable: 502, timeout: 504, server: 502 }[e.kind];
    // kube-apiserver no longer takes the ID token (revoked, or its key rotated): the session is over.
    const s = c.get('session') as Session | undefined;
    if (e.kind === 'unauthorized' && s) endSession(s, 'kube-apiserver refused its token');
    const kind = e.kind === 'unauthorized' ? 'expired' : e.kind;
    // Where the cluster is stays in the console's log, not in the page.
    const message = e.message.replaceAll(opts.kubeServer, 'the cluster');
    if (message !== e.message) log(`${s?.user ?? 'someone'}: ${e.message}`);
    return c.json({ kind, message, fields: e.fields, managers: e.managers }, status as 401);
  };

  api.get('/session', (c) => {
    const s = c.get('session');
    return c.json({ user: s.user, groups: s.groups, expiresAt: s.expiresAt, csrf: s.csrf });
  });

  // The namespaces a person can work in, and their Apps: everywhere for a cluster-wide reader;
  // otherwise the namespaces of the tenants of the namespaces the page knows (listAppsAcross).
  api.get('/namespaces', async (c) => {
    const known = (c.req.query('known') ?? '').split(',').filter((n) => n.length <= 63 && DNS_LABEL.test(n)).slice(0, LIMITS.namespacesPerStream);
    try {
      const all = await clientFor(c.get('session')).listAppsAcross(known);
      return c.json({ scope: all.scope, namespaces: all.namespaces, apps: all.apps.map(summary), refused: all.refused });
    } catch (err) {
      return failure(c, err);
    }
  });

  api.get('/apps', async (c) => {
    const ns = (c.req.query('ns') ?? '').split(',').filter(Boolean);
    const bad = badName(...ns);
    if (bad !== undefined || ns.length > LIMITS.namespacesPerStream) return c.json({ kind: 'invalid', message: `give at most ${LIMITS.namespacesPerStream} namespace names` }, 400);
    try {
      const { apps, refused } = await clientFor(c.get('session')).listAppsIn(ns);
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
      // The read the save depends on, and the write conditional on it (metadata.resourceVersion): a
      // write in between is a 409 from the API server, and the save is decided again on what is there
      // now. Crossplane writes the App's status often; that changes nothing here, and the next try goes through.
      for (let attempt = 1; ; attempt++) {
        const current = await client.apps.find(name, namespace);
        if (current && body.base && !body.force && filesDigest(current.spec.files ?? []) !== body.base) {
          return conflict(current, 'changed', [], 'the App\'s files changed since the page loaded them');
        }
        // The same schema as the page, the XRD and the function: the files with the rest of the App.
        const checked = parseAt(AppSpec, { ...current?.spec, files: body.files }, 'spec');
        if (!checked.ok) {
          return c.json({ kind: 'invalid', message: 'the files are not an App the platform takes', fields: checked.problems.map((p) => ({ path: p.split(': ')[0], message: p.slice(p.indexOf(': ') + 2) })) }, 422);
        }
        try {
          let applied = await client.apps.apply({
            apiVersion: GROUP_VERSION, kind: 'App', metadata: { name, namespace, ...(current ? { resourceVersion: current.metadata.resourceVersion } : {}) },
            spec: { files: body.files as App['spec']['files'] },
          }, { fieldManager: CONSOLE_FIELD_MANAGER, force: !!body.force });
          // Saving is pushing: as aerogrid push does, it leaves a rollback and builds from source again.
          const pinned = applied.spec.rollback?.revision;
          if (pinned !== undefined) applied = await client.apps.mergePatch(name, namespace, { spec: { rollback: null } }, CONSOLE_FIELD_MANAGER);
          log(`${s.user} saved App ${namespace}/${name} (generation ${applied.metadata.generation})`);
          return c.json({ ...withoutManagedFields(applied), ...(pinned !== undefined ? { leftRollback: pinned } : {}) });
        } catch (err) {
          const stale = err instanceof ClientError && err.kind === 'conflict' && err.managers.length === 0;
          if (!stale || attempt >= 3) throw err;
        }
      }
    } catch (err) {
      if (err instanceof ClientError && err.kind === 'conflict') {
        return conflict(await client.apps.find(name, namespace).catch(() => undefined), 'owned', err.managers, err.message);
      }
      return failure(c, err);
    }
  });

  api.get('/template', (c) => c.json({ files: Object.entries(SCAFFOLD).filter(([p]) => !p.startsWith('.')).map(([path, content]) => ({ path, content })) }));

  // Live updates: a Kubernetes watch per namespace, with the person's token, as Server-Sent Events.
  // A few streams per session and a few namespaces per stream; each ends with its session (logout,
  // expiry, the API server refusing the token), and a reader too slow to keep up is dropped.
  api.get('/events', (c) => {
    const s = c.get('session');
    const namespaces = (c.req.query('ns') ?? '').split(',').filter(Boolean);
    const name = c.req.query('name');
    // `*`, alone, is one watch across every namespace the person may read (a cluster-wide reader's list).
    const everywhere = namespaces.length === 1 && namespaces[0] === '*';
    const bad = everywhere ? badName(name) : badName(...namespaces, name);
    if (bad !== undefined || namespaces.length === 0 || namespaces.length > LIMITS.namespacesPerStream) {
      return c.json({ kind: 'invalid', message: `a stream follows 1 to ${LIMITS.namespacesPerStream} namespaces, named (or *, alone)` }, 400);
    }
    if (s.streams.size >= LIMITS.streams) return c.json({ kind: 'invalid', message: `at most ${LIMITS.streams} live streams per session: close a tab` }, 429);
    const client = clientFor(s);
    const abort = new AbortController();
    s.streams.add(abort);
    return streamSSE(c, async (stream) => {
      stream.onAbort(() => abort.abort());
      const pending = new Set<Promise<void>>();
      const send = (event: string, data: string) => {
        if (abort.signal.aborted) return;
        if (pending.size >= LIMITS.pendingEvents) {
          log(`${s.user}: a live stream's reader fell ${pending.size} events behind; closing it`);
          abort.abort();
          return;
        }
        const write = stream.writeSSE({ event, data }).catch(() => {}).finally(() => pending.delete(write));
        pending.add(write);
      };
      const ping = setInterval(() => send('ping', ''), 15_000);
      await Promise.all(namespaces.map((ns) => client.apps.watch({ namespace: ns, name, signal: abort.signal }, (e) => {
        send('app', JSON.stringify({ type: e.type, app: summary(e.object) }));
        return abort.signal.aborted;
      }).catch((err: unknown) => {
        const e = err instanceof ClientError ? err : new ClientError('server', String(err));
        if (e.kind === 'unauthorized') endSession(s, 'kube-apiserver refused its token');
        if (!abort.signal.aborted) send('failure', JSON.stringify({ namespace: ns, kind: e.kind === 'unauthorized' ? 'expired' : e.kind, message: e.message.replaceAll(opts.kubeServer, 'the cluster') }));
      })));
      clearInterval(ping);
      s.streams.delete(abort);
      // What is written reaches the reader (a failure, last) before the stream ends.
      await Promise.all(pending);
      await stream.close();
    });
  });

  app.route('/api', api);

  app.get('/auth/login', async (c) => {
    const cfg = await oidcConfig();
    const returnTo = safeReturn(c.req.query('return'));
    const login: PendingLogin = { verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState(), nonce: oidc.randomNonce(), returnTo, expiresAt: Date.now() + 10 * 60_000 };
    // Lax, not Strict: the identity provider's redirect back is a cross-site navigation.
    setCookie(c, LOGIN_COOKIE, sealLogin(login), { path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: 600, prefix: 'host' });
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: `${publicUrl}/auth/callback`,
      scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(login.verifier),
      code_challenge_method: 'S256',
      state: login.state,
      nonce: login.nonce,
    });
    return c.redirect(url.href, 302);
  });

  app.get('/auth/callback', async (c) => {
    const cfg = await oidcConfig();
    const login = openLogin(getCookie(c, LOGIN_COOKIE, 'host'));
    deleteCookie(c, LOGIN_COOKIE, { path: '/', secure: true, prefix: 'host' });
    if (!login) return c.html(errorPage('This sign-in is not one the console started, or it took too long. Sign in again.'), 400);
    try {
      const tokens = await oidc.authorizationCodeGrant(cfg, new URL(c.req.url.replace(/^https?:\/\/[^/]+/, publicUrl)), {
        pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce, idTokenExpected: true,
      });
      const claims = tokens.claims()!;
      const now = Date.now();
      const session: Session = {
        id: randomBytes(32).toString('base64url'),
        csrf: randomBytes(32).toString('base64url'),
        idToken: tokens.id_token!,
        user: String(claims.sub),
        groups: Array.isArray(claims[groupsClaim]) ? (claims[groupsClaim] as string[]) : [],
        expiresAt: Math.min(Number(claims.exp) * 1000, now + maxSessionMs),
        lastSeen: now,
        streams: new Set(),
      };
      sessions.set(session.id, session);
      setCookie(c, SESSION_COOKIE, session.id, { path: '/', secure: true, httpOnly: true, sameSite: 'Strict', expires: new Date(session.expiresAt), prefix: 'host' });
      log(`${session.user} signed in (groups ${session.groups.join(', ') || 'none'})`);
      return c.redirect(login.returnTo, 302);
    } catch (err) {
      return c.html(errorPage(`Sign-in failed: ${(err as Error).message}`), 400);
    }
  });

  // Signing out ends the console's session and its streams, then the identity provider's
  // (RP-initiated logout, its end_session_endpoint): the page goes where `to` says.
  app.post('/auth/logout', async (c) => {
    const s = sessionOf(c);
    if (s && (!sameOrigin(c) || !sameSecret(c.req.header('X-CSRF-Token') ?? '', s.csrf))) {
      return c.json({ kind: 'forbidden', message: 'this request did not come from the console page (CSRF check failed)' }, 403);
    }
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, prefix: 'host' });
    if (!s) return c.json({ to: '/' });
    endSession(s, 'signed out');
    const endpoint = (await oidcConfig().catch(() => undefined))?.serverMetadata().end_session_endpoint;
    if (!endpoint) return c.json({ to: '/' });
    const to = new URL(endpoint);
    to.searchParams.set('id_token_hint', s.idToken);
    to.searchParams.set('post_logout_redirect_uri', `${publicUrl}/`);
    to.searchParams.set('client_id', opts.clientId);
    return c.json({ to: to.href });
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
      clearInterval(sweeper);
      for (const s of sessions.values()) endSession(s, 'the console stopped');
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

/** The digest of a list of files, as the page computes it (src/console/web/main.ts filesDigest). */
export function filesDigest(files: { path: string; content: string }[]): string {
  return createHash('sha256').update(JSON.stringify(files.map((f) => [f.path, f.content]))).digest('hex');
}

const DNS_LABEL = new RegExp(DNS_LABEL_PATTERN);

/** Only paths of this console, and not long ones: never an open redirect, never a cookie too large to send. */
function safeReturn(value: string | undefined): string {
  return value && value.length <= LIMITS.returnTo && /^\/(?!\/)[\w\-./?=&%,]*$/.test(value) ? value : '/';
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
