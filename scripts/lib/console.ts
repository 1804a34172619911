// The console on the local platform, as the browser tests, the console benchmark and make demo
// use it: the platform with the local identity provider (oidc.ts) that kube-apiserver trusts, the
// console in the cluster as a platform team installs it (dist/console/'s objects, from the same
// generator, with this run's issuer, CA and addresses), reached from the host at
// http://127.0.0.1:<port> through an HTTP proxy to its Service, and Debian's Chromium driven by playwright-core
// (Playwright cannot download its own browser here; scripts/tools.sh chromium installs it).
import { spawn, spawnSync } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Agent, fetch as undiciFetch } from 'undici';
import { parse as parseYaml } from 'yaml';
import type { ConsoleSettings } from '../../src/api/platform.js';
import { CONSOLE_NAME, consoleFiles } from '../../src/compositions/console.js';
import { platformFileOf } from '../../src/compositions/synth.js';
import type { RunningConsole } from '../../src/console/server.js';
import { toolPath } from './controlplane.js';
import { waitUntil } from './crossplane.js';
import { aerogridImages } from './images.js';
import { must } from './install.js';
import { freePort, ROOT } from './net.js';
import { startPlatform, type Platform, type PlatformOptions } from './platform.js';

/** Debian's Chromium: the binary behind /usr/bin/chromium's wrapper script. */
export const CHROMIUM = '/usr/lib/chromium/chromium';

/** The console in the cluster, as the host reaches it. */
export interface ClusterConsole extends RunningConsole {
  /** What the console's pod logged so far. */
  logs(): string;
}

export interface ConsolePlatform {
  platform: Platform;
  console: ClusterConsole;
  /** Addresses the identity provider also knows as the console's (for consoles of startConsoleProcess). */
  spare: string[];
}

/** The platform with an identity provider, and the console in it, signed in through that provider. */
export async function startConsolePlatform(opts: PlatformOptions & { address?: string; spareConsoles?: number } = {}): Promise<ConsolePlatform> {
  const [host, givenPort] = (opts.address ?? '127.0.0.1:0').split(':');
  const port = Number(givenPort) || (await freePort());
  const spare: string[] = [];
  for (let i = 0; i < (opts.spareConsoles ?? 0); i++) spare.push(`127.0.0.1:${await freePort()}`);
  const redirectUris = [`http://${host}:${port}/auth/callback`, ...spare.map((a) => `http://${a}/auth/callback`)];
  const platform = await startPlatform({ ...opts, oidc: { redirectUris } });
  try {
    return { platform, console: await startClusterConsole(platform, `${host}:${port}`, opts.say), spare };
  } catch (err) {
    await platform.stop();
    throw err;
  }
}

const ISSUER_CA_CONFIGMAP = 'aerogrid-console-issuer-ca';

/** kube-apiserver's URL, as the platform's admin kubeconfig names it. */
const apiServerUrl = (p: Platform) => /server: "([^"]+)"/.exec(readFileSync(p.cp.kubeconfig, 'utf8'))![1];

/**
 * Installs the console as dist/console/ does, with this run's values: aerogrid's image pushed to
 * the node's registry under platform.yaml's console.image, the local identity provider's issuer
 * and CA, the API server's and provider's addresses in the NetworkPolicy, and the client secret in
 * its Secret. Then proxies `address` (host:port on the host) to its Service.
 */
export async function startClusterConsole(p: Platform, address: string, say: (m: string) => void = () => {}): Promise<ClusterConsole> {
  const idp = p.idp!;
  const file = platformFileOf(parseYaml(readFileSync(join(ROOT, 'platform.yaml'), 'utf8')));
  const images = await aerogridImages(say);
  // platform.yaml names the image by the registry's name; the host pushes to its address.
  const [registryName, ...repository] = file.console.image.split('/');
  if (registryName !== file.settings.registry.split('/')[0]) throw new Error(`console.image ${file.console.image} is not in the platform's registry ${file.settings.registry}`);
  const push = spawnSync(toolPath('crane'), ['push', '--insecure', images.console, `${p.node.registry.address}/${repository.join('/')}`], { encoding: 'utf8' });
  if (push.status !== 0) throw new Error(`crane push of the console's image failed: ${push.stderr}`);
  const server = new URL(apiServerUrl(p));
  const issuer = new URL(idp.issuer);
  // Not parsed by the schema: its public URL is http on 127.0.0.1 (a secure context for the browser), which platform.yaml refuses.
  const local: ConsoleSettings = {
    ...file.console,
    publicUrl: `http://${address}`,
    issuer: idp.issuer,
    clientId: idp.clientId,
    issuerCa: { configMap: ISSUER_CA_CONFIGMAP, key: 'ca.crt' },
    egress: {
      identityProvider: [{ cidr: `${issuer.hostname}/32`, ports: [Number(issuer.port)] }],
      apiserver: [{ cidr: `${server.hostname}/32`, ports: [Number(server.port)] }],
    },
  };
  const files = consoleFiles({ ...file, console: local });
  const ns = local.namespace;
  must(p.cp.apply(files.get('console/namespace.yaml') as object[]));
  must(p.cp.apply([
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: local.clientSecret.name, namespace: ns }, stringData: { [local.clientSecret.key]: idp.clientSecret } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ISSUER_CA_CONFIGMAP, namespace: ns }, data: { 'ca.crt': idp.ca } },
  ]));
  must(p.cp.apply(files.get('console/console.yaml') as object[]));
  const logs = () => {
    const r = p.cp.kubectl('logs', '-n', ns, `deployment/${CONSOLE_NAME}`, '--tail=-1');
    return r.stdout + r.stderr;
  };
  const rollout = await p.cp.kubectlAsync('rollout', 'status', '-n', ns, `deployment/${CONSOLE_NAME}`, '--timeout=180s');
  if (rollout.status !== 0) throw new Error(`the console's Deployment did not become available: ${rollout.stderr}\n${p.cp.kubectl('get', 'pods', '-n', ns, '-o', 'wide').stdout}\n${logs()}`);
  // From the host to the Service, as an ingress would: an HTTP proxy on 127.0.0.1 (a secure context
  // for the browser's __Host- cookies) to its ClusterIP, which the host routes to kube-proxy's rules.
  // Not `kubectl port-forward`: it exits when the console closes a connection whose body it refused
  // unread (the 413 of an oversized save), and every later request is refused. Not a TCP relay:
  // the console drains such a body for 500 ms at most (@hono/node-server) and then resets the
  // connection, and a reset lost the answer on the relay's hop. The proxy, as nginx would, takes
  // the answer at once and reads and drops the rest of the body itself.
  const service = JSON.parse(must(p.cp.kubectl('get', 'service', CONSOLE_NAME, '-n', ns, '-o', 'json')).stdout);
  const target = { host: service.spec.clusterIP as string, port: service.spec.ports[0].port as number };
  const [host, port] = address.split(':');
  const proxy = createHttpServer((req, res) => {
    // Once the console has answered, or dropped the connection, before the whole body came: the rest
    // is read here and dropped, so the browser's connection stays usable. Node's http server does
    // not, for a request already piped: its next request on that connection met ECONNRESET.
    const drain = () => {
      req.unpipe(upstream);
      req.resume();
    };
    const upstream = httpRequest({ host: target.host, port: target.port, method: req.method, path: req.url, headers: req.headers, agent: false }, (answer) => {
      if (!req.complete) drain();
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
    });
    upstream.on('error', () => {
      drain();
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
    // The browser went away (a live stream closed): so does the request to the console.
    res.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve, reject) => proxy.once('error', reject).listen(Number(port), host, resolve));
  const url = `http://${address}`;
  try {
    await waitUntil(`the console at ${url} (its Service ${target.host}:${target.port})`, async () => (await fetch(`${url}/healthz`).then((r) => r.text(), () => '')) === 'ok', 30_000);
  } catch (err) {
    proxy.close();
    throw err;
  }
  // The page's script as served (its size is the benchmark's).
  const page = await (await fetch(`${url}/`)).text();
  const script = await (await fetch(`${url}${/src="(\/assets\/app\.[0-9a-f]+\.js)"/.exec(page)![1]}`)).text();
  say(`the console in the cluster (${ns}/${CONSOLE_NAME}, aerogrid's image) at ${url}, proxied to its Service ${target.host}:${target.port}`);
  return {
    url,
    script,
    logs,
    async stop() {
      proxy.closeAllConnections();
      proxy.close();
      // Its pod goes with the node.
    },
  };
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
  const server = apiServerUrl(platform);
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
