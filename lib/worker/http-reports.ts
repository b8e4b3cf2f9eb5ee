import { LeaseNotHeldError } from '../errors.js';
import { ApiError, JsonText, type ApiClient } from '../http/api-client.js';
import type { ReportEvent, ReportReply } from '../http/wire.js';
import { REPORT_BUDGET } from '../limits.js';
import { packReports, reportBody, type EncodedReport } from './report-batches.js';

export interface ReportSenderOptions {
  client: ApiClient;
  /** This worker's id, as its claims name it (empty before its first claim). */
  workerId(): string | undefined;
  /** The server refused a report for a lease this worker no longer holds. */
  leaseLost(jobId: string): void;
  /** Sends a request until the server answers it (until-answered.ts). */
  untilAnswered<T>(send: () => Promise<T>): Promise<T>;
}

/**
 * The worker/report route's sender. Reports go in order, one request at a time: those made
 * while a request is in flight go together in the next one, so a busy worker sends few large
 * batches rather than one request per event.
 */
export class ReportSender {
  private readonly queue: { event: ReportEvent; resolve: () => void; reject: (err: unknown) => void }[] = [];
  /** Whether a report request is in flight or about to be sent. */
  private sending = false;

  constructor(private readonly options: ReportSenderOptions) {}

  /** Resolves once the server has applied the event; rejects with its refusal. */
  send(event: ReportEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, resolve, reject });
      if (!this.sending) {
        this.sending = true;
        setImmediate(() => void this.sendQueued());
      }
    });
  }

  /** Sends what was reported so far in requests that fit the server's body limit, in order. */
  private async sendQueued(): Promise<void> {
    while (this.queue.length > 0) {
      const items = this.queue.splice(0).map(({ event, resolve, reject }): EncodedReport => {
        const text = JSON.stringify(event);
        return { jobId: event.job_id, text, bytes: Buffer.byteLength(text), resolve, reject };
      });
      for (const pack of packReports(items, REPORT_BUDGET)) await this.sendPack(pack);
    }
    this.sending = false;
  }

  /**
   * One request. Each event the server refused fails alone; a request refused as a whole for
   * its size (the server's limit is lower than the default) goes again in halves, down to the
   * one event that does not fit, which alone fails.
   */
  private async sendPack(pack: EncodedReport[]): Promise<void> {
    const { client } = this.options;
    let reply: ReportReply | undefined;
    try {
      reply = await this.options.untilAnswered(() =>
        client.json<ReportReply | undefined>(
          'POST',
          client.ws('worker/report'),
          new JsonText(reportBody(this.options.workerId() ?? '', pack)),
        ),
      );
    } catch (err) {
      if (tooLarge(err) && pack.length > 1) {
        const half = Math.ceil(pack.length / 2);
        await this.sendPack(pack.slice(0, half));
        await this.sendPack(pack.slice(half));
        return;
      }
      for (const item of pack) item.reject(err);
      return;
    }
    const rejected = new Map((reply?.rejected ?? []).map((r) => [r.index, r]));
    pack.forEach((item, i) => {
      const refusal = rejected.get(i);
      if (!refusal) return item.resolve();
      // A job whose lease this worker no longer holds (canceled, or its lease ran out): its
      // later reports would be refused too.
      if (refusal.code === LeaseNotHeldError.code) this.options.leaseLost(item.jobId);
      item.reject(new ApiError(refusal.status, { code: refusal.code, message: refusal.message }));
    });
  }
}

/**
 * Whether the server refused a request for its size. (By status: an ApiError carries the
 * server's code, so `instanceof ApiError` does not hold for it.)
 */
export function tooLarge(err: unknown): err is ApiError {
  return (err as { status?: unknown } | null)?.status === 413;
}

/** The limit a server's 413 names ("… larger than the limit of N bytes"), if it does. */
export function serverLimit(err: ApiError): number | undefined {
  const m = /limit of (\d+) bytes/.exec(err.message);
  return m ? Number(m[1]) : undefined;
}
