// The function's memory under streams of distinct inputs, which no cache can serve: peak RSS of
// the function as its image runs it (compiled JavaScript, no tsx; VmHWM, over mTLS, default
// --cache-size) while it answers
//   - 100,000 distinct realistic Apps (the example App, each with its own name and source);
//   - 2,000 distinct Apps at the largest size the API allows (768 KiB of files);
//   - 1,000 distinct invalid specs with a 4 MiB file (refused, and nothing kept of them).
// Each row runs in a fresh function process, with the image's V8 flags (NODE_FLAGS).
// Usage: tsx bench/memory.ts [scale]  (0.1: a tenth of each; ROWS=i runs row i alone)
// Writes its table into bench/RESULTS.md between the memory markers (make bench runs it).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { RunFunctionRequest, RunFunctionResponse, Severity } from '@crossplane-org/function-sdk-typescript';
import { MAX_FILE_BYTES, MAX_TOTAL_BYTES } from '../src/api/app.js';
import { NODE_FLAGS, mtlsCredentials, startFunction } from '../scripts/lib/function.js';
import { ROOT } from '../scripts/lib/net.js';
import { memoryOf } from '../scripts/lib/proc.js';
import { makePki } from '../scripts/lib/pki.js';
import { appRequired, exampleApp, exampleTenant, request } from '../test/helpers/fixtures.js';

type Obj = Record<string, any>;
const scale = Number(process.argv[2] ?? '1');
const CONCURRENCY = 8;
const MiB = 1 << 20;

const RawClient = grpc.makeGenericClientConstructor({
  runFunction: { path: '/apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction', requestStream: false, responseStream: false,
    requestSerialize: (b: Buffer) => b, requestDeserialize: (b: Buffer) => b, responseSerialize: (b: Buffer) => b, responseDeserialize: (b: Buffer) => b },
}, 'raw') as unknown as new (a: string, c: grpc.ChannelCredentials, o?: grpc.ClientOptions) => grpc.Client & { runFunction: (b: Buffer, cb: (e: grpc.ServiceError | null, r?: Buffer) => void) => void };

function app(i: number, files: Obj[]): Buffer {
  const a = exampleApp() as Obj;
  a.metadata.name = `app-${i}`;
  a.spec.files = files;
  return Buffer.from(RunFunctionRequest.encode(request({ composite: a, required: appRequired(a as ReturnType<typeof exampleApp>, exampleTenant()) })).finish());
}

const ONLY = process.env.ROWS ? Number(process.env.ROWS) : undefined;
const ROWS: { name: string; calls: number; make: (i: number) => Buffer; severity: Severity; target: number }[] = [
  {
    name: 'distinct realistic Apps', calls: 100_000, severity: Severity.SEVERITY_NORMAL, target: 200,
    make: (i) => app(i, (exampleApp().spec as Obj).files.map((f: Obj) => (f.path === 'app.py' ? { ...f, content: `${f.content}\n# variant ${i}\n` } : f))),
  },
  {
    name: 'distinct Apps of the largest size (768 KiB of files)', calls: 2_000, severity: Severity.SEVERITY_NORMAL, target: 512,
    make: (i) => app(i, [
      { path: 'app.py', content: `print("variant ${i}")\n`.padEnd(MAX_FILE_BYTES, '#') },
      ...Array.from({ length: MAX_TOTAL_BYTES / MAX_FILE_BYTES - 1 }, (_, k) => ({ path: `data${k}.txt`, content: `${i}-${k}`.padEnd(MAX_FILE_BYTES - 64, 'x') })),
    ]),
  },
  {
    name: 'distinct invalid specs with a 4 MiB file', calls: 1_000, severity: Severity.SEVERITY_FATAL, target: 512,
    make: (i) => app(i, [{ path: 'app.py', content: `print(${i})\n`.padEnd(4 * MiB, 'x') }]),
  },
];

/** In MiB. */
function rssOf(pid: number): { rss: number; hwm: number } {
  const { rss, hwm } = memoryOf(pid);
  return { rss: rss / MiB, hwm: hwm / MiB };
}

async function row(r: (typeof ROWS)[number]) {
  const pki = makePki();
  const fn = await startFunction(['--tls-certs-dir', pki.serverDir, '--max-recv-message-size', '16'], {}, undefined, { image: true });
  const client = new RawClient(fn.address, mtlsCredentials(pki.ca, pki.client), { 'grpc.max_receive_message_length': 64 * MiB, 'grpc.max_send_message_length': 64 * MiB });
  const calls = Math.max(1, Math.round(r.calls * scale));
  const started = Date.now();
  let next = 0;
  let wrong = 0;
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(rssOf(fn.child.pid!).rss), 200);
  const worker = async () => {
    while (next < calls) {
      const i = next++;
      const bytes = await new Promise<Buffer>((res, rej) => client.runFunction(r.make(i), (e, b) => (e ? rej(e) : res(b!))));
      // Every answer is checked: the right severity for what was sent.
      const results = RunFunctionResponse.decode(bytes).results;
      const fatal = results.some((x) => x.severity === Severity.SEVERITY_FATAL);
      if (fatal !== (r.severity === Severity.SEVERITY_FATAL)) wrong++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  clearInterval(sampler);
  const { rss, hwm } = rssOf(fn.child.pid!);
  const seconds = (Date.now() - started) / 1000;
  client.close();
  await fn.stop();
  if (wrong > 0) throw new Error(`${r.name}: ${wrong} of ${calls} answers had the wrong severity`);
  return { ...r, calls, seconds, peak: hwm, end: rss, median: samples.sort((a, b) => a - b)[samples.length >> 1] ?? rss };
}

const results = [];
for (const r of ONLY === undefined ? ROWS : [ROWS[ONLY]]) {
  const res = await row(r);
  console.log(`${res.name}: ${res.calls} calls in ${res.seconds.toFixed(1)} s, peak RSS ${res.peak.toFixed(0)} MiB (target ≤ ${res.target}), at the end ${res.end.toFixed(0)} MiB`);
  results.push(res);
}

const table = [
  '## Memory under distinct inputs',
  '',
  `Generated by \`tsx bench/memory.ts${scale === 1 ? '' : ` ${scale}`}\` (part of \`make bench\`), ${new Date().toISOString().slice(0, 10)}. Each row: a fresh`,
  'function process over mTLS as its image runs it (compiled by tsc, `build/src/functions/main.js`, no tsx), with the',
  'default `--cache-size` (64 MiB) and the image\'s V8 flags',
  `(\`${NODE_FLAGS.join(' ')}\`), answering every call of the row`,
  `at concurrency ${CONCURRENCY}, each request different from all others (no cache can serve one); every answer is checked`,
  'for its severity. RSS from /proc: the peak (VmHWM) and what is left at the end.',
  '',
  '| inputs | calls | time | peak RSS | target | RSS at the end |',
  '|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.name} | ${r.calls.toLocaleString('en')} | ${r.seconds.toFixed(1)} s | **${r.peak.toFixed(0)} MiB** | ≤ ${r.target} MiB | ${r.end.toFixed(0)} MiB |`),
  '',
].join('\n');
const file = join(ROOT, 'bench/RESULTS.md');
const text = readFileSync(file, 'utf8');
const [open, close] = ['<!-- memory -->', '<!-- end of memory -->'];
const block = `${open}\n${table}${close}`;
// After bench/function.ts's marker: the part of RESULTS.md that function.ts keeps as it is.
const marker = '<!-- end of make bench -->';
writeFileSync(file, text.includes(open)
  ? text.replace(new RegExp(`${open}[\\s\\S]*?${close}`), block)
  : text.replace(marker, `${marker}\n\n${block}`));
console.log('wrote the memory table to bench/RESULTS.md');
