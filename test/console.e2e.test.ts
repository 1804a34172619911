// The web console in a real browser (Debian's Chromium, driven by playwright-core) on the real
// control plane: kube-apiserver authenticates the ID tokens of a real OIDC provider (panva's
// oidc-provider on 127.0.0.1 over HTTPS, standing in for Auth0; scripts/lib/oidc.ts) through its
// AuthenticationConfiguration, Crossplane core reconciles, and the console (src/console) signs
// people in with authorization code + PKCE and talks to the cluster with their ID token only.
// A real node builds every save with Kaniko and runs it: after each edit the test asks the App's
// pods over HTTP what they answer, and the page shows Kaniko's log and the App's own.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { appendToEditor, launchBrowser, setEditor, signIn as signInAt, startConsolePlatform } from '../scripts/lib/console.js';
import { waitUntil } from '../scripts/lib/crossplane.js';
import { must } from '../scripts/lib/install.js';
import type { Platform } from '../scripts/lib/platform.js';
import type { RunningConsole } from '../src/console/server.js';
import { SCAFFOLD } from '../src/cli/scaffold.js';
import { answer } from '../scripts/lib/answer.js';
import { runCli } from './helpers/cli.js';
import { ROOT, exampleTenant } from './helpers/fixtures.js';

type Obj = Record<string, any>;
let p: Platform;
let console_: RunningConsole;
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
  ({ platform: p, console: console_ } = await startConsolePlatform());
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
      await page.waitForFunction(() => [...document.querySelectorAll('#timeline li')].some((li) => /the platform refused App web/.test(li.textContent ?? '')), undefined, { timeout: 30_000 });
      expect((await timeline(page)).join('\n')).toContain(`the platform refused App web: App acme-dev/web: spec.access.allowedGroups: ${group} is not among the tenant's groups`);
      expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
      expect(await page.locator('#timeline img').count()).toBe(0);
    } finally {
      // The admin's access back as it was, even when this test fails: the next tests save the App.
      must(p.cp.apply([{ apiVersion: 'platform.aerogrid.io/v1alpha1', kind: 'App', metadata: { name: 'web', namespace: 'acme-dev' }, spec: {} }], '--field-manager=admin'));
    }
  }, 60_000);

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

  test('a write without the CSRF token, or from another origin, is refused', async () => {
    const put = (headers: Record<string, string>) => page.request.put(`${console_.url}/api/apps/acme-dev/web`, { data: { files: [{ path: 'app.py', content: 'x' }] }, headers });
    expect((await put({})).status()).toBe(403);
    const csrf = (await (await page.request.get(`${console_.url}/api/session`)).json()).csrf;
    expect((await put({ 'X-CSRF-Token': csrf, Origin: 'https://evil.example' })).status()).toBe(403);
  });
});

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
