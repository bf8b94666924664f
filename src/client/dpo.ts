/**
 * Enhancements of the DPO pages (src/http/pages/dpo-pages.tsx, workspace-page.tsx). Each page
 * works without this script; here: the live Art. 13 check of a script being written, the
 * retention duration in years, and the email footer preview following unsaved identity fields.
 */

function debounce(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (cls) node.className = cls;
  return node;
}

/** Script form: asks the server (same rules, same French wording as on submit) as the text changes. */
function scriptCheck(): void {
  const area = document.querySelector<HTMLTextAreaElement>('#script-text');
  const box = document.querySelector<HTMLElement>('#script-check');
  if (!area || !box) return;
  const okText = box.dataset.ok ?? 'Le texte contient les mentions obligatoires.';
  const missingText = box.dataset.missing ?? 'Il manque :';
  let seq = 0;
  const run = debounce(async () => {
    const mine = ++seq;
    try {
      const res = await fetch('/admin/scripts/check', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: area.value }),
      });
      if (!res.ok || mine !== seq) return;
      const { problems } = (await res.json()) as { problems: string[] | null };
      box.replaceChildren();
      if (problems === null) {
        box.append(el('p', box.dataset.empty ?? '', 'muted flush'));
        return;
      }
      if (problems.length === 0) {
        box.append(el('p', okText, 'ok-line'));
        return;
      }
      const list = el('ul');
      for (const p of problems) list.append(el('li', p));
      box.append(el('p', missingText, 'flush'), list);
    } catch {
      // Offline or logged out: the check on submit still applies.
    }
  }, 400);
  area.addEventListener('input', run);
}

/** Retention form: "soit environ 3 an(s)" next to the number of days. */
function retentionYears(): void {
  const input = document.querySelector<HTMLInputElement>('#retentionDays');
  const out = document.querySelector<HTMLElement>('#retention-years');
  if (!input || !out) return;
  input.addEventListener('input', () => {
    const days = Number(input.value);
    const years = (days / 365).toLocaleString('fr-FR', { maximumFractionDigits: 1 });
    out.textContent = Number.isFinite(days) && days > 0 ? (out.dataset.template ?? '{n} an(s)').replace('{n}', years) : '';
  });
}

/** Workspace form: the footer preview shows the fields as typed, before they are saved. */
function footerPreview(): void {
  const frame = document.querySelector<HTMLIFrameElement>('#footer-preview');
  const form = document.querySelector<HTMLFormElement>('form[action="/admin/workspace"]');
  if (!frame || !form) return;
  const fields = ['name', 'legalName', 'addressLine', 'postalCode', 'city', 'contactEmail', 'contactPhone', 'privacyUrl', 'dpoContact'];
  const update = debounce(() => {
    const params = new URLSearchParams();
    for (const f of fields) {
      const input = form.querySelector<HTMLInputElement>(`[name="${f}"]`);
      if (input) params.set(f, input.value);
    }
    frame.src = `/admin/workspace/preview?${params}`;
  }, 600);
  form.addEventListener('input', update);
}

scriptCheck();
retentionYears();
footerPreview();
