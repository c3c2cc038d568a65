// Preloaded into every process of a full-disk test (NODE_OPTIONS=--import=<this file>): each
// SQLite connection may grow the database to ORTHOQUANT_TEST_STORE_PAGES pages and no further
// (PRAGMA max_page_count, set before the connection's first statement), so a write that needs
// more room fails inside SQLite exactly as on a full disk, with SQLITE_FULL.
import { createRequire } from 'node:module';

const pages = Number(process.env.ORTHOQUANT_TEST_STORE_PAGES);
if (pages > 0) {
  const Database = createRequire(import.meta.url)('better-sqlite3');
  const prepare = Database.prototype.prepare;
  const limited = new WeakSet();
  Database.prototype.prepare = function (...args) {
    if (!limited.has(this)) {
      limited.add(this);
      prepare.call(this, `PRAGMA max_page_count = ${pages}`).get();
    }
    return prepare.apply(this, args);
  };
}
