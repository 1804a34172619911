// The memo every cache in the function is built on: bounded, second-chance eviction, frozen values.
import { Memo, deepFreeze, isDeeplyFrozen } from '../src/api/memo.js';
import { AppSpec } from '../src/api/app.js';
import { TenantSpec } from '../src/api/tenant.js';
import { parseAt } from '../src/api/validate.js';
import { runFunction } from '../src/functions/fn.js';
import { CASES } from '../bench/requests.js';
import { exampleApp, exampleTenant } from './helpers/fixtures.js';

/** Every object in a value that is not frozen, by path. */
function unfrozen(value: unknown, path = '$'): string[] {
  if (value === null || typeof value !== 'object') return [];
  const here = Object.isFrozen(value) ? [] : [path];
  return [...here, ...Object.entries(value).flatMap(([k, v]) => unfrozen(v, `${path}.${k}`))];
}

const keys = (m: Memo<unknown>, candidates: string[]) => candidates.filter((k) => m.find(k) !== undefined);

describe('Memo', () => {
  test('keeps at most its size, dropping the oldest entry not looked up since eviction last passed it', () => {
    const m = new Memo<number>(3);
    for (const k of ['a', 'b', 'c']) m.keep(k, k.charCodeAt(0));
    // Full: d pushes one out. Nobody looked up a, b or c; a, the oldest, goes.
    m.keep('d', 4);
    expect(m.length).toBe(3);
    expect(m.find('a')).toBeUndefined();
    // b is looked up, c is not: when e comes in, c goes and b stays.
    expect(m.find('b')).toBe(98);
    m.keep('e', 5);
    expect(keys(m, ['b', 'c', 'd', 'e'])).toEqual(['b', 'd', 'e']);
  });

  test('an entry just kept is not the one it pushes out, even when every other entry is in use', () => {
    const m = new Memo<number>(2);
    m.keep('a', 1);
    m.keep('b', 2);
    m.find('a');
    m.find('b');
    m.keep('c', 3);
    expect(m.find('c')).toBe(3);
    expect(m.length).toBe(2);
  });

  test('a hot entry survives a stream of entries used once', () => {
    const m = new Memo<number>(8);
    m.keep('hot', 1);
    for (let i = 0; i < 1000; i++) {
      expect(m.find('hot')).toBe(1);
      m.keep(`cold-${i}`, i);
    }
    expect(m.length).toBe(8);
  });

  test('keeps at most maxChars of keys, however few the entries', () => {
    const m = new Memo<number>(100, 10);
    m.keep('aaaa', 1);
    m.keep('bbbb', 2);
    m.keep('cccc', 3); // 12 characters: aaaa goes
    expect(keys(m, ['aaaa', 'bbbb', 'cccc'])).toEqual(['bbbb', 'cccc']);
    m.keep('cccc', 4); // the same key again is not counted twice
    expect(m.find('bbbb')).toBe(2);
    expect(m.find('cccc')).toBe(4);
    m.keep('x'.repeat(50), 5); // a key past the bound on its own is still kept, alone
    expect(m.length).toBe(1);
  });

  test('values are frozen all the way down; get() makes a value only when none is kept', () => {
    const m = new Memo<{ a: { b: number[] } }>(2);
    let made = 0;
    const make = () => ({ a: { b: [made++] } });
    const v = m.get('k', make);
    expect(m.get('k', make)).toBe(v);
    expect(made).toBe(1);
    expect(Object.isFrozen(v.a.b) && isDeeplyFrozen(v.a)).toBe(true);
    expect(() => v.a.b.push(1)).toThrow(TypeError);
  });

  test('deepFreeze stops only at parts it froze before; what the memos hand out is frozen all the way down', () => {
    const shared = deepFreeze({ a: [{ b: 1 }] });
    const value = deepFreeze({ shared, own: { c: [{ d: 2 }] } });
    expect(value.shared).toBe(shared);
    expect(unfrozen(value)).toEqual([]);
    // A frozen object is taken as frozen all the way down, because only deepFreeze freezes in
    // aerogrid. That must stay true of what the schemas give (a zod .readonly() would freeze
    // one level) and of everything a render hands the encoder as kept.
    const spec = parseAt(AppSpec, exampleApp().spec, 'spec');
    const tenant = parseAt(TenantSpec, exampleTenant().spec, 'spec');
    expect(spec.ok && tenant.ok).toBe(true);
    expect(unfrozen(spec)).toEqual([]);
    expect(unfrozen(tenant)).toEqual([]);
    const { response } = runFunction(CASES.app());
    runFunction(CASES.tenant());
    for (const [key, r] of Object.entries(response.desired!.resources)) {
      expect([key, unfrozen(r.resource)]).toEqual([key, []]);
    }
  });
});

