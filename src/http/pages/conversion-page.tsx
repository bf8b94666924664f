/** @jsxImportSource hono/jsx */
/**
 * /agent/conversion: a prospect calls back after the newsletter ("Appelez votre conseiller") and
 * books: the agent records the conversion, found by email or phone. Same rules as the API
 * (src/tracking/conversions.ts); the form's one-time id is the external id, so a double submit
 * records one conversion.
 */
import { Hono, type Context } from 'hono';
import { searchContacts } from '../../domain/contacts/contacts.js';
import { DomainError, Invalid, type FieldIssue } from '../../domain/errors.js';
import { formatEuros as euros, t } from '../../i18n/fr.js';
import { recordConversion } from '../../tracking/conversions.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { pageFor, viewerOf } from './guard.js';
import { FieldError, Layout, Notice } from './layout.js';

const s = t.conversion;
const recorders = pageFor(['agent', 'admin', 'marketer']);
const TYPES = ['booking', 'quote', 'other'] as const;

async function page(c: Context<AppEnv>, values: Record<string, string>, issues: FieldIssue[], status: 200 | 400 | 404, done?: string) {
  const err = (f: string) => issues.find((i) => i.field === f)?.message;
  return c.html(
    <Layout title={s.title} viewer={await viewerOf(c)} current="/agent">
      <h1>{s.title}</h1>
      <p class="muted">{s.intro}</p>
      {done && <Notice kind="ok">{done}</Notice>}
      <form method="post" action="/agent/conversion" class="card" novalidate>
        <input type="hidden" name="formId" value={crypto.randomUUID()} />
        <label for="who">{s.who}</label>
        <input id="who" name="who" type="text" value={values.who ?? ''} autofocus autocomplete="off" aria-invalid={err('who') ? 'true' : undefined} aria-describedby="who-error" />
        <FieldError id="who-error" message={err('who')} />
        <label for="type">{s.type}</label>
        <select id="type" name="type">
          {TYPES.map((type) => (
            <option value={type} selected={values.type === type}>
              {s.types[type]}
            </option>
          ))}
        </select>
        <label for="value">{s.value}</label>
        <input id="value" name="value" type="text" inputmode="decimal" value={values.value ?? ''} aria-invalid={err('value') ? 'true' : undefined} aria-describedby="value-error" />
        <FieldError id="value-error" message={err('value')} />
        <p>
          <button type="submit">{s.submit}</button>
        </p>
      </form>
    </Layout>,
    status,
  );
}


export const conversionPage = new Hono<AppEnv>()
  .get('/agent/conversion', recorders, (c) => page(c, {}, [], 200))
  .post('/agent/conversion', recorders, async (c) => {
    const ctx = ctxOf(c);
    const body = await c.req.parseBody();
    const values = Object.fromEntries(Object.entries(body).map(([k, v]) => [k, typeof v === 'string' ? v.trim().slice(0, 300) : '']));
    const issues: FieldIssue[] = [];
    const raw = (values.value ?? '').replace(/\s/g, '').replace(',', '.');
    const value = raw === '' ? 0 : Number(raw);
    if (!/^\d+(\.\d{1,2})?$/.test(raw || '0')) issues.push({ field: 'value', message: s.badValue });
    const who = values.who ?? '';
    let contactId: string | undefined;
    try {
      const found = await searchContacts({ ctx, input: who.includes('@') ? { email: who } : { phone: who } });
      contactId = found[0]?.id;
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
    }
    if (!contactId) issues.push({ field: 'who', message: s.notFound });
    if (issues.length) return page(c, values, issues, 400);
    try {
      const type = TYPES.includes(values.type as never) ? values.type! : 'other';
      const { conversion } = await recordConversion({ ctx, input: { contactId, type, value, externalId: `agent:${values.formId || crypto.randomUUID()}` } });
      const campaign = conversion.campaignId ? await ctx.db.query.campaigns.findFirst({ where: (cp, { eq }) => eq(cp.id, conversion.campaignId!) }) : undefined;
      const where = campaign ? s.attributedTo(campaign.name, s.rules[conversion.attribution]!) : s.unattributed;
      return page(c, {}, [], 200, s.saved(conversion.value ? euros(conversion.value) : '', where));
    } catch (error) {
      if (error instanceof Invalid) return page(c, values, error.issues.map((i) => ({ ...i, field: i.field === 'value' ? 'value' : 'who' })), 400);
      if (error instanceof DomainError && error.kind === 'not_found') return page(c, values, [{ field: 'who', message: s.notFound }], 404);
      throw error;
    }
  });
