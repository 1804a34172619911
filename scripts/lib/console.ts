// The console on the local platform, as the browser tests, the console benchmark and make demo
// use it: the platform with the local identity provider (oidc.ts) that kube-apiserver trusts, the
// console (src/console) as that provider's client, and Debian's Chromium driven by playwright-core
// (Playwright cannot download its own browser here; scripts/tools.sh chromium installs it).
import { spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Agent, fetch as undiciFetch } from 'undici';
import { startConsole, type RunningConsole } from '../../src/console/server.js';
import { freePort, ROOT } from './net.js';
import { startPlatform, type Platform, type PlatformOptions } from './platform.js';

/** Debian's Chromium: the binary behind /usr/bin/chromium's wrapper script. */
export const CHROMIUM = '/usr/lib/chromium/chromium';

export interface ConsolePlatform {
  platform: Platform;
  console: RunningConsole;
  /** Addresses the identity provider also knows as the console's (for consoles of startConsoleProcess). */
  spare: string[];
}

/** The platform with an identity provider, and the console signed in through it. */
export async function startConsolePlatform(opts: PlatformOptions & { log?: (m: string) => void; address?: string; spareConsoles?: number } = {}): Promise<ConsolePlatform> {
  const [host, givenPort] = (opts.address ?? '127.0.0.1:0').split(':');
  const port = Number(givenPort) || (await freePort());
  const spare: string[] = [];
  for (let i = 0; i < (opts.spareConsoles ?? 0); i++) spare.push(`127.0.0.1:${await freePort()}`);
  const redirectUris = [`http://${host}:${port}/auth/callback`, ...spare.map((a) => `http://${a}/auth/callback`)];
  const platform = await startPlatform({ ...opts, oidc: { redirectUris } });
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
    return { platform, console: running, spare };
  } catch (err) {
    await platform.stop();
    throw err;
  }
}

/** `aerogrid-console` in a process of its own (its memory is its own to measure). */
export interface ConsoleProcess {
  url: string;
  pid: number;
  /** What it wrote to stderr (its log) so far. */
  log(): string;
  /** Its resident memory, in bytes (VmRSS). */
  rss(): number;
  stop(): Promise<void>;
}

/** Runs aerogrid-console (bin/aerogrid-console.js) against the platform, at one of its spare addresses, with more flags. */
export async function startConsoleProcess(platform: Platform, address: string, ...flags: string[]): Promise<ConsoleProcess> {
  const issuerCa = join(platform.cp.dir, 'console-issuer-ca.pem');
  writeFileSync(issuerCa, platform.idp!.ca);
  const server = /server: "([^"]+)"/.exec(readFileSync(platform.cp.kubeconfig, 'utf8'))![1];
  const child = spawn(process.execPath, [join(ROOT, 'bin/aerogrid-console.js'), '--address', address, '--issuer', platform.idp!.issuer,
    '--client-id', platform.idp!.clientId, '--issuer-ca', issuerCa, '--kube-server', server, '--kube-ca', join(platform.cp.dir, 'ca.crt'), ...flags], {
    cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '', AEROGRID_CONSOLE_CLIENT_SECRET: platform.idp!.clientSecret }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`aerogrid-console did not start in 30 s:\n${stderr}`)), 30_000);
    const look = () => {
      const m = /console at (\S+)/.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', look);
    void exited.then(() => reject(new Error(`aerogrid-console exited:\n${stderr}`)));
  });
  return {
    url,
    pid: child.pid!,
    log: () => stderr,
    rss: () => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * `requests` GETs of `path`, `concurrency` at a time over kept-alive connections, as an attacker
 * without a session would send them; returns how many got each status.
 */
export async function flood(url: string, path: string, requests: number, concurrency = 16): Promise<Record<number, number>> {
  const agent = new Agent({ connections: concurrency, pipelining: 1 });
  const statuses: Record<number, number> = {};
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      next++;
      const res = await undiciFetch(`${url}${path}`, { redirect: 'manual', dispatcher: agent });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    }
  }));
  await agent.close();
  return statuses;
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
