/** @jsxImportSource hono/jsx */
/**
 * Marketer pages for sending: the campaign list, and a campaign page to send it to a segment
 * and watch the progress bar fill (polling the progress API; a reload works without script).
 * The full editor, rule builder and results come with the web-app issue.
 */
import { Hono } from 'hono';
import { listCampaigns, getCampaign } from '../../domain/campaigns/campaigns.js';
import { campaignProgress, cancelCampaign, pauseCampaign, resumeCampaign, sendCampaign } from '../../domain/campaigns/lifecycle.js';
import { Conflict, Invalid } from '../../domain/errors.js';
import { audiencePreview, listSegments } from '../../domain/segments/segments.js';
import { starterTemplates } from '../../email/templates.generated.js';
import { createCampaign } from '../../domain/campaigns/campaigns.js';
import { formatDateTime, t } from '../../i18n/fr.js';
import { ctxOf } from '../context.js';
import type { AppEnv } from '../env.js';
import { formString, pageFor, viewerOf } from './guard.js';
import { DataTable, Layout, Notice } from './layout.js';
import { CampaignResults, RESULT_GROUPS } from './campaign-results.js';

const s = t.campaigns;
const marketers = pageFor(['marketer', 'admin']);

export const campaignPages = new Hono<AppEnv>()
  .get('/campaigns', marketers, async (c) => {
    const campaigns = await listCampaigns({ ctx: ctxOf(c) });
    return c.html(
      <Layout title={s.title} viewer={await viewerOf(c)} current="/campaigns">
        <h1>{s.title}</h1>
        <form method="post" action="/campaigns" class="card inline-form">
          <label for="name" class="sr-only">
            {s.name}
          </label>
          <input id="name" name="name" type="text" required maxlength={120} placeholder={s.newPlaceholder} />
          <button type="submit">{s.createFromStarter}</button>
        </form>
        {campaigns.length === 0 ? (
          <p class="muted">{s.empty}</p>
        ) : (
          <DataTable headers={[s.name, s.subject, s.status, s.updated]}>
            {campaigns.map((cp) => (
              <tr>
                <td>
                  <a href={`/campaigns/${cp.id}`}>{cp.name}</a>
                </td>
                <td>{cp.subject}</td>
                <td>
                  <span class={`pill ${cp.status === 'sent' ? 'ok' : cp.status === 'paused' || cp.status === 'failed' ? 'warn' : ''}`}>{s.statuses[cp.status]}</span>
                </td>
                <td>{formatDateTime(cp.updatedAt)}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Layout>,
    );
  })
  .post('/campaigns', marketers, async (c) => {
    const name = formString(await c.req.parseBody(), 'name').trim().slice(0, 120) || s.newPlaceholder;
    const campaign = await createCampaign({ ctx: ctxOf(c), input: { name, templateId: starterTemplates[0].id } });
    return c.redirect(`/campaigns/${campaign.id}`, 303);
  })
  .get('/campaigns/:id', marketers, async (c) => {
    const ctx = ctxOf(c);
    const campaign = await getCampaign({ ctx, input: { id: c.req.param('id') } });
    const progress = await campaignProgress({ ctx, input: { id: campaign.id } });
    const segments = await listSegments({ ctx });
    const counts = await Promise.all(segments.map(async (sg) => (await audiencePreview({ ctx, input: { rules: sg.rules } })).count));
    const done = progress.sent + progress.failed + progress.suppressed;
    const error = c.req.query('error');
    const groupBy = RESULT_GROUPS.find((g) => g === c.req.query('groupBy')) ?? 'segment';
    return c.html(
      <Layout title={campaign.name} viewer={await viewerOf(c)} current="/campaigns" scripts={['/assets/campaign.js']}>
        <p>
          <a href="/campaigns">← {s.title}</a>
        </p>
        <h1>{campaign.name}</h1>
        <p class="lead">{campaign.subject}</p>
        {error && <Notice kind="err">{error}</Notice>}
        {campaign.status !== 'draft' && (
        <section class="card" id="progress-card" data-campaign={campaign.id} data-status={campaign.status}>
          <h2>
            {s.status} : <span id="status">{s.statuses[campaign.status]}</span>
          </h2>
          {campaign.statusReason && <p id="reason">{campaign.statusReason}</p>}
          <progress id="progress" max={Math.max(1, progress.total)} value={done} aria-label={s.progress}></progress>
          <p id="counts" aria-live="polite">
            {s.counts(progress.sent, progress.total, progress.failed, progress.suppressed)}
          </p>
          <div class="actions">
            {(campaign.status === 'sending' || campaign.status === 'scheduled') && (
              <form method="post" action={`/campaigns/${campaign.id}/pause`}>
                <button class="secondary" type="submit">
                  {s.pause}
                </button>
              </form>
            )}
            {campaign.status === 'paused' && (
              <form method="post" action={`/campaigns/${campaign.id}/resume`}>
                <button type="submit">{s.resume}</button>
              </form>
            )}
            {['scheduled', 'sending', 'paused'].includes(campaign.status) && (
              <form method="post" action={`/campaigns/${campaign.id}/cancel`}>
                <button class="danger" type="submit">
                  {s.cancel}
                </button>
              </form>
            )}
          </div>
        </section>
        )}
        {campaign.status !== 'draft' && <CampaignResults ctx={ctx} campaignId={campaign.id} groupBy={groupBy} />}
        {campaign.status === 'draft' && (
          <section class="card">
            <h2>{s.sendTitle}</h2>
            {segments.length === 0 ? (
              <p class="muted">{s.noSegment}</p>
            ) : (
              <form method="post" action={`/campaigns/${campaign.id}/send`}>
                <label for="segmentId">{s.segment}</label>
                <select id="segmentId" name="segmentId" required>
                  {segments.map((sg, i) => (
                    <option value={sg.id}>{s.segmentOption(sg.name, counts[i] ?? 0)}</option>
                  ))}
                </select>
                <div class="actions">
                  <button type="submit">{s.sendNow}</button>
                </div>
              </form>
            )}
          </section>
        )}
      </Layout>,
    );
  })
  .post('/campaigns/:id/:action{send|pause|resume|cancel}', marketers, async (c) => {
    const ctx = ctxOf(c);
    const id = c.req.param('id');
    const action = c.req.param('action');
    try {
      if (action === 'send') await sendCampaign({ ctx, input: { id, segmentId: formString(await c.req.parseBody(), 'segmentId') } });
      else if (action === 'pause') await pauseCampaign({ ctx, input: { id } });
      else if (action === 'resume') await resumeCampaign({ ctx, input: { id } });
      else await cancelCampaign({ ctx, input: { id } });
    } catch (e) {
      if (e instanceof Conflict || e instanceof Invalid) return c.redirect(`/campaigns/${id}?error=${encodeURIComponent(e.message)}`, 303);
      throw e;
    }
    return c.redirect(`/campaigns/${id}`, 303);
  });

/** Served at /assets/campaign.js: keeps the progress bar moving while a campaign sends. */
export const campaignJs = `
(function () {
  var card = document.getElementById('progress-card');
  if (!card) return;
  var id = card.getAttribute('data-campaign');
  var labels = ${JSON.stringify(s.statuses)};
  function tick() {
    fetch('/api/v1/campaigns/' + id + '/progress', { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (p) {
        if (!p) return;
        var bar = document.getElementById('progress');
        bar.max = Math.max(1, p.total);
        bar.value = p.sent + p.failed + p.suppressed;
        document.getElementById('status').textContent = labels[p.status] || p.status;
        document.getElementById('counts').textContent = p.sent + ' envoyé(s) sur ' + p.total + ' · ' + p.failed + ' en échec · ' + p.suppressed + ' retiré(s) avant envoi';
        if (p.status === 'sending' || p.status === 'scheduled') setTimeout(tick, 1000);
        // Finished (or paused elsewhere): reload once so the actions match the new state.
        else if (p.status !== card.getAttribute('data-status')) location.reload();
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  tick();
})();
`;

/** Styles of the campaign pages, appended to /assets/app.css. */
export const campaignsCss = ``;
