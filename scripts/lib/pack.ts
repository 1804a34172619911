// The package's JavaScript: tsc (tsconfig.package.json) into a folder, .d.ts types beside it, and
// the console's page bundled once into <folder>/src/console/web/, so that what runs from it needs
// neither tsx nor esbuild. `npm pack` (scripts/pack.ts) and aerogrid's images (images.ts) use it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundle } from '../../src/console/server.js';
import { ROOT } from './net.js';

export async function buildLib(out: string): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  const tsc = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.package.json', '--outDir', out], { cwd: ROOT, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`tsc -p tsconfig.package.json failed:\n${tsc.stdout}${tsc.stderr}`);
  const web = join(out, 'src/console/web');
  mkdirSync(web, { recursive: true });
  writeFileSync(join(web, 'app.js'), await bundle());
  for (const file of ['index.html', 'style.css']) copyFileSync(join(ROOT, 'src/console/web', file), join(web, file));
}
