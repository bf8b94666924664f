/** French strings of the reports pages (part of the one French module, src/i18n/fr.ts). */
export const reportsFr = {} as const;
