// Where aerogrid's own files are, from wherever this module runs: the sources in a checkout
// (src/meta.ts) or the compiled package (lib/src/meta.js). Found by walking up to aerogrid's
// package.json, so that no module counts how deep it sits.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'aerogrid') return dir;
    if (dirname(dir) === dir) throw new Error(`aerogrid's package.json is not above ${fileURLToPath(import.meta.url)}`);
  }
}

/** The folder holding aerogrid's package.json (and platform.yaml). */
export const PACKAGE_ROOT = packageRoot();
export const VERSION: string = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')).version;
