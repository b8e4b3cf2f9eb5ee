// Reads one job's log N times at once from a millrace server, in this process of its own so
// that the test process that times other requests is not busy parsing logs. Usage:
//   node read-logs.mjs <url> <token> <job id> <readers>
// Prints `streaming` once every reader has its first chunk, then one JSON line per reader:
// {"lines": n, "ended": bool}. Each checks that every 1,000th line is the one expected.
import { request } from 'undici';

const [url, token, jobId, readers] = process.argv.slice(2);
let started = 0;

async function readAll() {
  const res = await request(`${url}/api/w/default/jobs_u/logs/${jobId}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}: ${await res.body.text()}`);
  let lines = 0;
  let ended = false;
  let rest = '';
  let first = true;
  let lastSeq = 0;
  for await (const chunk of res.body) {
    if (first) {
      first = false;
      if (++started === Number(readers)) process.stdout.write('streaming\n');
    }
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop();
    for (const p of parts) {
      if (p.startsWith('{"line":')) {
        if (lines % 1000 === 0) {
          const { line } = JSON.parse(p);
          if (line.seq <= lastSeq) throw new Error(`seq ${line.seq} after ${lastSeq}`);
          if (!line.line.startsWith(`line ${lines} `))
            throw new Error(`line ${lines} expected, got ${line.line.slice(0, 20)}`);
          lastSeq = line.seq;
        }
        lines++;
      } else if (p === '{"end":true}') ended = true;
      else throw new Error(`Unexpected event: ${p.slice(0, 80)}`);
    }
  }
  if (rest !== '') throw new Error(`A partial last line: ${rest.slice(0, 80)}`);
  return { lines, ended };
}

const results = await Promise.all(Array.from({ length: Number(readers) }, readAll));
for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
