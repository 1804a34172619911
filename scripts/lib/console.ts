// The console on the local platform, as the browser tests, the console benchmark and make demo
// use it: the platform with the local identity provider (oidc.ts) that kube-apiserver trusts, the
// console (src/console) as that provider's client, and Debian's Chromium driven by playwright-core
// (Playwright cannot download its own browser here; scripts/tools.sh chromium installs it).
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startConsole, type RunningConsole } from '../../src/console/server.js';
import { freePort } from './net.js';
import { startPlatform, type Platform, type PlatformOptions } from './platform.js';

/** Debian's Chromium: the binary behind /usr/bin/chromium's wrapper script. */
export const CHROMIUM = '/usr/lib/chromium/chromium';

export interface ConsolePlatform {
  platform: Platform;
  console: RunningConsole;
}

/** The platform with an identity provider, and the console signed in through it. */
export async function startConsolePlatform(opts: PlatformOptions & { log?: (m: string) => void; address?: string } = {}): Promise<ConsolePlatform> {
  const [host, givenPort] = (opts.address ?? '127.0.0.1:0').split(':');
  const port = Number(givenPort) || (await freePort());
  const platform = await startPlatform({ ...opts, oidc: { redirectUris: [`http://${host}:${port}/auth/callback`] } });
  try {
    const server = /server: "([^"]+)"/.exec(readFileSync(platform.cp.kubeconfig, 'utf8'))![1];
    const running = await startConsole({
      address: `${host}:${port}`,
      issuer: platform.idp!.issuer,
      clientId: platform.idp!.clientId,
      clientSecret: platform.idp!.clientSecret,
      issuerCa: platform.idp!.ca,
      kubeServer: server,
      kubeCa: readFileSync(join(platform.cp.dir, 'ca.crt'), 'utf8'),
      log: opts.log,
    });
    return { platform, console: running };
  } catch (err) {
    await platform.stop();
    throw err;
  }
}

/** Chromium that trusts the identity provider's certificate, and only that one, by its key. */
export async function launchBrowser(platform: Platform): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run bash scripts/tools.sh chromium (Debian's chromium package)`);
  const spki = createHash('sha256').update(new X509Certificate(readFileSync(join(platform.cp.dir, 'idp.crt'))).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  return chromium.launch({ executablePath: CHROMIUM, args: [`--ignore-certificate-errors-spki-list=${spki}`, '--no-sandbox'] });
}

/** Signs in on the identity provider's page, starting from a path of the console. */
export async function signIn(page: Page, consoleUrl: string, user: string, password: string, path = '/'): Promise<void> {
  await page.goto(`${consoleUrl}${path}`);
  await page.waitForURL(/\/interaction\//);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => u.href.startsWith(consoleUrl));
}

/** Replaces a file's whole text in the editor, as a paste would (no auto-indent). */
export async function setEditor(page: Page, text: string, path = 'app.py'): Promise<void> {
  await page.locator(`#files [data-path="${path}"] .file`).click();
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+a');
  await page.keyboard.insertText(text);
}

/** Types at the end of a file in the editor. */
export async function appendToEditor(page: Page, text: string, path = 'app.py'): Promise<void> {
  await page.locator(`#files [data-path="${path}"] .file`).click();
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+End');
  await page.keyboard.type(text);
}
