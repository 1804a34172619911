// A direct decoder for RunFunctionRequest. The SDK's generated decoder reads every JSON value
// of a google.protobuf.Struct into a Value message and every object into a Struct of entry
// messages, then unwraps them into plain JSON, and decodes each string through a Uint8Array
// view and a TextDecoder. Measured under load, that came to about a third of all the memory
// a call allocates, and so of the young-generation GC pauses that stall every call in flight.
// This decoder reads the Structs (the observed and desired resources, the input, the context,
// the required and extra resources) straight into plain JSON, in one pass, with Buffer's own
// string decoding. Credentials and required schemas go through the generated decoders of
// those messages, from the same reader.
//
// It gives what the generated decoder gives, field for field, for any bytes, including its
// quirks: the last of a repeated field wins, an empty Value is undefined, a field of the wrong
// wire type is skipped, a zero tag ends a message, and nesting of 100 messages is refused with
// the same error. test/decode.test.ts checks that against the generated decoder.
//
// Crossplane sends the same objects again and again: the XR on every poll, the tenant it
// reads, the composed resources that did not change. Their fields come in a new order each
// time (Go's maps), so they are decoded into objects with sorted keys: the same object has the
// same shape and the same JSON, which the validation memo is keyed by. The Structs of whole
// objects (a resource, the input, the context) that come again as the same bytes, as from a
// client that marshals deterministically, give the object decoded before, frozen, and the
// validation and the renderers find what they made of it by its identity. Nothing in the
// function changes what the request holds.
import { hash } from 'node:crypto';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { Credentials, Schema, type Resource, type RunFunctionRequest, type State } from '@crossplane-org/function-sdk-typescript';
import { HEAP_FACTOR, Memo, SHARES } from '../../api/memo.js';

type Json = unknown;
type Resources = { items: Resource[] };
type Meta = NonNullable<RunFunctionRequest['meta']>;

/** The generated decoder's limit on nested messages. */
const MAX_DEPTH = 100;

/** Node's Buffer has these fast readers; @types/node does not declare them. */
interface FastBuffer extends Buffer {
  utf8Slice(start: number, end: number): string;
}

/** Smaller Structs are decoded each time: looking them up costs about what decoding them does. */
const KEEP_FROM = 256;
/**
 * What was decoded from a Struct's bytes, and the nesting depth it was decoded at: deeper,
 * the same bytes could pass the depth limit, so they are decoded again to find out.
 */
interface Kept {
  obj: Record<string, Json>;
  depth: number;
}
/**
 * Keyed by the SHA-256 of the bytes: at most 4,096 objects, within its share of the cache budget,
 * counting the object decoded from them as HEAP_FACTOR times their length.
 */
const KEPT = new Memo<Kept>(4096, SHARES.decoded);
/**
 * The digests of bytes seen once. Real Crossplane never sends the same bytes twice for an object
 * with more than one field (Go marshals maps in random order), and kept, such an object would only
 * push out another and be collected later: two minutes of a scale run's steady state filled KEPT
 * with objects never asked for again. So an object is kept the second time its bytes come, which
 * is every time after the first for a client that marshals deterministically (ghz, the SDKs' own
 * tests, `crossplane render` with the same inputs).
 */
const SEEN = new Memo<true>(16384, SHARES.seen);
const SEEN_BYTES = 64;

class Decoder {
  private depth = 1;
  private readonly r: BinaryReader;

  constructor(private readonly buf: FastBuffer) {
    this.r = new BinaryReader(buf);
  }

  /** Starts a nested message whose length comes next; returns where it ends. */
  private enter(): number {
    if (this.depth >= MAX_DEPTH) throw new Error('protobuf decode recursion limit exceeded');
    this.depth++;
    const length = this.r.uint32();
    return this.r.pos + length;
  }

  /** Skips a field the message does not read; false when the tag ends the message. */
  private skip(tag: number): boolean {
    if ((tag & 7) === WireType.EndGroup || tag === 0) return false;
    this.r.skip(tag & 7);
    return true;
  }

  private string(): string {
    const r = this.r;
    const length = r.uint32();
    const start = r.pos;
    r.pos += length;
    if (r.pos > r.len) throw new RangeError('premature EOF');
    return this.buf.utf8Slice(start, r.pos);
  }

  /** A whole object's Struct: decoded once for the same bytes, frozen. */
  private object(): Record<string, Json> {
    const r = this.r;
    const start = r.pos;
    const length = r.uint32();
    const body = r.pos;
    const end = body + length;
    if (length < KEEP_FROM || end > r.len) {
      r.pos = start;
      return this.struct();
    }
    const key = hash('sha256', this.buf.subarray(body, end), 'base64');
    const kept = KEPT.find(key);
    if (kept !== undefined && this.depth <= kept.depth) {
      r.pos = end;
      return kept.obj;
    }
    r.pos = start;
    const depth = this.depth;
    const obj = this.struct();
    // Kept only if decoding read exactly these bytes: a zero tag can end a Struct early, and a
    // field can run past its end, and then what follows depends on more than these bytes.
    if (r.pos !== end) return obj;
    // And only bytes seen before: see SEEN.
    if (SEEN.find(key) === undefined) {
      SEEN.keep(key, true, SEEN_BYTES);
      return obj;
    }
    return KEPT.keep(key, { obj, depth }, HEAP_FACTOR * length).obj;
  }

  private struct(): Record<string, Json> {
    const r = this.r;
    const end = this.enter();
    const keys: string[] = [];
    const values: Json[] = [];
    let sorted = true;
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag === 10) {
        // A fields entry: key 1, value 2. Read here rather than through entry(): its closure per
        // field made the first version of this decoder no faster than the generated one.
        const entryEnd = this.enter();
        let key = '';
        let value: Json;
        while (r.pos < entryEnd) {
          const t = r.uint32();
          if (t === 10) key = this.string();
          else if (t === 18) value = this.value();
          else if (!this.skip(t)) break;
        }
        this.depth--;
        if (sorted && keys.length > 0 && key < keys[keys.length - 1]) sorted = false;
        keys.push(key);
        values.push(value);
      } else if (!this.skip(tag)) {
        break;
      }
    }
    this.depth--;
    return objectOf(keys, values, sorted ? undefined : keyOrder(keys));
  }

  private value(): Json {
    const r = this.r;
    const end = this.enter();
    let nul: number | undefined;
    let num: number | undefined;
    let str: string | undefined;
    let bool: boolean | undefined;
    let struct: Record<string, Json> | undefined;
    let list: Json[] | undefined;
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag === 26) str = this.string();
      else if (tag === 42) struct = this.struct();
      else if (tag === 17) num = r.double();
      else if (tag === 32) bool = r.bool();
      else if (tag === 50) list = this.list();
      else if (tag === 8) nul = r.int32();
      else if (!this.skip(tag)) break;
    }
    this.depth--;
    // When more than one kind is set, the generated unwrap prefers them in this order.
    if (str !== undefined) return str;
    if (num !== undefined) return num;
    if (bool !== undefined) return bool;
    if (struct !== undefined) return struct;
    if (list !== undefined) return list;
    if (nul !== undefined) return null;
    return undefined;
  }

  private list(): Json[] {
    const r = this.r;
    const end = this.enter();
    const values: Json[] = [];
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag === 10) values.push(this.value());
      else if (!this.skip(tag)) break;
    }
    this.depth--;
    return values;
  }

  private resource(): Resource {
    const r = this.r;
    const end = this.enter();
    const resource: Resource = { resource: undefined, connectionDetails: {}, ready: 0 };
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag === 10) {
        resource.resource = this.object();
      } else if (tag === 18) {
        const entryEnd = this.enter();
        // bytes default to empty: an entry without a value still adds its key.
        let key = '';
        let value = Buffer.alloc(0);
        while (r.pos < entryEnd) {
          const t = r.uint32();
          if (t === 10) key = this.string();
          else if (t === 18) value = Buffer.from(r.bytes());
          else if (!this.skip(t)) break;
        }
        this.depth--;
        setEntry(resource.connectionDetails, key, value);
      } else if (tag === 24) {
        resource.ready = r.int32();
      } else if (!this.skip(tag)) {
        break;
      }
    }
    this.depth--;
    return resource;
  }

  private state(): State {
    const r = this.r;
    const end = this.enter();
    const state: State = { composite: undefined, resources: {} };
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag === 10) state.composite = this.resource();
      else if (tag === 18) this.entry(state.resources, () => this.resource());
      else if (!this.skip(tag)) break;
    }
    this.depth--;
    return state;
  }

  private resources(): Resources {
    const r = this.r;
    const end = this.enter();
    const out: Resources = { items: [] };
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag === 10) out.items.push(this.resource());
      else if (!this.skip(tag)) break;
    }
    this.depth--;
    return out;
  }

  /** A map<string, message> entry: key 1, value 2; an entry without a value adds nothing. */
  private entry<T>(into: Record<string, T>, read: () => T): void {
    const r = this.r;
    const end = this.enter();
    let key = '';
    let value: T | undefined;
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag === 10) key = this.string();
      else if (tag === 18) value = read();
      else if (!this.skip(tag)) break;
    }
    this.depth--;
    setEntry(into, key, value);
  }

  private meta(): Meta {
    const r = this.r;
    const end = this.enter();
    const meta: Meta = { tag: '', capabilities: [] };
    while (r.pos < end) {
      const tag = r.uint32();
      if (tag === 10) {
        meta.tag = this.string();
      } else if (tag === 16) {
        meta.capabilities.push(r.int32());
      } else if (tag === 18) {
        // Packed.
        const packedEnd = r.uint32() + r.pos;
        while (r.pos < packedEnd) meta.capabilities.push(r.int32());
      } else if (!this.skip(tag)) {
        break;
      }
    }
    this.depth--;
    return meta;
  }

  /** A message left to its generated decoder, read from the same reader at the same depth. */
  private generated<T>(decode: (reader: BinaryReader, length: number) => T): T {
    const r = this.r as BinaryReader & { __tsProtoDecodeDepth?: number };
    r.__tsProtoDecodeDepth = this.depth;
    return decode(r, r.uint32());
  }

  request(): RunFunctionRequest {
    const r = this.r;
    const req: RunFunctionRequest = {
      meta: undefined, observed: undefined, desired: undefined, input: undefined, context: undefined,
      extraResources: {}, credentials: {}, requiredResources: {}, requiredSchemas: {},
    };
    while (r.pos < r.len) {
      const tag = r.uint32();
      switch (tag) {
        case 10: req.meta = this.meta(); continue;
        case 18: req.observed = this.state(); continue;
        case 26: req.desired = this.state(); continue;
        case 34: req.input = this.object(); continue;
        case 42: req.context = this.object(); continue;
        case 50: this.entry(req.extraResources, () => this.resources()); continue;
        case 58: this.entry(req.credentials, () => this.generated(Credentials.decode)); continue;
        case 66: this.entry(req.requiredResources, () => this.resources()); continue;
        case 74: this.entry(req.requiredSchemas, () => this.generated(Schema.decode)); continue;
      }
      if (!this.skip(tag)) break;
    }
    return req;
  }
}

/** The object of these fields, in the order given (the wire's when none is); the last of a repeated key wins. */
function objectOf(keys: string[], values: Json[], order?: number[]): Record<string, Json> {
  const obj: Record<string, Json> = {};
  for (let j = 0; j < keys.length; j++) {
    const i = order ? order[j] : j;
    setEntry(obj, keys[i], values[i]);
  }
  return obj;
}

/**
 * The fields' indexes in sorted key order. Go marshals a map in random order, so Crossplane sends
 * the same object with its fields in a new order on every call (two polls of one App: the same
 * 21,622 bytes, in another order). Built in wire order, each would be an object of a new shape: V8
 * makes a hidden class for every order it sees, and an object's JSON, which the validation memo is
 * keyed by, would differ from call to call. In key order, the same object is built the same way
 * every time. The sort is stable: of a repeated key, the last still wins.
 */
function keyOrder(keys: string[]): number[] {
  return keys.map((_, i) => i).sort((a, b) => (keys[a] < keys[b] ? -1 : keys[a] > keys[b] ? 1 : a - b));
}

/**
 * The generated decoder assigns map entries and Struct fields into plain objects, where an
 * undefined value is not kept and __proto__ never becomes an own key.
 */
function setEntry<T>(into: Record<string, T>, key: string, value: T | undefined): void {
  if (value !== undefined && key !== '__proto__') into[key] = value;
}

/** RunFunctionRequest from protobuf bytes; the same request as the generated decoder's. */
export function decodeRequest(bytes: Uint8Array): RunFunctionRequest {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return new Decoder(buf as FastBuffer).request();
}
