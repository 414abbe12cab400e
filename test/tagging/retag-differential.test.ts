import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configWith, createLogger, stableStringify, type Category, type Tag, type Video } from '../../src/core/index.js';
import { SqliteStore, type TagStateRow, type VideoStore } from '../../src/store/index.js';
import {
  classifyRecord,
  createTaggingSetup,
  readSetupLedger,
  recordSetup,
  tagRecordSync,
  type TaggingSetup,
} from '../../src/tagging/index.js';
import type { OpenStoreOptions } from '../../src/store/open-store.js';
import { createClassifyStage, createTagStage, MIN_RECORDS_PER_WORKER, retagInParallel, retagRecords, type RetagSummary } from '../../src/workflow/index.js';
import { partClaimer } from '../../src/workflow/retag-parallel.js';
import { relisted } from '../../src/workflow/record-merge.js';
import { tempDir } from '../helpers/media.js';
import { makeRecord } from './records.js';

/**
 * A randomized differential test of retag's fast paths (tag states, records an edit cannot change, stage-only
 * writes, parts shared between threads, the setup ledger) against tagging every record from scratch. Between
 * retags: rule and taxonomy edits, list relabels, `process` re-runs of some records (with the current or a newer
 * setup), and writes by another connection in the middle of a retag. After each retag every record's inputs are
 * the ones the operations left (no write is lost) and its tags and categories are those a from-scratch tag and
 * classify of those inputs gives, with the tags and categories acquisition gave (yt-dlp's, the list label) kept.
 */

const config = configWith();
const logger = createLogger({ file: null, level: 'silent', secrets: [] });

type Rng = () => number;
function rng(seed: number): Rng {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const pickOf = (r: Rng) => <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

// words with unicode in both normal forms, plurals that are not, and synonyms
const FOLDERS = ['beach', 'city', 'caf\u00e9', 'cafe\u0301', 'Stra\u00dfe', '\u0130stanbul', 'news', 'bus', 'dogs', 'GoPro'];
const STEMS = ['Beach', 'boat', 'glasses', 'buses', 'VID_20230514', 'GOPR0012', 's01e02', 'snow', 'caf\u00e9', 'Dogs'];
const AI_TAGS = ['Glasses', 'news', 'buses', 'automobile', 'Dogs', 'beach', 'Seashore', 'caf\u00e9', 'cafe\u0301', 'kitty'];
const AI_CATEGORIES = ['Soccer', 'football', 'recipe', 'knitting', 'Sports', 'Street Food', 'street-food', 'news', 'cooking', 'baking'];
const AI_ACTIONS = ['playing guitar', 'cycling', 'riding bike', 'playing ukulele', 'plays the guitar', 'biking', 'surfing'];
const LABELS = ['playing guitar', 'riding a bike', 'surfing', 'Playing Guitar', 'juggling'];
const YT_TAGS = ['Beach Volleyball', 'Cats', 'news', 'vlog'];
const DESCRIPTION_WORDS = ['dogs', 'beach', 'waves', 'slides', 'lecture', 'caf\u00e9', 'buses', 'guitar'];

interface Truth {
  /** What the operations left as the record's inputs (compared with the stored record: no write is lost). */
  ai: Video['ai'];
  durationSec: number;
  label: string | undefined;
  /** Tags and categories acquisition gave: carried over by tagging, never dropped. */
  acqTags: Tag[];
  acqCategories: Category[];
}

function makeLibrary(r: Rng, n: number): { records: Video[]; truth: Map<string, Truth> } {
  const pick = pickOf(r);
  const records: Video[] = [];
  const truth = new Map<string, Truth>();
  for (let i = 0; i < n; i++) {
    const id = `d${String(i).padStart(5, '0')}`;
    const kindRoll = r();
    const kind = kindRoll < 0.15 ? 'ytdlp' : kindRoll < 0.25 ? 'http' : 'local';
    const file = `${pick(STEMS)}_${pick(STEMS)}-${i}.${pick(['mp4', 'MOV', 'mkv'])}`;
    const local = `/v/${pick(FOLDERS)}/${pick(FOLDERS)}/${file}`;
    const url = kind === 'http' ? `https://example.test/${encodeURIComponent(pick(FOLDERS))}/${file}` : kind === 'ytdlp' ? `https://video.example.test/watch?v=${i}` : local;
    const label = r() < 0.25 ? pick(LABELS) : undefined;
    const v = makeRecord({
      id,
      path: local,
      url,
      kind,
      ...(kind === 'ytdlp' ? { title: `${pick(STEMS)} ${pick(DESCRIPTION_WORDS)} ${pick(STEMS)}` } : {}),
      metadata: r() < 0.05 ? null : { durationSec: Math.floor(r() * 400), width: pick([640, 1280, 1920, 1080]), height: pick([360, 720, 1080, 1920]), ...(r() < 0.2 ? { audio: null } : {}), ...(r() < 0.2 ? { containerTags: { title: `${pick(DESCRIPTION_WORDS)} show` } } : {}) },
      ai: r() < 0.7 ? randomAi(r) : null,
      scenes: Math.floor(r() * 4),
      ...(label ? { label } : {}),
    });
    if (v.scenes.length > 0 && r() < 0.5) v.scenes[0]!.description = `${pick(DESCRIPTION_WORDS)} ${pick(DESCRIPTION_WORDS)}`;
    if (label) v.source.list = { file: 'list.csv', row: i + 2, label };
    const acqTags: Tag[] = kind === 'ytdlp' ? [{ name: pick(YT_TAGS), source: 'metadata' }] : [];
    const acqCategories: Category[] = label ? [{ name: label, source: 'list' }] : [];
    if (kind === 'ytdlp' && r() < 0.5) acqCategories.push({ name: 'Entertainment', source: 'metadata' });
    v.tags = [...acqTags];
    v.categories = [...acqCategories];
    records.push(v);
    truth.set(id, { ai: v.ai, durationSec: v.metadata?.durationSec ?? -1, label, acqTags, acqCategories });
  }
  return { records, truth };
}

function randomAi(r: Rng): NonNullable<Video['ai']> {
  const pick = pickOf(r);
  const words = Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(DESCRIPTION_WORDS));
  return {
    model: pick(['qwen-vl', 'qwen2-vl-7b']),
    endpoint: 'example.test/v1',
    provider: 'openai',
    template: 'default',
    instruction: 'describe',
    description: `A video of ${words.join(' and ')}.`,
    tags: Array.from({ length: Math.floor(r() * 3) }, () => pick(AI_TAGS)),
    ...(r() < 0.8 ? { category: pick(AI_CATEGORIES) } : {}),
    actions: Array.from({ length: Math.floor(r() * 3) }, () => pick(AI_ACTIONS)),
    promptTokens: 0,
    completionTokens: 0,
    framesSent: 0,
    at: '2026-01-01T00:00:00.000Z',
  };
}

// ---------------------------------------------------------------------------------------------- rules

const RULE_TAGS = ['long', 'short', 'hd', 'beach', 'glasses', 'Glasses', 'news', 'bus', 'caf\u00e9', 'cafe\u0301', 'x1', 'x2', 'dog', 'Stra\u00dfe', 'landscape', 'silent'];
const RULE_CATEGORIES = ['sports', 'Street Food', 'street-food', 'playing guitar', 'travel', 'football', 'news', 'Entertainment'];

function condition(r: Rng, depth = 0): string {
  const pick = pickOf(r);
  const k = Math.floor(r() * (depth < 2 ? 22 : 19));
  switch (k) {
    case 0:
      return `"duration > ${Math.floor(r() * 400)}"`;
    case 1:
      return `"height >= ${pick([360, 720, 1080])}"`;
    case 2:
      return `{ filename: "*${pick(STEMS).toLowerCase()}*" }`;
    case 3:
      return `{ filename: { regex: "^${pick(STEMS)}", flags: "" } }`;
    case 4:
      return `{ path: "**/${pick(FOLDERS)}/**" }`;
    case 5:
      return `{ description: { any: [${pick(DESCRIPTION_WORDS)}, ${pick(DESCRIPTION_WORDS)}] } }`;
    case 6:
      return `{ tag: "${pick(RULE_TAGS)}" }`;
    case 7:
      return `{ tags: { any: ["${pick(RULE_TAGS)}", "${pick(RULE_TAGS)}"] } }`;
    case 8:
      return `{ category: "${pick(RULE_CATEGORIES)}" }`;
    case 9:
      return `{ label: "${pick(['playing *', 'riding*', '*ing'])}" }`;
    case 10:
      return `{ source: ${pick(['ytdlp', 'local', 'http'])} }`;
    case 11:
      return r() < 0.3 ? `"tagCount > ${Math.floor(r() * 8)}"` : `"aspect > 1"`;
    case 12:
      return `"title ~ ${pick(DESCRIPTION_WORDS)}"`;
    case 13:
      return `"aiCategory == ${pick(AI_CATEGORIES.slice(0, 4))}"`;
    case 14:
      return `"hasAudio == ${pick(['true', 'false'])}"`;
    case 15:
      return `"scenes > ${Math.floor(r() * 3)}"`;
    case 16:
      return `{ tag: "${pick(['year-*', 's0*', 'h*', '*e'])}" }`;
    case 17:
      return `"label == '${pick(LABELS)}'"`;
    case 18:
      return `"height > width"`;
    case 19:
      return `{ not: ${condition(r, depth + 1)} }`;
    case 20:
      return `{ all: [${condition(r, depth + 1)}, ${condition(r, depth + 1)}] }`;
    default:
      return `{ any: [${condition(r, depth + 1)}, ${condition(r, depth + 1)}] }`;
  }
}

interface Rule {
  name: string;
  priority: number;
  when: string;
  add: string[];
  remove: string[];
  categories: string[];
  removeCategories: string[];
  confidence?: number;
}

function randomRule(r: Rng, name: string): Rule {
  const pick = pickOf(r);
  const add = r() < 0.7 ? [pick(RULE_TAGS)] : [];
  // remove then add of the same tag, now and then
  const remove = r() < 0.3 ? [r() < 0.3 && add.length ? add[0]! : pick(RULE_TAGS)] : [];
  const categories = r() < 0.35 ? [pick(RULE_CATEGORIES)] : [];
  const removeCategories = r() < 0.15 ? [pick(RULE_CATEGORIES)] : [];
  if (add.length + remove.length + categories.length + removeCategories.length === 0) add.push(pick(RULE_TAGS));
  return { name, priority: Math.floor(r() * 4) - 1, when: condition(r), add, remove, categories, removeCategories, ...(r() < 0.2 ? { confidence: pick([0.5, 0.75, 0.9]) } : {}) };
}

const list = (xs: string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
function rulesText(rules: Rule[]): string {
  return `rules:\n${rules
    .map(
      (x) =>
        `  - { name: ${x.name}, priority: ${x.priority}, when: ${x.when}${x.add.length ? `, add: ${list(x.add)}` : ''}${x.remove.length ? `, remove: ${list(x.remove)}` : ''}` +
        `${x.categories.length ? `, categories: ${list(x.categories)}` : ''}${x.removeCategories.length ? `, removeCategories: ${list(x.removeCategories)}` : ''}${x.confidence !== undefined ? `, confidence: ${x.confidence}` : ''} }`,
    )
    .join('\n')}\n`;
}

function editRules(rules: Rule[], r: Rng, serial: number): Rule[] {
  const out = rules.map((x) => ({ ...x }));
  const i = Math.floor(r() * out.length);
  const pick = pickOf(r);
  switch (Math.floor(r() * 9)) {
    case 0:
      out[i]!.when = condition(r);
      break;
    case 1:
      out.push(randomRule(r, `new${serial}`));
      break;
    case 2:
      if (out.length > 2) out.splice(i, 1);
      break;
    case 3:
      out[i]!.priority += r() < 0.5 ? 1 : -1;
      break;
    case 4:
      out[i]!.add = [pick(RULE_TAGS)];
      break;
    case 5:
      out[i]!.name = `${out[i]!.name}r${serial}`;
      break;
    case 6:
      out[i]!.categories = r() < 0.5 ? [] : [pick(RULE_CATEGORIES)];
      if (out[i]!.add.length + out[i]!.remove.length + out[i]!.categories.length + out[i]!.removeCategories.length === 0) out[i]!.add = [pick(RULE_TAGS)];
      break;
    case 7: {
      const m = /(\d+)/.exec(out[i]!.when);
      if (m) out[i]!.when = out[i]!.when.replace(m[1]!, String(Number(m[1]) + Math.floor(r() * 60) - 30 < 0 ? 0 : Number(m[1]) + Math.floor(r() * 60) - 30));
      else out[i]!.when = condition(r);
      break;
    }
    default: {
      const j = Math.floor(r() * out.length);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- taxonomy

function taxonomyText(r: Rng): string {
  const pick = pickOf(r);
  const footballKeywords = pick([['soccer'], [], ['soccer', 'futbol']]);
  const cookingKeywords = pick([['recipe', 'baking'], ['recipe'], []]);
  const streetParent = pick(['cooking', 'travel', null]);
  const synonyms = pick([{ 'riding a bike': ['cycling', 'biking'] }, {}, { 'riding a bike': ['cycling'], car: ['automobile', 'motorcar'] }]);
  const actions = pick([['playing guitar', 'riding a bike'], ['playing guitar', 'riding a bike', 'surfing'], ['juggling']]);
  return JSON.stringify({
    categories: [
      { name: 'sports', keywords: pick([['athletics', 'match'], ['match']]) },
      { name: 'football', parent: pick(['sports', null]), keywords: footballKeywords },
      { name: 'cooking', keywords: cookingKeywords },
      { name: 'travel' },
      { name: 'street food', ...(streetParent ? { parent: streetParent } : {}) },
      ...(r() < 0.5 ? [{ name: 'news', keywords: ['headlines'] }] : []),
    ],
    actions,
    synonyms,
  });
}

// ---------------------------------------------------------------------------------------------- the oracle

const stripState = (extra: Video['extra']) => {
  const { _tagging: _t, _classify: _c, ...rest } = extra ?? {};
  return rest;
};

/** Tags and categories of a record tagged from scratch: the inputs it has, and what acquisition gave. */
function fromScratch(v: Video, t: Truth, setup: TaggingSetup): { tags: Tag[]; categories: Category[] } {
  const fresh: Video = { ...v, tags: [...t.acqTags], categories: [...t.acqCategories], extra: stripState(v.extra) };
  const tagged = tagRecordSync(fresh, setup, { config, logger });
  const classified = classifyRecord({ ...fresh, ...tagged }, setup);
  return { tags: tagged.tags, categories: classified.categories };
}

const sorted = <T,>(xs: readonly T[]) => xs.map((x) => stableStringify(x)).sort();

async function check(store: VideoStore, truth: Map<string, Truth>, setup: TaggingSetup, where: string, only?: Set<string>): Promise<void> {
  const problems: string[] = [];
  let seen = 0;
  for await (const v of store.iterate()) {
    seen++;
    const t = truth.get(v.id)!;
    if (stableStringify(v.ai) !== stableStringify(t.ai) || (v.metadata?.durationSec ?? -1) !== t.durationSec || v.source.list?.label !== t.label) {
      problems.push(`${v.id}: inputs lost: ai ${JSON.stringify(v.ai?.description)} vs ${JSON.stringify(t.ai?.description)}, duration ${v.metadata?.durationSec} vs ${t.durationSec}, label ${v.source.list?.label} vs ${t.label}`);
      continue;
    }
    if (only && !only.has(v.id)) continue;
    const want = fromScratch(v, t, setup);
    const a = sorted(v.tags);
    const b = sorted(want.tags);
    const c = sorted(v.categories);
    const d = sorted(want.categories);
    if (JSON.stringify(a) !== JSON.stringify(b) || JSON.stringify(c) !== JSON.stringify(d)) {
      problems.push(
        `${v.id}: tags ${JSON.stringify(a.filter((x) => !b.includes(x)))} extra, ${JSON.stringify(b.filter((x) => !a.includes(x)))} missing; ` +
          `categories ${JSON.stringify(c.filter((x) => !d.includes(x)))} extra, ${JSON.stringify(d.filter((x) => !c.includes(x)))} missing`,
      );
    }
  }
  expect(seen, where).toBe(truth.size);
  expect(problems.slice(0, 5), `${where}: ${problems.length} record(s) differ from a from-scratch tagging`).toEqual([]);
}

// ---------------------------------------------------------------------------------------------- operations

/** What `process` does to a record whose inputs changed: write them, then run `tag` and `classify` as the runner does. */
async function processRecord(store: VideoStore, id: string, setup: TaggingSetup, change: (v: Video) => Video): Promise<void> {
  let v = change((await store.get(id))!);
  await store.upsert(v);
  for (const stage of [createTagStage(setup), createClassifyStage(setup)]) {
    const inputHash = stage.inputHash(v, config);
    const prev = v.stages[stage.name];
    if (prev?.status === 'done' && prev.version === stage.version && prev.inputHash === inputHash) continue;
    const patch = await stage.run(v, { config, logger } as never);
    const at = new Date().toISOString();
    v = { ...v, ...patch, stages: { ...v.stages, [stage.name]: { status: 'done', version: stage.version, inputHash, at, ms: 0 } }, updatedAt: at };
    await store.upsert(v);
  }
}

/** A random change of a record's inputs, applied to the record and, when it is applied, to the truth. */
function randomChange(r: Rng, truth: Map<string, Truth>, id: string): (v: Video) => Video {
  const t = truth.get(id)!;
  const roll = r();
  if (roll < 0.4) {
    const ai = r() < 0.15 ? null : randomAi(r);
    return (v) => {
      t.ai = ai;
      return { ...v, ai };
    };
  }
  if (roll < 0.7 || !t.label) {
    const durationSec = Math.floor(r() * 400);
    return (v) => {
      if (!v.metadata) return v;
      t.durationSec = durationSec;
      return { ...v, metadata: { ...v.metadata, durationSec } };
    };
  }
  // a list relabel, as `process` over an edited list does it
  const label = pickOf(r)(LABELS.filter((l) => l !== t.label));
  return (v) => {
    const old = t.label;
    t.label = label;
    t.acqCategories = [...t.acqCategories.filter((c) => !(c.source === 'list' && c.name === old && c.kind === undefined)), { name: label, source: 'list' }];
    return relisted(v, { key: v.source.url, raw: v.source.url, kind: 'local', path: v.source.url, list: { file: 'list.csv', row: v.source.list?.row ?? 1, label } } as never) ?? v;
  };
}

interface Lib {
  store: VideoStore;
  /** Another connection to the same library, for the second thread and the other process. */
  other: VideoStore;
  dir: string;
  /** How worker threads open the library. */
  storeOptions: Omit<OpenStoreOptions, 'logger'>;
  close(): Promise<void>;
}

type Mode = 'plain' | 'force' | 'query' | 'dry' | 'parts' | 'workers';

async function retag(lib: Lib, setup: TaggingSetup, mode: Mode, during?: (id: string) => Promise<void>): Promise<RetagSummary> {
  const earlier = readSetupLedger(lib.dir).map((e) => e.options);
  if (mode !== 'dry') recordSetup(lib.dir, setup);
  const base = { config, logger, setup, tagStage: createTagStage(setup), classifyStage: createClassifyStage(setup), earlier, batchSize: 7 };
  const racing = during ? withWrites(lib.store, during) : lib.store;
  if (mode === 'workers') return retagInParallel({ ...base, store: racing, workers: 2, storeOptions: lib.storeOptions });
  if (mode === 'parts') {
    const shared = new Int32Array(new SharedArrayBuffer(16));
    const [a, b] = await Promise.all([
      retagRecords({ ...base, store: racing, claimShard: partClaimer(shared, 8) }),
      retagRecords({ ...base, store: during ? withWrites(lib.other, during) : lib.other, claimShard: partClaimer(shared, 8) }),
    ]);
    return { ...a, seen: a.seen + b.seen, changed: a.changed + b.changed, failed: [...a.failed, ...b.failed] };
  }
  return retagRecords({
    ...base,
    store: racing,
    ...(mode === 'force' ? { force: true } : {}),
    ...(mode === 'dry' ? { dryRun: true } : {}),
    ...(mode === 'query' ? { query: { text: 'duration:..200' } } : {}),
  });
}

/** The store, calling `during` with each record's id as the retag reaches it (by either walk). */
function withWrites(store: VideoStore, during: (id: string) => Promise<void>): VideoStore {
  const wrapped = Object.create(store) as VideoStore;
  wrapped.iterate = async function* (q, options) {
    for await (const v of store.iterate(q, options)) {
      await during(v.id);
      yield v;
    }
  };
  if (store.iterateTagStates) {
    wrapped.iterateTagStates = async function* <T>(judge: (row: TagStateRow) => T | null, options?: Parameters<NonNullable<VideoStore['iterateTagStates']>>[1]) {
      for await (const visit of store.iterateTagStates!(judge, options)) {
        await during(visit.id);
        yield visit;
      }
    };
  }
  return wrapped;
}

async function snapshot(store: VideoStore): Promise<string[]> {
  const out: string[] = [];
  for await (const v of store.iterate()) out.push(JSON.stringify(v));
  return out;
}

async function runScenario(lib: Lib, seed: number, n: number, steps: number, modes: readonly Mode[] = ['plain', 'plain', 'plain', 'force', 'query', 'dry', 'parts']): Promise<void> {
  const r = rng(seed);
  const pick = pickOf(r);
  const { records, truth } = makeLibrary(r, n);
  await lib.store.upsertMany!(records);
  let rules = Array.from({ length: 8 }, (_, i) => randomRule(r, `rule${i}`));
  let taxonomy = taxonomyText(r);
  const setupOf = () => createTaggingSetup({ rulesText: rulesText(rules), taxonomyText: taxonomy });
  let setup = setupOf();
  await retag(lib, setup, 'plain');
  await check(lib.store, truth, setup, `seed ${seed} first retag`);
  const ids = [...truth.keys()];
  for (let step = 0; step < steps; step++) {
    const log: string[] = [];
    // edits of the setup
    const e = r();
    if (e < 0.6) {
      rules = editRules(rules, r, step);
      log.push('rule edit');
    } else if (e < 0.75) {
      taxonomy = taxonomyText(r);
      log.push('taxonomy edit');
    } else if (e < 0.85) {
      rules = editRules(editRules(rules, r, step), r, step + 100);
      log.push('two rule edits');
    }
    setup = setupOf();
    // `process` re-runs of a few records, sometimes with a newer setup than the retag after it
    for (let k = Math.floor(r() * 4); k > 0; k--) {
      const id = pick(ids);
      const change = randomChange(r, truth, id);
      if (r() < 0.3) {
        const newer = editRules(rules, r, step + 200);
        const s = createTaggingSetup({ rulesText: rulesText(newer), taxonomyText: taxonomy });
        recordSetup(lib.dir, s);
        await processRecord(lib.store, id, s, change);
        log.push(`process ${id} with a newer setup`);
      } else {
        recordSetup(lib.dir, setup);
        await processRecord(lib.store, id, setup, change);
        log.push(`process ${id}`);
      }
    }
    const mode = pick(modes);
    log.push(mode);
    // another process writes records while this retag runs
    const racers = new Set(r() < 0.4 ? [pick(ids), pick(ids)] : []);
    const changes = new Map([...racers].map((id) => [id, randomChange(r, truth, id)]));
    const during = racers.size
      ? async (id: string) => {
          const change = changes.get(id);
          if (!change) return;
          changes.delete(id);
          await processRecord(lib.other, id, setup, change);
        }
      : undefined;
    if (racers.size) log.push(`racing writes to ${[...racers].join(', ')}`);
    const where = `seed ${seed} step ${step}: ${log.join('; ')}\n${rulesText(rules)}`;
    if (mode === 'dry') {
      const before = await snapshot(lib.store);
      await retag(lib, setup, 'dry');
      expect(await snapshot(lib.store), `${where}: a dry run writes nothing`).toEqual(before);
      await retag(lib, setup, 'plain', during);
    } else if (mode === 'query') {
      const before = new Map((await snapshot(lib.store)).map((doc) => [(JSON.parse(doc) as Video).id, doc]));
      await retag(lib, setup, 'query', during);
      const matched = new Set<string>();
      for await (const v of lib.store.iterate({ text: 'duration:..200' })) matched.add(v.id);
      // the records the query does not match are left as they were
      for (const doc of await snapshot(lib.store)) {
        const id = (JSON.parse(doc) as Video).id;
        if (!matched.has(id) && !racers.has(id)) expect(doc, `${where}: ${id} is outside the query`).toBe(before.get(id));
      }
      await check(lib.store, truth, setup, `${where} (the query's records)`, new Set([...matched].filter((id) => !racers.has(id))));
      await retag(lib, setup, 'plain');
    } else {
      const summary = await retag(lib, setup, mode, during);
      expect(summary.seen, where).toBe(n);
    }
    // a racing write may land after the retag read its record: the next retag takes it
    if (racers.size) await retag(lib, setup, 'plain');
    await check(lib.store, truth, setup, where);
  }
}

const SEEDS = (process.env.VIDEODEX_DIFF_SEEDS ?? '1,2,3').split(',').map(Number);
const STEPS = Number(process.env.VIDEODEX_DIFF_STEPS ?? 8);

/**
 * The scenario on one backend: `open` makes a library in a fresh folder for each test (two connections to one
 * store); `workers` adds the pass on two worker threads, `modes` narrows the retags drawn.
 */
function differentialSuite(name: string, open: (dir: string) => Promise<Omit<Lib, 'dir'>>, options: { skip?: boolean; workers?: boolean; modes?: readonly Mode[] } = {}): void {
  describe.skipIf(options.skip ?? false)(`retag against tagging from scratch (${name})`, () => {
    let t: ReturnType<typeof tempDir>;
    let lib: Lib;
    beforeEach(async () => {
      t = tempDir('videodex-retag-diff-');
      lib = { ...(await open(t.dir)), dir: t.dir };
    });
    afterEach(async () => {
      await lib.close();
      t.cleanup();
    });

    it.each(SEEDS)('seed %i', async (seed) => {
      await runScenario(lib, seed, 200, STEPS, options.modes);
    }, 120_000);

    if (options.workers) {
      it('on two worker threads', async () => {
        // two workers need two workers' worth of records
        await runScenario(lib, 11, 2 * MIN_RECORDS_PER_WORKER + 101, 3, ['workers']);
      }, 240_000);
    }
  });
}

differentialSuite('SQLite', async (dir) => {
  const file = path.join(dir, 'lib.db');
  const store = new SqliteStore(file);
  await store.migrate();
  const other = new SqliteStore(file);
  await other.migrate();
  return {
    store,
    other,
    storeOptions: { backend: 'sqlite', path: file },
    async close() {
      await other.close();
      await store.close();
    },
  };
}, { workers: true });

const pgUrl = process.env.VIDEODEX_TEST_PG_URL;
differentialSuite('PostgreSQL', async () => {
  const { PostgresStore } = await import('../../src/store/postgres/index.js');
  const schema = `vdx_diff_${randomBytes(4).toString('hex')}`;
  const store = new PostgresStore({ url: pgUrl!, schema, poolSize: 2 });
  await store.migrate();
  const other = new PostgresStore({ url: pgUrl!, schema, poolSize: 2 });
  await other.migrate();
  return {
    store,
    other,
    storeOptions: { backend: 'postgres', url: pgUrl!, schema, poolSize: 2 },
    async close() {
      await other.close();
      await store.dropSchema();
      await store.close();
    },
  };
}, { skip: !pgUrl, workers: true });

differentialSuite('MongoDB: the adapter over mingo', async () => {
  const { MongoStore } = await import('../../src/store/mongodb/index.js');
  const { mingoCollections } = await import('../store/mingo-collection.js');
  const c = mingoCollections();
  const store = new MongoStore(c, 'mongodb', 'mongodb mingo');
  await store.migrate();
  return {
    store,
    other: new MongoStore(c, 'mongodb', 'mongodb mingo'),
    // no worker threads: the store cannot be split into parts, so retag runs in this thread
    storeOptions: { backend: 'mongodb', url: 'mongodb://unused' },
    async close() {
      c.close();
    },
  };
  // no 'parts': the store reads no shard
}, { modes: ['plain', 'plain', 'plain', 'force', 'query', 'dry'] });
