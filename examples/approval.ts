import { getResumeUrls, task, waitForApproval, waitForEvent, WaitTimeoutError } from 'millrace';

/**
 * An order that waits on the outside world: a payment webhook (an event) and a manager's
 * approval. Run it under a server (`millrace dev`, then `millrace run --server URL examples/approval`):
 * it prints its approval page once paid; `millrace send <id> paid --payload '{"amount": 120}'` pays.
 */

export const ship = task(async function ship(order: string, note: string) {
  console.log(`shipping ${order} (${note})`);
  return `shipped ${order}`;
});

export async function main(order = 'A-1') {
  let payment: { amount: number };
  try {
    payment = await waitForEvent<{ amount: number }>('paid', { timeout: 24 * 3600 });
  } catch (err) {
    if (err instanceof WaitTimeoutError) return `order ${order} not paid within a day`;
    throw err;
  }
  const urls = await getResumeUrls();
  console.log(`approve or reject at ${urls.approvalPage}`);
  const approval = await waitForApproval<{ note: string }>({
    timeout: 7 * 24 * 3600,
    form: {
      type: 'object',
      properties: { note: { type: 'string', title: 'Note for the warehouse' } },
      required: ['note'],
    },
  });
  if (!approval.approved) return `order ${order} (${payment.amount}) rejected`;
  return ship(order, approval.value.note);
}
