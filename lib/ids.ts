import { customAlphabet } from 'nanoid';

/** Job ids: 20 lowercase letters and digits (103 bits), safe in URLs, paths and shells. */
export const newJobId = customAlphabet('0123456789abcdefghijklmnopqrstuvwxyz', 20);

/** A job's short form for humans: its first 8 characters. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}
