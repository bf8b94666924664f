/**
 * A fake Resend: a real HTTP server on 127.0.0.1 that speaks the parts of Resend's API we use
 * (POST /emails, POST /emails/batch), with Idempotency-Key replay (24 h in Resend, forever
 * here), and programmable failures (429 with retry-after, 5xx, 422), and network faults: a
 * request that hangs (no answer) or whose connection is reset, before or after Resend accepted
 * it, or that Resend is still working on when its retry arrives. Driven through the real
 * `resend` SDK by pointing its baseUrl here.
 *
 * Idempotency answers, as Resend documents them (docs: "Idempotency keys", API reference
 * "Errors"): a key seen before with the same payload gets the first answer again; with another
 * payload, `409 invalid_idempotent_request` (useless to retry); while the first request with the
 * key is still in progress, `409 concurrent_idempotent_requests` ("try the request again later").
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
 * (and the key remembered) first: the provider did the work, only its answer is lost on the way.
 *
 * `slow`: Resend took the request and is still working on it, so its key is in progress: a
 * request with the same key gets `409 concurrent_idempotent_requests`. The work ends after
 * `busyFor` such refusals (default 1: "still busy for the first retry, done by the next") or
 * after `answerAfterMs`, whichever comes first: then the emails are delivered, the key
 * remembered, and the answer sent if the client still waits for it. Counting refusals rather
 * than milliseconds keeps tests whose backoff runs on a simulated clock deterministic.
 */
type NetworkFault =
  | { network: 'hang' | 'reset'; accepted?: boolean; answerAfterMs?: number }
  | { network: 'slow'; busyFor?: number; answerAfterMs?: number };

export interface FakeResend {
  url: string;
  /** Every accepted email (idempotent replays are not counted twice). */
  delivered: ReceivedEmail[];
  requests: ReceivedRequest[];
  /** Every 409 answered, by idempotency key: `concurrent_idempotent_requests` or `invalid_idempotent_request`. */
  conflicts: { idempotencyKey: string; name: 'concurrent_idempotent_requests' | 'invalid_idempotent_request' }[];
  /** When the first and the last accepted request arrived (ms since epoch). */
  window: { first: number; last: number };
  /**
   * The next N requests fail with this answer, or this network fault; with `forKey`, the next N
   * requests carrying that Idempotency-Key (others pass untouched): a test then says which batch
   * a fault lands on, whatever happens to the batches around it.
   */
  failNext(failure: Failure | NetworkFault, times?: number, forKey?: string): void;
  /** Resolves when the next request is held without an answer (a `hang` or `slow` fault took it). */
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
  const conflicts: FakeResend['conflicts'] = [];
  /** key → `<payload digest>|<first answer>` */
  const replays = new Map<string, string>();
  /** Keys of `slow` requests still in progress: their payload, and what a refused retry does. */
  const inProgress = new Map<string, { digest: string; refused(): void }>();
  const failures: { failure: Failure | NetworkFault; forKey: string | undefined }[] = [];
  const held = new Set<ServerResponse>();
  const timers = new Set<NodeJS.Timeout>();
  let hangWaiters: ((request: ReceivedRequest) => void)[] = [];
  const recent: number[] = [];
  const window = { first: 0, last: 0 };
  let seq = 0;
  const later = (fn: () => void, ms: number) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const server: Server = createServer(async (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      // The client may have given up (timeout) and closed the connection: nobody to answer.
      if (res.destroyed || res.writableEnded) return;
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
    const request: ReceivedRequest = { path: req.url, idempotencyKey, authorization: req.headers.authorization, emails: opts.keepBodies === false ? [] : emails };
    requests.push(request);

    const programmed = failures.findIndex((f) => f.forKey === undefined || f.forKey === idempotencyKey);
    const failure = programmed === -1 ? undefined : failures.splice(programmed, 1)[0]!.failure;
    const network = failure && 'network' in failure ? failure : null;
    /** Holds the answer back (a hang, or work in progress), telling whoever waits for that. */
    const hold = () => {
      held.add(res);
      res.on('close', () => held.delete(res));
      const waiters = hangWaiters;
      hangWaiters = [];
      for (const w of waiters) w(request);
    };
    // The answer this request gets instead of the normal one, when a hang or reset took it.
    const lose = (answer: () => void) => {
      if (network!.network === 'reset') return void req.socket.destroy();
      hold();
      if (network!.answerAfterMs !== undefined) later(answer, network!.answerAfterMs);
    };
    if (network && network.network !== 'slow' && !network.accepted) return lose(() => send(503, { statusCode: 503, name: 'internal_server_error', message: 'Late answer' }));
    if (failure && !('network' in failure)) return send(failure.status, { statusCode: failure.status, name: failure.name, message: failure.message }, failure.headers);
    if (!req.headers.authorization?.startsWith('Bearer re_')) return send(401, { statusCode: 401, name: 'missing_api_key', message: 'Missing API key' });
    if (req.url === '/emails/batch' && emails.length > 100) {
      return send(422, { statusCode: 422, name: 'validation_error', message: 'The `emails` array must contain at most 100 items.' });
    }
    const digest = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const conflict = (name: FakeResend['conflicts'][number]['name']) => {
      conflicts.push({ idempotencyKey: idempotencyKey!, name });
      const message = name === 'invalid_idempotent_request' ? 'Same idempotency key used with a different request payload.' : 'Same idempotency key used while original request is still in progress.';
      send(409, { statusCode: 409, name, message });
    };
    const working = idempotencyKey ? inProgress.get(idempotencyKey) : undefined;
    if (working) {
      if (working.digest !== digest) return conflict('invalid_idempotent_request');
      conflict('concurrent_idempotent_requests');
      return working.refused();
    }
    if (idempotencyKey && replays.has(idempotencyKey)) {
      const previous = replays.get(idempotencyKey)!;
      const sameBody = previous.split('|')[0] === digest;
      if (!sameBody) return conflict('invalid_idempotent_request');
      const replay = () => send(200, JSON.parse(previous.slice(previous.indexOf('|') + 1)));
      if (network && network.network !== 'slow') return lose(replay);
      return replay();
    }
    // The work: deliver, remember the key with its answer, answer.
    const accept = () => {
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
      return () => send(200, answer, { 'ratelimit-limit': String(limit), 'ratelimit-remaining': String(Math.max(0, limit - recent.length)), 'ratelimit-reset': '1' });
    };
    if (network?.network === 'slow') {
      let busy = network.busyFor ?? 1;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        if (idempotencyKey) inProgress.delete(idempotencyKey);
        accept()();
      };
      if (idempotencyKey) inProgress.set(idempotencyKey, { digest, refused: () => --busy <= 0 && finish() });
      hold();
      if (network.answerAfterMs !== undefined) later(finish, network.answerAfterMs);
      return;
    }
    const ok = accept();
    if (network) return lose(ok);
    ok();
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    delivered,
    requests,
    conflicts,
    window,
    failNext(failure, times = 1, forKey) {
      for (let i = 0; i < times; i++) failures.push({ failure, forKey });
    },
    nextHang: () => new Promise((resolve) => hangWaiters.push(resolve)),
    close: () =>
      new Promise((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const res of held) res.socket?.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
