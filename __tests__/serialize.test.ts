import { describe, expect, it } from '@jest/globals';
import { SerializationError } from '../lib/errors.js';
import { decode, encode, encodeArgs, roundTrip } from '../lib/serialize.js';
import { task } from '../lib/task/task.js';
import type { Json } from '../lib/types.js';

describe('serialisation: supported values come back as the same types', () => {
  const cases: [string, unknown][] = [
    ['null', null],
    ['boolean', true],
    ['number', 3.25],
    ['string', 'héllo'],
    ['array', [1, 'a', [true]]],
    ['plain object', { a: 1, b: { c: [null] } }],
    ['object without prototype', Object.assign(Object.create(null) as object, { x: 1 })],
    ['Date', new Date('2020-02-29T12:00:00.000Z')],
    ['bigint', -(2n ** 70n)],
    [
      'Map',
      new Map<unknown, unknown>([
        ['k', 1],
        [{ o: 1 }, [2]],
      ]),
    ],
    ['Set', new Set([1, 'two', new Date(5)])],
    ['Uint8Array', new Uint8Array([0, 1, 254, 255])],
    ['undefined', undefined],
    ['undefined inside an object', { a: undefined, b: 1 }],
    ['undefined inside an array', [1, undefined, 3]],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['an object that has the tag key itself', { __millrace: 'Date', value: 'not a date' }],
  ];
  for (const [name, value] of cases) {
    it(name, () => {
      const wire = encode(value, 'result');
      // What goes on the wire is JSON: it survives JSON text unchanged.
      expect(JSON.parse(JSON.stringify(wire))).toEqual(wire);
      const back = decode(JSON.parse(JSON.stringify(wire)) as Json);
      expect(back).toEqual(value);
      if (value !== null && typeof value === 'object')
        expect(Object.getPrototypeOf(back)).toBe(Object.getPrototypeOf(value) ?? Object.prototype);
    });
  }

  it('Error, with its name, message and stack', () => {
    const err = new RangeError('out of range');
    const back = roundTrip(err, 'result') as Error;
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe('RangeError');
    expect(back.message).toBe('out of range');
    expect(back.stack).toBe(err.stack);
  });

  it('invalid Date', () => {
    const back = roundTrip(new Date(Number.NaN), 'result');
    expect(back).toBeInstanceOf(Date);
    expect(back.getTime()).toBeNaN();
  });

  it('Buffer, as a Uint8Array', () => {
    const back = roundTrip(Buffer.from('hi'), 'result');
    expect(back).toEqual(new Uint8Array([104, 105]));
  });

  it('keeps plain JSON plain on the wire, for outside clients', () => {
    const value = { n: 3, list: [1, 2], s: 'x', ok: false, none: null };
    expect(encode(value, 'args')).toEqual(value);
  });

  it('decodes JSON from outside clients that uses an unknown tag as a plain object', () => {
    expect(decode({ __millrace: 'Martian', value: 1 })).toEqual({ __millrace: 'Martian', value: 1 });
  });
});

describe('serialisation: anything else is a SerializationError naming the path', () => {
  class Point {
    constructor(public x: number) {}
  }
  const cyclic: Record<string, unknown> = { a: {} };
  (cyclic.a as Record<string, unknown>).back = cyclic;
  const cases: [string, () => unknown, RegExp][] = [
    ['a function', () => encodeArgs([1, { callback: () => 1 }]), /^args\[1\]\.callback is a function/],
    ['a named function', () => encode(function named() {}, 'result'), /^result is a function \(named\)/],
    ['a symbol', () => encodeArgs([Symbol('s')]), /^args\[0\] is a symbol \(Symbol\(s\)\)/],
    ['a class instance', () => encodeArgs([{ p: new Point(1) }]), /^args\[0\]\.p is a class instance \(Point\)/],
    ['a cycle', () => encode(cyclic, 'args[0]'), /^args\[0\]\.a\.back is a cycle/],
    ['a Promise', () => encode({ later: Promise.resolve(1) }, 'result'), /^result\.later is a Promise: await it/],
    ['another typed array', () => encode(new Float64Array(2), 'result'), /^result is a Float64Array: only Uint8Array/],
    ['a symbol key', () => encode({ [Symbol('k')]: 1 }, 'result'), /^result has a symbol key/],
    ['a bad key path', () => encode({ 'a b': [() => 1] }, 'args[0]'), /^args\[0\]\["a b"\]\[0\] is a function/],
    ['a function inside a Map', () => encode(new Map([['k', () => 1]]), 'result'), /^result\.get\("k"\) is a function/],
    ['a WeakMap', () => encode(new WeakMap(), 'result'), /^result is a class instance \(WeakMap\)/],
  ];
  for (const [name, run, message] of cases) {
    it(name, () => {
      let caught: unknown;
      try {
        run();
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(SerializationError);
      expect((caught as SerializationError).code).toBe('SERIALIZATION');
      expect((caught as Error).message).toMatch(message);
    });
  }

  it('allows shared references that are not cycles', () => {
    const shared = { v: 1 };
    expect(roundTrip({ a: shared, b: shared }, 'result')).toEqual({ a: { v: 1 }, b: { v: 1 } });
  });
});

describe('a task called outside a job runs inline, after a serialisation round trip', () => {
  const echo = task(async function echo(value: unknown) {
    return { value, isDate: value instanceof Date };
  });
  const leaky = task(async function leaky() {
    return { fn: () => 1 };
  });

  it('copies args and result', async () => {
    const when = new Date(7);
    const out = await echo(when);
    expect(out).toEqual({ value: when, isDate: true });
    expect(out.value).not.toBe(when);
  });

  it('surfaces serialisation errors early', async () => {
    await expect(echo(() => 1)).rejects.toThrow(/args\[0\] is a function/);
    await expect(leaky()).rejects.toThrow(/result\.fn is a function/);
  });
});
