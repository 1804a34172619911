// The benchmark's baseline: a bare function on the official SDK that returns the desired
// state untouched (the SDK's own `to(req)`), served over the same mTLS as aerogrid.
// Usage: tsx bench/baseline-server.ts ADDRESS CERTS_DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { FunctionRunner, getServer, to } from '@crossplane-org/function-sdk-typescript';
import { pino } from 'pino';

const [address, certs] = process.argv.slice(2);
const logger = pino({ level: 'warn' });
const server = getServer(new FunctionRunner({ RunFunction: async (req) => to(req) }, logger), logger);
const creds = grpc.ServerCredentials.createSsl(
  readFileSync(join(certs, 'ca.crt')),
  [{ cert_chain: readFileSync(join(certs, 'tls.crt')), private_key: readFileSync(join(certs, 'tls.key')) }],
  true,
);
server.bindAsync(address, creds, (err) => {
  if (err) {
    console.error(err.message);
    process.exit(1);
  }
  console.log('{"msg":"serving"}');
});
process.once('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
