import { connect, liveText } from '@spool/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Broker, startBroker, testLogger } from '../support/world.ts';

let broker: Broker;

beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => broker?.close());

describe('live text', () => {
  it('listening is false with nobody following, true while a follower is (it answers the probe at once)', async () => {
    const agentSide = liveText(broker.connection);
    const watcher = await connect({ url: broker.nats.url, name: 'watcher', logger: testLogger });
    try {
      expect(await agentSide.listening('speaker', 't-1')).toBe(false);
      const chunks: string[] = [];
      const stop = liveText(watcher).follow('speaker', 't-1', (chunk) => chunks.push(chunk.text));
      await new Promise((resolve) => setTimeout(resolve, 100)); // its subscription reaches the server
      const asked = performance.now();
      expect(await agentSide.listening('speaker', 't-1')).toBe(true);
      // Answered, not timed out: well under the probe's wait.
      expect(performance.now() - asked).toBeLessThan(200);
      // Another task of the same agent has no follower.
      expect(await agentSide.listening('speaker', 't-2')).toBe(false);
      agentSide.publish('speaker', 't-1', { step: 0, text: 'hello' });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(chunks).toEqual(['hello']);
      stop();
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await agentSide.listening('speaker', 't-1')).toBe(false);
    } finally {
      await watcher.close();
    }
  });
});
