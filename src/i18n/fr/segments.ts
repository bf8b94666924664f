/** French strings of the segments pages (part of the one French module, src/i18n/fr.ts). */
export const segmentsFr = {} as const;
