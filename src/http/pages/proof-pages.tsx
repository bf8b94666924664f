/** @jsxImportSource hono/jsx */
/**
 * Admin/DPO pages: read (and print) a contact's consent proof: the same bundle as
 * GET /api/v1/contacts/{id}/consent-proof, laid out for a person (or a PDF through "Print").
 * Finding a contact is the directory's job (/contacts); /admin/contacts redirects there.
 */
import { and, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import { dsrRequests } from '../../db/schema.js';
import { RightsCard } from './privacy-pages.js';
import { consentProof } from '../../domain/consent/proof.js';
import { formatPhone } from '../../domain/contacts/normalise.js';
import { formatDateTime, t } from '../../i18n/fr.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { pageFor, viewerOf } from './guard.js';
import { DataTable, Layout, Notice } from './layout.js';

const s = t.proof;
const admin = pageFor(['admin']);
const when = (iso: string | null) => (iso ? formatDateTime(new Date(iso)) : '—');

export const proofPages = new Hono<AppEnv>()
  // The search moved to the contact directory (/contacts); old links and bookmarks keep working.
  .get('/admin/contacts', admin, (c) => {
    const query = new URL(c.req.url).search;
    return c.redirect(`/contacts${query}`, 301);
  })
  .get('/admin/contacts/:id/proof', admin, async (c) => {
    const ctx = ctxOf(c);
    const proof = await consentProof({ ctx, input: { contactId: c.req.param('id') } });
    // Opened from the request register: the actions below answer (and close) that request.
    const requestId = c.req.query('request');
    const request = requestId
      ? await ctx.db.query.dsrRequests.findFirst({ where: and(eq(dsrRequests.id, requestId), eq(dsrRequests.workspaceId, ctx.workspaceId), eq(dsrRequests.contactId, proof.contact.id), eq(dsrRequests.status, 'open')) })
      : undefined;
    const chain = proof.chain.workspaceVerification;
    const scripts = new Map(proof.scripts.map((x) => [x.id, x]));
    return c.html(
      <Layout title={s.title} viewer={await viewerOf(c)} current="/contacts">
        <p class="ct-back">
          <a href={`/contacts/${proof.contact.id}`}>{t.contacts.profile.profileLink}</a>
        </p>
        <h1>{s.title}</h1>
        <p class="lead">{s.generated(when(proof.generatedAt))}</p>
        {chain.ok ? <Notice kind="ok">{s.chainOk(chain.count)}</Notice> : <Notice kind="err">{s.chainBroken(chain.firstBroken?.seq ?? 0, chain.firstBroken?.reason ?? '')}</Notice>}
        <div class="grid">
          <section class="card">
            <h2>{s.controller}</h2>
            <dl class="kv stack">
              <dt>{t.workspace.fields.legalName}</dt>
              <dd>{proof.controller.legalName}</dd>
              <dt>{t.workspace.fields.addressLine}</dt>
              <dd>{proof.controller.address}</dd>
              <dt>{t.workspace.fields.dpoContact}</dt>
              <dd>{proof.controller.dpoContact}</dd>
              <dt>{t.workspace.fields.privacyUrl}</dt>
              <dd>{proof.controller.privacyUrl}</dd>
            </dl>
          </section>
          <section class="card">
            <h2>{s.person}</h2>
            <dl class="kv stack">
              <dt>{s.name}</dt>
              <dd>{[proof.contact.firstName, proof.contact.lastName].filter(Boolean).join(' ') || '—'}</dd>
              <dt>{s.email}</dt>
              <dd>{proof.contact.email}</dd>
              <dt>{s.phone}</dt>
              <dd>{proof.contact.phone ? formatPhone(proof.contact.phone) : '—'}</dd>
              <dt>{s.currentConsents}</dt>
              <dd>
                {proof.currentConsents.map((x) => (
                  <div>
                    {x.purpose} : <strong>{x.status}</strong> {s.since(when(x.since))}
                    {x.confirmedAt ? ` · ${s.confirmedOn(when(x.confirmedAt))}` : ''}
                  </div>
                ))}
              </dd>
            </dl>
          </section>
        </div>
        <h2>{s.calls}</h2>
        <DataTable headers={[s.date, s.callRef, s.basis, s.agent, s.campaign]}>
          {proof.calls.map((call) => (
            <tr>
              <td>{when(call.occurredAt)}</td>
              <td>
                <code>{call.callRef}</code>
              </td>
              <td>
                {t.agent.bases[call.basis]}
                {call.basisRef ? ` (${call.basisRef})` : ''}
              </td>
              <td>{call.agent ?? call.recordedBy}</td>
              <td>{call.callCampaign ?? '—'}</td>
            </tr>
          ))}
        </DataTable>
        <h2 class="spaced">{s.events}</h2>
        {proof.events.map((e) => {
          const script = e.scriptId ? scripts.get(e.scriptId) : undefined;
          return (
            <section class="card event">
              <p class="flush">
                <strong>
                  #{e.seq} · {e.purpose} · {e.action}
                </strong>{' '}
                · {when(e.occurredAt)} · {e.channel} · {e.actorType}
                {e.callRef ? ` · ${s.callRef} ${e.callRef}` : ''}
              </p>
              {script && (
                <details>
                  <summary>{s.scriptRead(script.version, script.sha256.slice(0, 12))}</summary>
                  <blockquote class="script">{script.text}</blockquote>
                </details>
              )}
              {e.evidence && <p class="muted">{Object.entries(e.evidence).map(([k, v]) => `${k}: ${v}`).join(' · ')}</p>}
              <p class="muted hash">
                hash {e.hash} · prev {e.prevHash.slice(0, 16)}… · {e.checks.hashMatches ? s.hashOk : s.hashBad}
              </p>
            </section>
          );
        })}
        <p>
          <a href={`/api/v1/contacts/${proof.contact.id}/consent-proof`}>{s.json}</a>
        </p>
        <RightsCard contactId={proof.contact.id} requestId={request?.id} requestType={request?.type} />
      </Layout>,
    );
  });
