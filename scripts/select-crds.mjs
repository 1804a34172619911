// Prints the CRDs named on the command line from a multi-document YAML file.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
const [file, ...names] = process.argv.slice(2);
const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS()).filter((d) => d && names.includes(d.metadata?.name));
if (docs.length !== names.length) {
  console.error(`select-crds: found ${docs.length} of ${names.length} CRDs (${names.join(', ')}) in ${file}`);
  process.exit(1);
}
const { stringify } = await import('yaml');
process.stdout.write(docs.map((d) => stringify(d)).join('---\n'));
