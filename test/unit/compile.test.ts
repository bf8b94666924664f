/** Newsletter compilation: mandatory blocks, merge fields and escaping, refusals with lines. */
import { describe, expect, it } from 'vitest';
import type { CompiledEmail } from '../../src/email/artefact.js';
import { CompileError, compileEmail, SUBJECT_MAX, type CompileInput } from '../../src/email/compile.js';
import { renderEmail, type Recipient, type RecipientUrls } from '../../src/email/render.js';
import { starterTemplates } from '../../src/email/templates.generated.js';
import { verifyEmail } from '../../src/email/verify.js';
import { voyageBrand } from '../helpers/brand.js';

const brand = voyageBrand;
const starter = starterTemplates[0];
const urls: RecipientUrls = {
  unsubscribeUrl: 'https://news.test/u/TOKEN-U',
  preferencesUrl: 'https://news.test/p/TOKEN-P',
  stopTrackingUrl: 'https://news.test/p/TOKEN-P?stop=opens',
};
const marie: Recipient = {
  email: 'marie@example.test',
  firstName: 'Marie',
  agentFirstName: 'Sophie',
  consentDate: new Date('2026-03-12T10:00:00Z'),
  consentAgentName: 'Sophie Bernard',
};
const section = (inner: string) => `<mj-section>\n  <mj-column>\n    ${inner}\n  </mj-column>\n</mj-section>`;

function compile(input: Partial<CompileInput> = {}) {
  return compileEmail({ layout: 'newsletter', subject: starter.subject, preheader: starter.preheader, body: starter.body, brand, ...input });
}

async function refusal(input: Partial<CompileInput>) {
  const error = await compile(input).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, 'expected the compilation to be refused').toBeInstanceOf(CompileError);
  return (error as CompileError).issues;
}

describe('the starter newsletter (reference §2.3)', () => {
  it('compiles and renders every mandatory block for a recipient', async () => {
    const artefact = await compile();
    expect(artefact.fields).toEqual(['agentFirstName', 'agentPhone', 'firstName']);
    const email = renderEmail(artefact, marie, urls, { brand });
    expect(email.subject).toBe('Marie, vos prochaines destinations avec Voyage Online');
    expect(email.html).toContain('<html lang="fr"');
    expect(email.html).toContain('<title>Marie, vos prochaines destinations avec Voyage Online</title>');
    expect(email.html).toContain(starter.preheader.replace(/’/g, '’'));
    // Identity, reason, privacy, unsubscribe.
    expect(email.html).toContain('Voyage Online SAS · 12 avenue Kléber, 75116 Paris');
    expect(email.html).toContain('Tél. 0 885 905 600 · contact@voyage-online.test');
    expect(email.html).toContain('lors d’un entretien téléphonique le 12 mars 2026 avec Sophie Bernard, de recevoir la newsletter de Voyage Online');
    expect(email.html).toContain('href="https://voyage-online.test/confidentialite"');
    expect(email.html).toContain('dpo@voyage-online.test');
    expect(email.html).toContain('href="https://news.test/u/TOKEN-U"');
    expect(email.html).toContain('href="https://news.test/p/TOKEN-P"');
    expect(email.html).toContain('href="https://news.test/p/TOKEN-P?stop=opens"');
    // The advisor call to action.
    expect(email.html).toContain('Appelez dès maintenant votre conseiller Sophie au 0 885 905 600');
    expect(email.html).toContain('href="tel:0885905600"');
    expect(email.html).not.toMatch(/cnslot\d+x/i);
    expect(email.text).not.toMatch(/cnslot\d+x/i);
  });

  it('falls back to defaults and to the brand phone when the recipient lacks a value', async () => {
    const email = renderEmail(await compile(), { email: 'x@example.test', consentDate: new Date('2026-01-05T12:00:00Z') }, urls, { brand });
    expect(email.subject).toBe('Bonjour, vos prochaines destinations avec Voyage Online');
    expect(email.html).toContain('Bonjour à vous,');
    expect(email.html).toContain('votre conseiller Voyage Online au 0 885 905 600');
    expect(email.html).toContain('le 5 janvier 2026 avec l’un de nos conseillers');
  });

  it('has a readable plain-text part with the links kept', async () => {
    const { text } = renderEmail(await compile(), marie, urls, { brand });
    expect(text).toContain('Bonjour Marie,');
    expect(text).toContain('Une équipe de 40 personnes à votre service');
    expect(text).toContain('Facebook [https://www.facebook.com/voyageonline]');
    expect(text).toContain('Se désinscrire en un clic [https://news.test/u/TOKEN-U]');
    expect(text).toContain('politique de confidentialité [https://voyage-online.test/confidentialite]');
    expect(text).toContain('Voyage Online SAS · 12 avenue Kléber, 75116 Paris');
    expect(text).not.toMatch(/<[a-z]/i);
    // The hidden preheader is not repeated in the text version.
    expect(text).not.toContain(starter.preheader);
  });

  it('sends the pixel only when given one, and lets links be wrapped (click tracking)', async () => {
    const artefact = await compile();
    expect(renderEmail(artefact, marie, urls, { brand }).html).not.toContain('/o/');
    const tracked = renderEmail(artefact, marie, { ...urls, pixelUrl: 'https://news.test/o/PIX', link: (i, url) => `https://news.test/c/${i}?to=${encodeURIComponent(url)}` }, { brand });
    expect(tracked.html).toContain('<img src="https://news.test/o/PIX" width="1" height="1" alt=""');
    expect(tracked.html).toContain('href="https://news.test/c/0?to=https%3A%2F%2Fvoyage-online.test%2Fcatalogue%2Frome"');
    // Platform links are never wrapped.
    expect(tracked.html).toContain('href="https://news.test/u/TOKEN-U"');
    expect(tracked.text).toContain('[https://news.test/c/');
  });
});

describe('merge fields', () => {
  it('are HTML-escaped in HTML, URL-encoded in URLs, raw in text, one line in the subject', async () => {
    const body = section(
      '<mj-text>Bonjour {{firstName|"vous"}} — <a href="https://voyage-online.test/offre?nom={{lastName|"x"}}&amp;d={{attributes.destination|"Rome"}}">offre</a></mj-text>\n    <mj-image src="https://voyage-online.test/{{attributes.destination|"rome"}}.png" alt="Destination {{attributes.destination|"Rome"}}" />',
    );
    const artefact = await compile({ body, subject: 'Pour {{firstName|"vous"}}' });
    const evil: Recipient = {
      ...marie,
      firstName: '<script>alert(1)</script>"\r\nBcc: all@example.test',
      lastName: 'O’Brien & "Fils" <x>',
      attributes: { destination: 'Rome"/><img src=x onerror=alert(1)>' },
    };
    const email = renderEmail(artefact, evil, urls, { brand });
    expect(email.html).toContain('Bonjour &lt;script&gt;alert(1)&lt;/script&gt;&quot;');
    expect(email.html).not.toContain('<script>');
    expect(email.html).not.toContain('<img src=x');
    expect(email.html).toContain('href="https://voyage-online.test/offre?nom=O%E2%80%99Brien%20%26%20%22Fils%22%20%3Cx%3E&amp;d=Rome%22%2F%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E"');
    expect(email.html).toContain('src="https://voyage-online.test/Rome%22%2F%3E%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E.png"');
    expect(email.html).toContain('alt="Destination Rome&quot;/&gt;&lt;img src=x onerror=alert(1)&gt;"');
    expect(email.text).toContain('Bonjour <script>alert(1)</script>"');
    expect(email.subject).toBe('Pour <script>alert(1)</script>" Bcc: all@example.test');
    expect(email.subject).not.toMatch(/[\r\n]/);
  });

  it('refuse an unknown field at compile time, with its line and a suggestion', async () => {
    const issues = await refusal({ body: section('<mj-text>Bonjour\n{{fristName|"vous"}}</mj-text>') });
    expect(issues).toEqual([expect.objectContaining({ field: 'body', line: 4, message: expect.stringContaining('vouliez-vous dire {{firstName}}') })]);
    const subject = await refusal({ subject: 'Salut {{prenom}}' });
    expect(subject[0]).toMatchObject({ field: 'subject', message: expect.stringContaining('champ inconnu {{prenom}}') });
  });

  it('require a default for fields some contacts lack', async () => {
    const issues = await refusal({ subject: '{{firstName}}, vos prochaines destinations', body: section('<mj-text>{{attributes.destination}}</mj-text>') });
    expect(issues.map((i) => i.field)).toEqual(['subject', 'body']);
    expect(issues[0]!.message).toContain('{{firstName|"…"}}');
    expect(issues[1]!.message).toContain('{{attributes.destination|"…"}}');
  });

  it('keep platform fields, malformed tags and links in the subject out', async () => {
    const issues = await refusal({
      subject: 'Lien {{unsubscribeUrl}}',
      body: section('<mj-text>{{sys.pixel}} {{brand.nom}} {{ firstName | oops }}</mj-text>'),
    });
    const messages = issues.map((i) => i.message).join('\n');
    expect(messages).toContain('{{unsubscribeUrl}} est un lien');
    expect(messages).toContain('{{sys.pixel}} est réservé à la mise en page');
    expect(messages).toContain('champ inconnu {{brand.nom}}');
    expect(messages).toContain('balise de fusion mal formée');
  });

  it('cannot sit in an unquoted attribute, where escaping cannot hold it', async () => {
    const issues = await refusal({ body: section('<mj-text><span title={{firstName|"x"}}>Bonjour</span></mj-text>') });
    expect(issues[0]!.message).toContain('sans guillemets');
  });

  it('read only the contact’s own attributes, never inherited properties', async () => {
    const artefact = await compile({ body: section('<mj-text>{{attributes.constructor|"Rome"}} {{attributes.toString|"Lisbonne"}}</mj-text>') });
    const { html } = renderEmail(artefact, { ...marie, attributes: {} }, urls, { brand });
    expect(html).toContain('Rome Lisbonne');
    expect(html).not.toContain('native code');
  });

  it('cannot start a link, so a field never decides where a link goes', async () => {
    const issues = await refusal({ body: section('<mj-button href="{{attributes.site|"https://ok.test"}}">Go</mj-button>') });
    expect(issues[0]!.message).toContain('ne peut pas commencer par un champ de fusion');
  });
});

describe('refused content', () => {
  const cases: [string, string, RegExp][] = [
    ['a script', '<mj-text><script>alert(1)</script></mj-text>', /balise HTML interdite/],
    ['an event handler', '<mj-text><a href="https://a.test" onclick="steal()">x</a></mj-text>', /attributs d’événement/],
    ['mj-raw', '<mj-raw><div style="display:none"></mj-raw>', /réservée à la mise en page/],
    ['a style sheet', '<mj-text><style>.cn-block-unsubscribe{display:none}</style></mj-text>', /balise HTML interdite/],
    ['a comment that could swallow the footer', '<mj-text>x<!-- </mj-text>', /commentaires/],
    ['a javascript: link', '<mj-button href="javascript:alert(1)">x</mj-button>', /javascript/],
    ['a duplicated mandatory block', '<mj-text css-class="cn-block-unsubscribe">Se désinscrire</mj-text>', /cn-block/],
    ['a file include', '<mj-include path="/etc/passwd" />', /réservée à la mise en page/],
    ['a second document', '<mjml><mj-body></mj-body></mjml>', /appartiennent à la mise en page/],
    ['an image without alt', '<mj-image src="https://a.test/x.png" />', /texte alternatif/],
    ['a link to data:', '<mj-text><a href="data:text/html,hi">x</a></mj-text>', /data:/],
  ];

  it.each(cases)('%s, with its line', async (_, inner, message) => {
    const issues = await refusal({ body: `\n${section(inner)}` });
    expect(issues.some((i) => message.test(i.message) && i.field === 'body' && i.line === 4)).toBe(true);
  });

  it('MJML errors come back with the line of the body', async () => {
    const issues = await refusal({ body: '<mj-section>\n  <mj-column>\n    <mj-txt>Hi</mj-txt>\n  </mj-column>\n</mj-section>' });
    expect(issues).toEqual([{ field: 'body', line: 3, message: expect.stringContaining('mj-txt') }]);
  });

  it('closing the layout early removes the footer, and is refused naming each block', async () => {
    const issues = await refusal({ body: section('<mj-text>Bye</mj-text>') + '</mj-wrapper></mj-body>' });
    const messages = issues.map((i) => i.message).join('\n');
    for (const block of ['désinscription', 'raison de l’envoi', 'identité de l’annonceur', 'politique de confidentialité']) {
      expect(messages).toContain(`« ${block} » absent`);
    }
  });

  it('subject and preheader limits', async () => {
    const issues = await refusal({ subject: 'x'.repeat(SUBJECT_MAX + 1), preheader: '' });
    expect(issues).toEqual([
      { field: 'subject', message: `${SUBJECT_MAX + 1} caractères : ${SUBJECT_MAX} au plus` },
      { field: 'preheader', message: 'ne peut pas être vide' },
    ]);
    expect((await refusal({ subject: 'Deux\nlignes' }))[0]).toMatchObject({ field: 'subject', message: 'tient sur une seule ligne' });
  });
});

/** The compiled HTML with slots shown as sentinels again, as `verifyEmail` sees it at compile time. */
function verifiable(artefact: CompiledEmail) {
  const html = artefact.html.map((p) => (typeof p === 'string' ? p : `cnslot${p}x`)).join('');
  const sentinelFor = (name: string) => artefact.slots.findIndex((s) => s.src === 'sys' && s.name === name && s.enc === 'html');
  return { html, verify: (h: string) => verifyEmail(h, { required: ['unsubscribe', 'reason', 'identity', 'privacy'], brand, sentinelFor }) };
}

describe('verification of the mandatory blocks', () => {
  it('accepts the compiled starter', async () => {
    const { html, verify } = verifiable(await compile());
    expect(verify(html)).toEqual([]);
  });

  const blockTd = /(<td[^>]*class="cn-block-unsubscribe cn-footer"[^>]*style=")/;
  const tricks: [string, (html: string) => string, RegExp][] = [
    ['display:none', (h) => h.replace(blockTd, '$1display:none;'), /désinscription » masqué \(display:none\)/],
    ['visibility:hidden', (h) => h.replace(blockTd, '$1visibility:hidden;'), /masqué \(visibility:hidden\)/],
    ['opacity', (h) => h.replace(blockTd, '$1opacity:0.1;'), /masqué \(opacity/],
    ['zero height', (h) => h.replace(blockTd, '$1max-height:0px;overflow:hidden;'), /masqué \(max-height/],
    ['zero width', (h) => h.replace(blockTd, '$1width:0;'), /masqué \(width/],
    ['mso-hide', (h) => h.replace(blockTd, '$1mso-hide:all;'), /masqué \(mso-hide/],
    ['off-screen', (h) => h.replace(blockTd, '$1position:absolute;left:-9999px;'), /masqué \(position:absolute\)/],
    ['text-indent', (h) => h.replace(blockTd, '$1text-indent:-9999px;'), /masqué \(text-indent/],
    ['hidden attribute', (h) => h.replace('class="cn-block-unsubscribe', 'hidden class="cn-block-unsubscribe'), /masqué \(attribut hidden\)/],
    ['tiny text', (h) => h.replace(/(class="cn-block-unsubscribe[^>]*>\s*<div\s+style="[^"]*)font-size:13px/, '$1font-size:1px'), /illisible \(texte de 1px/],
    ['same colour as the background', (h) => h.replace(/(class="cn-block-unsubscribe[^>]*>\s*<div\s+style=")/, '$1background-color:#3e4c59;'), /illisible \(couleur du texte trop proche du fond\)/],
    ['transparent text', (h) => h.replace(/(class="cn-block-reason[^>]*>\s*<div\s+style="[^"]*)color:#52606d/, '$1color:rgba(0,0,0,0)'), /« raison de l’envoi » illisible \(texte transparent\)/],
    ['swallowed by a comment', (h) => h.replace(/<td\s+align="center" class="cn-block-identity"[\s\S]*?<\/td>/, (td) => `<!-- ${td} -->`), /« identité de l’annonceur » absent/],
    ['duplicated', (h) => h.replace('class="cn-block-privacy', 'class="cn-block-reason'), /« raison de l’envoi » présent 2 fois/],
    ['unsubscribe link removed', (h) => h.replace(/<a href="cnslot\d+x">Se désinscrire en un clic<\/a>/, 'Se désinscrire'), /lien de désinscription en un clic manque/],
    ['empty link text', (h) => h.replace(/(<a href="cnslot\d+x">)Gérer mes préférences et mes données(<\/a>)/, '$1$2'), /centre de préférences manque/],
    ['identity altered', (h) => h.replace('Tél. 0 885 905 600', 'Tél.'), /le téléphone manque/],
    ['inside a template', (h) => h.replace(/<td\s+align="center" class="cn-block-unsubscribe[\s\S]*?<\/td>/, (td) => `<template><table><tr>${td}</tr></table></template>`), /« désinscription » (absent|masqué)/],
  ];

  it.each(tricks)('refuses %s, naming the block', async (_, mutate, expected) => {
    const { html, verify } = verifiable(await compile());
    const mutated = mutate(html);
    expect(mutated, 'the mutation must change the HTML').not.toBe(html);
    const problems = verify(mutated);
    expect(problems.join('\n')).toMatch(expected);
  });

  it('checks document essentials: lang, title, alt, width, scripts', async () => {
    const { html, verify } = verifiable(await compile());
    const problems = verify(
      html
        .replace('<html lang="fr"', '<html')
        .replace('alt="Le Colisée', 'data-alt="Le Colisée')
        .replace('</body>', '<table width="900"><tr><td onclick="x()">wide</td></tr></table><script>1</script></body>'),
    ).join('\n');
    expect(problems).toContain('<html lang>');
    expect(problems).toContain('image sans texte alternatif');
    expect(problems).toContain('plus de 600 px');
    expect(problems).toContain('script');
    expect(problems).toContain('onclick');
  });
});

describe('transactional layout', () => {
  it('requires identity and privacy, not unsubscribe', async () => {
    const artefact = await compileEmail({ layout: 'transactional', subject: 'Confirmez', preheader: '', body: section('<mj-text>Bonjour {{name}}</mj-text>'), brand, extraFields: ['name'] });
    const email = renderEmail(artefact, { email: 'a@b.test', consentDate: new Date() }, { unsubscribeUrl: '', preferencesUrl: '', stopTrackingUrl: '' }, { brand, vars: { name: 'Léa & <Co>' } });
    expect(email.html).toContain('Bonjour Léa &amp; &lt;Co&gt;');
    expect(email.html).toContain('Voyage Online SAS');
    expect(email.html).toContain('politique de confidentialité');
    expect(email.html).not.toContain('Se désinscrire');
  });
});
