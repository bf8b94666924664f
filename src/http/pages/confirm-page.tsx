/** @jsxImportSource hono/jsx */
import { Hono, type Context } from 'hono';
import { answerConfirmation, readConfirmation, type Confirmation } from '../../domain/consent/confirmation.js';
import { t } from '../../i18n/fr.js';
import { anonymousCtxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { sameOriginForm } from '../middleware/same-origin.js';
import { formString } from './guard.js';
import { Layout, Notice } from './layout.js';

const s = t.confirm;

function Invalid() {
  return (
    <Layout title={s.invalidTitle}>
      <div class="card auth-box">
        <h1>{s.invalidTitle}</h1>
        <p>{s.invalid}</p>
      </div>
    </Layout>
  );
}

function Page(props: { token: string; c: Confirmation; refuse: boolean; done?: 'confirmed' | 'refused' }) {
  const brand = props.c.workspace.name;
  const { state } = props.c;
  return (
    <Layout title={s.title(brand)}>
      <div class="card auth-box">
        <h1>{s.title(brand)}</h1>
        <p class="muted">{props.c.email}</p>
        {props.done === 'confirmed' && <Notice kind="ok">{s.confirmed(brand)}</Notice>}
        {props.done === 'refused' && <Notice kind="ok">{s.refused(brand)}</Notice>}
        {!props.done && state === 'confirmed' && <Notice kind="info">{s.alreadyConfirmed}</Notice>}
        {!props.done && state === 'withdrawn' && <Notice kind="info">{s.alreadyWithdrawn(brand)}</Notice>}
        {state === 'superseded' && <Notice kind="info">{s.superseded}</Notice>}
        {state === 'pending' && !props.refuse && (
          <form method="post" action={`/confirm/${props.token}`}>
            <p>{s.confirmIntro(brand)}</p>
            <input type="hidden" name="answer" value="confirm" />
            <div class="actions">
              <button type="submit">{s.confirmButton}</button>
            </div>
            <p>
              <a href={`/confirm/${props.token}?refuse=1`}>{s.refuseLink}</a>
            </p>
          </form>
        )}
        {(state === 'pending' || state === 'confirmed') && props.refuse && (
          <form method="post" action={`/confirm/${props.token}`}>
            <p>{s.refuseIntro(brand)}</p>
            <input type="hidden" name="answer" value="refuse" />
            <div class="actions">
              <button class="danger" type="submit">
                {s.refuseButton}
              </button>
            </div>
          </form>
        )}
        <p class="muted">
          <a href={props.c.workspace.privacyUrl}>{t.email.privacyPolicy}</a> · {props.c.workspace.legalName}, {props.c.workspace.addressLine}, {props.c.workspace.postalCode} {props.c.workspace.city}
        </p>
      </div>
    </Layout>
  );
}

function evidenceOf(c: Context<AppEnv>): Record<string, string> {
  return { ip: c.get('deps').clientIp(c) ?? '', userAgent: (c.req.header('user-agent') ?? '').slice(0, 300) };
}

/**
 * Double opt-in pages. GET only shows a button (mail scanners open every link; opening changes
 * nothing); the POST records `confirmed` or `withdrawn` with IP and user agent.
 */
export const confirmPage = new Hono<AppEnv>()
  .get('/confirm/:token', async (c) => {
    const token = c.req.param('token');
    const confirmation = await readConfirmation({ ctx: anonymousCtxOf(c), input: { token } });
    c.header('Referrer-Policy', 'no-referrer');
    if (!confirmation) return c.html(<Invalid />, 400);
    return c.html(<Page token={token} c={confirmation} refuse={c.req.query('refuse') === '1'} />);
  })
  .post('/confirm/:token', sameOriginForm, async (c) => {
    const token = c.req.param('token');
    const answer = formString(await c.req.parseBody(), 'answer');
    c.header('Referrer-Policy', 'no-referrer');
    if (answer !== 'confirm' && answer !== 'refuse') return c.html(<Invalid />, 400);
    const after = await answerConfirmation({ ctx: anonymousCtxOf(c), input: { token, answer, evidence: evidenceOf(c) } });
    if (!after) return c.html(<Invalid />, 400);
    return c.html(<Page token={token} c={after} refuse={false} done={answer === 'confirm' ? (after.state === 'confirmed' ? 'confirmed' : undefined) : 'refused'} />);
  });
