import { defineConfig } from 'drizzle-kit';

// Only used by `npm run db:generate` to turn src/db/schema.ts into SQL under drizzle/.
// Migrations are applied by the entries (Node at start) or `npm run db:migrate`.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
