import { once } from 'node:events';

/**
 * Writes to stdout or stderr and, when the stream has buffered past its limit (a pipe to a
 * slow reader: `millrace logs <id> | less`), waits until it has drained. Without the wait a
 * long log is read from the engine faster than it is printed and piles up in memory.
 */
export async function writeOut(stream: NodeJS.WriteStream, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}
