/**
 * Tags edited by hand (`videodex tag`): an added tag stays and a removed one stays away through every later
 * tagging (retag, retag --force, process again), rules see added tags, and the edits can be forgotten.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configWith, createLogger, withUserTagsOf, type Video } from '../../src/core/index.js';
import { SqliteStore } from '../../src/store/index.js';
import { createTaggingSetup, editUserTags, tagRecordSync, userTagEdits } from '../../src/tagging/index.js';
import { runCliInProcess as cli } from '../helpers/cli.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';
import { makeRecord } from './records.js';

describe('hand edits of a record\'s tags', () => {
  const ctx = { config: configWith(), logger: createLogger({ file: null, level: 'silent', secrets: [] }) };
  const setup = createTaggingSetup({ rulesText: 'rules:\n  - name: fav\n    when: { tag: favorite }\n    add: [keeper]\n  - name: drop\n    when: { tag: favorite }\n    remove: [golden-hour]\n' });
  const names = (v: Video) => tagRecordSync(v, setup, ctx).tags.map((t) => t.name);

  it('adds and removes names on top of earlier edits, named as tags are; --clear forgets them', () => {
    const v = makeRecord({ path: '/clips/beachSunset.mp4' });
    const once = editUserTags(v, { add: ['Favorite', 'Golden Hour'], remove: ['beach'] });
    expect(userTagEdits(once)).toEqual({ add: ['favorite', 'golden-hour'], remove: ['beach'] });
    // removing what was added, adding what was removed: each name in one list only
    const twice = editUserTags(once, { add: ['beach'], remove: ['favorite'] });
    expect(userTagEdits(twice)).toEqual({ add: ['golden-hour', 'beach'], remove: ['favorite'] });
    expect(userTagEdits(editUserTags(twice, { clear: true }))).toBeNull();
    expect(editUserTags(twice, { clear: true }).extra).not.toHaveProperty('_userTags');
    expect(() => editUserTags(v, { add: ['!!'] })).toThrow(/no tag name/);
    expect(() => editUserTags(v, { add: ['x'], remove: ['X'] })).toThrow(/both added and removed/);
  });

  it('a copy takes the stored edits (or their absence); one that has them already is left as it is, whatever their key order', () => {
    const v = makeRecord({ path: '/clips/beachSunset.mp4' });
    const stored = editUserTags(v, { add: ['a'], remove: ['b'] });
    expect(withUserTagsOf(v, stored).extra._userTags).toEqual({ add: ['a'], remove: ['b'] });
    expect(withUserTagsOf(stored, v).extra).not.toHaveProperty('_userTags');
    expect(withUserTagsOf(v, v)).toBe(v);
    // as PostgreSQL's jsonb may give the keys back: the same edits, so the runner does not tag again for nothing
    const reordered = { ...v, extra: { ...v.extra, _userTags: { remove: ['b'], add: ['a'] } } };
    expect(withUserTagsOf(reordered, stored)).toBe(reordered);
  });

  it('tagging keeps them over every other source: rules see an added tag, a removed one never comes back', () => {
    const v = makeRecord({ path: '/clips/beachSunset.mp4' });
    expect(names(v)).toEqual(expect.arrayContaining(['beach', 'sunset']));
    const edited = editUserTags(v, { add: ['favorite', 'golden-hour'], remove: ['beach'] });
    const tags = tagRecordSync(edited, setup, ctx).tags;
    expect(tags.map((t) => t.name)).not.toContain('beach');
    expect(tags.find((t) => t.name === 'favorite')).toEqual({ name: 'favorite', source: 'user', confidence: 1, rule: 'user' });
    expect(tags.map((t) => t.name)).toContain('keeper'); // the rule fired on the hand-added tag
    // a rule's remove does not undo a hand edit
    expect(tags.map((t) => t.name)).toContain('golden-hour');
    // a name tagging also gives is the person's, at their confidence
    const sunset = tagRecordSync(editUserTags(v, { add: ['sunset'] }), setup, ctx).tags.find((t) => t.name === 'sunset');
    expect(sunset).toMatchObject({ source: 'user', confidence: 1 });
  });
});

describe('videodex tag on real videos', () => {
  let dir: string;
  let cleanup: () => void;
  let config: string;
  const data = () => path.join(dir, 'data');
  const run = (...args: string[]) => cli(args[0]!, '--config', config, '--data-dir', data(), ...args.slice(1));
  const load = async (): Promise<Video> => {
    const store = new SqliteStore(path.join(data(), 'videodex.db'));
    const out: Video[] = [];
    for await (const v of store.iterate()) out.push(v);
    await store.close();
    return out.find((v) => v.file.path.endsWith('beachSunset.mp4'))!;
  };
  const tagNames = async () => (await load()).tags.map((t) => t.name);

  beforeAll(async () => {
    ({ dir, cleanup } = tempDir('videodex-user-tags-'));
    mkdirSync(path.join(dir, 'clips'));
    await makeTestVideo(path.join(dir, 'clips', 'beachSunset.mp4'), { seconds: 1, width: 160, height: 120, fps: 10 });
    // other content: the same frames would be one record (by content hash), named after whichever file came first
    await makeTestVideo(path.join(dir, 'clips', 'cityNight.mp4'), { seconds: 1, width: 160, height: 120, fps: 10, source: 'color=c=blue' });
    writeFileSync(path.join(dir, 'rules.yaml'), 'rules:\n  - name: fav\n    when: { tag: favorite }\n    add: [keeper]\n');
    config = path.join(dir, 'config.ini');
    writeFileSync(config, `[Tagging]\nRulesFile = ${path.join(dir, 'rules.yaml')}\n`);
    expect((await run('process', '-q', path.join(dir, 'clips'))).code).toBe(0);
  });
  afterAll(() => cleanup());

  it('adds and removes tags, kept through retag --force and process again; search and tags --from user see them', async () => {
    expect(await tagNames()).toEqual(expect.arrayContaining(['beach', 'sunset']));
    const file = path.join(dir, 'clips', 'beachSunset.mp4');
    const r = await run('tag', file, '--add', 'Favorite,Golden Hour', '--remove', 'beach', '--json');
    expect(r.code).toBe(0);
    const line = JSON.parse(r.stdout.trim()) as { tags: string[]; edits: unknown };
    expect(line.edits).toEqual({ add: ['favorite', 'golden-hour'], remove: ['beach'] });
    expect(line.tags).toEqual(expect.arrayContaining(['favorite', 'golden-hour', 'keeper', 'sunset']));
    expect(line.tags).not.toContain('beach');
    expect(await tagNames()).toEqual(line.tags);

    expect((await run('retag', '--force')).code).toBe(0);
    expect((await run('process', '-q', path.join(dir, 'clips'), '--force', 'tag')).code).toBe(0);
    const after = await tagNames();
    expect(after).toEqual(expect.arrayContaining(['favorite', 'golden-hour', 'keeper']));
    expect(after).not.toContain('beach');

    const found = await run('search', 'tag:golden-hour', '--json');
    expect((JSON.parse(found.stdout) as { hits: Array<{ video: Video }> }).hits.map((h) => path.basename(h.video.file.path))).toEqual(['beachSunset.mp4']);
    expect((await run('search', 'tag:beach', '--json')).stdout).toMatch(/"total":0/);
    const bySource = JSON.parse((await run('tags', '--from', 'user', '--json')).stdout) as { tags: Array<{ name: string; bySource: Record<string, number> }> };
    expect(bySource.tags.map((t) => [t.name, t.bySource]).sort()).toEqual([['favorite', { user: 1 }], ['golden-hour', { user: 1 }]]);

    // forgetting the edits gives back what tagging computes
    expect((await run('tag', file, '--clear')).code).toBe(0);
    const cleared = await tagNames();
    expect(cleared).toContain('beach');
    expect(cleared).not.toContain('favorite');
    expect(cleared).not.toContain('keeper');
  });

  it('says what is wrong in one line: an unknown video (exit 1, the others done), a bad name or a name added and removed (exit 2)', async () => {
    const r = await run('tag', 'nosuchvideo', path.join(dir, 'clips', 'cityNight.mp4'), '--add', 'late');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/nosuchvideo: no such video in the library/);
    expect(r.stdout).toMatch(/late/);
    const bad = await run('tag', path.join(dir, 'clips', 'cityNight.mp4'), '--add', '!!');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/"!!" is no tag name/);
    const both = await run('tag', path.join(dir, 'clips', 'cityNight.mp4'), '--add', 'x', '--remove', 'X');
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/x: both --add and --remove/);
  });
});
