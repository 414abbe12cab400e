/** Ordered schema steps; the migrations table records which ran. Never edit a released step: add one. */
export const SQLITE_MIGRATIONS: ReadonlyArray<{ version: number; sql: string }> = [
  {
    version: 1,
    sql: `
      CREATE TABLE videos (
        id TEXT PRIMARY KEY,
        doc TEXT NOT NULL,
        path TEXT NOT NULL,
        title TEXT,
        source_kind TEXT NOT NULL,
        duration REAL,
        width INTEGER,
        height INTEGER,
        fps REAL,
        codec TEXT,
        bytes INTEGER,
        has_audio INTEGER,
        scene_count INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX videos_duration ON videos(duration);
      CREATE INDEX videos_height ON videos(height);
      CREATE INDEX videos_width ON videos(width);
      CREATE INDEX videos_fps ON videos(fps);
      CREATE INDEX videos_codec ON videos(codec);
      CREATE INDEX videos_source_kind ON videos(source_kind);
      CREATE INDEX videos_created ON videos(created_at);
      CREATE INDEX videos_path ON videos(path);
      CREATE INDEX videos_failed ON videos(failed) WHERE failed = 1;
      CREATE TABLE video_tags (video_id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (video_id, tag)) WITHOUT ROWID;
      CREATE INDEX video_tags_tag ON video_tags(tag, video_id);
      CREATE TABLE video_categories (video_id TEXT NOT NULL, category TEXT NOT NULL, PRIMARY KEY (video_id, category)) WITHOUT ROWID;
      CREATE INDEX video_categories_category ON video_categories(category, video_id);
      CREATE VIRTUAL TABLE videos_fts USING fts5(title, tags, description, filename, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
      CREATE TABLE inputs (
        key TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        video_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER,
        error TEXT,
        error_code TEXT,
        file_size INTEGER,
        file_mtime_ms REAL,
        list_file TEXT,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX inputs_status ON inputs(status);
    `,
  },
  {
    // The shared query language: derived columns from IndexFields, actions, sort indexes, index version.
    version: 2,
    sql: `
      ALTER TABLE videos ADD COLUMN name TEXT NOT NULL DEFAULT '';
      ALTER TABLE videos ADD COLUMN sort_duration REAL NOT NULL DEFAULT -1;
      ALTER TABLE videos ADD COLUMN audio_codec TEXT;
      ALTER TABLE videos ADD COLUMN container TEXT;
      ALTER TABLE videos ADD COLUMN resolution TEXT;
      ALTER TABLE videos ADD COLUMN created TEXT NOT NULL DEFAULT '';
      ALTER TABLE videos ADD COLUMN has_ai INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE videos ADD COLUMN has_description INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE videos ADD COLUMN has_metadata INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE video_actions (video_id TEXT NOT NULL, action TEXT NOT NULL, PRIMARY KEY (video_id, action)) WITHOUT ROWID;
      CREATE INDEX video_actions_action ON video_actions(action, video_id);
      DROP INDEX videos_created;
      CREATE INDEX videos_sort_added ON videos(created_at, id);
      CREATE INDEX videos_sort_created ON videos(created, id);
      CREATE INDEX videos_sort_duration ON videos(sort_duration, id);
      CREATE INDEX videos_sort_name ON videos(name, id);
      CREATE INDEX videos_sort_bytes ON videos(bytes, id);
      CREATE INDEX videos_scene_count ON videos(scene_count);
      CREATE INDEX videos_resolution ON videos(resolution);
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      -- Records in their own table: filters, counts and sorts scan a narrow videos table, not the JSON.
      CREATE TABLE video_docs (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
      INSERT INTO video_docs (id, doc) SELECT id, doc FROM videos;
      ALTER TABLE videos DROP COLUMN doc;
      -- Contentless: the record keeps the text; the index holds only tokens (half the writes). Refilled by
      -- the reindex that follows (the meta table has no index_version yet).
      DROP TABLE videos_fts;
      CREATE VIRTUAL TABLE videos_fts USING fts5(title, tags, description, filename, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2');
    `,
  },
  {
    // Search speed at 100k records (issue 8).
    version: 3,
    sql: `
      -- Prefix indexes: a 2- or 3-letter \`bea*\` reads one doclist instead of merging every term it starts
      -- (half the time at 100k records, for a tenth more index writes). Refilled by the reindex that follows.
      DROP TABLE videos_fts;
      CREATE VIRTUAL TABLE videos_fts USING fts5(title, tags, description, filename, content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
      DELETE FROM meta WHERE key = 'index_version';
      -- Indexes on columns of a few common values (codec, source kind, resolution class, fps, width, scene
      -- count) cost every write and pay back little: a filter on them matches a large share of the library,
      -- which the sort-index walk of a page filters as fast, and the planner, picking them, sorted whole matches.
      DROP INDEX IF EXISTS videos_codec;
      DROP INDEX IF EXISTS videos_source_kind;
      DROP INDEX IF EXISTS videos_resolution;
      DROP INDEX IF EXISTS videos_fps;
      DROP INDEX IF EXISTS videos_width;
      DROP INDEX IF EXISTS videos_scene_count;
    `,
  },
  {
    // The FTS rows and the in-memory facet index are keyed on the videos rowid. An implicit rowid is not part
    // of the table's data: a dump and restore (sqlite3 .dump, a copy with INSERT ... SELECT) numbers rows
    // afresh, and search would then answer with other videos. Declared, it is a column like any other and
    // survives every copy. Rowids are kept, so the FTS rows stay valid without a reindex. The column is named
    // rowid so that every query selecting rowid gets it under that name (an alias column otherwise names it).
    version: 4,
    sql: `
      CREATE TABLE videos_v4 (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        path TEXT NOT NULL,
        title TEXT,
        source_kind TEXT NOT NULL,
        duration REAL,
        width INTEGER,
        height INTEGER,
        fps REAL,
        codec TEXT,
        bytes INTEGER,
        has_audio INTEGER,
        scene_count INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        name TEXT NOT NULL DEFAULT '',
        sort_duration REAL NOT NULL DEFAULT -1,
        audio_codec TEXT,
        container TEXT,
        resolution TEXT,
        created TEXT NOT NULL DEFAULT '',
        has_ai INTEGER NOT NULL DEFAULT 0,
        has_description INTEGER NOT NULL DEFAULT 0,
        has_metadata INTEGER NOT NULL DEFAULT 0
      );
      INSERT INTO videos_v4 (rowid, id, path, title, source_kind, duration, width, height, fps, codec, bytes, has_audio, scene_count, failed,
                             created_at, updated_at, name, sort_duration, audio_codec, container, resolution, created, has_ai, has_description, has_metadata)
        SELECT rowid, id, path, title, source_kind, duration, width, height, fps, codec, bytes, has_audio, scene_count, failed,
               created_at, updated_at, name, sort_duration, audio_codec, container, resolution, created, has_ai, has_description, has_metadata
        FROM videos;
      DROP TABLE videos;
      ALTER TABLE videos_v4 RENAME TO videos;
      CREATE INDEX videos_duration ON videos(duration);
      CREATE INDEX videos_height ON videos(height);
      CREATE INDEX videos_path ON videos(path);
      CREATE INDEX videos_failed ON videos(failed) WHERE failed = 1;
      CREATE INDEX videos_sort_added ON videos(created_at, id);
      CREATE INDEX videos_sort_created ON videos(created, id);
      CREATE INDEX videos_sort_duration ON videos(sort_duration, id);
      CREATE INDEX videos_sort_name ON videos(name, id);
      CREATE INDEX videos_sort_bytes ON videos(bytes, id);
    `,
  },
  {
    // FTS5 rewrites a segment once a tenth of its rows are deleted (`deletemerge`, default 10), and replacing a
    // row of the contentless table deletes it. Re-tagging or re-processing a library replaces the rows of the one
    // big segment a bulk load makes, so a pass rewrote the whole index about ten times; at half, once or twice
    // (retag of 20k records: 1.7k -> 2.1k records/s), and dead rows still never exceed half a segment.
    version: 5,
    sql: `INSERT INTO videos_fts(videos_fts, rank) VALUES('deletemerge', 50);`,
  },
  {
    // The FTS5 table is contentless, so its text lives only in the records' JSON; building the in-memory text
    // index from that took 2.7 s at 100k records. Keyed by the videos rowid, like the FTS rows. Filled from the
    // records by the store after the migration (the text is normalised in JavaScript), without a full reindex.
    version: 6,
    sql: `
      CREATE TABLE IF NOT EXISTS video_text (rowid INTEGER PRIMARY KEY, title TEXT NOT NULL, tags TEXT NOT NULL, description TEXT NOT NULL, file TEXT NOT NULL);
      INSERT INTO meta (key, value) VALUES ('video_text_pending', '1') ON CONFLICT(key) DO NOTHING;
    `,
  },
  {
    // When re-tagging leaves a record's tags and categories as they were, only its stage bookkeeping changes
    // (the rules' hash). Writing that beside the document, instead of rewriting a 5 kB document, took a rule
    // edit over 100k records (two thirds of them unchanged) from 5.4-6.1k to 6.6-7.0k records/s, alternated runs
    // in one session. A record read takes `stages` from here when a row exists; every full write removes it.
    version: 7,
    sql: `CREATE TABLE IF NOT EXISTS video_stages (id TEXT PRIMARY KEY, stages TEXT NOT NULL) WITHOUT ROWID;`,
  },
  {
    // A contentless FTS5 table cannot take a deleted row's tokens out of its totals (it never saw them again), so
    // every replaced or deleted row kept counting: bm25's idf drifted as a library was re-processed, and keeping
    // it true took a rebuild of the whole index (3.8 s at 100k records, holding the write lock) whenever the count
    // doubled, and none past 150k records. The index now reads its content from the text table that schema 6
    // added (through a view, for the column name): a delete takes out exactly what was indexed, the totals stay
    // true, and nothing is stored twice. Built from that table in this step's transaction, so no search sees the
    // index empty; or, when the rows schema 6 fills are not there yet, by the store once they are
    // (rebuildFtsIfPending).
    version: 8,
    sql: `
      DROP TABLE videos_fts;
      CREATE VIEW IF NOT EXISTS video_text_fts AS SELECT rowid AS rid, title, tags, description, file AS filename FROM video_text;
      CREATE VIRTUAL TABLE videos_fts USING fts5(title, tags, description, filename, content = 'video_text_fts', content_rowid = 'rid',
                                                 tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');
      INSERT INTO videos_fts(videos_fts) SELECT 'rebuild' WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'video_text_pending');
      INSERT INTO meta (key, value) SELECT 'fts_rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM meta WHERE key = 'video_text_pending')
        ON CONFLICT(key) DO NOTHING;
    `,
  },
  {
    // Retag's tag state (tagging's view of the record, see `ruleSubjectView`) beside the stages it checked against
    // the record. Present only while nothing else wrote the record (every full write removes the row), so a retag
    // checks such a record, and evaluates a rule edit on it, without reading and parsing its 5 kB document.
    version: 9,
    sql: `ALTER TABLE video_stages ADD COLUMN tag_state TEXT;`,
  },
  {
    // Names are kept to MAX_NAME_CHARS code points (index-fields.ts), as on every store; substr counts code points.
    version: 10,
    sql: `UPDATE videos SET name = substr(name, 1, 512) WHERE length(name) > 512;`,
  },
  {
    // Index format 3 keeps the marks written inside a word (a Devanagari vowel sign): FTS5's tokenizer must take
    // them as part of a token too (by default a mark separates tokens). The text rows so far hold no marks, so
    // this step's rebuild from them indexes them as before, and no search sees the index empty; the reindex that
    // follows (index format 3) rewrites each record's text and FTS row.
    version: 11,
    sql: `
      DROP TABLE videos_fts;
      CREATE VIRTUAL TABLE videos_fts USING fts5(title, tags, description, filename, content = 'video_text_fts', content_rowid = 'rid',
                                                 tokenize = 'unicode61 remove_diacritics 2 categories ''L* N* Co M*''', prefix = '2 3');
      INSERT INTO videos_fts(videos_fts) SELECT 'rebuild' WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'video_text_pending');
      INSERT INTO meta (key, value) SELECT 'fts_rebuild_pending', '1' WHERE EXISTS (SELECT 1 FROM meta WHERE key = 'video_text_pending')
        ON CONFLICT(key) DO NOTHING;
      INSERT INTO videos_fts(videos_fts, rank) VALUES('deletemerge', 50);
    `,
  },
];
