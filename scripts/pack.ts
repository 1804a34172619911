// What `npm pack` runs first (prepack): the package's JavaScript and .d.ts types in lib/
// (tsconfig.package.json), and the console's page built once into lib/src/console/web/, so that
// the package needs neither tsx nor esbuild to run.
import { join } from 'node:path';
import { buildLib } from './lib/pack.js';
import { ROOT } from './lib/net.js';

await buildLib(join(ROOT, 'lib'));
console.error('lib/: the package\'s JavaScript, its .d.ts types and the console\'s page');
