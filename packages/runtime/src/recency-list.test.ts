import { describe, expect, it } from 'vitest';
import { RecencyList } from './recency-list.ts';

describe('RecencyList', () => {
  it('keeps items least recently used first; a touch moves one last', () => {
    const list = new RecencyList<string>();
    for (const item of ['a', 'b', 'c']) list.touch(item);
    expect([...list]).toEqual(['a', 'b', 'c']);
    list.touch('a');
    expect([...list]).toEqual(['b', 'c', 'a']);
    list.touch('a');
    expect([...list]).toEqual(['b', 'c', 'a']);
    expect(list.size).toBe(3);
    expect(list.first()).toBe('b');
    expect(new RecencyList<string>().first()).toBeUndefined();
  });

  it('removes from the front, the middle and the end, and walks past an item deleted while walking', () => {
    const list = new RecencyList<number>();
    for (let i = 0; i < 6; i++) list.touch(i);
    list.delete(0);
    list.delete(3);
    list.delete(5);
    list.delete(42);
    expect([...list]).toEqual([1, 2, 4]);
    const seen: number[] = [];
    for (const item of list) {
      seen.push(item);
      list.delete(item);
    }
    expect(seen).toEqual([1, 2, 4]);
    expect([...list]).toEqual([]);
    expect(list.size).toBe(0);
    list.touch(7);
    expect([...list]).toEqual([7]);
    expect(list.has(7)).toBe(true);
  });
});
