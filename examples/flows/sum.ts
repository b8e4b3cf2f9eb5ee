/** Adds numbers up: a script that flows and other scripts call by path. */
export async function main(values: number[]) {
  console.log(`adding ${values.length} values`);
  return values.reduce((a, b) => a + b, 0);
}
