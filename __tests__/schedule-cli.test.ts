import { describe, expect, it } from '@jest/globals';
import { tempDb } from './helpers/engine.js';
import { startMillrace, startServerProcess, TEST_TOKEN } from './helpers/processes.js';

async function millrace(args: string[]): Promise<{ code: number | null; out: string }> {
  const p = startMillrace(args);
  const code = await p.exited;
  return { code, out: p.output() };
}

describe('millrace schedule', () => {
  it('creates, lists, pauses, resumes and deletes on a store (--db)', async () => {
    const db = ['--db', tempDb()];
    const created = await millrace([
      'schedule',
      'create',
      '__tests__/fixtures/tick',
      '--cron',
      '0 9 * * 1-5',
      '--tz',
      'Europe/Paris',
      '--args',
      '{"label":"am"}',
      '--json',
      ...db,
    ]);
    expect(created.code).toBe(0);
    expect(JSON.parse(created.out)).toMatchObject({
      name: '__tests__/fixtures/tick',
      path: '__tests__/fixtures/tick',
      cron: '0 9 * * 1-5',
      timezone: 'Europe/Paris',
      args: { label: 'am' },
      paused: false,
    });

    const listed = await millrace(['schedule', 'list', ...db]);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(
      /^__tests__\/fixtures\/tick {2}__tests__\/fixtures\/tick {2}'0 9 \* \* 1-5' Europe\/Paris {2}next \d{4}-\d\d-\d\dT0[78]:00:00Z {2}no runs yet\n$/,
    );

    const paused = await millrace(['schedule', 'pause', '__tests__/fixtures/tick', ...db]);
    expect(paused.code).toBe(0);
    expect(paused.out).toContain('paused schedule __tests__/fixtures/tick:');
    expect(paused.out).toContain('Europe/Paris  paused  no runs yet');
    const resumed = await millrace(['schedule', 'resume', '__tests__/fixtures/tick', '--json', ...db]);
    expect(JSON.parse(resumed.out)).toMatchObject({ paused: false });
    expect(JSON.parse(resumed.out).nextSlot).toBeGreaterThan(Date.now());

    expect(await millrace(['schedule', 'delete', '__tests__/fixtures/tick', ...db])).toEqual({
      code: 0,
      out: 'deleted schedule __tests__/fixtures/tick\n',
    });
    expect(await millrace(['schedule', 'list', ...db])).toEqual({ code: 0, out: 'no schedules\n' });
  });

  const refusals: [string, string[], RegExp][] = [
    [
      'a bad cron',
      ['--cron', 'every day'],
      /error: cron: expected five fields like '0 9 \* \* 1-5', or six with seconds first like '\*\/10 \* \* \* \* \*', got "every day" \(2 fields\)/,
    ],
    ['a cron out of range', ['--cron', '61 * * * *'], /error: cron: "61 \* \* \* \*" is not a valid cron expression/],
    [
      'an unknown time zone',
      ['--cron', '* * * * *', '--tz', 'Europe/Atlantis'],
      /error: timezone: expected an IANA time zone name such as Europe\/Paris or UTC, got "Europe\/Atlantis"/,
    ],
    [
      'args that are not JSON',
      ['--cron', '* * * * *', '--args', '{label:'],
      /error: --args: expected a JSON object such as '\{"n": 3\}', got "\{label:"/,
    ],
    [
      'args that are an array',
      ['--cron', '* * * * *', '--args', '[1]'],
      /error: --args: expected a JSON object such as '\{"n": 3\}', got "\[1\]"/,
    ],
    [
      'args that do not fit main',
      ['--cron', '* * * * *', '--args', '{"label": 1}'],
      /label: expected a string, got number 1/,
    ],
    ['no --cron', [], /required option '--cron <expr>' not specified/],
  ];
  for (const [name, flags, message] of refusals) {
    it(`refuses ${name} with exit code 2, storing nothing`, async () => {
      const db = ['--db', tempDb()];
      const res = await millrace(['schedule', 'create', '__tests__/fixtures/tick', ...flags, ...db]);
      expect(res.code).toBe(2);
      expect(res.out).toMatch(message);
      if (name !== 'no --cron')
        expect(await millrace(['schedule', 'list', ...db])).toEqual({ code: 0, out: 'no schedules\n' });
    });
  }

  it('refuses an unknown name and a name taken, with exit code 2', async () => {
    const db = ['--db', tempDb()];
    const unknown = await millrace(['schedule', 'pause', 'ghost', ...db]);
    expect(unknown).toEqual({
      code: 2,
      out: 'error: No schedule named "ghost": see the names with millrace schedule list\n',
    });
    expect(
      (await millrace(['schedule', 'create', '__tests__/fixtures/tick', '--cron', '* * * * *', '--name', 'one', ...db]))
        .code,
    ).toBe(0);
    const taken = await millrace([
      'schedule',
      'create',
      '__tests__/fixtures/tick',
      '--cron',
      '* * * * *',
      '--name',
      'one',
      ...db,
    ]);
    expect(taken.code).toBe(2);
    expect(taken.out).toContain('error: A schedule named "one" exists already');
  });

  it('does the same against a server (--server), whose refusals also exit 2', async () => {
    const server = await startServerProcess();
    try {
      const remote = ['--server', server.url, '--token', TEST_TOKEN];
      const created = await millrace([
        'schedule',
        'create',
        '__tests__/fixtures/tick',
        '--cron',
        '0 0 12 * * *',
        '--name',
        'noon',
        '--json',
        ...remote,
      ]);
      expect(created.code).toBe(0);
      expect(JSON.parse(created.out)).toMatchObject({
        name: 'noon',
        cron: '0 0 12 * * *',
        timezone: 'UTC',
        paused: false,
      });
      expect((await millrace(['schedule', 'list', ...remote])).out).toMatch(
        /^noon {2}__tests__\/fixtures\/tick {2}'0 0 12 \* \* \*' UTC {2}next \d{4}-\d\d-\d\dT12:00:00Z {2}no runs yet\n$/,
      );
      expect((await millrace(['schedule', 'pause', 'noon', '--json', ...remote])).out).toContain('"paused": true');
      const bad = await millrace([
        'schedule',
        'create',
        '__tests__/fixtures/tick',
        '--cron',
        '0 0 12 * *  * *',
        '--name',
        'x',
        ...remote,
      ]);
      expect(bad.code).toBe(2);
      expect(bad.out).toContain('body.schedule: expected five fields');
      expect(await millrace(['schedule', 'delete', 'noon', ...remote])).toEqual({
        code: 0,
        out: 'deleted schedule noon\n',
      });
    } finally {
      await server.proc.kill();
    }
  });
});
