// `make build`: synthesize dist/ from platform.yaml. Usage: main.ts [platform.yaml] [outdir]
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { platformFileOf, synthesize } from './synth.js';

const [platformPath = 'platform.yaml', outdir = 'dist'] = process.argv.slice(2);
try {
  const files = synthesize(platformFileOf(parse(readFileSync(platformPath, 'utf8'))));
  rmSync(outdir, { recursive: true, force: true });
  for (const [path, content] of files) {
    mkdirSync(dirname(join(outdir, path)), { recursive: true });
    writeFileSync(join(outdir, path), content);
  }
  console.log(`build: wrote ${files.size} files to ${outdir}/`);
} catch (err) {
  console.error(`build: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
