/** French strings of the campaign editor (part of the one French module, src/i18n/fr.ts). */
export const editorFr = {} as const;
