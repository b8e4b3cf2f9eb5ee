import { describe, expect, it } from '@jest/globals';
import { Slots, type SlotHolder } from '../../lib/worker/slots.js';

interface Resume {
  holder: SlotHolder;
  name: string;
}

const holder = (): SlotHolder => ({ slot: false, pending: 0 });
const live = () => true;

describe('Slots', () => {
  it('claims free slots plus the prefetch, less the jobs and resumptions already waiting', () => {
    const slots = new Slots<string, Resume>(2, 3);
    expect(slots.wanted).toBe(5);
    slots.ready.push('a', 'b');
    expect(slots.wanted).toBe(3);
    const h = holder();
    slots.take(h);
    expect(slots.free).toBe(1);
    expect(slots.wanted).toBe(2);
    h.pending = 1;
    slots.release(h); // free 2 + prefetch 3 − 2 ready − 1 resumption
    slots.callEnded({ holder: h, name: 'r' });
    expect(slots.wanted).toBe(2);
  });

  it('hands a free slot to a resumption before a claimed job', () => {
    const slots = new Slots<string, Resume>(1, 0);
    const parent = holder();
    slots.take(parent);
    slots.ready.push('next');
    expect(slots.callStarted(parent)).toBe(true);
    expect(parent.slot).toBe(false);
    // The slot the parent gave back starts the claimed job.
    expect(slots.next(live)).toEqual({ kind: 'start', job: 'next' });
    const child = holder();
    slots.take(child);
    // The parent's only call ends while the child still works: it waits for a slot.
    expect(slots.callEnded({ holder: parent, name: 'last' })).toBe('resume');
    slots.ready.push('later');
    expect(slots.next(live)).toBeUndefined();
    slots.release(child);
    const use = slots.next(live);
    expect(use).toEqual({ kind: 'resume', resume: { holder: parent, name: 'last' } });
    expect(parent).toEqual({ slot: true, pending: 0 });
    expect(slots.free).toBe(0);
    expect(slots.next(live)).toBeUndefined();
    expect(slots.ready).toEqual(['later']);
  });

  it('delivers outcomes before the last at once, without a slot', () => {
    const slots = new Slots<string, Resume>(1, 0);
    const parent = holder();
    slots.take(parent);
    slots.callStarted(parent);
    slots.callStarted(parent);
    expect(parent).toEqual({ slot: false, pending: 2 });
    expect(slots.callEnded({ holder: parent, name: 'first' })).toBe('deliver');
    expect(parent.pending).toBe(1);
    expect(slots.resumes).toHaveLength(0);
    expect(slots.callEnded({ holder: parent, name: 'second' })).toBe('resume');
    expect(slots.resumes).toHaveLength(1);
  });

  it('gives no slot back twice, and a call of a job without a slot frees none', () => {
    const slots = new Slots<string, Resume>(1, 0);
    const h = holder();
    expect(slots.release(h)).toBe(false);
    expect(slots.callStarted(h)).toBe(false);
    expect(slots.free).toBe(1);
  });

  it('drops resumptions of jobs that are gone', () => {
    const slots = new Slots<string, Resume>(1, 0);
    const gone = holder();
    gone.pending = 1;
    slots.callEnded({ holder: gone, name: 'gone' });
    slots.ready.push('job');
    expect(slots.next((r) => r.name !== 'gone')).toEqual({ kind: 'start', job: 'job' });
    expect(gone.slot).toBe(false);
    expect(slots.resumes).toHaveLength(0);
  });

  it('delivers a queued last outcome without a slot once its holder has made another call, so two such jobs do not wait for each other', () => {
    // `Promise.all` over calls whose first ends (a replayed child, already recorded) before
    // the next is made: the first outcome is queued as the last, then the job calls again.
    const slots = new Slots<string, Resume>(2, 0);
    const [a, b] = [holder(), holder()];
    slots.take(a);
    slots.take(b);
    for (const h of [a, b]) {
      slots.callStarted(h);
      slots.take(holder()); // the freed slot goes to a child that works on
    }
    expect(slots.free).toBe(0);
    for (const [h, name] of [
      [a, 'a1'],
      [b, 'b1'],
    ] as const) {
      expect(slots.callEnded({ holder: h, name })).toBe('resume');
      slots.callStarted(h); // the next call of the same Promise.all
      expect(h).toEqual({ slot: false, pending: 2 });
      // Delivered now, without a slot: the job awaits its newer call.
      expect(slots.next(live)).toEqual({ kind: 'deliver', resume: { holder: h, name } });
      expect(h).toEqual({ slot: false, pending: 1 });
    }
    expect(slots.resumes).toHaveLength(0);
    // The children end and give their slots back; each job's last call ends and takes one.
    slots.release({ slot: true, pending: 0 });
    slots.release({ slot: true, pending: 0 });
    for (const [h, name] of [
      [a, 'a2'],
      [b, 'b2'],
    ] as const) {
      expect(slots.callEnded({ holder: h, name })).toBe('resume');
      expect(slots.next(live)).toEqual({ kind: 'resume', resume: { holder: h, name } });
      expect(h).toEqual({ slot: true, pending: 0 });
    }
  });
});
