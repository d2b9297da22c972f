import { z } from 'zod';

/** A timestamp in an event (ISO 8601, as written by the runtime's clock). */
export const iso = z.string().min(1);

/** One event type at version 1: `{ id, type, v: 1, data }`. Every history event is declared with it. */
export function eventV1<T extends string, D extends z.ZodRawShape>(type: T, data: z.ZodObject<D>) {
  return z.object({ id: z.string(), type: z.literal(type), v: z.literal(1), data });
}
