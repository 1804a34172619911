// Writes one benchmark's section of bench/RESULTS.md between its markers (<!-- NAME --> and
// <!-- end of NAME -->), appending it the first time; the rest of the file is kept as it is.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../scripts/lib/net.js';

export function writeSection(name: string, table: string): void {
  const file = join(ROOT, 'bench/RESULTS.md');
  const text = readFileSync(file, 'utf8');
  const [open, close] = [`<!-- ${name} -->`, `<!-- end of ${name} -->`];
  const block = `${open}\n${table}${close}`;
  writeFileSync(file, text.includes(open) ? text.replace(new RegExp(`${open}[\\s\\S]*?${close}`), () => block) : `${text.trimEnd()}\n\n${block}\n`);
}
