// A real OpenID Connect provider on 127.0.0.1, standing in for the company's Auth0: panva's
// oidc-provider (the certified implementation), over HTTPS with a certificate from the control
// plane's CA. It signs ID tokens with RS256, puts groups in the namespaced claim Auth0 requires for
// custom claims (https://aerogrid.io/groups), and signs users in with a password on its own login
// page. kube-apiserver trusts it through an AuthenticationConfiguration (controlplane.ts).
//
// Users: dana and dan (acme-developers), ava (acme-admins), gil (globex-developers), and mallory,
// whom the provider puts in a group called system:masters (kube-apiserver must refuse her token).
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Provider, { type Configuration } from 'oidc-provider';
import { escapeHtml, sameSecret } from '../../src/console/safe.js';
import { issue } from './pki.js';

export const GROUPS_CLAIM = 'https://aerogrid.io/groups';
export const CONSOLE_CLIENT_ID = 'aerogrid-console';

export interface User {
  name: string;
  password: string;
  email: string;
  groups: string[];
}

/** The demo's users. Passwords are for this machine only; they are printed by make demo. */
export const USERS: User[] = [
  { name: 'dana', password: 'dana-pass', email: 'dana@acme.example', groups: ['acme-developers'] },
  { name: 'dan', password: 'dan-pass', email: 'dan@acme.example', groups: ['acme-developers'] },
  { name: 'ava', password: 'ava-pass', email: 'ava@acme.example', groups: ['acme-admins'] },
  { name: 'gil', password: 'gil-pass', email: 'gil@globex.example', groups: ['globex-developers'] },
  { name: 'mallory', password: 'mallory-pass', email: 'mallory@evil.example', groups: ['acme-developers', 'system:masters'] },
];

export interface IdentityProvider {
  issuer: string;
  /** PEM of the CA that signed its serving certificate (the control plane's). */
  ca: string;
  clientId: string;
  clientSecret: string;
  stop(): Promise<void>;
}

export interface IdentityProviderOptions {
  /** Folder holding the CA (ca.crt, ca.key) that signs the provider's certificate. */
  pkiDir: string;
  /** ID token lifetime in seconds (default 3600). */
  idTokenTtl?: number;
  users?: User[];
  /** The console's callback URLs (oidc-provider checks a client's metadata when it starts). */
  redirectUris: string[];
  /**
   * The address it listens on, and its issuer's host (default 127.0.0.1): the node's host side
   * when a console in a pod must reach it at the same URL as the browser and kube-apiserver.
   */
  host?: string;
}

/** A page of the provider's: its title and body (HTML the caller made safe). */
function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title} · local identity provider</title>
<style>body{font:16px system-ui,sans-serif;max-width:22rem;margin:4rem auto;color:#1d2433}label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;box-sizing:border-box}button{margin-top:1rem;padding:.5rem 1rem}.error{color:#b3261e}</style></head>
<body>${body}</body></html>`;
}

function loginPage(uid: string, error?: string): string {
  return page('Sign in', `<h1>Sign in</h1><p>Local identity provider, standing in for Auth0.</p>${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}/login"><label for="username">User</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`);
}

function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
      if (body.length > 10_000) req.destroy();
    });
    req.once('end', () => resolve(new URLSearchParams(body)));
    req.once('error', reject);
  });
}

export async function startIdentityProvider(opts: IdentityProviderOptions): Promise<IdentityProvider> {
  const users = opts.users ?? USERS;
  const host = opts.host ?? '127.0.0.1';
  issue(opts.pkiDir, 'idp', 'ca', '/CN=aerogrid-local-idp', `subjectAltName=IP:${host},IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n`);
  const clientSecret = randomBytes(24).toString('base64url');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
  // Bound first, on a port the kernel picks: the issuer names it, and nothing can take it in between.
  let handler: (req: IncomingMessage, res: ServerResponse) => Promise<void> = async (_req, res) => void res.writeHead(503).end();
  const server: Server = createServer({ cert: readFileSync(join(opts.pkiDir, 'idp.crt')), key: readFileSync(join(opts.pkiDir, 'idp.key')) }, (req, res) => void handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => (server.off('error', reject), resolve()));
  });
  const issuer = `https://${host}:${(server.address() as AddressInfo).port}`;
  const claimsOf = (u: User) => ({ sub: u.name, name: u.name, email: u.email, email_verified: true, [GROUPS_CLAIM]: u.groups });

  const configuration: Configuration = {
    clients: [{
      client_id: CONSOLE_CLIENT_ID,
      client_secret: clientSecret,
      redirect_uris: opts.redirectUris,
      // Where RP-initiated logout (the console's Sign out) may send the browser back to.
      post_logout_redirect_uris: [...new Set(opts.redirectUris.map((u) => `${new URL(u).origin}/`))],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    // The console is the platform's own first-party client: no consent screen.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session!.grantIdFor(ctx.oidc.client!.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
    async findAccount(_ctx, id) {
      const user = users.find((u) => u.name === id);
      if (!user) return undefined;
      return { accountId: id, claims: async () => claimsOf(user) };
    },
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: [GROUPS_CLAIM] },
    // The claims go into the ID token itself: kube-apiserver reads the groups from it.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      // RP-initiated logout (the console's Sign out): the provider asks, on a page of its own.
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = page('Sign out', `<h1>Sign out</h1><p>Sign out of the local identity provider, and so of every application you signed in to with it?</p>${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button> <button type="submit" form="op.logoutForm">No, stay signed in</button>`);
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = page('Signed out', '<h1>Signed out</h1><p>You have signed out of the local identity provider.</p>');
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    ttl: { IdToken: opts.idTokenTtl ?? 3600, AccessToken: opts.idTokenTtl ?? 3600, Session: 8 * 3600, Grant: 8 * 3600, Interaction: 600 },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    jwks: { keys: [jwk as never] },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>Error</title><h1>${escapeHtml(String(out.error))}</h1><p>${escapeHtml(String(out.error_description ?? ''))}</p>`;
    },
  };
  const provider = new Provider(issuer, configuration);
  // form-action also covers the redirects after the form is sent: back to the client, in the end.
  const clientOrigins = [...new Set(opts.redirectUris.map((u) => new URL(u).origin))].join(' ');
  const callback = provider.callback();

  handler = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '').split('?')[0];
    const login = /^\/interaction\/([\w-]+)\/login$/.exec(path);
    const interaction = /^\/interaction\/([\w-]+)$/.exec(path);
    try {
      if (interaction && req.method === 'GET') {
        const details = await provider.interactionDetails(req, res);
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Security-Policy': `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${clientOrigins}` });
        res.end(loginPage(details.uid));
        return;
      }
      if (login && req.method === 'POST') {
        const details = await provider.interactionDetails(req, res);
        const form = await readForm(req);
        const user = users.find((u) => u.name === form.get('username'));
        if (!user || !sameSecret(user.password, form.get('password') ?? '')) {
          res.writeHead(401, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
          res.end(loginPage(details.uid, 'Wrong user or password.'));
          return;
        }
        await provider.interactionFinished(req, res, { login: { accountId: user.name } }, { mergeWithLastSubmission: false });
        return;
      }
      callback(req, res);
    } catch (err) {
      res.writeHead(400, { 'Content-Type': 'text/plain' });
      res.end(`sign-in failed: ${(err as Error).message}`);
    }
  };
  return {
    issuer,
    ca: readFileSync(join(opts.pkiDir, 'ca.crt'), 'utf8'),
    clientId: CONSOLE_CLIENT_ID,
    clientSecret,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
