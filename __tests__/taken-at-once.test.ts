import { afterEach, describe, expect, it } from '@jest/globals';
import type { EmbeddedEngine } from '../lib/engine/embedded.js';
import { decode } from '../lib/serialize.js';
import { Worker } from '../lib/worker/worker.js';
import { openTestEngine, REPO_ROOT } from './helpers/engine.js';

/**
 * A job that awaits a child frees its slot; when its worker serves the child's tag and wants a
 * job, the child is taken by that worker as it is recorded (Store.enqueue's claim), with no
 * claim between. The store's claims are watched: they hand out only what was not taken so.
 */

let engine: EmbeddedEngine | undefined;
const workers: Worker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.close();
  await engine?.close();
  engine = undefined;
});

function setup() {
  engine = openTestEngine({ worker: false });
  const claimedBy = new Map<string, string>();
  const claim = engine.store.claim.bind(engine.store);
  engine.store.claim = async (request) => {
    const jobs = await claim(request);
    for (const job of jobs) claimedBy.set(job.id, request.workerId);
    return jobs;
  };
  const worker = (id: string, tags: string[]) => {
    const w = new Worker({ backend: engine!.coordinator, root: REPO_ROOT, id, tags, threads: 1, concurrency: 2 });
    workers.push(w);
    return w;
  };
  return { engine, claimedBy, worker };
}

describe('children taken as they are recorded', () => {
  it("an awaited child of a tag its parent's worker serves runs there with no claim; one of another tag is claimed by its worker", async () => {
    const { engine, claimedBy, worker } = setup();
    worker('w-default', ['default']);
    worker('w-other', ['other']);
    const root = await engine.submit({ path: '__tests__/fixtures/sequence', args: { n: 5 } });
    const done = await engine.wait(root.id);
    expect(done.status).toBe('success');
    expect(decode(done.result!)).toBe(10);

    const children = await engine.descendants(root.id);
    const nexts = children.filter((c) => c.entrypoint === 'next');
    expect(nexts).toHaveLength(5);
    // The root came through a claim; none of the five `next` calls did.
    expect(claimedBy.get(root.id)).toBe('w-default');
    for (const child of nexts) {
      expect(claimedBy.has(child.id)).toBe(false);
      expect(await engine.attempts(child.id)).toMatchObject([{ attempt: 1, worker: 'w-default', status: 'success' }]);
    }
    // Its worker does not serve 'other': that child was queued and claimed by the worker that does.
    const [other] = children.filter((c) => c.entrypoint === 'elsewhere');
    expect(claimedBy.get(other.id)).toBe('w-other');
    expect(await engine.attempts(other.id)).toMatchObject([{ attempt: 1, worker: 'w-other', status: 'success' }]);
    // Each child's lines still reach the root's log.
    const lines: string[] = [];
    for await (const l of engine.logs(root.id)) lines.push(l.line);
    for (let i = 0; i < 5; i++) expect(lines.some((l) => l.endsWith(`next ${i}`))).toBe(true);
  });
});
