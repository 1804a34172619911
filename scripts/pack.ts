// What `npm pack` runs first (prepack): the package's JavaScript and .d.ts types in lib/
// (tsconfig.package.json), and the console's page built once into lib/src/console/web/, so that
// the package needs neither tsx nor esbuild to run.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bundle } from '../src/console/server.js';
import { ROOT } from './lib/net.js';

rmSync(join(ROOT, 'lib'), { recursive: true, force: true });
const tsc = spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.package.json'], { cwd: ROOT, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
const web = join(ROOT, 'lib/src/console/web');
mkdirSync(web, { recursive: true });
writeFileSync(join(web, 'app.js'), await bundle());
for (const file of ['index.html', 'style.css']) copyFileSync(join(ROOT, 'src/console/web', file), join(web, file));
console.error('lib/: the package\'s JavaScript, its .d.ts types and the console\'s page');
