import { describe, expect, it } from '@jest/globals';
import * as errors from '../lib/errors.js';
import {
  CanceledError,
  ConfigError,
  LeaseExpiredError,
  MillraceError,
  NonDeterminismError,
  ReleasedError,
  TaskError,
  UnknownParentError,
} from '../lib/errors.js';
import { errorRecordOf, fromErrorRecord, toErrorRecord } from '../lib/error-record.js';

const classes = Object.values(errors).filter(
  (value): value is typeof MillraceError =>
    typeof value === 'function' && Object.prototype.isPrototypeOf.call(MillraceError, value),
);

describe('error records', () => {
  it('knows every MillraceError subclass, each with its own code', () => {
    expect(classes.length).toBeGreaterThan(20);
    expect(new Set(classes.map((c) => c.code)).size).toBe(classes.length);
  });

  it.each(classes.map((cls) => [cls.name, cls] as const))(
    '%s survives a round trip with its class, name, message, code and stack',
    (_name, cls) => {
      const record = errorRecordOf(cls, `a ${cls.name}`);
      expect(record).toEqual({ name: cls.name, code: cls.code, message: `a ${cls.name}` });
      const back = fromErrorRecord({ ...record, stack: `${cls.name}: a ${cls.name}\n    at somewhere` });
      expect(back).toBeInstanceOf(cls);
      expect(back).toBeInstanceOf(MillraceError);
      expect(back).toBeInstanceOf(Error);
      expect(back).toMatchObject({
        name: cls.name,
        code: cls.code,
        message: `a ${cls.name}`,
        stack: `${cls.name}: a ${cls.name}\n    at somewhere`,
      });
      expect(toErrorRecord(back)).toEqual({ ...record, stack: back.stack });
    },
  );

  it('builds the records millrace writes itself with the codes stored before', () => {
    expect(errorRecordOf(ReleasedError, 'm')).toEqual({ name: 'ReleasedError', code: 'RELEASED', message: 'm' });
    expect(errorRecordOf(CanceledError, 'm')).toEqual({ name: 'CanceledError', code: 'CANCELED', message: 'm' });
    expect(errorRecordOf(LeaseExpiredError, 'm')).toEqual({
      name: 'LeaseExpiredError',
      code: 'LEASE_EXPIRED',
      message: 'm',
    });
  });

  it('records a thrown error with its code, and a TaskError with its job', () => {
    const thrown = new NonDeterminismError('different call');
    expect(toErrorRecord(thrown)).toEqual({
      name: 'NonDeterminismError',
      code: 'NON_DETERMINISM',
      message: 'different call',
      stack: thrown.stack,
    });
    const failed = new TaskError({
      jobId: 'j1',
      taskName: 't',
      tag: 'default',
      attempt: 1,
      maxAttempts: 1,
      error: { name: 'Error', message: 'boom' },
    });
    expect(toErrorRecord(failed)).toMatchObject({ name: 'TaskError', code: 'TASK_FAILED', jobId: 'j1' });
    expect(toErrorRecord('oops')).toEqual({ name: 'Error', message: 'A non-Error value was thrown: "oops"' });
  });

  it('makes an unknown code, or none, a MillraceError of no subclass', () => {
    const unknown = fromErrorRecord({ name: 'WeirdError', code: 'WEIRD', message: 'w' });
    expect(unknown).toBeInstanceOf(MillraceError);
    expect(unknown).not.toBeInstanceOf(ConfigError);
    expect(unknown).toMatchObject({ name: 'WeirdError', code: 'WEIRD', message: 'w' });
    const plain = fromErrorRecord({ name: 'TypeError', message: 'x is not a function' });
    expect(plain).toMatchObject({ name: 'TypeError', code: MillraceError.code, message: 'x is not a function' });
  });

  it('names a missing parent with its own class and the message used before', () => {
    const err = new UnknownParentError('abc');
    expect(err).toMatchObject({ code: 'UNKNOWN_PARENT', parentJob: 'abc', message: 'Parent job abc does not exist' });
    expect(err).not.toBeInstanceOf(ConfigError);
  });
});
