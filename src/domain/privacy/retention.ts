/**
 * Storage limitation (GDPR Art. 5(1)(e)); CNIL: prospect data is kept 3 years from collection or
 * from the last contact *coming from the prospect* (a capture, a confirmation, a click, a
 * conversion, a reply; an open does not count). `contacts.last_prospect_action_at` holds that
 * date; this job erases every live contact whose date is older than the workspace's retention.
 *
 * Scheduled (the Node runner daily, the Worker's Cron), safe to run twice or concurrently: each
 * contact is erased in its own short transaction, and an erased contact is never erased again.
 * Retention erasure does not suppress the address: the person did not object; if they had, the
 * suppression from their withdrawal is already there.
 */
import { and, asc, eq, isNull, lt } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { auditLog, contacts, workspaces } from '../../db/schema.js';
import { newId } from '../../lib/ids.js';
import { eraseContact } from './erasure.js';

export interface RetentionReport {
  workspaceId: string;
  cutoff: string;
  erased: number;
}

const DAY_MS = 86_400_000;

export async function runRetention(db: Db, now: Date, opts: { workspaceId?: string; pageSize?: number } = {}): Promise<RetentionReport[]> {
  const pageSize = opts.pageSize ?? 100;
  const reports: RetentionReport[] = [];
  const all = await db.select({ id: workspaces.id, settings: workspaces.settings }).from(workspaces).where(opts.workspaceId ? eq(workspaces.id, opts.workspaceId) : undefined);
  for (const ws of all) {
    const cutoff = new Date(now.getTime() - ws.settings.retentionDays * DAY_MS);
    let erased = 0;
    for (;;) {
      const expired = await db
        .select({ id: contacts.id })
        .from(contacts)
        .where(and(eq(contacts.workspaceId, ws.id), isNull(contacts.erasedAt), lt(contacts.lastProspectActionAt, cutoff)))
        .orderBy(asc(contacts.lastProspectActionAt))
        .limit(pageSize);
      if (expired.length === 0) break;
      for (const { id } of expired) {
        const done = await db.transaction((tx) =>
          eraseContact(tx, { workspaceId: ws.id, contactId: id, why: 'retention', actorType: 'system', actorId: 'retention', channel: 'system', now }),
        );
        if (done) erased++;
      }
    }
    // Every run is logged, including one that erased nobody: the purge log then proves the job
    // ran (storage limitation is an obligation of means the DPO must be able to show).
    {
      await db.insert(auditLog).values({
        id: newId('aud'),
        workspaceId: ws.id,
        actorType: 'system',
        actorId: 'retention',
        action: 'retention.run',
        targetType: null,
        targetId: null,
        details: { erased, cutoff: cutoff.toISOString(), retentionDays: ws.settings.retentionDays },
        requestId: null,
        at: now,
      });
    }
    reports.push({ workspaceId: ws.id, cutoff: cutoff.toISOString(), erased });
  }
  return reports;
}
