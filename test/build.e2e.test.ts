// Builds and rollouts for real, on the real node (scripts/lib/node.ts): Kaniko builds each App from
// its files, pip installs its requirements from the platform's package index, the image is pushed
// to the registry and pulled by the node, and the pods answer over HTTP. Each failure is a real
// one (a requirement the index cannot satisfy, an app that crashes at start, a probe that fails),
// and each time the version before it must keep answering.
import { spawnSync } from 'node:child_process';
import { toolPath } from '../scripts/lib/controlplane.js';
import { waitUntil } from '../scripts/lib/crossplane.js';
import { must } from '../scripts/lib/install.js';
import { platformSettings, startPlatform, waitForPhase, type Platform } from '../scripts/lib/platform.js';
import { answer, answerWhen } from '../scripts/lib/answer.js';
import { runCli } from './helpers/cli.js';
import { exampleTenant } from './helpers/fixtures.js';

type Obj = Record<string, any>;
let p: Platform;
const settings = platformSettings();

/** An app that says which version it is, what its folder holds and its GREETING; 404 elsewhere. */
const appPy = (version: string, extra = '') => `import json, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
${extra}

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path not in ("/", "/healthz"):
            self.send_error(404)
            return
        body = json.dumps({"version": "${version}", "files": sorted(os.listdir("/app")), "greeting": os.environ.get("GREETING")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()
`;
const app = (name: string, files: Record<string, string>, spec: Obj = {}) => ({
  apiVersion: 'platform.aerogrid.io/v1alpha1', kind: 'App', metadata: { name, namespace: 'acme-dev' },
  spec: { replicas: 2, files: Object.entries(files).map(([path, content]) => ({ path, content })), ...spec },
});
const v1 = { 'app.py': appPy('1'), 'requirements.txt': 'flask==3.0.3\n' };
const get = (name: string): Obj => p.get('app', name, 'acme-dev')!;
/** The digest the registry serves for an image, and its layers. */
const manifest = (image: string): { digest: string; layers: string[] } => {
  const ref = image.replace(settings.registry.split('/')[0], p.node!.registry.address);
  const crane = (...args: string[]) => {
    const r = spawnSync(toolPath('crane'), [...args, '--insecure'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`crane ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  };
  return { digest: crane('digest', ref).trim(), layers: JSON.parse(crane('manifest', ref)).layers.map((l: Obj) => l.digest) };
};

beforeAll(async () => {
  p = await startPlatform();
  must(p.cp.apply([exampleTenant()]));
  await waitForPhase(p, 'tenant', 'acme', undefined, 'Ready');
}, 300_000);

afterAll(async () => {
  await p?.stop();
}, 120_000);

describe('a build, for real', () => {
  test("the image holds exactly the App's files: none of the ConfigMap volume's ..data folders (the same source must give the same image)", async () => {
    must(p.cp.apply([app('echo', v1)]));
    await waitForPhase(p, 'app', 'echo', 'acme-dev', 'Ready', 180_000);
    expect(JSON.parse(await answer(p, 'acme-dev', 'echo'))).toEqual({ version: '1', files: ['app.py', 'requirements.txt'], greeting: null });
    expect(p.buildsOf('acme-dev', 'echo')).toHaveLength(1);
  }, 240_000);

  test('the same source built again (spec.rebuild) gives the same image digest', async () => {
    const first = get('echo').status.image;
    must(p.cp.apply([app('echo', v1, { rebuild: 1 })]));
    await waitUntil('the rebuild to serve', () => get('echo').status?.phase === 'Ready' && get('echo').status.image.endsWith('-r1'), 180_000, () => JSON.stringify(get('echo').status));
    expect(p.buildsOf('acme-dev', 'echo')).toHaveLength(2);
    expect(manifest(get('echo').status.image).digest).toBe(manifest(first).digest);
  }, 240_000);

  test("a second App does not upload the base image's layers again: its image holds the base's own layer", async () => {
    const base = manifest(settings.runtimes[settings.defaultRuntime].baseImage);
    const before = await p.node!.registry.uploadedBytes();
    must(p.cp.apply([app('echo-two', { ...v1, 'app.py': appPy('two') })]));
    await waitForPhase(p, 'app', 'echo-two', 'acme-dev', 'Ready', 180_000);
    const uploaded = await p.node!.registry.uploadedBytes() - before;
    const image = manifest(get('echo-two').status.image);
    expect(image.layers[0]).toBe(base.layers[0]);
    // The base layer is about 55 MB; what this build pushed is its own: the installed packages
    // (about 2.5 MB: Flask and its dependencies) and the source.
    console.log(`a second App's build uploaded ${(uploaded / 2 ** 20).toFixed(2)} MiB to the registry`);
    expect(uploaded).toBeLessThan(8 * 2 ** 20);
    expect(JSON.parse(await answer(p, 'acme-dev', 'echo-two')).version).toBe('two');
  }, 240_000);
});

describe('a failure, for real: the version before keeps answering', () => {
  test('a requirement the package index cannot satisfy: Failed, with pip\'s own message, in the status and the CLI', async () => {
    must(p.cp.apply([app('echo', { ...v1, 'requirements.txt': 'flask==3.0.3\nno-such-package==1.0\n' })]));
    const failed = await waitForPhase(p, 'app', 'echo', 'acme-dev', 'Failed', 180_000);
    const pip = 'pip: ERROR: Could not find a version that satisfies the requirement no-such-package==1.0 (from versions: none) ERROR: No matching distribution found for no-such-package==1.0';
    expect(failed.status.build.message).toBe(`kaniko failed: ${pip}`);
    expect(failed.status.message).toMatch(/^build of sha256:[0-9a-f]{12}… failed: kaniko failed: pip: ERROR: Could not find a version .*; still serving sha256:[0-9a-f]{12}…-r1$/);
    const status = await runCli(['status', 'echo', '-n', 'acme-dev'], p.cp.kubeconfig);
    expect(status.stdout).toContain(pip);
    // Kaniko's own output, as `aerogrid logs --build` shows it.
    const log = await runCli(['logs', 'echo', '--build', '-n', 'acme-dev'], p.cp.kubeconfig);
    expect(log.stdout).toMatch(/ERROR: No matching distribution found for no-such-package==1\.0/);
    expect(JSON.parse(await answer(p, 'acme-dev', 'echo')).version).toBe('1');
  }, 240_000);

  test('an App that crashes at start: Failed, CrashLoopBackOff and its last log lines in the status', async () => {
    const crash = appPy('crash', 'import sys\nprint("connecting to the database")\nsys.exit("DATABASE_URL is not set")');
    must(p.cp.apply([app('echo', { ...v1, 'app.py': crash })]));
    // Both the message and the Available condition must say so. Once (one CI run in several) the
    // App was read with the message saying CrashLoopBackOff and the condition still NotAvailable,
    // from one render to the next, so the wait is for both.
    const failed = await waitUntil('echo to fail its rollout', () => {
      const a = get('echo');
      const available = (a.status?.conditions ?? []).find((c: Obj) => c.type === 'Available');
      return a.status?.phase === 'Failed' && /CrashLoopBackOff/.test(a.status.message) && available?.reason === 'CrashLoopBackOff' ? a : undefined;
    }, 240_000, () => JSON.stringify(get('echo').status));
    // Its stdout and stderr lines, in the order the runtime wrote them to the log.
    expect(failed.status.message).toMatch(/^rollout of sha256:[0-9a-f]{12}… failed: container app of pod echo-[a-z0-9]+-[a-z0-9]+ crashes at start \(CrashLoopBackOff: exit code 1, restarted \d+ times?\); its last log lines: (connecting to the database \| DATABASE_URL is not set|DATABASE_URL is not set \| connecting to the database); still serving sha256:[0-9a-f]{12}…-r1$/);
    expect(failed.status.conditions.find((c: Obj) => c.type === 'Available')).toMatchObject({ status: 'False', reason: 'CrashLoopBackOff' });
    expect(JSON.parse(await answer(p, 'acme-dev', 'echo')).version).toBe('1');
  }, 300_000);

  test('a wrong healthPath: not Ready, with the probe\'s own message, while the pods before it serve', async () => {
    must(p.cp.apply([app('echo', v1, { rebuild: 1, healthPath: '/nope' })]));
    const stuck = await waitUntil('echo to say why its new pods are not ready', () => {
      const a = get('echo');
      return /Readiness probe failed/.test(a.status?.message ?? '') ? a : undefined;
    }, 120_000, () => JSON.stringify(get('echo').status));
    expect(stuck.status.phase).toBe('Deploying');
    expect(stuck.status.message).toMatch(/^rolling out sha256:[0-9a-f]{12}…-r1: pod echo-[a-z0-9]+-[a-z0-9]+ is not ready: Readiness probe failed: HTTP probe failed with statuscode: 404; the previous pods keep serving$/);
    expect(JSON.parse(await answer(p, 'acme-dev', 'echo')).version).toBe('1');
    // Put right, it goes Ready again on the same image: no build.
    const builds = p.buildsOf('acme-dev', 'echo').length;
    must(p.cp.apply([app('echo', v1, { rebuild: 1, healthPath: '/healthz' })]));
    await waitForPhase(p, 'app', 'echo', 'acme-dev', 'Ready', 120_000);
    await answerWhen(p, 'acme-dev', 'echo', (b) => JSON.parse(b).version === '1', 60_000);
    expect(p.buildsOf('acme-dev', 'echo')).toHaveLength(builds);
  }, 240_000);
});
