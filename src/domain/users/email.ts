/**
 * Email normalisation: trimmed, lower-cased. The local part is lower-cased too because every
 * mainstream provider treats it case-insensitively, and two rows for `Marie@x.fr` and `marie@x.fr`
 * would split one person's consent history. Returns null for what is not an address.
 */
const EMAIL = /^[^\s@"<>()[\]\\,;:]{1,64}@(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export function normaliseEmail(input: string): string | null {
  const email = input.trim().toLowerCase();
  return email.length <= 254 && EMAIL.test(email) ? email : null;
}
