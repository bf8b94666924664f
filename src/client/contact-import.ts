/**
 * Contact import pages (/contacts/import), on top of forms that work without it:
 * - refuses a file over the size limit before uploading it (the server says the same after);
 * - once an import or a check is submitted, disables the buttons and says it is working, so a
 *   second click cannot start the same import twice (the server is idempotent anyway).
 */
const upload = document.querySelector<HTMLFormElement>('#ct-upload');
if (upload) {
  const input = upload.querySelector<HTMLInputElement>('input[type=file]');
  const slot = upload.querySelector<HTMLElement>('#file-error');
  const max = Number(upload.dataset.maxBytes ?? '0');
  const show = (message: string) => {
    if (!slot) return;
    slot.textContent = '';
    if (!message) return;
    const p = document.createElement('p');
    p.className = 'field-error';
    p.id = 'file-error-text';
    p.textContent = message;
    slot.append(p);
  };
  const tooLarge = () => Boolean(max && input?.files?.[0] && input.files[0].size > max);
  input?.addEventListener('change', () => show(tooLarge() ? (upload.dataset.tooLarge ?? '') : ''));
  upload.addEventListener('submit', (event) => {
    if (tooLarge()) {
      event.preventDefault();
      show(upload.dataset.tooLarge ?? '');
      input?.focus();
    }
  });
}

for (const form of document.querySelectorAll<HTMLFormElement>('form[data-working]')) {
  form.addEventListener('submit', (event) => {
    const submitter = (event as SubmitEvent).submitter as HTMLButtonElement | null;
    // Downloading the report leaves the page as it is: nothing to lock.
    if (submitter?.hasAttribute('data-download')) return;
    if (form.dataset.busy) {
      event.preventDefault();
      return;
    }
    form.dataset.busy = '1';
    // Disabled after the submission has taken the button's name/value.
    setTimeout(() => {
      for (const b of form.querySelectorAll<HTMLButtonElement>('button')) b.disabled = true;
      if (submitter) submitter.textContent = form.dataset.working ?? submitter.textContent;
    }, 0);
  });
}
