// The platform's OCI registry: Debian's docker-registry (distribution 2.8), over plain HTTP,
// with its storage in the run directory. Crossplane's package manager pulls aerogrid's packages
// from it, the node pulls the platform's images from it, and Kaniko pushes every App's image to it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolPath } from './controlplane.js';
import { ROOT, freePort } from './net.js';

export interface Registry {
  /** host:port it listens on. */
  address: string;
  /** Pushes an OCI layout (a folder) as repository:tag. */
  push(layout: string, ref: string): Promise<void>;
  /** Bytes of blob uploads it has received so far (its Prometheus metrics): what pushes cost. */
  uploadedBytes(): Promise<number>;
  stop(): Promise<void>;
}

/** The images scripts/tools.sh made (pause, Kaniko, crane, the runtimes' bases): repository:tag and layout folder. */
export function platformImages(): { ref: string; layout: string }[] {
  const r = spawnSync('bash', [join(ROOT, 'scripts/tools.sh'), 'path', 'image-list'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scripts/tools.sh path image-list failed: ${r.stderr}`);
  return r.stdout.trim().split('\n').map((line) => {
    const [ref, layout] = line.split(' ');
    return { ref, layout };
  });
}

export async function startRegistry(dir: string, address: string): Promise<Registry> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = join(dir, 'config.yml');
  const debug = `${address.split(':')[0]}:${await freePort()}`;
  writeFileSync(config, `version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }
http: { addr: ${address}, debug: { addr: ${debug}, prometheus: { enabled: true, path: /metrics } } }
`);
  const log = openSync(join(dir, 'registry.log'), 'a');
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', log, log] });
  closeSync(log);
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`http://${address}/v2/`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the registry on ${address} did not start (see ${join(dir, 'registry.log')})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const crane = toolPath('crane');
  return {
    address,
    push: (layout, ref) => new Promise<void>((resolve, reject) => {
      const push = spawn(crane, ['push', '--insecure', layout, `${address}/${ref}`], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      push.stderr!.on('data', (d) => (err += d));
      push.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`crane push ${layout} ${address}/${ref} failed: ${err.trim()} (run bash scripts/tools.sh images)`))));
    }),
    async uploadedBytes() {
      const text = await (await fetch(`http://${debug}/metrics`)).text();
      return Number(/^registry_http_request_size_bytes_sum\{handler="blob_upload_chunk"\} (\S+)$/m.exec(text)?.[1] ?? 0);
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
