import { describe, expect, it } from 'vitest';
import { accessRefusal, carriesToken, consoleToken, hostOf, isLoopback } from './token.ts';

const TOKEN = 'tok-3q2-abcdef';
const request = (over: Partial<Parameters<typeof accessRefusal>[0]> = {}) => ({
  method: 'GET',
  path: '/api/status',
  host: '127.0.0.1:4380',
  authorization: undefined,
  ...over,
});
const onLoopback = { loopback: true, token: TOKEN };
const onNetwork = { loopback: false, token: TOKEN };

describe('the console token', () => {
  it('is SPOOL_CONSOLE_TOKEN when set, else a new random one each start', () => {
    expect(consoleToken('from-env')).toBe('from-env');
    const a = consoleToken('');
    const b = consoleToken(undefined);
    expect(a).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(a).not.toBe(b);
  });

  it('is carried only as Authorization: Bearer <the token>, exactly', () => {
    expect(carriesToken(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(carriesToken(`bearer   ${TOKEN} `, TOKEN)).toBe(true);
    expect(carriesToken(undefined, TOKEN)).toBe(false);
    expect(carriesToken('', TOKEN)).toBe(false);
    expect(carriesToken(TOKEN, TOKEN)).toBe(false); // no scheme
    expect(carriesToken(`Basic ${TOKEN}`, TOKEN)).toBe(false);
    expect(carriesToken('Bearer ', TOKEN)).toBe(false);
    expect(carriesToken(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(carriesToken(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN)).toBe(false);
    expect(carriesToken(`Bearer ${TOKEN.toUpperCase()}`, TOKEN)).toBe(false);
  });
});

describe('loopback and Host headers', () => {
  it('knows the loopback addresses, and nothing else', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'])
      expect(isLoopback(host)).toBe(true);
    for (const host of [
      '0.0.0.0',
      '192.168.1.4',
      '::',
      'example.com',
      'localhost.example.com',
      '127.0.0.1.nip.io',
      '',
    ])
      expect(isLoopback(host)).toBe(false);
  });

  it('takes the host out of a Host header, port or not', () => {
    expect(hostOf('127.0.0.1:4380')).toBe('127.0.0.1');
    expect(hostOf('localhost')).toBe('localhost');
    expect(hostOf('[::1]:4380')).toBe('[::1]');
    expect(hostOf('evil.example:4380')).toBe('evil.example');
    expect(hostOf(undefined)).toBe('');
  });
});

describe('which requests the console refuses', () => {
  it('on loopback: a request naming another host (DNS rebinding), or none, is refused, page included', () => {
    for (const host of ['evil.example:4380', 'evil.example', '192.168.1.4:4380', undefined, '']) {
      expect(accessRefusal(request({ host }), onLoopback)).toMatchObject({ status: 403, code: 'wrong_host' });
      expect(accessRefusal(request({ host, path: '/' }), onLoopback)?.status).toBe(403);
      // Even with the token: the Host check comes first.
      expect(accessRefusal(request({ host, authorization: `Bearer ${TOKEN}` }), onLoopback)?.status).toBe(
        403,
      );
    }
    for (const host of ['127.0.0.1:4380', 'localhost:4380', '[::1]:4380'])
      expect(accessRefusal(request({ host }), onLoopback)).toBeUndefined();
  });

  it('on loopback: reads and the page need no token; actions need the right one', () => {
    expect(accessRefusal(request(), onLoopback)).toBeUndefined();
    expect(accessRefusal(request({ path: '/app.js' }), onLoopback)).toBeUndefined();
    const action = request({ method: 'POST', path: '/api/actions' });
    expect(accessRefusal(action, onLoopback)).toMatchObject({ status: 401, code: 'token_required' });
    expect(accessRefusal({ ...action, authorization: 'Bearer wrong' }, onLoopback)?.status).toBe(401);
    expect(accessRefusal({ ...action, authorization: `Bearer ${TOKEN}` }, onLoopback)).toBeUndefined();
    expect(accessRefusal(action, onLoopback)?.message).toContain('SPOOL_CONSOLE_TOKEN');
  });

  it('on any other address: every API request needs the token (reads too), any Host is taken', () => {
    const network = (over: Partial<Parameters<typeof accessRefusal>[0]>) =>
      accessRefusal(request({ host: 'console.internal:4380', ...over }), onNetwork);
    expect(network({})).toMatchObject({ status: 401, code: 'token_required' });
    expect(network({ path: '/api/live/payer/t-1' })?.status).toBe(401);
    expect(network({ authorization: 'Bearer wrong' })?.status).toBe(401);
    expect(network({ authorization: `Bearer ${TOKEN}` })).toBeUndefined();
    expect(network({ method: 'POST', path: '/api/actions' })?.status).toBe(401);
    expect(
      network({ method: 'POST', path: '/api/actions', authorization: `Bearer ${TOKEN}` }),
    ).toBeUndefined();
    // The page itself loads, so it can ask for the token.
    expect(network({ path: '/' })).toBeUndefined();
  });
});
