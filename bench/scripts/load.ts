// One job of the load bench: a line in its log, and its number back.
export async function main(i: number) {
  console.log(`load job ${i}`);
  return i;
}
