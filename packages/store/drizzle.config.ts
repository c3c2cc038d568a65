// drizzle-kit: `npx drizzle-kit generate` (run in packages/store) writes ./drizzle/ from the schema.
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/schema.ts',
  out: './drizzle',
});
