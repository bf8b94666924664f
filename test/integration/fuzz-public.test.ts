/**
 * Fuzzing the public token routes, part 1 (issue 10, item 1): the pixel, the click redirect,
 * the double opt-in confirmation, unsubscribe and the preference centre; also checks that the
 * fuzzed list covers every token route the app registers. The generators, the routes and the
 * invariants are in test/helpers/fuzz-public.ts and test/helpers/fuzz.ts.
 *
 * Last, the checks the fuzzing relies on for these routes: which tokens count as genuine.
 */
import { describe, expect, it } from 'vitest';
import { HONEYPOT_LINK, readClickToken } from '../../src/tracking/tokens.js';
import { send } from '../helpers/fuzz.js';
import { definePublicFuzz } from '../helpers/fuzz-public.js';

const { t, watch, verifies, tracked } = await definePublicFuzz({ part: 1, runs: 2000 });

describe('what the fuzzing relies on', () => {
  const percentEncoded = (token: string) => [...token].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
  const clicks = [...tracked.matchAll(/\/c\/([\w.-]+)"/g)].map((m) => m[1]!);
  const pixel = /\/o\/([\w.-]+)"/.exec(tracked)![1]!;

  it('a genuine honeypot click, percent-encoded, is decoded by the router, recorded, and counted as genuine (not as a forged token that wrote)', async () => {
    const honeypot = clicks.find((c) => readClickToken(t.deps.signingKeys, c)?.link === HONEYPOT_LINK)!;
    expect(honeypot).toBeDefined();
    const url = `/c/${percentEncoded(honeypot)}`;
    await watch.take();
    const res = await send(t, { method: 'GET', url, headers: { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0' } });
    expect(res.status).toBe(404);
    expect((await watch.take()).map((w) => w.table)).toContain('events');
    expect(await verifies('GET /c/:token', url)).toBe(true);
  });

  it('a forged pixel is answered with the GIF, writes nothing, and counts as forged; the genuine one counts as genuine', async () => {
    const forged = `${pixel.slice(0, -1)}${pixel.endsWith('A') ? 'B' : 'A'}`;
    await watch.take();
    const res = await send(t, { method: 'GET', url: `/o/${forged}`, headers: {} });
    expect(res.status).toBe(200);
    expect(res.contentType).toBe('image/gif');
    expect(await watch.take()).toEqual([]);
    expect(await verifies('GET /o/:token', `/o/${forged}`)).toBe(false);
    expect(await verifies('GET /o/:token', `/o/${percentEncoded(pixel)}`)).toBe(true);
  });
});
