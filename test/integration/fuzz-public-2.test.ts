/**
 * Fuzzing the public token routes, part 2 (issue 10, item 1): the rest of the preference
 * centre (details, export, erasure), the export download, invitations and the preview links;
 * then the JSON routes outside the OpenAPI document: Resend's webhook and the pages' live
 * helpers. See test/helpers/fuzz-public.ts.
 *
 * Last, the cases the fuzzing found, kept as plain regression tests.
 */
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { signToken } from '../../src/domain/auth/tokens.js';
import { TEST_WEBHOOK_SECRET } from '../helpers/app.js';
import { send, type Outgoing } from '../helpers/fuzz.js';
import { definePublicFuzz } from '../helpers/fuzz-public.js';

const { t, s, watch, freshTokens } = await definePublicFuzz({ part: 2, runs: 2000 });

describe('found by fuzzing', () => {
  const signer = new Webhook(TEST_WEBHOOK_SECRET);
  const webhook = (body: string, id = `msg_${Math.random().toString(36).slice(2)}`): Outgoing => {
    const at = new Date();
    return {
      method: 'POST',
      url: '/webhooks/resend',
      headers: { 'content-type': 'application/json', 'svix-id': id, 'svix-timestamp': String(Math.floor(at.getTime() / 1000)), 'svix-signature': signer.sign(id, at, body) },
      body,
    };
  };

  it('a form body that does not parse is a 400 (it was a 500 on every page form), and writes nothing', async () => {
    const tokens = await freshTokens();
    const marketer = await signToken(t.deps.signingKeys, t.clock, 'session', { sub: s.marketer.id, wid: s.workspace.id, gen: 0 }, 3600);
    // The counterexample: a multipart body whose boundary is not the one the header names.
    const body = '------fuzz\r\nContent-Disposition: form-data; name="answer"\r\n\r\nconfirm\r\n------fuzz--\r\n';
    const broken = { 'content-type': 'multipart/form-data; boundary=other', origin: 'http://localhost' };
    const paths = [`/confirm/${tokens.confirm![0]}`, `/p/${tokens.preferences![0]}`, `/p/${tokens.preferences![0]}/erase`, `/invite/${tokens.invite![0]}`, '/login'];
    for (const [url, cookie] of [...paths.map((p) => [p, undefined] as const), ['/segments/preview', `session=${marketer}`] as const]) {
      await watch.take();
      const res = await send(t, { method: 'POST', url, headers: { ...broken, ...(cookie ? { cookie } : {}) }, body });
      expect(res.status, url).toBe(400);
      expect(JSON.parse(res.text).error.code, url).toBe('malformed_form');
      expect(await watch.take(), url).toEqual([]);
    }
    const page = await send(t, { method: 'POST', url: paths[0]!, headers: { ...broken, accept: 'text/html' }, body });
    expect(page.status).toBe(400);
    expect(page.text).toContain('<html lang="fr">');
  });

  it('the script check answers a JSON body of null (it was a 500)', async () => {
    const admin = await signToken(t.deps.signingKeys, t.clock, 'session', { sub: s.admin.id, wid: s.workspace.id, gen: 0 }, 3600);
    const res = await send(t, { method: 'POST', url: '/admin/scripts/check', headers: { cookie: `session=${admin}`, origin: 'http://localhost', 'content-type': 'application/json' }, body: 'null' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ problems: null });
  });

  it('the webhook refuses a signed body that is not an event (it was a 500), and writes nothing', async () => {
    for (const body of ['', 'null', '[]', '5', '"email.delivered"']) {
      await watch.take();
      const res = await send(t, webhook(body));
      expect(res.status, body).toBe(400);
      expect(JSON.parse(res.text).error.code, body).toBe('invalid_payload');
      expect(await watch.take(), body).toEqual([]);
    }
  });

  it('the webhook keeps no object as a failure reason and ignores an email id that is not text (both were 500s)', async () => {
    const { providerIds } = await freshTokens();
    const failed = await send(t, webhook(JSON.stringify({ type: 'email.failed', data: { email_id: providerIds![0], failed: { reason: { nested: true } } } })));
    expect(failed.status).toBe(200);
    expect(JSON.parse(failed.text)).toEqual({ status: 'processed' });
    const row = (await t.client.execute("SELECT detail FROM events WHERE type = 'failed' ORDER BY id DESC LIMIT 1")).rows[0]!;
    expect(row.detail).toBeNull();

    const odd = await send(t, webhook(JSON.stringify({ type: 'email.delivered', data: { email_id: { $ne: null } } })));
    expect(odd.status).toBe(200);
    expect(JSON.parse(odd.text)).toEqual({ status: 'ignored' });
  });

  it('the webhook reads only a string as the event type (a deeply nested one overflowed the stack, an inherited key passed for a type)', async () => {
    const { providerIds } = await freshTokens();
    const deep = await send(t, webhook(`{"type":${'['.repeat(5000)}1${']'.repeat(5000)},"data":{"email_id":${JSON.stringify(providerIds![0])}}}`));
    expect(deep.status).toBe(200);
    expect(JSON.parse(deep.text)).toEqual({ status: 'ignored' });
    for (const type of ['constructor', '__proto__', 'toString']) {
      const res = await send(t, webhook(JSON.stringify({ type, data: { email_id: providerIds![0], created_at: [[[1]]], bounce: { type: { a: 1 } } } })));
      expect(res.status, type).toBe(200);
      expect(JSON.parse(res.text), type).toEqual({ status: 'ignored' });
    }
    const bounced = await send(t, webhook(JSON.stringify({ type: 'email.bounced', data: { email_id: providerIds![0], created_at: { at: 1 }, bounce: { type: ['Permanent'], subType: `${'['.repeat(3000)}${']'.repeat(3000)}`, message: { m: 1 } } } })));
    expect(bounced.status).toBe(200);
    const row = (await t.client.execute("SELECT detail FROM events WHERE type = 'bounced' ORDER BY id DESC LIMIT 1")).rows[0]!;
    expect(row.detail).toBe(`?/${'['.repeat(3000)}${']'.repeat(3000)}: `.slice(0, 500));
  });
});
