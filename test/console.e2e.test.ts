// The web console in a real browser (Debian's Chromium, driven by playwright-core) on the real
// control plane: kube-apiserver authenticates the ID tokens of a real OIDC provider (panva's
// oidc-provider on 127.0.0.1 over HTTPS, standing in for Auth0; scripts/lib/oidc.ts) through its
// AuthenticationConfiguration, Crossplane core reconciles, and the console (src/console) signs
// people in with authorization code + PKCE and talks to the cluster with their ID token only.
// A real node builds every save with Kaniko and runs it: after each edit the test asks the App's
// pods over HTTP what they answer, and the page shows Kaniko's log and the App's own.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import * as oidc from 'openid-client';
import { Agent, fetch as undiciFetch } from 'undici';
import { appendToEditor, flood, launchBrowser, setEditor, signIn as signInAt, startConsolePlatform, startConsoleProcess, type ClusterConsole, type ConsoleProcess } from '../scripts/lib/console.js';
import { toolPath } from '../scripts/lib/controlplane.js';
import { waitUntil } from '../scripts/lib/crossplane.js';
import { must } from '../scripts/lib/install.js';
import type { Platform } from '../scripts/lib/platform.js';
import { SCAFFOLD } from '../src/present/scaffold.js';
import { answer } from '../scripts/lib/answer.js';
import { runCli } from './helpers/cli.js';
import { ROOT, exampleTenant } from './helpers/fixtures.js';

type Obj = Record<string, any>;
let p: Platform;
/** The console in the cluster (dist/console/'s Deployment), through a proxy on 127.0.0.1 to its Service. */
let console_: ClusterConsole;
/** Addresses the identity provider knows as the console's, for the tests' own consoles and clients. */
let spare: string[];
let browser: Browser;
let dana: BrowserContext;
let page: Page;
/** Screenshots of this run (docs/console/ holds the ones the README shows; bench/console.ts makes those). */
const SHOTS = join(ROOT, 'out/console');
const builds = (app: string) => p.buildsOf('acme-dev', app);
/** The template's app.py, saying something else than "from aerogrid". */
const saying = (what: string) => SCAFFOLD['app.py'].replace('"from aerogrid"', JSON.stringify(what));
const says = async (app = 'web') => JSON.parse(await answer(p, 'acme-dev', app)).hello;
const get = (name: string): Obj => JSON.parse(must(p.cp.kubectl('get', 'app', name, '-n', 'acme-dev', '-o', 'json', '--show-managed-fields')).stdout);

beforeAll(async () => {
  ({ platform: p, console: console_, spare } = await startConsolePlatform({ spareConsoles: 2 }));
  const acme = exampleTenant() as Obj;
  must(p.cp.apply([acme, { ...acme, metadata: { name: 'globex' }, spec: { ...acme.spec, namespaces: ['dev'], groups: { admin: ['globex-admins'], operator: ['globex-developers'] } } }]));
  await waitUntil('Tenants acme and globex Ready', () => {
    const phases = JSON.parse(must(p.cp.kubectl('get', 'tenants', '-o', 'json')).stdout).items.map((t: Obj) => t.status?.phase);
    return phases.length === 2 && phases.every((ph: string) => ph === 'Ready');
  }, 60_000);
  browser = await launchBrowser(p);
  dana = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  page = await dana.newPage();
  mkdirSync(SHOTS, { recursive: true });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await console_?.stop();
  await p?.stop();
});

const signIn = (pg: Page, user: string, password: string, path = '/') => signInAt(pg, console_.url, user, password, path);

const timeline = (pg: Page) => pg.locator('#timeline li').allTextContents();

/** Saves, and waits for this save's timeline (it starts with the new generation) to reach Ready. */
async function saveAndWaitReady(pg: Page, app = 'web'): Promise<string[]> {
  const before = get(app).metadata.generation;
  await pg.click('#save');
  await pg.waitForFunction((g) => {
    const lines = [...document.querySelectorAll('#timeline li')].map((li) => li.textContent ?? '');
    const saved = /saved: generation (\d+)/.exec(lines[0] ?? '');
    return !!saved && Number(saved[1]) > g && lines.some((l) => /ready: https:/.test(l));
  }, before, { timeout: 180_000 }).catch(async (err: Error) => {
    throw new Error(`${err.message}\ntimeline: ${(await timeline(pg)).join(' | ')}\nproblems: ${(await pg.locator('#problems').textContent()) ?? ''}\nconflict: ${(await pg.locator('#conflict').textContent()) ?? ''}`);
  });
  return (await timeline(pg)).map((l) => l.replace(/^\d\d:\d\d:\d\d /, ''));
}

describe('the console, as a developer of acme', () => {
  test('sign-in goes through the identity provider; the session is an HttpOnly, Secure, SameSite cookie and the page holds no token', async () => {
    await signIn(page, 'dana', 'dana-pass', '/?ns=acme-dev');
    await page.waitForSelector('#apps');
    expect(await page.locator('header .who').textContent()).toBe('dana (acme-developers)');
    // Cookies are per host, not per port: the identity provider's own (on 127.0.0.1 too) are left out.
    const cookies = (await dana.cookies(console_.url)).filter((c) => c.name.includes('aerogrid'));
    expect(cookies.map((c) => [c.name, c.httpOnly, c.secure, c.sameSite, c.path])).toEqual([['__Host-aerogrid-session', true, true, 'Strict', '/']]);
    const html = await page.content();
    expect(html).not.toMatch(/eyJ[\w-]+\.eyJ/); // no JWT anywhere in the page
    const res = await page.request.get(`${console_.url}/`);
    expect(res.headers()['content-security-policy']).toMatch(/^default-src 'none'; script-src 'self'; style-src 'self' 'nonce-[\w+/=]+'/);
  }, 60_000);

  test('the console that answered is the Deployment in the cluster: no token, non-root, read-only, behind its NetworkPolicy', () => {
    const pods = JSON.parse(must(p.cp.kubectl('get', 'pods', '-n', 'aerogrid-system', '-l', 'app.kubernetes.io/name=aerogrid-console', '-o', 'json')).stdout).items as Obj[];
    expect(pods.map((x) => [x.spec.nodeName, x.status.phase])).toEqual([[p.node.name, 'Running']]);
    const [pod] = pods;
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    // No ServiceAccount token anywhere in the pod.
    expect(JSON.stringify(pod.spec.volumes)).not.toMatch(/serviceAccountToken|kube-api-access/);
    expect(pod.spec.containers[0].securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    // The sign-in above reached this pod: its own log says so.
    expect(console_.logs()).toMatch(/dana signed in \(groups acme-developers\)/);
    expect(must(p.cp.kubectl('get', 'networkpolicy', 'aerogrid-console', '-n', 'aerogrid-system', '-o', 'name')).stdout.trim()).toBe('networkpolicy.networking.k8s.io/aerogrid-console');
  });

  test('a wrong password is refused by the identity provider', async () => {
    const ctx = await browser.newContext();
    const pg = await ctx.newPage();
    await pg.goto(console_.url);
    await pg.waitForURL(/\/interaction\//);
    await pg.fill('#username', 'dana');
    await pg.fill('#password', 'guess');
    await pg.click('button[type=submit]');
    expect(await pg.locator('.error').textContent()).toBe('Wrong user or password.');
    await ctx.close();
  });

  test('a new App from the template builds and goes Ready', async () => {
    await page.click('#new-app');
    await page.fill('#name', 'web');
    await page.selectOption('#ns', 'acme-dev');
    await page.click('#new-form button[type=submit]');
    await page.waitForURL(/\/apps\/acme-dev\/web$/);
    await page.waitForFunction(() => document.querySelector('#status [data-field=phase]')?.textContent === 'Ready', undefined, { timeout: 180_000 });
    const app = get('web');
    expect(app.spec.files.map((f: Obj) => f.path)).toEqual(['app.py', 'requirements.txt']);
    expect(app.metadata.managedFields.find((m: Obj) => m.manager === 'aerogrid-console')?.operation).toBe('Apply');
    expect(builds('web')).toHaveLength(1);
    expect(await says()).toBe('from aerogrid');
  }, 240_000);

  test('edit app.py, save: the timeline follows the build to Ready, the pods answer anew; the list shows it live', async () => {
    await setEditor(page, saying('from the console'));
    expect(await page.locator('#dirty').textContent()).toBe('unsaved changes');
    const lines = await saveAndWaitReady(page);
    console.log(`timeline after Save:\n${lines.join('\n')}`);
    const order = ['saved: generation', 'source sha256:', 'building', 'build succeeded', 'deploying', 'ready: https://apps.example.com/apps/acme-dev/web/'];
    const at = order.map((s) => lines.findIndex((l) => l.startsWith(s)));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    expect(get('web').spec.files.find((f: Obj) => f.path === 'app.py').content).toContain('"from the console"');
    expect(builds('web')).toHaveLength(2);
    expect(await says()).toBe('from the console');
    await page.screenshot({ path: join(SHOTS, 'editor.png') });
  }, 240_000);

  test("the App page shows Kaniko's log of the build that serves, and the App's own log lines", async () => {
    await page.click('#logs-build');
    await page.locator('#logs pre', { hasText: 'Pushing image to registry.aerogrid.internal:5000/apps/acme/web:' }).first().waitFor({ timeout: 30_000 });
    await page.click('#logs-app');
    // The requests the test made above, as http.server logs them.
    await page.locator('#logs pre', { hasText: '"GET / HTTP/1.1" 200' }).first().waitFor({ timeout: 30_000 });
    expect(await page.locator('#logs .log h3').count()).toBe(2);
  }, 60_000);

  test('edit again: exactly one new build', async () => {
    await setEditor(page, saying('from the console, again'));
    await saveAndWaitReady(page);
    expect(builds('web')).toHaveLength(3);
    expect(await says()).toBe('from the console, again');
    await page.click('header .brand');
    await page.waitForSelector('#apps tr[data-app="acme-dev/web"]');
    expect(await page.locator('#apps tr[data-app="acme-dev/web"] td').allTextContents()).toEqual(['web', 'acme-dev', 'Ready', 'https://apps.example.com/apps/acme-dev/web/', '3', expect.stringMatching(/^\d+[smh]$/)]);
    await page.screenshot({ path: join(SHOTS, 'apps.png') });
  }, 240_000);

  test('saving after a rollback (from the CLI) builds from source again, as a push does', async () => {
    const developer = p.cp.kubeconfigFor('dana', ['acme-developers'], 'acme-dev');
    expect((await runCli(['rollback', 'web', '--wait'], developer)).code).toBe(0);
    expect(get('web').spec.rollback?.revision).toBe(2);
    await page.goto(`${console_.url}/apps/acme-dev/web`);
    await page.waitForSelector('.cm-content');
    expect(await says()).toBe('from the console');
    const before = builds('web').length;
    await setEditor(page, saying('after the rollback'));
    const lines = await saveAndWaitReady(page);
    expect(lines).toContain('left the rollback to revision 2: building from source again');
    expect(get('web').spec.rollback).toBeUndefined();
    expect(builds('web').length - before).toBe(1);
    expect(await says()).toBe('after the rollback');
  }, 240_000);

  test('a concurrent edit from the CLI is a conflict the page shows, with who; overwriting is a choice', async () => {
    await page.goto(`${console_.url}/apps/acme-dev/web`);
    await page.waitForSelector('.cm-content');
    // Meanwhile, from the CLI (the same developer, with a client certificate).
    const folder = mkdtempSync(join(tmpdir(), 'aerogrid-console-'));
    mkdirSync(join(folder, 'web'));
    writeFileSync(join(folder, 'web/app.py'), saying('from the CLI'));
    const cli = await runCli(['push', join(folder, 'web'), '--force'], p.cp.kubeconfigFor('dana', ['acme-developers'], 'acme-dev'));
    expect(cli.code).toBe(0);
    await appendToEditor(page, '# mine\n');
    await page.click('#save');
    const conflict = page.locator('.conflict');
    await conflict.waitFor();
    expect(await conflict.locator('p').textContent()).toMatch(/^Someone else changed this App since you opened it: its files were last written by aerogrid at .*\. Saving now would overwrite their change\.$/);
    expect(get('web').spec.files.map((f: Obj) => f.path)).toEqual(['app.py']); // the CLI's version is untouched
    await page.click('#overwrite');
    await page.waitForFunction(() => [...document.querySelectorAll('#timeline li')].some((li) => /saved: generation/.test(li.textContent ?? '')));
    expect(get('web').spec.files.find((f: Obj) => f.path === 'app.py').content).toContain('# mine');
  }, 90_000);

  test('an App the CLI pushed: its files belong to the CLI, and the page asks before taking them over', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'aerogrid-console-'));
    mkdirSync(join(folder, 'pushed'));
    writeFileSync(join(folder, 'pushed/app.py'), saying('pushed'));
    expect((await runCli(['push', join(folder, 'pushed'), '--wait', '--timeout', '180s'], p.cp.kubeconfigFor('dana', ['acme-developers'], 'acme-dev'))).code).toBe(0);
    expect(await says('pushed')).toBe('pushed');
    await page.goto(`${console_.url}/apps/acme-dev/pushed`);
    await page.waitForSelector('.cm-content');
    await appendToEditor(page, '# from the console\n');
    await page.click('#save');
    await page.locator('.conflict').waitFor();
    expect(await page.locator('.conflict p').textContent()).toMatch(/^These files are managed by aerogrid \(last written by aerogrid at .*\), not by the console\. Saving takes them over, and writes over their version; the next aerogrid push will then need --force\.$/);
    expect(get('pushed').spec.files[0].content).toBe(saying('pushed'));
    await page.click('#overwrite');
    await page.waitForFunction(() => [...document.querySelectorAll('#timeline li')].some((li) => /saved: generation/.test(li.textContent ?? '')));
    expect(get('pushed').spec.files[0].content).toContain('# from the console');
  }, 240_000);

  test('a bad file name is refused on screen, before any request', async () => {
    await page.goto(`${console_.url}/apps/acme-dev/web`);
    await page.waitForSelector('.cm-content');
    const generation = get('web').metadata.generation;
    page.once('dialog', (d) => void d.accept('my app.py'));
    await page.click('#files [data-path="requirements.txt"] button[title^="Rename"]');
    await page.click('#save');
    const problem = page.locator('#problems li');
    await problem.first().waitFor();
    expect(await problem.first().textContent()).toMatch(/^my app\.py: spec\.files\[\]\.path must be a relative path of letters, digits/);
    expect(await page.locator('#files li.bad').getAttribute('data-path')).toBe('my app.py');
    expect(get('web').metadata.generation).toBe(generation);
  });

  test("the function's FATAL result is shown as the reason, as text: markup from the cluster is never run", async () => {
    await page.goto(`${console_.url}/apps/acme-dev/web`);
    await page.waitForSelector('.cm-content');
    // An admin narrows access to a group that is not the tenant's: the schema allows it (a group is
    // free text), the function refuses it, and its message carries the group's name.
    const group = '<img src=x onerror="window.pwned=1">';
    must(p.cp.apply([{ apiVersion: 'platform.aerogrid.io/v1alpha1', kind: 'App', metadata: { name: 'web', namespace: 'acme-dev' }, spec: { access: { allowedGroups: [group] } } }], '--field-manager=admin'));
    try {
      await appendToEditor(page, '# refused\n');
      await page.click('#save');
      await page.waitForFunction(() => [...document.querySelectorAll('#timeline li')].some((li) => /the platform refused App web/.test(li.textContent ?? '')), undefined, { timeout: 60_000 })
        .catch(async (err: Error) => {
          throw new Error(`${err.message}\ntimeline: ${(await timeline(page)).join(' | ')}\nthe App's conditions: ${JSON.stringify(get('web').status?.conditions)}`);
        });
      expect((await timeline(page)).join('\n')).toContain(`the platform refused App web: App acme-dev/web: spec.access.allowedGroups: ${group} is not among the tenant's groups`);
      expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
      expect(await page.locator('#timeline img').count()).toBe(0);
    } finally {
      // The admin's access back as it was, even when this test fails: the next tests save the App.
      must(p.cp.apply([{ apiVersion: 'platform.aerogrid.io/v1alpha1', kind: 'App', metadata: { name: 'web', namespace: 'acme-dev' }, spec: {} }], '--field-manager=admin'));
    }
  }, 120_000);

  test('an expired session: sign in again, and the unsaved edits are still there', async () => {
    await page.goto(`${console_.url}/apps/acme-dev/web`);
    await page.waitForSelector('.cm-content');
    await appendToEditor(page, '# written before the session ended\n');
    await dana.clearCookies(); // the session is gone, as when it expires
    await page.click('#save');
    await page.locator('#expired').waitFor();
    expect(await page.locator('#expired').textContent()).toBe('Your session has ended. Your unsaved edits are kept in this tab. Sign in again');
    await page.click('#sign-in-again');
    await page.waitForURL(/\/interaction\//);
    await page.fill('#username', 'dana');
    await page.fill('#password', 'dana-pass');
    await page.click('button[type=submit]');
    await page.waitForURL(/\/apps\/acme-dev\/web$/);
    await page.locator('#restored').waitFor();
    expect(await page.locator('.cm-content').textContent()).toContain('# written before the session ended');
    await saveAndWaitReady(page);
    expect(get('web').spec.files.find((f: Obj) => f.path === 'app.py').content).toContain('# written before the session ended');
  }, 240_000);

  test('a write without the CSRF token, from another origin, or with no Origin at all is refused and leaves the App as it was; the same write from the page goes through', async () => {
    const before = get('web');
    const files = before.spec.files.map((f: Obj) => (f.path === 'app.py' ? { path: f.path, content: `${f.content}# written past the CSRF check\n` } : { path: f.path, content: f.content }));
    const put = (headers: Record<string, string>) => page.request.put(`${console_.url}/api/apps/acme-dev/web`, { data: { files }, headers });
    const csrf = (await (await page.request.get(`${console_.url}/api/session`)).json()).csrf;
    const origin = new URL(console_.url).origin;
    const refused = [
      await put({ Origin: origin }), // no token: a form on another site could send this much
      await put({ 'X-CSRF-Token': 'A'.repeat(43), Origin: origin }),
      await put({ 'X-CSRF-Token': csrf, Origin: 'https://evil.example' }),
      await put({ 'X-CSRF-Token': csrf }), // neither Origin nor Sec-Fetch-Site
      await put({ 'X-CSRF-Token': csrf, 'Sec-Fetch-Site': 'cross-site' }),
    ];
    expect(refused.map((r) => r.status())).toEqual([403, 403, 403, 403, 403]);
    // (Its generation is no witness: Crossplane writes spec.crossplane.resourceRefs as builds come and go.)
    const consoleWrites = (app: Obj) => app.metadata.managedFields.filter((m: Obj) => m.manager === 'aerogrid-console').map((m: Obj) => m.time);
    const after = get('web');
    expect([after.spec.files, consoleWrites(after)]).toEqual([before.spec.files, consoleWrites(before)]);
    // The positive control: the same write with the session's token, from the console's origin...
    const ok = await put({ 'X-CSRF-Token': csrf, Origin: origin });
    expect(ok.status()).toBe(200);
    expect(get('web').metadata.generation).toBeGreaterThan(before.metadata.generation);
    expect(get('web').spec.files.find((f: Obj) => f.path === 'app.py').content).toContain('# written past the CSRF check');
    // ...or from a browser that sends Sec-Fetch-Site instead of Origin (the same files: nothing to change).
    expect((await put({ 'X-CSRF-Token': csrf, 'Sec-Fetch-Site': 'same-origin' })).status()).toBe(200);
  });

  test('what the cluster says is text: markup in conditions, file names and status.url never runs, and only an https URL is a link', async () => {
    // The cluster would refuse such a file name and write no such status (the XRD's schema, the
    // function): the page is tested on its own, with the console's answers replaced in the browser.
    const real = await (await page.request.get(`${console_.url}/api/apps/acme-dev/web`)).json();
    const markup = (n: number) => `<img src=x onerror="window.pwned=${n}">`;
    const evil = {
      ...real,
      spec: { ...real.spec, files: [...real.spec.files, { path: markup(1), content: markup(2) }] },
      status: { ...real.status, url: 'javascript:window.pwned=3', conditions: [{ type: 'Ready', status: 'False', reason: markup(4), message: markup(5) }] },
    };
    const summary = { ...evil, spec: { ...evil.spec, files: evil.spec.files.map((f: Obj) => ({ path: f.path })) } };
    await page.route(`${console_.url}/api/apps/acme-dev/web`, (r) => (r.request().method() === 'GET' ? r.fulfill({ json: evil }) : r.continue()));
    await page.route(`${console_.url}/api/events?**`, (r) => r.fulfill({ status: 200, contentType: 'text/event-stream', body: `event: app\ndata: ${JSON.stringify({ type: 'MODIFIED', app: summary })}\n\n` }));
    await page.route(`${console_.url}/api/namespaces?**`, (r) => r.fulfill({ json: { scope: 'tenants', namespaces: ['acme-dev'], apps: [summary], refused: [] } }));
    try {
      await page.goto(`${console_.url}/apps/acme-dev/web`);
      await page.waitForSelector('.cm-content');
      await page.locator('#status ul.conditions li', { hasText: 'Ready: False' }).waitFor();
      expect(await page.locator('#status ul.conditions li').allTextContents()).toContain(`Ready: False (${markup(4)}) ${markup(5)}`);
      expect(await page.locator('#files li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-path')))).toContain(markup(1));
      expect(await page.locator('#status dd', { hasText: 'javascript:' }).innerHTML()).toBe('javascript:window.pwned=3');
      await page.goto(`${console_.url}/?ns=acme-dev`);
      await page.locator('#apps tr[data-app="acme-dev/web"]').waitFor();
      expect(await page.locator('#apps tr[data-app="acme-dev/web"] td').nth(3).innerHTML()).toBe('javascript:window.pwned=3');
      expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
      expect(await page.locator('img').count()).toBe(0);
    } finally {
      await page.unrouteAll();
    }
  }, 60_000);
});

describe('the console under attack', () => {
  /** `aerogrid-console` in a process of its own (its memory measured alone), whose sessions end after 3 idle seconds. */
  let own: ConsoleProcess;
  const origin = () => new URL(console_.url).origin;
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

  beforeAll(async () => {
    own = await startConsoleProcess(p, spare[0], '--idle-timeout', '3s');
  }, 60_000);
  afterAll(async () => {
    await own?.stop();
  });

  /** A browser signed in as `user` at `url`, on a page of the console that runs none of its script (the test's requests are its own). */
  async function signedIn(user: string, url = console_.url): Promise<{ ctx: BrowserContext; pg: Page; csrf: string }> {
    const ctx = await browser.newContext();
    const pg = await ctx.newPage();
    await signInAt(pg, url, user, `${user}-pass`, '/auth/login?return=/assets/style.css');
    const session = await pg.request.get(`${url}/api/session`);
    return { ctx, pg, csrf: session.ok() ? (await session.json()).csrf : '' };
  }

  /** Opens a live stream from the page and keeps reading it; window.streams[i] says 'open' until it ends. */
  const openStream = (pg: Page, ns: string) => pg.evaluate(async (query) => {
    const w = window as unknown as { streams?: string[] };
    w.streams ??= [];
    const res = await fetch(`/api/events?ns=${query}`);
    if (res.status !== 200) return { status: res.status, message: (await res.json()).message as string };
    const i = w.streams.push('open') - 1;
    const reader = res.body!.getReader();
    void (async () => {
      try {
        while (!(await reader.read()).done);
        w.streams![i] = 'ended';
      } catch {
        w.streams![i] = 'failed';
      }
    })();
    return { status: 200, message: '' };
  }, ns);
  const streams = (pg: Page) => pg.evaluate(() => (window as unknown as { streams?: string[] }).streams ?? []);

  test('a login flood: 20,000 sign-ins started without a session, each asking to come back to a 16 KB path, cost the console no memory', async () => {
    await flood(own.url, '/auth/login', 200); // the provider's metadata read, the code paths warm
    const idle = own.rss();
    const started = performance.now();
    const statuses = await flood(own.url, `/auth/login?return=/${'a'.repeat(16_000)}`, 20_000);
    const seconds = (performance.now() - started) / 1000;
    const after = own.rss();
    console.log(`login flood: 20,000 requests in ${seconds.toFixed(1)} s; aerogrid-console's RSS ${mib(idle)} before, ${mib(after)} after (+${mib(after - idle)})`);
    expect(statuses).toEqual({ 302: 20_000 });
    expect(after - idle).toBeLessThan(50 * 2 ** 20);
    // What a sign-in in progress needs is in its own short-lived cookie, sealed: small, whatever was asked.
    const one = await undiciFetch(`${own.url}/auth/login?return=/${'a'.repeat(16_000)}`, { redirect: 'manual' });
    const cookie = one.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^__Host-aerogrid-login=[\w-]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    expect(cookie.length).toBeLessThan(1024);
  }, 300_000);

  test('a return path longer than 512 characters is not kept: the sign-in lands on /', async () => {
    const ctx = await browser.newContext();
    const pg = await ctx.newPage();
    await signInAt(pg, console_.url, 'dana', 'dana-pass', `/auth/login?return=/apps/acme-dev/${'a'.repeat(600)}`);
    expect(new URL(pg.url()).pathname).toBe('/');
    await ctx.close();
  }, 60_000);

  test('an oversized save is refused before it is read (413), and files the schema refuses are refused by the server too (422)', async () => {
    const { ctx, pg, csrf } = await signedIn('dana');
    const before = get('web');
    const put = (data: unknown) => pg.request.put(`${console_.url}/api/apps/acme-dev/web`, { data, headers: { 'X-CSRF-Token': csrf, Origin: origin() } });
    const huge = await put({ files: [{ path: 'app.py', content: 'x'.repeat(4 * 2 ** 20) }] });
    expect([huge.status(), (await huge.json()).message]).toEqual([413, 'the request is larger than 3 MiB']);
    const bad = await put({ files: [{ path: '../etc/passwd', content: 'x' }, { path: 'app.py', content: 'x'.repeat(600 * 1024) }] });
    expect(bad.status()).toBe(422);
    const { fields } = await bad.json();
    expect(fields.map((f: Obj) => f.path)).toEqual(expect.arrayContaining(['spec.files[0].path']));
    expect(fields.find((f: Obj) => f.path === 'spec.files[0].path').message).toMatch(/must be a relative path/);
    expect((await put({ files: 'app.py' })).status()).toBe(400);
    expect(get('web').metadata.generation).toBe(before.metadata.generation);
    await ctx.close();
  }, 60_000);

  test('names in paths and queries are Kubernetes names (400), and an 11 KB ?ns= link leaves the browser working', async () => {
    const { ctx, pg } = await signedIn('dana');
    for (const path of ['/api/apps/Acme-Dev/web', '/api/apps/acme-dev/web..x', `/api/apps/acme-dev/${'a'.repeat(300)}`, '/api/apps?ns=acme_dev', '/api/events?ns=..']) {
      const res = await pg.request.get(`${console_.url}${path}`);
      expect([path, res.status()]).toEqual([path, 400]);
    }
    await pg.goto(`${console_.url}/?ns=${Array.from({ length: 800 }, (_, i) => `namespace-${i}`).join(',')}`);
    await pg.locator('#apps').waitFor();
    const stored: string[] = JSON.parse((await pg.evaluate(() => localStorage.getItem('aerogrid.namespaces'))) ?? '[]');
    expect(stored.length).toBeLessThanOrEqual(20);
    await pg.goto(`${console_.url}/`);
    await pg.locator('#apps').waitFor();
    await ctx.close();
  }, 60_000);

  test('live streams: 20 namespaces at most, * only alone (one watch, which RBAC decides), 4 per session; signing out needs the CSRF token and ends them all', async () => {
    const { ctx, pg, csrf } = await signedIn('dana');
    const hundred = Array.from({ length: 100 }, (_, i) => `acme-${i}`).join(',');
    expect(await openStream(pg, hundred)).toEqual({ status: 400, message: 'a stream follows 1 to 20 namespaces, named (or *, alone)' });
    expect((await openStream(pg, '*,acme-dev')).status).toBe(400);
    // Every namespace at once is one watch with dana's token: kube-apiserver refuses it, the stream says so and ends.
    const everywhere = await pg.evaluate(async () => (await fetch('/api/events?ns=*')).text());
    const failure = JSON.parse(/^event: failure\ndata: (.*)$/m.exec(everywhere)![1]);
    expect(failure).toMatchObject({ namespace: '*', kind: 'forbidden' });
    expect(failure.message).toMatch(/User "oidc:dana" cannot list resource "apps" in API group "platform\.aerogrid\.io" at the cluster scope/);
    for (let i = 0; i < 4; i++) expect(await openStream(pg, 'acme-dev,acme-prod')).toEqual({ status: 200, message: '' });
    expect(await openStream(pg, 'acme-dev')).toEqual({ status: 429, message: 'at most 4 live streams per session: close a tab' });

    const logout = (headers: Record<string, string>) => pg.request.post(`${console_.url}/auth/logout`, { headers });
    expect((await logout({ Origin: origin() })).status()).toBe(403);
    expect((await logout({ 'X-CSRF-Token': csrf, Origin: 'https://evil.example' })).status()).toBe(403);
    expect((await pg.request.get(`${console_.url}/api/session`)).status()).toBe(200);
    expect(await streams(pg)).toEqual(['open', 'open', 'open', 'open']);

    const out = await logout({ 'X-CSRF-Token': csrf, Origin: origin() });
    expect(out.status()).toBe(200);
    const to = new URL((await out.json()).to);
    expect([to.origin, to.pathname, to.searchParams.get('post_logout_redirect_uri'), to.searchParams.get('client_id')]).toEqual([new URL(p.idp!.issuer).origin, '/session/end', `${origin()}/`, p.idp!.clientId]);
    await pg.waitForFunction(() => (window as unknown as { streams: string[] }).streams.every((s) => s === 'ended'), undefined, { timeout: 10_000 });
    expect((await pg.request.get(`${console_.url}/api/session`)).status()).toBe(401);
    await ctx.close();
  }, 60_000);

  test("Sign out ends the identity provider's session too: signing in again asks for the password", async () => {
    const ctx = await browser.newContext();
    const pg = await ctx.newPage();
    await signIn(pg, 'dana', 'dana-pass', '/?ns=acme-dev');
    await pg.locator('#apps').waitFor();
    // Every hop of every navigation, redirects included (a redirect chain commits only its last page).
    const seen: string[] = [];
    pg.on('request', (r) => void (r.isNavigationRequest() && seen.push(r.url())));
    // The control: while the provider's session lives, a new session of the console needs no password.
    await ctx.clearCookies({ name: '__Host-aerogrid-session' });
    await pg.goto(`${console_.url}/?ns=acme-dev`);
    await pg.locator('#apps').waitFor();
    expect(seen.some((u) => u.startsWith(`${console_.url}/auth/callback`))).toBe(true);
    expect(seen.some((u) => u.includes('/interaction/'))).toBe(false);
    await pg.click('header button:has-text("Sign out")');
    await pg.click('button[name=logout][value=yes]');
    await pg.waitForURL(/\/interaction\//);
    expect(await pg.locator('#password').count()).toBe(1);
    await ctx.close();
  }, 60_000);

  test("kube-apiserver refuses an ID token whose groups name system:masters; the console's session with it ends at the first 401", async () => {
    const server = /server: "([^"]+)"/.exec(readFileSync(p.cp.kubeconfig, 'utf8'))![1];
    const whoami = async (user: string) => spawnSync(toolPath('kubectl'), ['--kubeconfig', '/dev/null', '--server', server, '--certificate-authority', join(p.cp.dir, 'ca.crt'),
      '--token', await idTokenOf(user), 'auth', 'whoami', '-o', 'json'], { encoding: 'utf8' });
    // The control: dana's token, from the same provider and client, is taken, with the prefixed groups.
    const dana = await whoami('dana');
    expect(JSON.parse(dana.stdout).status.userInfo).toMatchObject({ username: 'oidc:dana', groups: ['oidc:acme-developers', 'system:authenticated'] });
    const mallory = await whoami('mallory');
    expect([mallory.status, mallory.stdout, mallory.stderr.trim()]).toEqual([1, '', 'error: You must be logged in to the server (Unauthorized)']);

    const { ctx, pg } = await signedIn('mallory');
    expect((await pg.request.get(`${console_.url}/api/session`)).status()).toBe(200);
    const apps = await pg.request.get(`${console_.url}/api/apps?ns=acme-dev`);
    expect([apps.status(), (await apps.json()).kind]).toEqual([401, 'expired']);
    expect((await pg.request.get(`${console_.url}/api/session`)).status()).toBe(401);
    // The console's own log: its pod's.
    expect(console_.logs()).toContain("mallory's session ended: kube-apiserver refused its token");
    await ctx.close();
  }, 90_000);

  test('an idle session ends, and its live stream with it', async () => {
    const { ctx, pg } = await signedIn('dana', own.url);
    expect(await openStream(pg, 'acme-dev')).toEqual({ status: 200, message: '' });
    // 3 s idle, and the console looks every 5 s: the stream ends on its own, with nobody asking.
    await pg.waitForFunction(() => (window as unknown as { streams: string[] }).streams[0] === 'ended', undefined, { timeout: 15_000 });
    const res = await pg.request.get(`${own.url}/api/session`);
    expect([res.status(), (await res.json()).kind]).toEqual([401, 'expired']);
    expect(own.log()).toMatch(/dana's session ended: idle/);
    await ctx.close();
  }, 60_000);
});

/**
 * An ID token of the identity provider for the console's client (the audience kube-apiserver
 * takes), got as the console gets one: authorization code with PKCE, the user signing in in the
 * browser; the code is caught on its way to a callback address nobody serves.
 */
async function idTokenOf(user: string): Promise<string> {
  const redirect = `http://${spare[1]}/auth/callback`;
  const agent = new Agent({ connect: { ca: p.idp!.ca } });
  const config = await oidc.discovery(new URL(p.idp!.issuer), p.idp!.clientId, p.idp!.clientSecret, undefined, {
    [oidc.customFetch]: (url: string, init: oidc.CustomFetchOptions) => undiciFetch(url, { ...init, dispatcher: agent } as never) as unknown as Promise<Response>,
  });
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirect, scope: 'openid email profile groups', state,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  });
  const ctx = await browser.newContext();
  const pg = await ctx.newPage();
  let back = '';
  await pg.route(`${redirect}?**`, (r) => {
    back = r.request().url();
    return r.fulfill({ status: 204 });
  });
  await pg.goto(url.href);
  await pg.fill('#username', user);
  await pg.fill('#password', `${user}-pass`);
  await pg.click('button[type=submit]');
  await waitUntil(`${user}'s sign-in back at the callback`, () => back !== '', 30_000);
  await ctx.close();
  const tokens = await oidc.authorizationCodeGrant(config, new URL(back), { pkceCodeVerifier: verifier, expectedState: state, idTokenExpected: true });
  await agent.close();
  return tokens.id_token!;
}

describe('another tenant', () => {
  test("a developer of globex sees none of acme's Apps, and a direct request for one is refused by the API server", async () => {
    const ctx = await browser.newContext();
    const pg = await ctx.newPage();
    await signIn(pg, 'gil', 'gil-pass', '/?ns=globex-dev');
    await pg.waitForSelector('#apps');
    expect(await pg.locator('#apps tr').allTextContents()).toEqual(['No Apps yet in these namespaces.']);
    await pg.goto(`${console_.url}/apps/acme-dev/web`);
    expect(await pg.locator('#forbidden').textContent()).toMatch(/^You may not open App web in namespace acme-dev: the cluster said ".*User "oidc:gil" cannot get resource "apps" in API group "platform\.aerogrid\.io" in the namespace "acme-dev"/);
    const direct = await pg.request.get(`${console_.url}/api/apps/acme-dev/web`);
    expect(direct.status()).toBe(403);
    expect((await direct.json()).message).toMatch(/User "oidc:gil" cannot get resource "apps"/);
    // Adding acme's namespace by hand shows nothing either: RBAC decides, not the page.
    const listed = await (await pg.request.get(`${console_.url}/api/apps?ns=acme-dev`)).json();
    expect([listed.apps, listed.refused.map((r: Obj) => r.namespace)]).toEqual([[], ['acme-dev']]);
    await ctx.close();
  }, 60_000);
});
