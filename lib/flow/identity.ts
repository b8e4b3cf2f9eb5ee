/** The code an identity module runs: its result is its input, the previous module's result. */
export const IDENTITY_SOURCE = `// An identity module of a millrace flow: its result is the previous module's result.
export async function main(previous_result?: unknown) {
  return previous_result ?? null;
}
`;
