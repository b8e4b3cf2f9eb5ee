/** The code an identity step runs: its result is its input, the previous step's result. */
export const IDENTITY_SOURCE = `// An identity step of a millrace flow: its result is the previous step's result.
export async function main(previous_result?: unknown) {
  return previous_result ?? null;
}
`;
