/**
 * A fake Resend: a real HTTP server on 127.0.0.1 that speaks the parts of Resend's API we use
 * (POST /emails, POST /emails/batch), with Idempotency-Key replay (24 h in Resend, forever
 * here), and programmable failures (429 with retry-after, 5xx, 422), and network faults: a
 * request that hangs (no answer) or whose connection is reset, before or after Resend accepted
 * it. Driven through the real `resend` SDK by pointing its baseUrl here.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedEmail {
  id: string;
  from: string;
  to: string | string[];
  subject: string;
  html?: string;
  text?: string;
  headers?: Record<string, string>;
  tags?: { name: string; value: string }[];
}

export interface ReceivedRequest {
  path: string;
  idempotencyKey: string | undefined;
  authorization: string | undefined;
  emails: ReceivedEmail[];
}

type Failure = { status: number; name: string; message: string; headers?: Record<string, string> };
/**
 * `hang`: no answer (until `answerAfterMs`, or never: the connection is held until close);
 * `reset`: the connection is destroyed mid-request. With `accepted`, the emails are delivered
 * (and the key remembered) first: the provider did the work, only its answer is lost.
 */
type NetworkFault = { network: 'hang' | 'reset'; accepted?: boolean; answerAfterMs?: number };

export interface FakeResend {
  url: string;
  /** Every accepted email (idempotent replays are not counted twice). */
  delivered: ReceivedEmail[];
  requests: ReceivedRequest[];
  /** When the first and the last accepted request arrived (ms since epoch). */
  window: { first: number; last: number };
  /** The next N requests fail with this answer, or this network fault. */
  failNext(failure: Failure | NetworkFault, times?: number): void;
  /** Resolves when the next request hangs (a `hang` fault took it). */
  nextHang(): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export interface FakeResendOptions {
  /** Answer after this long, like a real provider. */
  delayMs?: number;
  /** Enforce Resend's per-team rate limit: more requests than this in a second get a 429. */
  requestsPerSecond?: number;
  /** Keep only recipients, not bodies (benchmarks send hundreds of thousands). */
  keepBodies?: boolean;
}

export async function startFakeResend(opts: FakeResendOptions = {}): Promise<FakeResend> {
  const delivered: ReceivedEmail[] = [];
  const requests: ReceivedRequest[] = [];
  const replays = new Map<string, string>();
  const failures: (Failure | NetworkFault)[] = [];
  const held = new Set<ServerResponse>();
  let hangWaiters: ((request: ReceivedRequest) => void)[] = [];
  const recent: number[] = [];
  const window = { first: 0, last: 0 };
  let seq = 0;

  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || (req.url !== '/emails' && req.url !== '/emails/batch')) {
      return send(404, { statusCode: 404, name: 'not_found', message: 'Not found' });
    }
    const body = (await readJson(req)) as ReceivedEmail | ReceivedEmail[];
    if (opts.requestsPerSecond) {
      const now = Date.now();
      while (recent.length && recent[0]! <= now - 1000) recent.shift();
      if (recent.length >= opts.requestsPerSecond) {
        const reset = Math.max(1, Math.ceil((recent[0]! + 1000 - now) / 1000));
        return send(429, { statusCode: 429, name: 'rate_limit_exceeded', message: 'Too many requests' }, { 'retry-after': String(reset), 'ratelimit-limit': String(opts.requestsPerSecond), 'ratelimit-remaining': '0', 'ratelimit-reset': String(reset) });
      }
      recent.push(now);
    }
    // A provider takes a moment: long enough for a crash to land between "accepted" and "marked".
    if (opts.delayMs) await new Promise((resolve) => setTimeout(resolve, opts.delayMs));
    const idempotencyKey = req.headers['idempotency-key'] as string | undefined;
    const emails = Array.isArray(body) ? body : [body];
    requests.push({ path: req.url, idempotencyKey, authorization: req.headers.authorization, emails: opts.keepBodies === false ? [] : emails });

    const failure = failures.shift();
    const network = failure && 'network' in failure ? failure : null;
    // The answer this request gets instead of the normal one, when a network fault took it.
    const lose = (answer: () => void) => {
      if (network!.network === 'reset') return void req.socket.destroy();
      held.add(res);
      res.on('close', () => held.delete(res));
      const waiters = hangWaiters;
      hangWaiters = [];
      for (const w of waiters) w(requests.at(-1)!);
      if (network!.answerAfterMs !== undefined) setTimeout(() => !res.destroyed && answer(), network!.answerAfterMs);
    };
    if (network && !network.accepted) return lose(() => send(503, { statusCode: 503, name: 'internal_server_error', message: 'Late answer' }));
    if (failure && !('network' in failure)) return send(failure.status, { statusCode: failure.status, name: failure.name, message: failure.message }, failure.headers);
    if (!req.headers.authorization?.startsWith('Bearer re_')) return send(401, { statusCode: 401, name: 'missing_api_key', message: 'Missing API key' });
    if (req.url === '/emails/batch' && emails.length > 100) {
      return send(422, { statusCode: 422, name: 'validation_error', message: 'The `emails` array must contain at most 100 items.' });
    }
    const digest = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    if (idempotencyKey && replays.has(idempotencyKey)) {
      const previous = replays.get(idempotencyKey)!;
      const sameBody = previous.split('|')[0] === digest;
      if (!sameBody) return send(409, { statusCode: 409, name: 'invalid_idempotent_request', message: 'Same idempotency key, different payload.' });
      const replay = () => send(200, JSON.parse(previous.slice(previous.indexOf('|') + 1)));
      if (network) return lose(replay);
      return replay();
    }
    window.first ||= Date.now();
    window.last = Date.now();
    const ids = emails.map((e) => {
      const id = `fake-${++seq}`;
      delivered.push(opts.keepBodies === false ? { id, from: e.from, to: e.to, subject: '' } : { ...e, id });
      return id;
    });
    const answer = req.url === '/emails/batch' ? { data: ids.map((id) => ({ id })) } : { id: ids[0] };
    if (idempotencyKey) replays.set(idempotencyKey, `${digest}|${JSON.stringify(answer)}`);
    const limit = opts.requestsPerSecond ?? 10;
    const ok = () => send(200, answer, { 'ratelimit-limit': String(limit), 'ratelimit-remaining': String(Math.max(0, limit - recent.length)), 'ratelimit-reset': '1' });
    if (network) return lose(ok);
    ok();
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    delivered,
    requests,
    window,
    failNext(failure, times = 1) {
      for (let i = 0; i < times; i++) failures.push(failure);
    },
    nextHang: () => new Promise((resolve) => hangWaiters.push(resolve)),
    close: () =>
      new Promise((resolve) => {
        for (const res of held) res.socket?.destroy();
        server.close(() => resolve());
      }),
  };
}
