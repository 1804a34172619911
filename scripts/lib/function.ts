// Spawns the real function process (bin/aerogrid-function.js) and talks to it with the
// gRPC client generated from Crossplane's upstream run_function.proto (the SDK's bindings).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { FunctionRunnerServiceService, RunFunctionRequest, type RunFunctionResponse } from '@crossplane-org/function-sdk-typescript';
import { AEROGRID_IMAGE } from '../../src/compositions/packages.js';
import { ROOT, freePort } from './net.js';

export { ROOT, freePort };
const BIN = resolve(ROOT, 'bin', 'aerogrid-function.js');
const COMPILED = resolve(ROOT, 'build', 'src', 'functions', 'main.js');
let compiled = false;

/**
 * The function as its image runs it: compiled to JavaScript by tsc (tsconfig.build.json, into
 * build/, once per process) and started without tsx. bin/aerogrid-function.js runs the TypeScript
 * through tsx, for development; tsx's loader and its compiled modules cost about 34 MiB of RSS
 * (119 MiB idle against 85), which the memory figures must not include.
 */
export function compiledFunction(): string {
  if (!compiled) {
    const r = spawnSync(resolve(ROOT, 'node_modules/.bin/tsc'), ['-p', resolve(ROOT, 'tsconfig.build.json')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed:\n${r.stdout}${r.stderr}`);
    compiled = true;
  }
  return COMPILED;
}

/**
 * The V8 flag the function image runs with (AEROGRID_IMAGE, dist/function/Dockerfile): young-generation
 * semi-spaces of 8 MiB instead of 16 keep short-lived garbage smaller, at no cost to throughput
 * (same-run A/B against the previous release: 0.95 with it, 0.95 without). A heap limit
 * (--max-old-space-size=512) kept RSS lower still, but cost the warm App 19 to 25% of its
 * throughput, so memory.ts asks for a full collection over a target instead.
 */
export const NODE_FLAGS = AEROGRID_IMAGE.function.entrypoint.filter((a) => a.startsWith('--'));

export interface FunctionProcess {
  child: ChildProcess;
  address: string;
  metricsPort: number;
  logs: () => string;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the function and resolves once it logs that it is serving (or rejects with its output);
 * `image`: the compiled JavaScript, as the function's image runs it (compiledFunction); `host`:
 * the loopback address to listen on (replicas of one function each take their own, 127.0.0.N).
 */
export async function startFunction(args: string[], env: NodeJS.ProcessEnv = {}, grpcPort?: number, { image = false, host = '127.0.0.1' } = {}): Promise<FunctionProcess> {
  const port = grpcPort ?? (await freePort());
  const metricsPort = await freePort();
  const child = spawn(process.execPath, [...NODE_FLAGS, image ? compiledFunction() : BIN, '--address', `${host}:${port}`, '--metrics-address', `127.0.0.1:${metricsPort}`, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  await new Promise<void>((res, rej) => {
    const check = setInterval(() => {
      if (out.includes('"msg":"serving"')) {
        clearInterval(check);
        res();
      }
    }, 20);
    exited.then((code) => {
      clearInterval(check);
      rej(new Error(`function exited with ${code} before serving:\n${out}`));
    });
  });
  return {
    child,
    address: `${host}:${port}`,
    metricsPort,
    logs: () => out,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** The client the SDK generates from upstream run_function.proto (its index exports the service, not the class). */
export interface FunctionRunnerServiceClient extends grpc.Client {
  runFunction(req: RunFunctionRequest, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, rsp?: RunFunctionResponse) => void): grpc.ClientUnaryCall;
}
type ClientClass = new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ClientOptions) => FunctionRunnerServiceClient;

export const FunctionRunnerServiceClient = grpc.makeGenericClientConstructor(
  FunctionRunnerServiceService, 'apiextensions.fn.proto.v1.FunctionRunnerService',
) as unknown as ClientClass;

export const FunctionRunnerServiceV1beta1Client = grpc.makeGenericClientConstructor(
  { runFunction: { ...FunctionRunnerServiceService.runFunction, path: '/apiextensions.fn.proto.v1beta1.FunctionRunnerService/RunFunction' } },
  'apiextensions.fn.proto.v1beta1.FunctionRunnerService',
) as unknown as ClientClass;

export function mtlsCredentials(ca: Buffer, client?: { cert: Buffer; key: Buffer }): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(ca, client?.key ?? null, client?.cert ?? null);
}

export function call(client: FunctionRunnerServiceClient, req: Partial<RunFunctionRequest>, deadlineMs = 10000): Promise<RunFunctionResponse> {
  return new Promise((res, rej) => {
    client.runFunction(RunFunctionRequest.fromPartial(req), new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, rsp) => (err ? rej(err) : res(rsp!)));
  });
}
