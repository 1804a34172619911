// A direct encoder for RunFunctionResponse. The SDK's generated encoder turns every JSON
// value of a google.protobuf.Struct into a wrapper object and encodes each nested message
// into a forked buffer that is copied into its parent on join: for an App's ~7 composed
// objects, that was the largest single cost of a call. This encoder writes the same bytes
// in two passes over the plain objects: the first measures every nested message (in
// pre-order), the second writes into one buffer of the exact size.
//
// The small fields (meta, results, requirements, conditions) are written the same way, field
// for field as the generated encoder writes them: proto3 strings and enums are left out when
// empty or zero, `optional` ones when undefined. test/wire.test.ts checks byte equality with the
// generated encoder.
import type { Condition, Requirements, ResourceSelector, Result, RunFunctionResponse, Resource, State } from '@crossplane-org/function-sdk-typescript';
import { isDeeplyFrozen } from '../../api/memo.js';

type Json = unknown;
type ResponseMeta = NonNullable<RunFunctionResponse['meta']>;

/** Field tags: (field number << 3) | wire type. */
const LEN = 2;
const tag = (field: number, wire: number) => (field << 3) | wire;
const T_KEY = tag(1, LEN);
const T_VALUE = tag(2, LEN);
const T_NULL = tag(1, 0);
const T_NUMBER = tag(2, 1);
const T_STRING = tag(3, LEN);
const T_BOOL = tag(4, 0);
const T_STRUCT = tag(5, LEN);
const T_LIST = tag(6, LEN);
const T_LIST_ITEM = tag(1, LEN);

const varintSize = (n: number) => (n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5);
/** A length-delimited field: tag, length, body. All tags here are below 16, so one byte. */
const delimited = (body: number) => 1 + varintSize(body) + body;
/** Strings longer than this are measured and copied by Buffer's native code. */
const LONG = 64;

/** UTF-8 length of a string, as Buffer.byteLength counts it (a lone surrogate is U+FFFD, 3 bytes). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: two UTF-16 units, four bytes
      i++;
    } else n += 2;
  }
  return n;
}

/** int32 as protobuf writes it: negative numbers take ten bytes. */
const int32Size = (n: number) => (n < 0 ? 10 : varintSize(n));
/** int64 as protobuf writes it, from a JS number: two's complement in 64 bits. */
const int64Bits = (n: number) => BigInt.asUintN(64, BigInt(n));
function int64Size(n: number): number {
  if (n >= 0 && n < 0x10000000) return varintSize(n);
  let size = 1;
  for (let v = int64Bits(n) >> 7n; v > 0n; v >>= 7n) size++;
  return size;
}

/** Node's Buffer has these fast writers; @types/node does not declare them. */
interface FastBuffer extends Buffer {
  utf8Write(s: string, offset: number, length: number): number;
  latin1Write(s: string, offset: number, length: number): number;
}

class Encoder {
  /** Sizes of nested messages and UTF-8 lengths of strings, in the order the write pass needs them. */
  private readonly sizes: number[] = [];
  private next = 0;
  private buf = Buffer.alloc(0) as FastBuffer;
  private pos = 0;

  // ---- shared by both passes ----

  /** A proto3 string field: left out when empty. */
  private textSize(s: string): number {
    return s === '' ? 0 : delimited(this.stringSize(s));
  }

  private text(t: number, s: string) {
    if (s !== '') this.string(t, s);
  }

  /** An `optional` string field: left out only when undefined. */
  private optionalTextSize(s: string | undefined): number {
    return s === undefined ? 0 : delimited(this.stringSize(s));
  }

  private optionalText(t: number, s: string | undefined) {
    if (s !== undefined) this.string(t, s);
  }

  /** A proto3 enum or int32 field (a Result's severity, a Duration's nanos): left out when zero. */
  private enumSize(v: number): number {
    return v === 0 ? 0 : 1 + int32Size(v);
  }

  private enumField(t: number, v: number) {
    if (v === 0) return;
    this.byte(t);
    this.int32(v);
  }

  /** An `optional` enum field: left out only when undefined. */
  private optionalEnumSize(v: number | undefined): number {
    return v === undefined ? 0 : 1 + int32Size(v);
  }

  private optionalEnum(t: number, v: number | undefined) {
    if (v === undefined) return;
    this.byte(t);
    this.int32(v);
  }

  /** Reserves the slot a nested message's size goes in, before its inner sizes are pushed. */
  private slot(): number {
    return this.sizes.push(0) - 1;
  }

  /** A nested message's size, into the slot reserved for it; returns the field's size. */
  private close(slot: number, size: number): number {
    this.sizes[slot] = size;
    return delimited(size);
  }

  private head(t: number) {
    this.byte(t);
    this.varint(this.take());
  }

  /** A map<string, message> entry: key 1 (left out when empty), value 2 (when defined). */
  private entrySize<T>(key: string, value: T | undefined, size: (v: T) => number): number {
    const entry = this.slot();
    let n = this.textSize(key);
    if (value !== undefined) n += this.close(this.slot(), size.call(this, value));
    return this.close(entry, n);
  }

  private writeEntry<T>(t: number, key: string, value: T | undefined, write: (v: T) => void) {
    this.head(t);
    this.text(tag(1, LEN), key);
    if (value !== undefined) {
      this.head(tag(2, LEN));
      write.call(this, value);
    }
  }

  // ---- pass 1: sizes ----

  private stringSize(s: string): number {
    const n = s.length > LONG ? Buffer.byteLength(s, 'utf8') : utf8Length(s);
    this.sizes.push(n);
    return n;
  }

  private valueSize(v: Json): number {
    if (v === null) return 2;
    switch (typeof v) {
      case 'boolean':
        return 2;
      case 'number':
        return 9;
      case 'string':
        return delimited(this.stringSize(v));
      case 'undefined':
        return 0;
      case 'object':
        return this.close(this.slot(), Array.isArray(v) ? this.listSize(v) : this.structSize(v as Record<string, Json>));
      default:
        throw new Error(`Unsupported any value type: ${typeof v}`);
    }
  }

  private listSize(list: Json[]): number {
    let n = 0;
    for (const item of list) n += this.close(this.slot(), this.valueSize(item));
    return n;
  }

  structSize(obj: Record<string, Json>): number {
    let n = 0;
    for (const key in obj) {
      const v = obj[key];
      if (v === undefined) continue;
      // A fields entry: key 1, value 2.
      const entry = this.slot();
      const k = this.textSize(key);
      n += this.close(entry, k + this.close(this.slot(), this.valueSize(v)));
    }
    return n;
  }

  // ---- pass 2: bytes ----

  private byte(b: number) {
    this.buf[this.pos++] = b;
  }

  private varint(n: number) {
    while (n > 0x7f) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    this.buf[this.pos++] = n;
  }

  private int32(n: number) {
    if (n >= 0) return this.varint(n);
    // Sign-extended to 64 bits: low 32 bits as unsigned, then five bytes of ones.
    let lo = n >>> 0;
    for (let i = 0; i < 4; i++) {
      this.byte((lo & 0x7f) | 0x80);
      lo >>>= 7;
    }
    this.byte((lo & 0x0f) | 0x70 | 0x80);
    for (let i = 0; i < 4; i++) this.byte(0xff);
    this.byte(0x01);
  }

  private int64(n: number) {
    if (n >= 0 && n < 0x10000000) return this.varint(n);
    let v = int64Bits(n);
    while (v > 0x7fn) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  private take(): number {
    return this.sizes[this.next++];
  }

  private string(t: number, s: string) {
    const n = this.take();
    this.byte(t);
    this.varint(n);
    if (n === s.length) {
      // ASCII: one byte per character. Short strings are cheaper copied here than through Buffer.write.
      if (n > LONG) this.buf.latin1Write(s, this.pos, n);
      else for (let i = 0; i < n; i++) this.buf[this.pos + i] = s.charCodeAt(i);
      this.pos += n;
    } else {
      this.pos += this.buf.utf8Write(s, this.pos, n);
    }
  }

  private writeValue(v: Json) {
    if (v === null) {
      this.byte(T_NULL);
      this.byte(0);
      return;
    }
    switch (typeof v) {
      case 'boolean':
        this.byte(T_BOOL);
        this.byte(v ? 1 : 0);
        return;
      case 'number':
        this.byte(T_NUMBER);
        this.pos = this.buf.writeDoubleLE(v, this.pos);
        return;
      case 'string':
        this.string(T_STRING, v);
        return;
      case 'undefined':
        return;
      default:
        if (Array.isArray(v)) {
          this.head(T_LIST);
          this.writeList(v);
        } else {
          this.head(T_STRUCT);
          this.writeStruct(v as Record<string, Json>);
        }
    }
  }

  private writeList(list: Json[]) {
    for (const item of list) {
      this.head(T_LIST_ITEM);
      this.writeValue(item);
    }
  }

  writeStruct(obj: Record<string, Json>) {
    for (const key in obj) {
      const v = obj[key];
      if (v === undefined) continue;
      this.head(T_KEY); // Struct.fields entry, field 1
      this.text(T_KEY, key);
      this.head(T_VALUE);
      this.writeValue(v);
    }
  }

  /** A whole Struct on its own: the bytes of its fields. */
  struct(obj: Record<string, Json>): Buffer {
    this.buf = Buffer.allocUnsafe(this.structSize(obj)) as FastBuffer;
    this.writeStruct(obj);
    return this.buf;
  }

  // ---- RunFunctionResponse ----

  private resourceSize(r: Resource): number {
    let n = 0;
    if (r.resource !== undefined) n += this.close(this.slot(), encodedOnce(r.resource)?.length ?? this.structSize(r.resource));
    for (const key of Object.keys(r.connectionDetails)) {
      // proto3: an empty key or value is not written.
      const value = r.connectionDetails[key].length;
      n += this.close(this.slot(), this.textSize(key) + (value === 0 ? 0 : delimited(value)));
    }
    n += this.enumSize(r.ready);
    return n;
  }

  private writeResource(r: Resource) {
    if (r.resource !== undefined) {
      this.head(tag(1, LEN));
      const bytes = ENCODED.get(r.resource);
      if (bytes) {
        this.buf.set(bytes, this.pos);
        this.pos += bytes.length;
      } else {
        this.writeStruct(r.resource);
      }
    }
    for (const key of Object.keys(r.connectionDetails)) {
      const value = r.connectionDetails[key];
      this.head(tag(2, LEN));
      this.text(T_KEY, key);
      if (value.length === 0) continue;
      this.byte(T_VALUE);
      this.varint(value.length);
      this.buf.set(value, this.pos);
      this.pos += value.length;
    }
    this.enumField(tag(3, 0), r.ready);
  }

  private stateSize(s: State): number {
    let n = 0;
    if (s.composite !== undefined) n += this.close(this.slot(), this.resourceSize(s.composite));
    for (const key of Object.keys(s.resources)) n += this.entrySize(key, s.resources[key], this.resourceSize);
    return n;
  }

  private writeState(s: State) {
    if (s.composite !== undefined) {
      this.head(tag(1, LEN));
      this.writeResource(s.composite);
    }
    for (const key of Object.keys(s.resources)) this.writeEntry(tag(2, LEN), key, s.resources[key], this.writeResource);
  }

  // ---- the small messages ----

  private metaSize(m: ResponseMeta): number {
    let n = this.textSize(m.tag);
    if (m.ttl !== undefined) {
      const ttl = (m.ttl.seconds !== 0 ? 1 + int64Size(m.ttl.seconds) : 0) + this.enumSize(m.ttl.nanos);
      n += this.close(this.slot(), ttl);
    }
    return n;
  }

  private writeMeta(m: ResponseMeta) {
    this.text(tag(1, LEN), m.tag);
    if (m.ttl !== undefined) {
      this.head(tag(2, LEN));
      if (m.ttl.seconds !== 0) {
        this.byte(tag(1, 0));
        this.int64(m.ttl.seconds);
      }
      this.enumField(tag(2, 0), m.ttl.nanos);
    }
  }

  private resultSize(r: Result): number {
    return this.enumSize(r.severity) + this.textSize(r.message) + this.optionalTextSize(r.reason) + this.optionalEnumSize(r.target);
  }

  private writeResult(r: Result) {
    this.enumField(tag(1, 0), r.severity);
    this.text(tag(2, LEN), r.message);
    this.optionalText(tag(3, LEN), r.reason);
    this.optionalEnum(tag(4, 0), r.target);
  }

  private conditionSize(c: Condition): number {
    return this.textSize(c.type) + this.enumSize(c.status) + this.textSize(c.reason) + this.optionalTextSize(c.message) + this.optionalEnumSize(c.target);
  }

  private writeCondition(c: Condition) {
    this.text(tag(1, LEN), c.type);
    this.enumField(tag(2, 0), c.status);
    this.text(tag(3, LEN), c.reason);
    this.optionalText(tag(4, LEN), c.message);
    this.optionalEnum(tag(5, 0), c.target);
  }

  private selectorSize(s: ResourceSelector): number {
    let n = this.textSize(s.apiVersion) + this.textSize(s.kind) + this.optionalTextSize(s.matchName);
    if (s.matchLabels !== undefined) {
      const labels = this.slot();
      let inner = 0;
      for (const key of Object.keys(s.matchLabels.labels)) inner += this.close(this.slot(), this.textSize(key) + this.textSize(s.matchLabels.labels[key]));
      n += this.close(labels, inner);
    }
    return n + this.optionalTextSize(s.namespace);
  }

  private writeSelector(s: ResourceSelector) {
    this.text(tag(1, LEN), s.apiVersion);
    this.text(tag(2, LEN), s.kind);
    this.optionalText(tag(3, LEN), s.matchName);
    if (s.matchLabels !== undefined) {
      this.head(tag(4, LEN));
      for (const key of Object.keys(s.matchLabels.labels)) {
        this.head(tag(1, LEN));
        this.text(tag(1, LEN), key);
        this.text(tag(2, LEN), s.matchLabels.labels[key]);
      }
    }
    this.optionalText(tag(5, LEN), s.namespace);
  }

  private schemaSelectorSize(s: { apiVersion: string; kind: string }): number {
    return this.textSize(s.apiVersion) + this.textSize(s.kind);
  }

  private writeSchemaSelector(s: { apiVersion: string; kind: string }) {
    this.text(tag(1, LEN), s.apiVersion);
    this.text(tag(2, LEN), s.kind);
  }

  private requirementsSize(q: Requirements): number {
    let n = 0;
    for (const key of Object.keys(q.extraResources)) n += this.entrySize(key, q.extraResources[key], this.selectorSize);
    for (const key of Object.keys(q.resources)) n += this.entrySize(key, q.resources[key], this.selectorSize);
    for (const key of Object.keys(q.schemas)) n += this.entrySize(key, q.schemas[key], this.schemaSelectorSize);
    return n;
  }

  private writeRequirements(q: Requirements) {
    for (const key of Object.keys(q.extraResources)) this.writeEntry(tag(1, LEN), key, q.extraResources[key], this.writeSelector);
    for (const key of Object.keys(q.resources)) this.writeEntry(tag(2, LEN), key, q.resources[key], this.writeSelector);
    for (const key of Object.keys(q.schemas)) this.writeEntry(tag(3, LEN), key, q.schemas[key], this.writeSchemaSelector);
  }

  response(res: RunFunctionResponse): Buffer {
    // Fields in number order, as the generated encoder writes them; every nested message's
    // size is measured first, in the order it is written.
    let total = 0;
    if (res.meta !== undefined) total += this.close(this.slot(), this.metaSize(res.meta));
    if (res.desired !== undefined) total += this.close(this.slot(), this.stateSize(res.desired));
    for (const r of res.results) total += this.close(this.slot(), this.resultSize(r));
    if (res.context !== undefined) total += this.close(this.slot(), this.structSize(res.context));
    if (res.requirements !== undefined) total += this.close(this.slot(), this.requirementsSize(res.requirements));
    for (const c of res.conditions) total += this.close(this.slot(), this.conditionSize(c));
    if (res.output !== undefined) total += this.close(this.slot(), this.structSize(res.output));

    this.buf = Buffer.allocUnsafe(total) as FastBuffer;
    if (res.meta !== undefined) {
      this.head(tag(1, LEN));
      this.writeMeta(res.meta);
    }
    if (res.desired !== undefined) {
      this.head(tag(2, LEN));
      this.writeState(res.desired);
    }
    for (const r of res.results) {
      this.head(tag(3, LEN));
      this.writeResult(r);
    }
    if (res.context !== undefined) {
      this.head(tag(4, LEN));
      this.writeStruct(res.context);
    }
    if (res.requirements !== undefined) {
      this.head(tag(5, LEN));
      this.writeRequirements(res.requirements);
    }
    for (const c of res.conditions) {
      this.head(tag(6, LEN));
      this.writeCondition(c);
    }
    if (res.output !== undefined) {
      this.head(tag(7, LEN));
      this.writeStruct(res.output);
    }
    if (this.pos !== total || this.next !== this.sizes.length) {
      throw new Error(`response encoder: wrote ${this.pos} of ${total} bytes, used ${this.next} of ${this.sizes.length} sizes`);
    }
    return this.buf;
  }
}

/**
 * The encoded bytes of composed objects that cannot change (memoized renders, deeply
 * frozen): the same object is encoded once, however many responses carry it.
 */
const ENCODED = new WeakMap<object, Buffer>();

function encodedOnce(obj: Record<string, Json>): Buffer | undefined {
  if (!isDeeplyFrozen(obj)) return undefined;
  let bytes = ENCODED.get(obj);
  if (!bytes) ENCODED.set(obj, (bytes = new Encoder().struct(obj)));
  return bytes;
}

/** RunFunctionResponse to protobuf bytes; the same bytes as the generated encoder. */
export function encodeResponse(res: RunFunctionResponse): Buffer {
  return new Encoder().response(res);
}
