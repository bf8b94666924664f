/**
 * Consent captures per second over real HTTP (the Node entry as a child process, embedded
 * database, a dialer's API key, 8 requests in flight), side by side with a bare drizzle insert
 * of the same rows (contact, call, two events, their evidence and state, the queued confirmation
 * email and its dev-outbox copy, the idempotency record) in one transaction each, same disk. Target (issue 4): HTTP >= 0.5 x bare. p50/p99 reported.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { calls, consentEvents, consentEvidence, consentState, contacts, emailQueue, idempotencyKeys, outboxMessages } from '../../src/db/schema.js';
import { migrateDatabase, openDatabase } from '../../src/db/node.js';
import { newId } from '../../src/lib/ids.js';
import type { Figure } from './run.js';

const CONCURRENCY = 8;
const ROUND_MS = 3000;
const ROUNDS = 3;

async function startServer(dir: string): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/node.ts'], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', DATABASE_URL: `file:${join(dir, 'server.db')}`, LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /running at (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return {
    url,
    stop: () => new Promise((resolve) => {
      child.on('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function run(): Promise<Figure[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cn-bench-'));
  const server = await startServer(dir);
  try {
    const post = (path: string, body: unknown, token?: string) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
    const { token } = (await (await post('/api/v1/auth/login', { email: 'admin@voyage-online.test', password: 'demo-password' })).json()) as { token: string };
    const { secret } = (await (await post('/api/v1/api-keys', { name: 'bench dialer', scopes: ['consents:write'] }, token)).json()) as { secret: string };
    const scripts = ((await (await fetch(`${server.url}/api/v1/consent-scripts`, { headers: { authorization: `Bearer ${secret}` } })).json()) as { scripts: { id: string; purpose: string }[] }).scripts;

    let seq = 0;
    const captureBody = () => {
      const n = ++seq;
      return {
        contact: { email: `lead${n}@bench.example`, phone: `06${String(10_000_000 + n).slice(-8)}`, firstName: 'Marie', lastName: `Bench${n}` },
        call: { ref: `BENCH-${n}`, basis: 'inbound_call', campaign: 'Voyage à Rome' },
        answers: scripts.map((s, i) => ({ purpose: s.purpose, answer: i === 0 ? 'granted' : 'refused', scriptId: s.id })),
        agentEmail: 'agent@voyage-online.test',
      };
    };
    const latencies: number[] = [];
    let errors = 0;
    /** Keeps CONCURRENCY requests in flight for ROUND_MS; returns requests per second. */
    const loadRound = async (one: () => Promise<void>): Promise<number> => {
      let done = 0;
      const deadline = performance.now() + ROUND_MS;
      const start = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (performance.now() < deadline) {
            await one();
            done++;
          }
        }),
      );
      return (done / (performance.now() - start)) * 1000;
    };
    const httpRound = () =>
      loadRound(async () => {
        const t0 = performance.now();
        const res = await fetch(`${server.url}/api/v1/consents`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}`, 'idempotency-key': crypto.randomUUID() },
          body: JSON.stringify(captureBody()),
        });
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        if (res.status !== 201) errors++;
      });

    // The bare baseline: the same rows, written by drizzle in one transaction per capture.
    const bare = await openDatabase(`file:${join(dir, 'bare.db')}`);
    await migrateDatabase(bare.db);
    await bare.client.execute("INSERT INTO workspaces (id, slug, name, legal_name, address_line, postal_code, city, contact_email, contact_phone, privacy_url, dpo_contact, sender_name, sender_email, settings, updated_at) VALUES ('ws_bench','bench','B','B','a','75000','Paris','a@b.c','0','https://x','d','B','n@b.c','{}',0)");
    // A real confirmation email's size, so the bare insert writes as many bytes.
    const sample = (await (await fetch(`${server.url}/api/v1/dev/outbox?limit=1`, { headers: { authorization: `Bearer ${token}` } })).json()) as { messages: { html: string; text: string }[] };
    const confirmationHtml = sample.messages[0]?.html ?? 'x'.repeat(20_000);
    const confirmationText = sample.messages[0]?.text ?? 'x'.repeat(2_000);
    let bareSeq = 0;
    const bareRound = async (): Promise<number> => {
      let done = 0;
      const deadline = performance.now() + ROUND_MS;
      const start = performance.now();
      while (performance.now() < deadline) {
        const n = ++bareSeq;
        const now = new Date();
        const contactId = newId('ct');
        const callId = newId('call');
        const events = [0, 1].map((i) => ({
          id: newId('evt'),
          workspaceId: 'ws_bench',
          seq: n * 2 + i,
          contactId,
          purpose: i === 0 ? 'newsletter' : 'open_tracking',
          action: (i === 0 ? 'granted' : 'refused') as 'granted' | 'refused',
          channel: 'phone' as const,
          actorType: 'api_key' as const,
          actorId: 'key',
          callId,
          callRef: `BENCH-${n}`,
          callBasis: 'inbound_call',
          scriptId: 'scr',
          scriptSha256: 'f'.repeat(64),
          evidenceSha256: 'e'.repeat(64),
          occurredAt: now,
          recordedAt: now,
          prevHash: 'a'.repeat(64),
          hash: 'b'.repeat(64),
        }));
        await bare.db.transaction(async (tx) => {
          await tx.insert(contacts).values({ id: contactId, workspaceId: 'ws_bench', email: `lead${n}@bench.example`, phone: '+33612345678', firstName: 'Marie', lastName: `Bench${n}`, attributes: {}, createdAt: now, updatedAt: now, lastProspectActionAt: now });
          await tx.insert(calls).values({ id: callId, workspaceId: 'ws_bench', contactId, callRef: `BENCH-${n}`, basis: 'inbound_call', actorType: 'api_key', actorId: 'key', occurredAt: now, recordedAt: now });
          await tx.insert(consentEvents).values(events);
          await tx.insert(consentEvidence).values(events.map((e) => ({ eventId: e.id, workspaceId: 'ws_bench', data: { via: 'api' } })));
          await tx.insert(consentState).values(events.map((e) => ({ workspaceId: 'ws_bench', contactId, purpose: e.purpose, status: e.action, since: now, lastEventId: e.id })));
          // The confirmation email as queued (already marked sent), the message as the dev outbox
          // stores it, and the idempotency record: every row a capture leaves behind.
          const message = { from: '"B" <n@b.c>', to: `lead${n}@bench.example`, subject: 'Confirmez votre inscription', html: confirmationHtml, text: confirmationText, workspaceId: 'ws_bench' };
          await tx.insert(emailQueue).values({ id: newId('msg'), workspaceId: 'ws_bench', message, idempotencyKey: `confirm:${events[0]!.id}`, createdAt: now, nextAttemptAt: now, sentAt: now });
          await tx.insert(outboxMessages).values({ id: newId('msg'), workspaceId: 'ws_bench', from: message.from, to: message.to, subject: message.subject, html: message.html, text: message.text, headers: {}, tags: {}, idempotencyKey: `confirm:${events[0]!.id}`, createdAt: now });
          await tx.insert(idempotencyKeys).values({ workspaceId: 'ws_bench', route: 'consents', key: crypto.randomUUID(), requestHash: 'c'.repeat(64), status: 201, response: { contact: { id: contactId } }, createdAt: now });
        });
        done++;
      }
      return (done / (performance.now() - start)) * 1000;
    };

    // What the HTTP stack alone allows here: an authenticated no-op, same client, same concurrency.
    const meRound = () =>
      loadRound(async () => {
        await (await fetch(`${server.url}/api/v1/me`, { headers: { authorization: `Bearer ${secret}` } })).arrayBuffer();
      });

    await httpRound();
    await bareRound();
    const ceiling = await meRound();
    latencies.length = 0;
    const http: number[] = [];
    const bareRates: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      http.push(await httpRound());
      bareRates.push(await bareRound());
    }
    bare.close();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const sorted = [...latencies].sort((a, b) => a - b);
    const [h, b] = [median(http), median(bareRates)];
    return [
      { figure: `HTTP captures (${CONCURRENCY} in flight, API key, confirmation email included)`, value: h, unit: 'captures/s' },
      { figure: 'bare drizzle insert of the same rows, one transaction each', value: b, unit: 'captures/s' },
      { figure: 'HTTP GET /api/v1/me, same client and concurrency (the HTTP ceiling)', value: ceiling, unit: 'req/s' },
      { figure: 'HTTP / bare', value: h / b, unit: 'x', target: '>= 0.5' },
      { figure: 'HTTP p50 latency', value: percentile(sorted, 50), unit: 'ms' },
      { figure: 'HTTP p99 latency', value: percentile(sorted, 99), unit: 'ms' },
      { figure: 'HTTP errors', value: errors, unit: 'requests', target: '<= 0' },
    ];
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
