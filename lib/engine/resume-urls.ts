import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { BadSignatureError } from '../errors-operations.js';
import type { Store } from '../store/store.js';
import type { JobRecord, ResumeUrls } from '../types.js';

/**
 * Resume URLs of approvals, Windmill's shape: `/api/w/{ws}/jobs_u/resume/{id}/{resume_id}/{signature}`
 * (and `…/cancel/…`). The signature is an HMAC-SHA256 of (workspace, job, resume id) under the
 * store's signing secret, so any server on the database checks what any other signed, and the
 * URL needs no token: holding it is the permission.
 */

export function resumeSignature(secret: string, workspace: string, jobId: string, resumeId: string): string {
  return createHmac('sha256', secret).update(`${workspace}\n${jobId}\n${resumeId}`).digest('hex');
}

/** The URLs of approval `resumeId` of `job`, under `publicUrl` (a server's address as its users reach it). */
export async function resumeUrls(
  store: Store,
  publicUrl: string | undefined,
  job: JobRecord,
  resumeId: string,
): Promise<ResumeUrls> {
  if (publicUrl === undefined) {
    throw new ConfigError(
      `getResumeUrls() in job ${job.id} needs the address of a server that answers the URLs, and this job runs on an embedded engine, which serves none: ` +
        'run it under `millrace dev` or `millrace server` (whose --public-url, else its listening address, is used), or give EmbeddedEngine the option publicUrl',
    );
  }
  const base = publicUrl.replace(/\/+$/, '');
  const sig = resumeSignature(await store.signingSecret(), job.workspace, job.id, resumeId);
  const tail = `${encodeURIComponent(job.workspace)}/${job.id}/${resumeId}/${sig}`;
  return {
    approvalPage: `${base}/#/approve/${tail}`,
    resume: `${base}/api/w/${encodeURIComponent(job.workspace)}/jobs_u/resume/${job.id}/${resumeId}/${sig}`,
    cancel: `${base}/api/w/${encodeURIComponent(job.workspace)}/jobs_u/cancel/${job.id}/${resumeId}/${sig}`,
  };
}

/** Throws BadSignatureError unless `signature` is this store's for (workspace, job, resume id). */
export async function checkResumeSignature(
  store: Store,
  workspace: string,
  jobId: string,
  resumeId: string,
  signature: string,
): Promise<void> {
  const expected = Buffer.from(resumeSignature(await store.signingSecret(), workspace, jobId, resumeId), 'hex');
  const given = /^[0-9a-f]{64}$/.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new BadSignatureError(
      `The signature of this resume URL (job ${jobId}, resume id ${resumeId}) is not valid: the URL was altered, or signed for another job, resume id or database`,
    );
  }
}
