/**
 * Versioned schema migrations. Each runs once, in order, inside a transaction holding an advisory lock, and
 * is recorded in `<schema>.videodex_migrations`. Never edit a released migration: add the next one.
 */
export interface PgMigration {
  version: number;
  name: string;
  /** Statements, with `$S` standing for the quoted schema name. */
  sql: string[];
}

const num = (path: string): string => `(doc #>> '{${path}}')::double precision`;

export const PG_MIGRATIONS: PgMigration[] = [
  {
    version: 1,
    name: 'videos, inputs, search columns and indexes',
    sql: [
      `CREATE TABLE IF NOT EXISTS $S.videos (
        id text COLLATE "C" PRIMARY KEY,
        doc jsonb NOT NULL,
        duration double precision GENERATED ALWAYS AS (${num('metadata,durationSec')}) STORED,
        width double precision GENERATED ALWAYS AS (${num('metadata,width')}) STORED,
        height double precision GENERATED ALWAYS AS (${num('metadata,height')}) STORED,
        fps double precision GENERATED ALWAYS AS (${num('metadata,fps')}) STORED,
        bytes double precision GENERATED ALWAYS AS (coalesce(${num('file,bytes')}, 0)) STORED,
        scenes integer GENERATED ALWAYS AS (jsonb_array_length(coalesce(doc -> 'scenes', '[]'::jsonb))) STORED,
        source_kind text COLLATE "C" GENERATED ALWAYS AS (doc #>> '{source,kind}') STORED,
        file_path text COLLATE "C" GENERATED ALWAYS AS (doc #>> '{file,path}') STORED,
        name text COLLATE "C" NOT NULL,
        sort_duration double precision NOT NULL,
        codec text COLLATE "C",
        audio_codec text COLLATE "C",
        container text COLLATE "C",
        resolution text COLLATE "C",
        created text COLLATE "C" NOT NULL,
        added text COLLATE "C" NOT NULL,
        has_audio boolean NOT NULL,
        has_ai boolean NOT NULL,
        has_description boolean NOT NULL,
        has_metadata boolean NOT NULL,
        failed boolean NOT NULL,
        tags text[] COLLATE "C" NOT NULL,
        categories text[] COLLATE "C" NOT NULL,
        actions text[] COLLATE "C" NOT NULL,
        tsv tsvector NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS videos_tsv ON $S.videos USING gin (tsv)',
      'CREATE INDEX IF NOT EXISTS videos_tags ON $S.videos USING gin (tags)',
      'CREATE INDEX IF NOT EXISTS videos_categories ON $S.videos USING gin (categories)',
      'CREATE INDEX IF NOT EXISTS videos_actions ON $S.videos USING gin (actions)',
      'CREATE INDEX IF NOT EXISTS videos_added ON $S.videos (added, id)',
      'CREATE INDEX IF NOT EXISTS videos_created ON $S.videos (created, id)',
      'CREATE INDEX IF NOT EXISTS videos_sort_duration ON $S.videos (sort_duration, id)',
      'CREATE INDEX IF NOT EXISTS videos_name ON $S.videos (name, id)',
      'CREATE INDEX IF NOT EXISTS videos_bytes ON $S.videos (bytes, id)',
      'CREATE INDEX IF NOT EXISTS videos_duration ON $S.videos (duration)',
      'CREATE INDEX IF NOT EXISTS videos_height ON $S.videos (height)',
      'CREATE INDEX IF NOT EXISTS videos_width ON $S.videos (width)',
      'CREATE INDEX IF NOT EXISTS videos_fps ON $S.videos (fps)',
      'CREATE INDEX IF NOT EXISTS videos_scenes ON $S.videos (scenes)',
      'CREATE INDEX IF NOT EXISTS videos_codec ON $S.videos (codec)',
      'CREATE INDEX IF NOT EXISTS videos_source_kind ON $S.videos (source_kind)',
      'CREATE INDEX IF NOT EXISTS videos_resolution ON $S.videos (resolution)',
      'CREATE INDEX IF NOT EXISTS videos_file_path ON $S.videos (file_path)',
      `CREATE TABLE IF NOT EXISTS $S.inputs (
        key text COLLATE "C" PRIMARY KEY,
        status text NOT NULL,
        row jsonb NOT NULL
      )`,
      'CREATE INDEX IF NOT EXISTS inputs_status ON $S.inputs (status)',
      `CREATE TABLE IF NOT EXISTS $S.videodex_meta (key text PRIMARY KEY, value text NOT NULL)`,
    ],
  },
  {
    // A change feed for the local search replica (search-replica.ts): every row version carries the id of the
    // transaction that wrote it, and deletions leave a tombstone, so a reader can ask for what changed since the
    // oldest transaction it could not yet see (a snapshot's xmin) and miss nothing, whatever the commit order.
    version: 2,
    name: 'change feed: writer transaction ids, deletion tombstones, library id',
    sql: [
      'ALTER TABLE $S.videos ADD COLUMN IF NOT EXISTS xid xid8 NOT NULL DEFAULT pg_current_xact_id()',
      'CREATE INDEX IF NOT EXISTS videos_xid ON $S.videos (xid, id)',
      'CREATE TABLE IF NOT EXISTS $S.video_deletions (id text COLLATE "C" NOT NULL, xid xid8 NOT NULL DEFAULT pg_current_xact_id())',
      'CREATE INDEX IF NOT EXISTS video_deletions_xid ON $S.video_deletions (xid)',
      `INSERT INTO $S.videodex_meta (key, value) VALUES ('library_id', gen_random_uuid()::text) ON CONFLICT (key) DO NOTHING`,
    ],
  },
  {
    // Indexes on columns of a few common values (codec, source kind, resolution class, fps, width, scene count)
    // cost every write and pay back little: a filter on them matches a large share of the library, which
    // PostgreSQL scans rather than reads through the index, and searches go to the search replica by default.
    // SQLite dropped the same ones in its schema step 3. 40k records: +8-15% load in alternated runs.
    version: 3,
    name: 'drop the indexes of low-cardinality filter columns',
    sql: ['videos_width', 'videos_fps', 'videos_scenes', 'videos_codec', 'videos_source_kind', 'videos_resolution'].map((i) => `DROP INDEX IF EXISTS $S.${i}`),
  },
  {
    // A name past about 2.7 kB does not fit a B-tree entry (videos_name): such records failed to store. Names are
    // now kept to MAX_NAME_CHARS code points on every store (index-fields.ts); these are the ones stored before,
    // long but compressible enough to have fitted. left() counts code points, as the cut in JavaScript does.
    version: 4,
    name: 'names cut to 512 characters',
    sql: ['UPDATE $S.videos SET name = left(name, 512) WHERE length(name) > 512'],
  },
];

/**
 * Optional, applied on every migrate when the server has it (PostgreSQL 14 or newer built with lz4): records
 * are compressed with lz4 rather than pglz, several times faster both ways for the same size. New values only;
 * stored ones stay readable as they are.
 */
export const PG_LZ4_DOCS = 'ALTER TABLE $S.videos ALTER COLUMN doc SET COMPRESSION lz4';

/** Optional, applied on every migrate when the extension is available: fuzzy `name:` search. */
export const PG_TRGM_INDEX = 'CREATE INDEX IF NOT EXISTS videos_name_trgm ON $S.videos USING gin (name gin_trgm_ops)';
