import { describe, expect, it } from '@jest/globals';
import { describeValue } from '../lib/describe.js';

describe('describeValue', () => {
  it('names a kind for containers and nothing, and shows a scalar as JSON', () => {
    expect(describeValue(undefined)).toBe('nothing');
    expect(describeValue(null)).toBe('null');
    expect(describeValue([1])).toBe('an array');
    expect(describeValue({ a: 1 })).toBe('an object');
    expect(describeValue('x')).toBe('string "x"');
    expect(describeValue(5)).toBe('number 5');
    expect(describeValue(false)).toBe('boolean false');
    expect(describeValue(10n)).toBe('bigint 10');
  });

  it('cuts a long scalar, at 60 characters unless told', () => {
    expect(describeValue('a'.repeat(100))).toBe(`string "${'a'.repeat(59)}…`);
    expect(describeValue('a'.repeat(100), { maxChars: 40 })).toBe(`string "${'a'.repeat(39)}…`);
  });

  it('says when a string holds a NUL', () => {
    expect(describeValue('a\0b')).toBe('a string with a NUL character ("a\\u0000b")');
  });
});
