// The direct request decoder (src/functions/protocol/decode.ts) must give what the SDK's generated
// decoder gives, for real requests, for every shape a Struct can take, and for broken bytes.
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { RunFunctionRequest } from '@crossplane-org/function-sdk-typescript';
import { decodeRequest } from '../src/functions/protocol/decode.js';
import { CASES } from '../bench/requests.js';
import { appRequired, exampleApp, exampleTenant, request } from './helpers/fixtures.js';
import { Random } from './helpers/random.js';

const encode = (req: RunFunctionRequest) => RunFunctionRequest.encode(req).finish();

/** Both decoders on the same bytes: equal requests, or both refuse. Returns what ours gave. */
function same(bytes: Uint8Array): RunFunctionRequest | Error {
  const outcome = (f: () => RunFunctionRequest) => {
    try {
      return f();
    } catch (err) {
      return err as Error;
    }
  };
  const theirs = outcome(() => RunFunctionRequest.decode(bytes));
  const ours = outcome(() => decodeRequest(bytes));
  if (theirs instanceof Error) expect(ours).toBeInstanceOf(Error);
  else expect(ours).toEqual(theirs);
  return ours;
}

/** A request with every field the proto has set, Structs included. */
function everything(rnd?: Random): RunFunctionRequest {
  const v = (depth: number) => (rnd ? rnd.value(depth) : { a: [1, 'x', null, true, { b: [] }] });
  const resource = () => ({ resource: { spec: v(4), status: v(2) }, connectionDetails: { password: Buffer.from('hunter2'), empty: Buffer.alloc(0) }, ready: 1 });
  return RunFunctionRequest.fromPartial({
    meta: { tag: 'täg', capabilities: [1, 2] },
    observed: { composite: resource(), resources: { a: resource(), '': resource() } },
    desired: { composite: resource(), resources: { b: resource() } },
    input: { apiVersion: 'x/v1', kind: 'In', spec: v(3) },
    context: { 'apiextensions.crossplane.io/environment': v(3) },
    extraResources: { tenant: { items: [resource(), resource()] }, none: { items: [] } },
    credentials: { creds: { credentialData: { data: { key: Buffer.from('secret') } } } },
    requiredResources: { namespace: { items: [resource()] } },
    requiredSchemas: { s: { openapiV3: { type: 'object' } } },
  });
}

describe('decodeRequest', () => {
  test.each(Object.keys(CASES))('the %s request decodes as the generated decoder decodes it', (name) => {
    const req = CASES[name as keyof typeof CASES]();
    expect(same(encode(req))).toEqual(req);
  });

  test('the example App with its tenant, and a request with every field set', () => {
    const app = exampleApp();
    same(encode(request({ composite: app, required: appRequired(app, exampleTenant()) })));
    const ours = same(encode(everything())) as RunFunctionRequest;
    expect(ours.credentials.creds.credentialData!.data.key.toString()).toBe('secret');
    expect(ours.extraResources.tenant.items).toHaveLength(2);
    expect(ours.requiredSchemas.s.openapiV3).toEqual({ type: 'object' });
    expect(ours.observed!.resources[''].connectionDetails.password.toString()).toBe('hunter2');
    expect(ours.observed!.resources[''].connectionDetails.empty).toEqual(Buffer.alloc(0));
  });

  test('1,000 random requests', () => {
    const rnd = new Random(11);
    for (let i = 0; i < 1000; i++) same(encode(everything(rnd)));
  });

  test('5,000 corrupted requests: the same request, or both refuse', () => {
    const rnd = new Random(12);
    const base = [encode(everything(new Random(3))), ...Object.values(CASES).map((c) => encode(c()))];
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const bytes = Buffer.from(rnd.pick(base));
      for (let n = 1 + rnd.int(3); n > 0; n--) {
        const at = rnd.int(bytes.length);
        if (rnd.int(2) === 0) bytes[at] = rnd.int(256);
        else bytes[at] ^= 1 << rnd.int(8);
      }
      const cut = rnd.int(4) === 0 ? bytes.subarray(0, rnd.int(bytes.length)) : bytes;
      if (same(cut) instanceof Error) refused++;
    }
    // Both kinds of outcome were exercised.
    expect(refused).toBeGreaterThan(100);
    expect(refused).toBeLessThan(4900);
  });

  test('the quirks: last value wins, empty Values, __proto__ keys, wrong wire types, tag 0, several kinds in one Value', () => {
    const struct = new BinaryWriter();
    const entry = (key: string, value: (v: BinaryWriter) => void) => {
      const e = new BinaryWriter().tag(1, WireType.LengthDelimited).string(key);
      const v = new BinaryWriter();
      value(v);
      e.tag(2, WireType.LengthDelimited).bytes(v.finish());
      struct.tag(1, WireType.LengthDelimited).bytes(e.finish());
    };
    entry('dup', (v) => v.tag(3, WireType.LengthDelimited).string('first'));
    entry('dup', (v) => v.tag(3, WireType.LengthDelimited).string('second'));
    entry('empty', () => {});
    entry('__proto__', (v) => v.tag(5, WireType.LengthDelimited).bytes(new Uint8Array()));
    entry('both', (v) => v.tag(4, WireType.Varint).bool(true).tag(3, WireType.LengthDelimited).string('str wins'));
    entry('nul', (v) => v.tag(1, WireType.Varint).int32(7));
    entry('wrongwire', (v) => v.tag(3, WireType.Varint).uint32(5));
    entry('list', (v) => v.tag(6, WireType.LengthDelimited).bytes(new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(new Uint8Array()).finish()));
    const resource = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(struct.finish()).tag(3, WireType.Varint).int32(-1);
    const state = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(resource.finish());
    const w = new BinaryWriter().tag(2, WireType.LengthDelimited).bytes(state.finish());
    w.tag(4, WireType.Varint).uint32(1); // input with the wrong wire type: skipped
    w.tag(99, WireType.Bit32).fixed32(1); // unknown field
    w.tag(1, WireType.LengthDelimited).bytes(new BinaryWriter().tag(1, WireType.LengthDelimited).string('the-tag').finish());
    const ours = same(w.finish()) as RunFunctionRequest;
    expect(ours.observed!.composite!.resource).toEqual({ dup: 'second', both: 'str wins', nul: null, list: [undefined] });
    expect(Object.getPrototypeOf(ours.observed!.composite!.resource)).toBe(Object.prototype);
    expect(ours.observed!.composite!.ready).toBe(-1);
    expect(ours.meta!.tag).toBe('the-tag');
    expect(ours.input).toBeUndefined();
    // A zero tag ends the message, as in the generated decoder.
    same(Buffer.concat([encode(CASES.app()).subarray(0, 40), Buffer.from([0, 18, 2, 10, 0])]));
  });

  test('bytes of a whole object that come again give the same frozen object; other bytes, or a deeper place, decode anew', () => {
    // Bytes never seen before: decoded, and not kept (Crossplane's rarely come twice).
    const fresh = CASES.app();
    (fresh.observed!.composite!.resource!.metadata as { name: string }).name = 'seen-once';
    const once = decodeRequest(encode(fresh)).observed!.composite!.resource!;
    expect(Object.isFrozen(once)).toBe(false);
    // The second time they are kept, and from then on handed out.
    const second = decodeRequest(encode(fresh)).observed!.composite!.resource!;
    expect(second).not.toBe(once);
    expect(second).toEqual(once);
    expect(decodeRequest(encode(fresh)).observed!.composite!.resource).toBe(second);

    decodeRequest(encode(CASES.app())); // seen at least once, whichever tests ran before
    const first = decodeRequest(encode(CASES.app()));
    const again = decodeRequest(encode(CASES.app()));
    const xr = first.observed!.composite!.resource!;
    expect(again.observed!.composite!.resource).toBe(xr);
    expect(again.requiredResources).toEqual(first.requiredResources);
    // Frozen all the way down: no render can change what the next one is given.
    expect(Object.isFrozen(xr) && Object.isFrozen(xr.spec) && Object.isFrozen((xr.spec as { files: unknown[] }).files[0])).toBe(true);
    const edited = CASES.app();
    (edited.observed!.composite!.resource!.spec as { files: { content: string }[] }).files[0].content += '\n';
    const other = same(encode(edited)) as RunFunctionRequest;
    expect(other.observed!.composite!.resource).not.toBe(xr);
    expect(other.observed!.composite!.resource).toEqual(edited.observed!.composite!.resource);

    // 32 nested objects decode as the input, two messages up, and the same bytes as an observed
    // resource pass the limit: the kept object must not be handed out there.
    let deep: unknown = 'bottom'.repeat(60);
    for (let i = 0; i < 32; i++) deep = { d: deep };
    const spec = { spec: deep as Record<string, unknown> };
    expect(same(encode(RunFunctionRequest.fromPartial({ input: spec })))).not.toBeInstanceOf(Error);
    expect(same(encode(RunFunctionRequest.fromPartial({ observed: { composite: { resource: spec, connectionDetails: {}, ready: 0 } } })))).toBeInstanceOf(Error);
  });

  test('fields come out in key order, in whatever order they were sent: the same object is the same JSON every time', () => {
    // Go marshals a map in random order: Crossplane sends the same XR in a new order on each call.
    const reversed = (v: unknown): unknown => Array.isArray(v) ? v.map(reversed)
      : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)])) : v;
    const req = CASES.app();
    const other = RunFunctionRequest.fromPartial(reversed(JSON.parse(JSON.stringify(req))) as RunFunctionRequest);
    const [a, b] = [encode(req), encode(other)];
    expect(Buffer.compare(a, b)).not.toBe(0);
    expect(a.length).toBe(b.length);
    const [x, y] = [same(a) as RunFunctionRequest, same(b) as RunFunctionRequest];
    // Struct fields, that is; the request's own maps (required resources by name) are read into
    // records that nothing keys a memo by.
    for (const part of ['observed', 'desired', 'input'] as const) expect(JSON.stringify(y[part])).toBe(JSON.stringify(x[part]));
    for (const name of ['namespace', 'tenant-acme']) expect(JSON.stringify(y.requiredResources[name])).toBe(JSON.stringify(x.requiredResources[name]));
    const xr = y.observed!.composite!.resource as Record<string, Record<string, unknown>>;
    for (const o of [xr, xr.metadata, xr.spec]) expect(Object.keys(o)).toEqual(Object.keys(o).sort());
  });

  test('nesting refused at the same depth, with the same words', () => {
    // The limit falls between 31 and 32 nested objects in a composed resource: both sides of it, for both decoders.
    const refused = [29, 30, 31, 32, 33].map((levels) => {
      let deep: unknown = 'bottom';
      for (let i = 0; i < levels; i++) deep = { d: deep };
      const outcome = same(encode(RunFunctionRequest.fromPartial({ observed: { composite: { resource: { spec: deep as Record<string, unknown> }, connectionDetails: {}, ready: 0 } } })));
      if (outcome instanceof Error) expect(outcome.message).toBe('protobuf decode recursion limit exceeded');
      return outcome instanceof Error;
    });
    expect(refused).toEqual([false, false, false, true, true]);
    let deep: unknown = 'bottom';
    for (let i = 0; i < 50; i++) deep = [deep];
    expect(same(encode(RunFunctionRequest.fromPartial({ input: { deep: deep as unknown[] } })))).toBeInstanceOf(Error);
  });
});
