import { task } from 'millrace';
export function logged<A extends unknown[], R>(fn: (...a: A) => R) {
  return task(fn);
}
