/** French strings of the dashboard pages (part of the one French module, src/i18n/fr.ts). */
export const dashboardFr = {} as const;
