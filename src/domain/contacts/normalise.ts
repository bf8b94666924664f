import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/min';

/** E.164 (`+33612345678`), reading national numbers as French by default; null if not a valid number. */
export function normalisePhone(input: string, defaultRegion: CountryCode = 'FR'): string | null {
  const trimmed = input.trim();
  if (!trimmed || trimmed.length > 40) return null;
  const parsed = parsePhoneNumberFromString(trimmed, defaultRegion);
  return parsed && parsed.isValid() ? parsed.number : null;
}

/** "06 12 34 56 78" style for display. */
export function formatPhone(e164: string): string {
  const parsed = parsePhoneNumberFromString(e164);
  return parsed ? parsed.formatNational() : e164;
}

export { normaliseEmail } from '../users/email.js';
