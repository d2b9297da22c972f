/**
 * A fake status page on loopback for the monitor example: JSON `{status, detail, at}` that
 * turns "degraded" for a while every few minutes, so the monitor's notes have something to
 * notice. `STATUS_PORT` (default 8765).
 */
import { createServer, type Server } from 'node:http';

export function startStatusPage(port = Number(process.env.STATUS_PORT ?? 8765)): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url !== '/status') {
      response.writeHead(404).end('not found; the page is /status');
      return;
    }
    const minute = new Date().getUTCMinutes();
    const degraded = minute % 5 === 4;
    response.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        status: degraded ? 'degraded' : 'operational',
        detail: degraded ? 'the API answers slowly (p95 2.4 s)' : 'all systems normal',
        at: new Date().toISOString(),
      }),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
