import { describe, expect, it } from '@jest/globals';
import { KeyedTickBatch, TickBatch } from '../lib/tick-batch.js';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('TickBatch', () => {
  it('hands what one turn added to one flush, in order, on the next turn', async () => {
    const flushed: number[][] = [];
    const batch = new TickBatch<number>((items) => flushed.push(items));
    batch.add(1);
    batch.add(2);
    batch.add(3);
    expect(flushed).toEqual([]);
    expect(batch.size).toBe(3);
    await nextTurn();
    expect(flushed).toEqual([[1, 2, 3]]);
    expect(batch.size).toBe(0);
  });

  it('puts what is added during a flush into the next batch', async () => {
    const flushed: string[][] = [];
    const batch: TickBatch<string> = new TickBatch((items) => {
      flushed.push(items);
      if (items.includes('a')) batch.add('late');
    });
    batch.add('a');
    await nextTurn();
    await nextTurn();
    expect(flushed).toEqual([['a'], ['late']]);
  });

  it('keyed: groups a turn by key, keys in first-seen order', async () => {
    const flushed: [string, number[]][][] = [];
    const batch = new KeyedTickBatch<string, number>((groups) => flushed.push([...groups]));
    batch.add('b', 1);
    batch.add('a', 2);
    batch.add('b', 3);
    await nextTurn();
    expect(flushed).toEqual([
      [
        ['b', [1, 3]],
        ['a', [2]],
      ],
    ]);
  });
});
