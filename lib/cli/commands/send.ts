import type { Command } from 'commander';
import { ConfigError } from '../../errors.js';
import { shortId } from '../../ids.js';
import type { Json } from '../../types.js';
import { openEngine, withEngineOptions, type EngineOptions } from '../options.js';

interface SendOptions extends EngineOptions {
  payload?: string;
}

export function sendCommand(program: Command): void {
  withEngineOptions(
    program
      .command('send')
      .summary('send an event to a job')
      .description(
        'Send an event to a job: its waitForEvent(name) resolves with the payload. An event sent before the wait begins is kept for it. ' +
          'A job that has finished refuses it (exit 2).',
      )
      .argument('<id>', 'job id (a unique prefix is enough)')
      .argument('<name>', 'event name')
      .option('--payload <json>', 'the payload, as JSON (default: null)'),
  ).action(async (idArg: string, name: string, options: SendOptions) => {
    const payload = parsePayload(options.payload);
    const engine = await openEngine({ ...options, worker: false });
    try {
      const id = await engine.resolveId(idArg);
      const sent = await engine.sendEvent(id, name, payload);
      if (options.json) process.stdout.write(`${JSON.stringify({ status: sent.status, waitJob: sent.waitJob })}\n`);
      else if (sent.status === 'delivered')
        process.stdout.write(`event "${name}" delivered to job ${shortId(id)} (wait ${shortId(sent.waitJob!)})\n`);
      else
        process.stdout.write(
          `event "${name}" kept for job ${shortId(id)}: its next waitForEvent("${name}") takes it\n`,
        );
    } finally {
      await engine.close();
    }
  });
}

function parsePayload(text: string | undefined): Json {
  if (text === undefined) return null;
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw new ConfigError(
      `--payload: expected JSON, got ${JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text)} (${(err as Error).message})`,
    );
  }
}
