// Tier T0: when the memory guard (src/functions/protocol/memory.ts) checks RSS and asks for collections.
// The RSS it reads and the collections it asks for are given by the test, and time is jest's fake
// clock: what is checked is the guard's schedule, which a real process would make slow and noisy.
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { forcedCollections, guardMemory, type MemoryGuard } from '../src/functions/protocol/memory.js';

const MiB = 1 << 20;

describe('the memory guard', () => {
  let guard: MemoryGuard | undefined;
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    guard?.stop();
    jest.useRealTimers();
  });

  /** A guard with a target of 100 MiB over an RSS the test sets; the times of its collections, in ms. */
  function start() {
    const state = { rss: 50 * MiB, collections: [] as number[] };
    guard = guardMemory(100 * MiB, 250, { rss: () => state.rss, collect: () => state.collections.push(Date.now()) });
    return state;
  }

  test('under its target it never collects', () => {
    const state = start();
    jest.advanceTimersByTime(60_000);
    expect(state.collections).toEqual([]);
  });

  test('over its target after collections, it waits twice as long each time, up to 10 s', () => {
    const state = start();
    const t0 = Date.now();
    state.rss = 150 * MiB;
    jest.advanceTimersByTime(60_000);
    const gaps = state.collections.map((t, i) => t - (i === 0 ? t0 : state.collections[i - 1]));
    expect(gaps.slice(0, 8)).toEqual([250, 250, 500, 1000, 2000, 4000, 8000, 10_000]);
    expect(gaps.slice(8).every((g) => g === 10_000)).toBe(true);
  });

  test('once RSS is under its target again, it checks every 250 ms again', () => {
    // A collection does not give pages back at once: RSS read right after one is what it was. The
    // first guard read it then, never saw it fall, and so stayed at one check every 10 s for the
    // rest of the process's life once it had backed off: 100,000 distinct Apps peaked at 201 and
    // 206 MiB against 179 with this schedule.
    const state = start();
    state.rss = 150 * MiB;
    jest.advanceTimersByTime(30_000); // backed off to 10 s
    state.rss = 50 * MiB;
    jest.advanceTimersByTime(10_000); // the next check finds it under
    const before = state.collections.length;
    state.rss = 150 * MiB;
    const t = Date.now();
    jest.advanceTimersByTime(300);
    expect(state.collections.length).toBe(before + 1);
    expect(state.collections.at(-1)! - t).toBeLessThanOrEqual(250);
  });

  test('every collection it asks for is counted for the metric', () => {
    const before = forcedCollections();
    const state = start();
    state.rss = 150 * MiB;
    jest.advanceTimersByTime(1000);
    expect(state.collections.length).toBeGreaterThan(0);
    expect(forcedCollections() - before).toBe(state.collections.length);
  });
});
