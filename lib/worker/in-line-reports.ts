import type { WorkerBackend } from './backend.js';
import type { ThreadMessage } from './protocol.js';

/** What a job's thread reports that is written in line with its log: its flow status, its progress. */
export function inLineReport(
  backend: WorkerBackend,
  msg: ThreadMessage & { type: 'flowStatus' | 'progress' },
): Promise<void> {
  if (msg.type === 'flowStatus') return backend.setFlowStatus(msg.jobId, msg.status);
  return backend.setProgress(msg.jobId, { percent: msg.percent, message: msg.message });
}
