import { defineConfig } from "drizzle-kit";

// Migrations are generated SQL, checked in under drizzle/, and applied with the driver's migrate() at
// start-up: the same files on embedded PGlite and on Postgres. `npm run db:generate` after a schema change.
export default defineConfig({
  dialect: "postgresql",
  schema: "./src/db/schema/index.ts",
  out: "./drizzle",
  strict: true,
  verbose: true,
});
