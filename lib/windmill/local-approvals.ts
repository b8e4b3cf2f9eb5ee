import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { JobScope } from '../task/runtime.js';
import { sendEventFromJob } from '../task/wait.js';
import { approvalEventName } from '../wait-names.js';

/**
 * Approvals of a workflow that runs where no server answers resume URLs (`millrace run`, the
 * embedded engine): its job answers them itself, on the loopback port of its SDK routes
 * (sdk-routes.ts), in Windmill's shape (`/api/w/{ws}/jobs_u/resume|cancel/{id}/{key}/{signature}`).
 * The signature is an HMAC under a secret this run of the job made, so the URLs hold while
 * the job waits in this process: a job that runs again (`millrace resume`) listens on another
 * port, and its approval's URLs are asked again (docs/windmill.md). A job run by a server's
 * worker gets the server's signed URLs instead (docs/waits.md).
 */
export class LocalApprovals {
  private readonly secret = randomBytes(32).toString('hex');
  /** The approval the workflow waits for now, set by the runner. */
  awaiting: string | undefined;
  private readonly used = new Set<string>();

  constructor(private readonly scope: JobScope) {}

  urls(baseUrl: string, key: string): { approvalPage: string; resume: string; cancel: string } {
    const { workspace, id } = this.scope.context;
    const tail = `${id}/${encodeURIComponent(key)}/${this.sign(key)}`;
    const api = `${baseUrl}/api/w/${encodeURIComponent(workspace)}/jobs_u`;
    return { approvalPage: `${api}/resume/${tail}`, resume: `${api}/resume/${tail}`, cancel: `${api}/cancel/${tail}` };
  }

  /**
   * Answers approval `key` (approve or reject) when `signature` is this job's and the workflow
   * waits for it: the event its wait takes. Returns the refusal's status and words otherwise.
   */
  async answer(
    key: string,
    signature: string,
    approved: boolean,
    value: unknown,
    approver: string | null,
  ): Promise<
    { status: number; code: string; message: string } | { job_id: string; resume_id: string; approved: boolean }
  > {
    const id = this.scope.context.id;
    const expected = Buffer.from(this.sign(key), 'hex');
    const given = /^[0-9a-f]{64}$/.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return {
        status: 401,
        code: 'BAD_SIGNATURE',
        message: `The signature of this resume URL (job ${id}, resume id ${key}) is not valid: the URL was altered, or signed by another run of the job`,
      };
    }
    if (this.used.has(key)) {
      return {
        status: 409,
        code: 'APPROVAL_STATE',
        message: `This URL of approval "${key}" of job ${id} was used already: an approval is answered once`,
      };
    }
    if (this.awaiting !== key) {
      return {
        status: 409,
        code: 'APPROVAL_STATE',
        message: `Job ${id} is not waiting for approval "${key}" now: send the answer once it calls waitForApproval({ key: "${key}" })`,
      };
    }
    this.used.add(key);
    await sendEventFromJob(this.scope, id, approvalEventName(key), { approved, value, approver });
    return { job_id: id, resume_id: key, approved };
  }

  private sign(key: string): string {
    const { workspace, id } = this.scope.context;
    return createHmac('sha256', this.secret).update(`${workspace}\n${id}\n${key}`).digest('hex');
  }
}
