// The platform's OCI registry: Debian's docker-registry (distribution 2.8), over plain HTTP,
// with its storage in the run directory. Crossplane's package manager pulls aerogrid's packages
// from it, the node pulls the platform's images from it, and Kaniko pushes every App's image to it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolPath } from './controlplane.js';
import { ROOT } from './net.js';

export interface Registry {
  /** host:port it listens on. */
  address: string;
  /** Pushes the images scripts/tools.sh made (pause, Kaniko, the runtimes' bases) under their repositories. */
  pushPlatformImages(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRegistry(dir: string, address: string): Promise<Registry> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const config = join(dir, 'config.yml');
  writeFileSync(config, `version: 0.1
log: { level: error, accesslog: { disabled: true } }
storage: { filesystem: { rootdirectory: ${join(dir, 'data')} }, delete: { enabled: true } }
http: { addr: ${address} }
`);
  const log = openSync(join(dir, 'registry.log'), 'a');
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', config], { stdio: ['ignore', log, log] });
  closeSync(log);
  const deadline = Date.now() + 30_000;
  while (!(await fetch(`http://${address}/v2/`).then((r) => r.ok, () => false))) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the registry on ${address} did not start (see ${join(dir, 'registry.log')})`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    address,
    async pushPlatformImages() {
      const list = spawnSync('bash', [join(ROOT, 'scripts/tools.sh'), 'path', 'image-list'], { encoding: 'utf8' }).stdout.trim().split('\n');
      const crane = toolPath('crane');
      await Promise.all(list.map((line) => {
        const [ref, layout] = line.split(' ');
        return new Promise<void>((resolve, reject) => {
          const push = spawn(crane, ['push', '--insecure', layout, `${address}/${ref}`], { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          push.stderr!.on('data', (d) => (err += d));
          push.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`crane push ${layout} ${address}/${ref} failed: ${err.trim()} (run bash scripts/tools.sh images)`))));
        });
      }));
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
