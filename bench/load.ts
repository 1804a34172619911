// The load generator, in its own process: drives RunFunction at a given concurrency over
// mTLS and prints one JSON line of latencies (µs) and throughput.
// Usage: tsx bench/load.ts ADDRESS PKI_DIR CASE CONCURRENCY REQUESTS
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, mtlsCredentials, FunctionRunnerServiceClient } from '../scripts/lib/function.js';
import { benchRequest } from './requests.js';

const [address, pki, name, concurrency, total] = process.argv.slice(2);
const client = new FunctionRunnerServiceClient(address, mtlsCredentials(readFileSync(join(pki, 'ca.crt')), {
  cert: readFileSync(join(pki, 'client.crt')), key: readFileSync(join(pki, 'client.key')),
}));
const req = benchRequest(name);
const n = Number(total);
for (let i = 0; i < 300; i++) await call(client, req); // warm-up: connection, JIT
const latencies: number[] = [];
let next = 0;
const started = process.hrtime.bigint();
await Promise.all(Array.from({ length: Number(concurrency) }, async () => {
  while (next++ < n) {
    const t = process.hrtime.bigint();
    await call(client, req);
    latencies.push(Number(process.hrtime.bigint() - t) / 1000);
  }
}));
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
console.log(JSON.stringify({ p50: q(0.5), p99: q(0.99), rps: latencies.length / seconds }));
client.close();
