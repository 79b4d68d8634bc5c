// Creates a new PGlite data directory (initdb) and exits. Run in a child process by openDatabase(): initdb
// makes PGlite's WASM memory grow to about 1 GB, and WASM memory never shrinks, so the server must not carry it.
import { PGlite } from "@electric-sql/pglite";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: init-pglite.mjs DATA_DIR\n");
  process.exit(2);
}
const db = await PGlite.create(dir);
await db.close();
