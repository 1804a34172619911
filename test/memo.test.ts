// The memo every cache in the function is built on: bounded, second-chance eviction, frozen values.
import { Memo, isDeeplyFrozen } from '../src/api/memo.js';

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
});
