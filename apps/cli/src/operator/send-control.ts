import { randomBytes } from 'node:crypto';
import type { ControlMessage } from '@spool/core';
import { sendControl, type SpoolConnection } from '@spool/jetstream';

/**
 * Publishes one control message on `spool.control.<agent>` for each target, under one
 * message id (a resend of the same id is deduplicated); returns each target's control sequence.
 */
export async function sendControlTo(
  connection: SpoolConnection,
  targets: readonly string[],
  message: ControlMessage,
): Promise<number[]> {
  const id = randomBytes(8).toString('hex');
  const seqs: number[] = [];
  for (const target of targets) seqs.push((await sendControl(connection, target, message, id)).seq);
  return seqs;
}
