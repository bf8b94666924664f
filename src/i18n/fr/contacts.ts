/** French strings of the contacts pages (part of the one French module, src/i18n/fr.ts). */
export const contactsFr = {} as const;
