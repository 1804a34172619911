// aerogrid's own images, as its release would build them, without Docker:
//
//   base  Debian trixie's Node.js (20.19), bootstrapped with mmdebstrap by scripts/tools.sh
//         (node_base_image): no shell tools to administer it with, no package manager.
//   app   one layer, /app: package.json, the production dependencies exactly as package-lock.json
//         records them (`npm ci --omit=dev`), and lib/, the compiled JavaScript with the console's
//         page already bundled (pack.ts). Files owned by root, timestamps zero, sorted: the same
//         sources give the same digest.
//
// Two images share that layer and differ only in their entry point: the function's (run by
// Crossplane's Deployment runtime, embedded in the Function package as its runtime) and the
// console's. Both run as 65532, and need nothing writable.
//
// The images are made with crane against a registry that lives only while they are made (as
// tools.sh does), and kept in the cache, keyed by everything that goes into them: the base, the
// lock, the compiler settings and every source file.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { toolPath } from './controlplane.js';
import { freePort, ROOT } from './net.js';
import { buildLib } from './pack.js';
import { platformImages } from './registry.js';
import { AEROGRID_IMAGE } from '../../src/compositions/packages.js';

export interface AerogridImages {
  /** The key the images are cached under (a hash of their inputs). */
  key: string;
  /** OCI layouts, for `crane push`. */
  function: string;
  console: string;
  /** The function's image as a tarball: `crossplane xpkg build --embed-runtime-image-tarball`. */
  functionTarball: string;
}

const cacheDir = () => process.env.AEROGRID_CACHE ?? join(homedir(), '.cache/aerogrid');

const sh = (file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => {
  const r = spawnSync(file, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed:\n${r.error?.message ?? ''}${r.stdout}${r.stderr}`.trimEnd());
  return r.stdout;
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? filesUnder(path) : [path];
  });
}

/** The node base image's layout, as tools.sh made it (its folder name carries its recipe's key). */
function baseLayout(): string {
  const base = platformImages().find((i) => i.ref.startsWith('platform/node:'));
  if (!base || !existsSync(join(base.layout, 'index.json'))) throw new Error('the Node.js base image is not built: run bash scripts/tools.sh images');
  return base.layout;
}

/** Everything that goes into the images. */
function keyOf(base: string): string {
  const h = createHash('sha256').update(base);
  const inputs = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.package.json', 'scripts/lib/images.ts', 'scripts/lib/pack.ts']
    .map((f) => join(ROOT, f));
  for (const dir of ['src', 'imports']) inputs.push(...filesUnder(join(ROOT, dir)).sort());
  for (const f of inputs) h.update(relative(ROOT, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** The production dependencies, installed once per lock (npm ci --omit=dev), kept in the cache. */
function productionModules(): string {
  const key = createHash('sha256').update(readFileSync(join(ROOT, 'package.json'))).update(readFileSync(join(ROOT, 'package-lock.json'))).digest('hex').slice(0, 16);
  const dir = join(cacheDir(), 'npm-production', key);
  if (existsSync(join(dir, '.complete'))) return join(dir, 'node_modules');
  const tmp = `${dir}.${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(ROOT, f), join(tmp, f));
  sh('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: tmp });
  rmSync(join(tmp, 'node_modules/.package-lock.json'), { force: true });
  writeComplete(tmp);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return join(dir, 'node_modules');
}

const writeComplete = (dir: string) => writeFileSync(join(dir, '.complete'), '');

/** Runs `fn` with a crane registry on loopback, stopped afterwards. */
async function withScratchRegistry<T>(work: string, fn: (registry: string) => Promise<T> | T): Promise<T> {
  const address = `127.0.0.1:${await freePort()}`;
  mkdirSync(join(work, 'registry'), { recursive: true });
  const child = spawn(toolPath('crane'), ['registry', 'serve', '--address', address, '--disk', join(work, 'registry')], { stdio: 'ignore' });
  try {
    const deadline = Date.now() + 10_000;
    while (!(await fetch(`http://${address}/v2/`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error(`crane registry serve on ${address} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return await fn(address);
  } finally {
    child.kill('SIGTERM');
  }
}

/** Builds of other sources kept beside the newest (each about 420 MB: two OCI layouts and a tarball); another checkout may still use one. */
const KEEP_IMAGES = 2;

/** Removes all but the `keep` most recently used complete builds besides the newest one (unfinished ones of other processes are left alone). */
function pruneImages(parent: string, keep: number): void {
  const complete = readdirSync(parent).filter((d) => /^[0-9a-f]{16}$/.test(d) && existsSync(join(parent, d, '.complete')))
    .map((d) => ({ d, t: statSync(join(parent, d, '.complete')).mtimeMs })).sort((a, b) => b.t - a.t);
  for (const { d } of complete.slice(1 + keep)) rmSync(join(parent, d), { recursive: true, force: true });
}

/** Builds the images unless the cache has them for these inputs (a minute or so the first time). */
export async function aerogridImages(say: (m: string) => void = () => {}): Promise<AerogridImages> {
  const base = baseLayout();
  const key = keyOf(base);
  const dir = join(cacheDir(), 'aerogrid-images', key);
  const result: AerogridImages = { key, function: join(dir, 'function'), console: join(dir, 'console'), functionTarball: join(dir, 'function.tar') };
  if (existsSync(join(dir, '.complete'))) {
    // Used now: the newest for pruneImages.
    const now = new Date();
    utimesSync(join(dir, '.complete'), now, now);
    return result;
  }
  const started = Date.now();
  const work = `${dir}.${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  const app = join(work, 'rootfs/app');
  mkdirSync(app, { recursive: true });
  try {
    await buildLib(join(app, 'lib'));
    copyFileSync(join(ROOT, 'package.json'), join(app, 'package.json'));
    sh('cp', ['-a', productionModules(), join(app, 'node_modules')]);
    // No source maps or type declarations at run time; the same bytes for the same sources.
    for (const f of filesUnder(join(app, 'lib'))) if (f.endsWith('.d.ts')) rmSync(f);
    sh('tar', ['--owner=0', '--group=0', '--numeric-owner', '--sort=name', '--mtime=@0', '--mode=go-w', '-C', join(work, 'rootfs'), '-cf', join(work, 'app.tar'), 'app']);
    const crane = toolPath('crane');
    await withScratchRegistry(work, (registry) => {
      sh(crane, ['push', '--insecure', base, `${registry}/base`]);
      sh(crane, ['append', '--insecure', '-b', `${registry}/base`, '-f', join(work, 'app.tar'), '-t', `${registry}/app`]);
      // The configuration dist/function/Dockerfile describes too (AEROGRID_IMAGE).
      const entry = (name: string, entrypoint: readonly string[], ports: number[], env: Record<string, string> = {}) => {
        sh(crane, ['mutate', '--insecure', `${registry}/app`, '-t', `${registry}/${name}`, '--entrypoint', entrypoint.join(','), '-w', AEROGRID_IMAGE.workdir, '-u', AEROGRID_IMAGE.user,
          ...ports.flatMap((p) => ['--exposed-ports', String(p)]), ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), '-l', `org.opencontainers.image.title=aerogrid ${name}`]);
        sh(crane, ['pull', '--insecure', '--format=oci', `${registry}/${name}`, join(work, name)]);
      };
      const fn = AEROGRID_IMAGE.function;
      entry('function', fn.entrypoint, [fn.ports.grpc, fn.ports.metrics], fn.env);
      entry('console', AEROGRID_IMAGE.console.entrypoint, [AEROGRID_IMAGE.console.port]);
      sh(crane, ['pull', '--insecure', `${registry}/function`, join(work, 'function.tar')]);
    });
    rmSync(join(work, 'rootfs'), { recursive: true, force: true });
    rmSync(join(work, 'registry'), { recursive: true, force: true });
    writeComplete(work);
    rmSync(dir, { recursive: true, force: true });
    renameSync(work, dir);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  pruneImages(dirname(dir), KEEP_IMAGES);
  const mb = (statSync(result.functionTarball).size / 1e6).toFixed(0);
  say(`aerogrid's images built (Debian trixie Node.js, the compiled JavaScript, production dependencies; ${mb} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return result;
}
