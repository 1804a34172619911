// ghz (pinned in scripts/tools.sh) and the method description it needs, for bench/function.ts and
// bench/scale.ts. The message types are declared empty: every field of the request and of the
// response is an unknown field to ghz, so the request bytes are sent as they are and the response
// is received whole but not decoded (ghz spends no time on the Structs).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../scripts/lib/net.js';

export const GHZ = execFileSync('bash', [join(ROOT, 'scripts/tools.sh'), 'path', 'ghz'], { encoding: 'utf8' }).trim();
export const RUN_FUNCTION = 'apiextensions.fn.proto.v1.FunctionRunnerService/RunFunction';

/** Writes the empty-message proto into `dir`; returns its path (ghz's --proto). */
export function writeGhzProto(dir: string): string {
  const path = join(dir, 'fn.proto');
  writeFileSync(path, `syntax = "proto3";
package apiextensions.fn.proto.v1;
message RunFunctionRequest {}
message RunFunctionResponse {}
service FunctionRunnerService { rpc RunFunction(RunFunctionRequest) returns (RunFunctionResponse); }
`);
  return path;
}
