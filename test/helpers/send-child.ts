/**
 * A sender process for the crash-safety test: works on one campaign of an embedded database
 * against a (fake) Resend, until done. The test kills it with SIGKILL at random moments.
 * Usage: tsx test/helpers/send-child.ts <database url> <campaign id> <resend base url> [requests/s]
 */
import { openDatabase } from '../../src/db/node.js';
import { resendMailer } from '../../src/email/resend-mailer.js';
import { systemClock } from '../../src/lib/clock.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runCampaign } from '../../src/sending/sender.js';
import { tokenBucket } from '../../src/sending/throttle.js';
import { testKeys } from './app.js';

const [url, campaignId, resendUrl, rate] = process.argv.slice(2);
if (!url || !campaignId || !resendUrl) throw new Error('usage: send-child <database url> <campaign id> <resend url>');
const { db, close } = await openDatabase(url);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
// Peak resident memory while sending (sampled), apart from start-up and closing the database.
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
const outcome = await runCampaign({
  db,
  mailer: resendMailer('re_test_key', resendUrl),
  clock: systemClock,
  logger: silentLogger,
  signingKeys: testKeys,
  publicBaseUrl: 'http://localhost',
  throttle: tokenBucket({ ratePerSecond: Number(rate ?? 1000), clock: systemClock, sleep }),
  sleep,
}, campaignId);
clearInterval(sampler);
peakRss = Math.max(peakRss, process.memoryUsage().rss);
close();
console.log(`done ${outcome} peakrss=${Math.round(peakRss / 1024)} maxrss=${process.resourceUsage().maxRSS}`);
