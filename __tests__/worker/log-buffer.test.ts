import { describe, expect, it } from '@jest/globals';
import { LogBuffer } from '../../lib/worker/log-buffer.js';
import type { NewLogLine } from '../../lib/types.js';

const line = (text: string): NewLogLine => ({ ts: 0, stream: 'stdout', line: text });

function recorder() {
  const writes: string[] = [];
  const backend = {
    appendLogs: async (jobId: string, lines: readonly NewLogLine[]) => {
      writes.push(`${jobId}: ${lines.map((l) => l.line).join(',')}`);
    },
  };
  return { writes, logs: new LogBuffer(backend, () => {}) };
}

describe('LogBuffer', () => {
  it('writes the lines of one turn as one append per job, in the order the jobs came up', async () => {
    const { writes, logs } = recorder();
    logs.add('b', line('1'));
    logs.add('a', line('2'));
    logs.add('b', line('3'));
    expect(writes).toEqual([]);
    await logs.flushed();
    expect(writes).toEqual(['b: 1,3', 'a: 2']);
  });

  it('runs what is chained after the lines written before it', async () => {
    const { writes, logs } = recorder();
    logs.add('a', line('1'));
    await logs.flushed();
    logs.then(async () => {
      writes.push('status');
    });
    logs.add('a', line('2'));
    await logs.flushed();
    expect(writes).toEqual(['a: 1', 'status', 'a: 2']);
  });

  it('resolves at once when nothing is buffered', async () => {
    const { writes, logs } = recorder();
    await logs.flushed();
    expect(writes).toEqual([]);
  });

  it('goes on after a failed write', async () => {
    const warned: string[] = [];
    let fail = true;
    const logs = new LogBuffer(
      {
        appendLogs: async () => {
          if (fail) {
            fail = false;
            throw new Error('down');
          }
        },
      },
      (what) => warned.push(what),
    );
    logs.add('a', line('1'));
    await logs.flushed();
    logs.add('a', line('2'));
    await logs.flushed();
    expect(warned).toEqual(['writing the log of a']);
  });

  // Through a server, a job's end is a report like its lines, and reports are applied in the
  // order they are made: the end follows the lines without waiting for their answer.
  it('hands the lines over before the answer when the backend applies reports in order', async () => {
    const made: string[] = [];
    const answers: (() => void)[] = [];
    const backend = (reportsInOrder: boolean) => ({
      reportsInOrder,
      appendLogs: (jobId: string, lines: readonly NewLogLine[]) => {
        made.push(`${jobId}: ${lines.map((l) => l.line).join(',')}`);
        return new Promise<void>((resolve) => answers.push(resolve));
      },
    });
    const inOrder = new LogBuffer(backend(true), () => {});
    inOrder.add('a', line('1'));
    inOrder.add('b', line('2'));
    await inOrder.handedOver();
    expect(made).toEqual(['a: 1', 'b: 2']);
    let stored = false;
    void inOrder.flushed().then(() => (stored = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stored).toBe(false);
    for (const answer of answers.splice(0)) answer();
    await inOrder.flushed();
    expect(stored).toBe(true);

    // A backend that does not (the local coordinator) is handed the lines when they are stored.
    const other = new LogBuffer(backend(false), () => {});
    other.add('c', line('3'));
    let handed = false;
    const handing = other.handedOver().then(() => (handed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(made).toEqual(['a: 1', 'b: 2', 'c: 3']);
    expect(handed).toBe(false);
    answers.splice(0).forEach((answer) => answer());
    await handing;
    expect(handed).toBe(true);
  });

  it('hands a report (flow status, progress) over once it is made, any other write once it is done', async () => {
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const logs = new LogBuffer({ reportsInOrder: true, appendLogs: async () => {} }, () => {});
    let made = false;
    logs.report(() => ((made = true), answered));
    await logs.handedOver();
    expect(made).toBe(true);

    let done = false;
    logs.then(() => answered.then(() => void (done = true)));
    let handed = false;
    const handing = logs.handedOver().then(() => (handed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(handed).toBe(false);
    answer();
    await handing;
    expect(done).toBe(true);
  });
});
