/** Child process for the WAL test: writes many records into a SQLite store in small transactions. */
import { SqliteStore } from '../../src/store/index.js';
import { makeVideo } from './fixtures.js';

const [file, count] = process.argv.slice(2);
const store = new SqliteStore(file!);
await store.migrate();
const n = Number(count);
for (let i = 0; i < n; i += 50) {
  await store.upsertMany(Array.from({ length: Math.min(50, n - i) }, (_, k) => makeVideo({ n: 10_000 + i + k, title: `writer ${i + k}`, tags: ['written'] })));
  if (i === 0) process.stdout.write('started\n');
}
await store.close();
process.stdout.write('done\n');
