import type { ApprovalInfoReply } from '../http/wire.js';
import { ApiError } from './api.js';

/**
 * The approval page's calls: signed URLs (`jobs_u/approval|resume|cancel/{id}/{resume_id}/{signature}`)
 * that carry their own permission, so the page works for an approver who has no token.
 */

export interface SignedApproval {
  workspace: string;
  jobId: string;
  resumeId: string;
  signature: string;
}

const base = (a: SignedApproval, route: string) =>
  `/api/w/${encodeURIComponent(a.workspace)}/jobs_u/${route}/${encodeURIComponent(a.jobId)}/${encodeURIComponent(a.resumeId)}/${encodeURIComponent(a.signature)}`;

async function signed<T>(method: 'GET' | 'POST', url: string, body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) {
    let error = {
      code: `HTTP_${res.status}`,
      message: text || res.statusText,
      problems: undefined as string[] | undefined,
    };
    try {
      error = { ...error, ...(JSON.parse(text) as { error: typeof error }).error };
    } catch {
      // a plain-text body: keep it as the message
    }
    throw Object.assign(new ApiError(res.status, error.code, error.message), { problems: error.problems });
  }
  return JSON.parse(text) as T;
}

export function approvalInfo(a: SignedApproval): Promise<ApprovalInfoReply> {
  return signed('GET', base(a, 'approval'));
}

/** Approves with `value` (checked against the form by the server), or rejects. */
export function answerApproval(a: SignedApproval, approved: boolean, value: unknown): Promise<{ approved: boolean }> {
  return signed('POST', base(a, approved ? 'resume' : 'cancel'), value ?? null);
}
