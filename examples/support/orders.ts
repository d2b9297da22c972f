/**
 * The example's order records, per customer: a stand-in for a shop's database. A lookup only
 * ever reads the calling customer's own orders (the instance's key), never another's.
 */
export interface Order {
  readonly item: string;
  readonly status: string;
  readonly eta?: string;
}

const ORDERS: Readonly<Record<string, Readonly<Record<string, Order>>>> = {
  acme: {
    '1001': { item: '2 × blue widget', status: 'shipped on 2026-11-27', eta: '2026-12-02' },
    '1002': { item: '1 × widget stand', status: 'being packed' },
  },
  globex: {
    '2001': { item: '40 × sprocket', status: 'delivered on 2026-11-20' },
  },
};

/** What `lookup_order` returns: the order if it is this customer's, else that it is not found. */
export function lookupOrder(customer: string, orderId: string) {
  const order = ORDERS[customer]?.[orderId];
  return order === undefined ? { found: false, orderId } : { found: true, orderId, ...order };
}
