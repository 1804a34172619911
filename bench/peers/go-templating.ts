// The peer: function-go-templating v0.9.2 (built by scripts/tools.sh, cached by version) with
// bench/peers/app.gotmpl, which renders aerogrid's App as a Go template. Used by
// bench/function.ts (the same ghz load on both) and test/peers.test.ts (the same objects).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { ROOT, freePort } from '../../scripts/lib/net.js';

export const GO_TEMPLATING_VERSION = 'v0.9.2';
export const TEMPLATE_FILE = 'bench/peers/app.gotmpl';

export function goTemplatingBinary(): string {
  // Builds it on first use (about a minute), as `make bench` would on a fresh machine.
  execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), 'function-go-templating'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), 'path', 'function-go-templating'], { encoding: 'utf8' }).trim();
}

/** The function input a Composition step would give go-templating: the template, inline. */
export function goTemplateInput(): Record<string, unknown> {
  return {
    apiVersion: 'gotemplating.fn.crossplane.io/v1beta1',
    kind: 'GoTemplate',
    source: 'Inline',
    inline: { template: readFileSync(join(ROOT, TEMPLATE_FILE), 'utf8') },
  };
}

/** The same request, as Crossplane would send it to a go-templating step: only the input differs. */
export function asGoTemplating(req: RunFunctionRequest): RunFunctionRequest {
  return RunFunctionRequest.fromPartial({ ...req, input: goTemplateInput() });
}

export interface Peer { child: ChildProcess; address: string; logs: () => string }

/**
 * Starts go-templating with mTLS from `certsDir` (tls.crt, tls.key, ca.crt), as Crossplane runs
 * it. Its log (a line or two per call) goes to a file, as a container runtime takes it: a pipe
 * that nobody reads while ghz runs would stall it. `wrap` may prefix the command (taskset).
 */
export async function startGoTemplating(certsDir: string, wrap: (argv: string[]) => string[] = (a) => a): Promise<Peer> {
  const address = `127.0.0.1:${await freePort()}`;
  const logFile = join(mkdtempSync(join(tmpdir(), 'aerogrid-peer-')), 'function-go-templating.log');
  const [command, ...args] = wrap([goTemplatingBinary(), '--address', address, '--tls-certs-dir', certsDir]);
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', openSync(logFile, 'w')] });
  const logs = () => readFileSync(logFile, 'utf8');
  // It logs nothing when it starts serving: wait until the port takes connections.
  const [host, port] = address.split(':');
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`function-go-templating exited ${child.exitCode}: ${logs()}`);
    const up = await new Promise<boolean>((res) => {
      const s = connect(Number(port), host, () => { s.destroy(); res(true); });
      s.once('error', () => res(false));
    });
    if (up) break;
    if (i > 200) throw new Error(`function-go-templating did not listen on ${address}: ${logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, address, logs };
}

type Json = unknown;

/** Every leaf where two JSON values differ, as `path: aerogrid … / go-templating …`. */
export function differences(a: Json, b: Json, path = ''): string[] {
  if (isDeepStrictEqual(a, b)) return [];
  const isObj = (x: Json): x is Record<string, Json> => typeof x === 'object' && x !== null && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().flatMap((k) => differences(a[k], b[k], `${path}.${k}`));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) return a.flatMap((x, i) => differences(x, b[i], `${path}[${i}]`));
  const show = (x: Json) => (x === undefined ? 'absent' : JSON.stringify(x).slice(0, 120));
  return [`${path || '.'}: aerogrid ${show(a)}, go-templating ${show(b)}`];
}

/**
 * What differs between aerogrid's answer and go-templating's for the same request: the
 * composed resources (key by key, and their readiness), the XR's status and the conditions.
 */
export function compareAnswers(aerogrid: RunFunctionResponse, peer: RunFunctionResponse): string[] {
  const resources = (r: RunFunctionResponse) => Object.fromEntries(Object.entries(r.desired?.resources ?? {}).map(([k, v]) => [k, { resource: v.resource, ready: v.ready }]));
  const conditions = (r: RunFunctionResponse) => r.conditions.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message, target: c.target }));
  return [
    ...differences(resources(aerogrid), resources(peer), 'resources'),
    ...differences(aerogrid.desired?.composite?.resource, peer.desired?.composite?.resource, 'composite'),
    ...differences(conditions(aerogrid), conditions(peer), 'conditions'),
    ...differences(aerogrid.results.map((r) => ({ severity: r.severity, message: r.message })), peer.results.map((r) => ({ severity: r.severity, message: r.message })), 'results'),
  ];
}
