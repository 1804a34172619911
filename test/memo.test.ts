// The memo every cache in the function is built on: bounded, second-chance eviction, frozen values.
import { DEFAULT_CACHE_BYTES, Memo, deepFreeze, isDeeplyFrozen, setCacheBudget } from '../src/api/memo.js';
import { AppSpec } from '../src/api/app.js';
import { TenantSpec } from '../src/api/tenant.js';
import { parseAt } from '../src/api/validate.js';
import { runFunction } from '../src/functions/render/fn.js';
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
    const m = new Memo<number>(3, 1);
    for (const k of ['a', 'b', 'c']) m.keep(k, k.charCodeAt(0), 0);
    // Full: d pushes one out. Nobody looked up a, b or c; a, the oldest, goes.
    m.keep('d', 4, 0);
    expect(m.length).toBe(3);
    expect(m.find('a')).toBeUndefined();
    // b is looked up, c is not: when e comes in, c goes and b stays.
    expect(m.find('b')).toBe(98);
    m.keep('e', 5, 0);
    expect(keys(m, ['b', 'c', 'd', 'e'])).toEqual(['b', 'd', 'e']);
  });

  test('an entry just kept is not the one it pushes out, even when every other entry is in use', () => {
    const m = new Memo<number>(2, 1);
    m.keep('a', 1, 0);
    m.keep('b', 2, 0);
    m.find('a');
    m.find('b');
    m.keep('c', 3, 0);
    expect(m.find('c')).toBe(3);
    expect(m.length).toBe(2);
  });

  test('a hot entry survives a stream of entries used once', () => {
    const m = new Memo<number>(8, 1);
    m.keep('hot', 1, 0);
    for (let i = 0; i < 1000; i++) {
      expect(m.find('hot')).toBe(1);
      m.keep(`cold-${i}`, i, 0);
    }
    expect(m.length).toBe(8);
  });

  test('keeps at most its bytes (keys as they are, values as estimated), however few the entries', () => {
    const m = new Memo<number>(100, 1);
    m.setBudget(10);
    m.keep('aaaa', 1, 0);
    m.keep('bbbb', 2, 0);
    m.keep('cccc', 3, 0); // 12 bytes: aaaa goes
    expect(keys(m, ['aaaa', 'bbbb', 'cccc'])).toEqual(['bbbb', 'cccc']);
    m.keep('cccc', 4, 0); // the same key again is not counted twice
    expect(m.find('bbbb')).toBe(2);
    expect(m.find('cccc')).toBe(4);
    expect(m.kept).toBe(8);
    m.keep('d', 5, 4); // 1 + 4 bytes: bbbb (not looked up since) goes, cccc was looked up and stays
    expect(keys(m, ['bbbb', 'cccc', 'd'])).toEqual(['cccc', 'd']);
    // A value past the whole budget is handed back, frozen, and not kept.
    const big = m.keep('e', 6, 100);
    expect(big).toBe(6);
    expect(m.find('e')).toBeUndefined();
    expect(keys(m, ['cccc', 'd'])).toEqual(['cccc', 'd']);
  });

  test('one budget for the process: shrinking it makes every memo give back what it holds past its share', () => {
    const m = new Memo<number>(100, 0.5);
    for (let i = 0; i < 10; i++) m.keep(`k${i}`, i, 1000);
    expect(m.length).toBe(10);
    try {
      setCacheBudget(4000); // this memo's share: 2,000 bytes, room for one entry of 1,002
      expect(m.length).toBe(1);
      expect(m.kept).toBeLessThanOrEqual(2000);
    } finally {
      setCacheBudget(DEFAULT_CACHE_BYTES);
    }
  });

  test('what an invalid input gives is never kept; a valid one is, and comes back as the same object', () => {
    const bad = { ...(exampleApp().spec as object), runtime: 'cobol' };
    const first = parseAt(AppSpec, bad, 'spec');
    expect(first.ok).toBe(false);
    expect(parseAt(AppSpec, bad, 'spec')).not.toBe(first);
    const good = exampleApp().spec;
    expect(parseAt(AppSpec, good, 'spec')).toBe(parseAt(AppSpec, structuredClone(good), 'spec'));
  });

  test('values are frozen all the way down; get() makes a value only when none is kept', () => {
    const m = new Memo<{ a: { b: number[] } }>(2, 1);
    let made = 0;
    const make = () => ({ a: { b: [made++] } });
    const v = m.get('k', make, () => 16);
    expect(m.get('k', make, () => 16)).toBe(v);
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

