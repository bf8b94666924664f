/** French strings of the dpo pages (part of the one French module, src/i18n/fr.ts). */
export const dpoFr = {} as const;
