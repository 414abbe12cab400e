import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliInProcess } from '../helpers/cli.js';
import { SqliteStore } from '../../src/store/index.js';
import type { Video } from '../../src/core/index.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

const cli = runCliInProcess;

describe('tagging through the CLI on real videos', () => {
  let dir: string;
  let cleanup: () => void;
  let db: string;
  let rules: string;
  let taxonomy: string;
  let config: string;
  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('videodex-retag-'));
    const videos = path.join(dir, 'Holiday Trip');
    mkdirSync(videos);
    await makeTestVideo(path.join(videos, 'beachSunset_2023-07-01.mp4'), { seconds: 2, width: 320, height: 240, fps: 25, audio: true });
    await makeTestVideo(path.join(videos, 'tall_phone_clip.mp4'), { seconds: 1, width: 180, height: 320, fps: 30, extra: ['-metadata', 'keywords=Cats, funny', '-metadata', 'artist=Jane Doe'] });
    rules = path.join(dir, 'rules.yaml');
    writeFileSync(rules, ['rules:', '  - name: vertical', '    when: "height > width"', '    add: vertical', '    categories: mobile'].join('\n') + '\n');
    taxonomy = path.join(dir, 'taxonomy.yaml');
    writeFileSync(taxonomy, 'categories:\n  - name: nature\n    keywords: [landscape, outdoors]\n  - name: beach\n    parent: nature\nactions: [walking the dog, surfing]\n');
    config = path.join(dir, 'config.ini');
    writeFileSync(config, `[Tagging]\nRulesFile = ${rules}\nTaxonomy = ${taxonomy}\n`);
    db = path.join(dir, 'data', 'videodex.db');
  });
  afterAll(() => cleanup());

  const load = async () => {
    const store = new SqliteStore(db);
    const out = new Map<string, Video>();
    for await (const v of store.iterate()) out.set(path.basename(v.file.path), v);
    await store.close();
    return out;
  };

  it('process tags from file names, metadata and rules; a bad rule stops before any work', async () => {
    writeFileSync(rules, '- name: broken\n  when: "heigth > 5"\n  add: x\n');
    const bad = await cli('process', '--config', config, '--data-dir', path.join(dir, 'data'), '-q', path.join(dir, 'Holiday Trip'));
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/rules\.yaml:2:9: tag rules: rules\[0\]\.when: unknown field "heigth" \(did you mean height\?\)/);
    writeFileSync(rules, ['rules:', '  - name: vertical', '    when: "height > width"', '    add: vertical', '    categories: mobile'].join('\n') + '\n');

    const r = await cli('process', '--config', config, '--data-dir', path.join(dir, 'data'), '-q', path.join(dir, 'Holiday Trip'));
    expect(r.stderr).not.toMatch(/videodex: .*rules/);
    expect(r.code).toBe(0);
    const videos = await load();
    const beach = videos.get('beachSunset_2023-07-01.mp4')!;
    const tall = videos.get('tall_phone_clip.mp4')!;
    const tagOf = (v: Video, n: string) => v.tags.find((t) => t.name === n);
    expect(tagOf(beach, 'beach')).toMatchObject({ source: 'filename', confidence: 0.5 });
    expect(tagOf(beach, 'sunset')).toBeDefined();
    expect(tagOf(beach, 'holiday')).toBeDefined();
    expect(tagOf(beach, 'date-2023-07-01')).toMatchObject({ confidence: 0.9 });
    expect(tagOf(beach, 'has-audio')).toMatchObject({ source: 'metadata', confidence: 1 });
    expect(tagOf(beach, 'landscape')).toBeDefined();
    expect(tagOf(beach, 'sd')).toBeDefined();
    expect(tagOf(beach, 'h264')).toBeDefined();
    expect(tagOf(beach, 'vertical')).toBeUndefined();
    expect(tagOf(tall, 'vertical')).toMatchObject({ source: 'rule', rule: 'vertical', confidence: 1 });
    expect(tagOf(tall, 'portrait')).toBeDefined();
    expect(tagOf(tall, 'silent')).toBeDefined();
    expect(tagOf(tall, '30fps')).toBeDefined();
    expect(tagOf(tall, 'cat')).toMatchObject({ source: 'metadata', rule: 'container:keywords' });
    expect(tagOf(tall, 'jane-doe')).toBeDefined();
    expect(tall.categories).toEqual([{ name: 'mobile', source: 'rule', confidence: 1, kind: 'category', rule: 'vertical' }]);
    expect(tall.stages.tag!.status).toBe('done');
    expect(tall.stages.classify!.status).toBe('done');
  });

  it('retag applies changed rules and model answers, changing only tags and categories', async () => {
    const before = await load();
    // a model answer arrives by other means (the describe stage), stored on the record
    const store = new SqliteStore(db);
    const beach = before.get('beachSunset_2023-07-01.mp4')!;
    await store.upsert({ ...beach, ai: { model: 'm', endpoint: 'e', provider: 'openai', template: 't', instruction: 'i', description: 'Waves roll onto a sandy beach at sunset.', tags: ['Waves', 'Sand'], category: 'Outdoors', actions: ['surfs', 'knitting'], promptTokens: 1, completionTokens: 1, framesSent: 1, at: 'x' } });
    await store.close();
    writeFileSync(rules, ['rules:', '  - name: vertical', '    when: "height > width"', '    add: [vertical, phone]', '  - name: seaside', '    priority: 5', '    when: { description: { any: [beach, coast] } }', '    add: seaside', '    remove: sunset', '    categories: beach'].join('\n') + '\n');

    const dry = await cli('retag', '--config', config, '--data-dir', path.join(dir, 'data'), '--dry-run', '--json');
    expect(JSON.parse(dry.stdout)).toMatchObject({ seen: 2, changed: 2, upToDate: 0 });
    expect((await load()).get('tall_phone_clip.mp4')!.tags).toEqual(before.get('tall_phone_clip.mp4')!.tags);

    const r = await cli('retag', '--config', config, '--data-dir', path.join(dir, 'data'));
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/retag 2 record\(s\): 2 changed/);
    const after = await load();
    for (const name of before.keys()) {
      const a = after.get(name)!;
      const b = before.get(name)!;
      expect(a.metadata).toEqual(b.metadata);
      expect(a.scenes).toEqual(b.scenes);
      expect(a.file).toEqual(b.file);
      expect(a.stages.probe).toEqual(b.stages.probe);
    }
    const tall = after.get('tall_phone_clip.mp4')!;
    expect(tall.tags.map((t) => t.name)).toContain('phone');
    expect(tall.categories).toEqual([]);
    const b2 = after.get('beachSunset_2023-07-01.mp4')!;
    expect(b2.tags.map((t) => t.name)).toEqual(expect.arrayContaining(['seaside', 'wave', 'sand', 'surfs']));
    expect(b2.tags.map((t) => t.name)).not.toContain('sunset');
    expect(b2.categories).toEqual(expect.arrayContaining([
      expect.objectContaining({ name: 'nature', source: 'ai', match: 'synonym', label: 'Outdoors' }),
      expect.objectContaining({ name: 'beach', source: 'rule', rule: 'seaside' }),
      expect.objectContaining({ name: 'surfing', kind: 'action', match: 'fuzzy', label: 'surfs' }),
      expect.objectContaining({ name: 'unmapped', kind: 'action', label: 'knitting' }),
    ]));

    // nothing changed since: a second retag writes nothing, and process finds tag and classify up to date
    const again = await cli('retag', '--config', config, '--data-dir', path.join(dir, 'data'));
    expect(again.stderr).toMatch(/retag 2 record\(s\): 0 changed, 0 recomputed as they were, 2 up to date/);
    const forced = await cli('retag', '--config', config, '--data-dir', path.join(dir, 'data'), '--force', '--json');
    // every record is accounted for: recomputed, with the same tags and categories
    expect(JSON.parse(forced.stdout)).toMatchObject({ seen: 2, changed: 0, same: 2, upToDate: 0 });
    const proc = await cli('process', '--config', config, '--data-dir', path.join(dir, 'data'), '--json', '-q', path.join(dir, 'Holiday Trip'));
    const results = proc.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'result');
    // index re-runs once after a retag changed tags; tag and classify do not
    const latest = await load();
    expect(latest.get('tall_phone_clip.mp4')!.stages.tag!.at).toBe(tall.stages.tag!.at);
    expect(results).toHaveLength(2);
  });

  it('tags, categories and review report counts and what needs a look', async () => {
    const tags = await cli('tags', '--config', config, '--data-dir', path.join(dir, 'data'), '--json');
    const t = JSON.parse(tags.stdout) as { records: number; tags: Array<{ name: string; videos: number; bySource: Record<string, number> }> };
    expect(t.records).toBe(2);
    expect(t.tags.find((x) => x.name === 'h264')).toMatchObject({ videos: 2, bySource: { metadata: 2 } });
    expect(t.tags.find((x) => x.name === 'holiday')).toMatchObject({ videos: 2, bySource: { filename: 2 } });
    const table = await cli('tags', '--config', config, '--data-dir', path.join(dir, 'data'), '--from', 'rule');
    expect(table.stdout).toMatch(/vertical/);
    expect(table.stdout).not.toMatch(/h264/);

    const cats = await cli('categories', '--config', config, '--data-dir', path.join(dir, 'data'), '--json');
    const c = JSON.parse(cats.stdout) as { unmapped: number; categories: Array<{ name: string; kind: string; videos: number }> };
    expect(c.unmapped).toBe(1);
    expect(c.categories.map((x) => `${x.kind}:${x.name}:${x.videos}`).sort()).toEqual(['action:surfing:1', 'category:beach:1', 'category:nature:1']);

    const review = await cli('review', '--config', config, '--data-dir', path.join(dir, 'data'));
    expect(review.stdout).toMatch(/Unmapped model answers \(1\)/);
    expect(review.stdout).toMatch(/knitting\s+│?\s*action/);
    const json = JSON.parse((await cli('review', '--config', config, '--data-dir', path.join(dir, 'data'), '--json', '--below', '0.99')).stdout);
    expect(json.lowConfidence.map((l: { category: string }) => l.category)).toEqual(expect.arrayContaining(['surfing', 'nature']));
  });
});
