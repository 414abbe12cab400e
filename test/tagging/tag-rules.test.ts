import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configWith, createLogger } from '../../src/core/index.js';
import { applyCategoryRules, applyTagRules, compileCondition, createTaggingSetup, loadRules, loadTaggingSetup, parseRules, RuleSubject, tagRecordSync, classifyRecord } from '../../src/tagging/index.js';
import { makeRecord, names } from './records.js';

const test = (cond: unknown, video = makeRecord()) => compileCondition(cond)(new RuleSubject(video));

describe('conditions', () => {
  const v = makeRecord({
    path: '/videos/cooking/GOPR0042_pasta.MP4',
    metadata: { durationSec: 95, width: 3840, height: 2160, fps: 29.97, videoCodec: 'hevc', audio: null },
    ai: { description: 'A chef slices tomatoes and boils pasta in a busy kitchen.', model: 'qwen2-vl' },
    scenes: 7,
    title: 'Quick Pasta',
  });
  v.tags = [{ name: 'kitchen', source: 'ai' }, { name: 'year-2023', source: 'filename' }];
  v.categories = [{ name: 'food', source: 'ai' }];

  it('compares numbers with every operator, with units', () => {
    expect(test('duration > 60', v)).toBe(true);
    expect(test('duration > 95', v)).toBe(false);
    expect(test('duration >= 95', v)).toBe(true);
    expect(test('duration < 2m', v)).toBe(true);
    expect(test('duration <= 1m', v)).toBe(false);
    expect(test('height == 2160', v)).toBe(true);
    expect(test('height = 2160', v)).toBe(true);
    expect(test('width != 3840', v)).toBe(false);
    expect(test('scenes >= 7', v)).toBe(true);
    expect(test('bytes < 1M', v)).toBe(true);
    expect(test('aspect > 1.7', v)).toBe(true);
    expect(test('audioChannels == 0', v)).toBe(true);
    expect(test('width > height', v)).toBe(true);
    expect(test('height >= width', v)).toBe(false);
    expect(() => compileCondition('width > codec')).toThrow(/cannot be compared/);
  });
  it('compares text and booleans, case-insensitively', () => {
    expect(test('codec == HEVC', v)).toBe(true);
    expect(test('codec != h264', v)).toBe(true);
    expect(test('title ~ pasta', v)).toBe(true);
    expect(test('title !~ pasta', v)).toBe(false);
    // a local file has no site title: its container's title is the title, as search shows it
    const local = { ...v, source: { url: '/v/a.mp4', kind: 'local' as const, fetchedAt: v.source.fetchedAt }, metadata: { ...v.metadata!, containerTags: { title: 'Cooking pasta day one' } } };
    expect(test('title ~ "day one"', local)).toBe(true);
    expect(test('title ~ "day one"', { ...local, metadata: { ...local.metadata, containerTags: {} } })).toBe(false);
    expect(test('model ~ "qwen2"', v)).toBe(true);
    expect(test('hasAudio == false', v)).toBe(true);
    expect(test('hasAi != true', v)).toBe(false);
    expect(test('extension == mp4', v)).toBe(true);
    expect(test('source == local', v)).toBe(true);
  });
  it('makes every comparison on a missing value false', () => {
    const bare = makeRecord({ metadata: null });
    expect(test('duration > 0', bare)).toBe(false);
    expect(test('duration < 1000000', bare)).toBe(false);
    expect(test('codec != h264', bare)).toBe(false);
    expect(test({ not: 'duration > 0' }, bare)).toBe(true);
  });
  it('matches file names and paths by glob or regex', () => {
    expect(test({ filename: 'gopr*.mp4' }, v)).toBe(true);
    expect(test({ filename: { glob: '*.mkv' } }, v)).toBe(false);
    expect(test({ filename: { regex: '^GOPR\\d{4}' } }, v)).toBe(true);
    expect(test({ filename: { regex: '^gopr', flags: '' } }, v)).toBe(false);
    expect(test({ path: '**/cooking/**' }, v)).toBe(true);
  });

  it('matches names whatever their Unicode form: é as one character or as e and a combining accent', () => {
    const decomposed = makeRecord({ path: '/Users/me/Cafe\u0301s/cafe\u0301_terrace.mov', label: 'cafe\u0301 talk' });
    const composed = makeRecord({ path: '/v/Caf\u00e9s/CAF\u00c9_terrace.mov', label: 'caf\u00e9 talk' });
    for (const rec of [decomposed, composed]) {
      for (const e of ['\u00e9', 'e\u0301']) {
        const where = `${rec.file.path} with ${JSON.stringify(e)}`;
        expect(test({ filename: `*caf${e}_*` }, rec), where).toBe(true);
        expect(test({ path: `**/caf${e}s/**` }, rec), where).toBe(true);
        expect(test({ filename: { regex: `^caf${e}_` } }, rec), where).toBe(true);
        expect(test({ label: `caf${e} *` }, rec), where).toBe(true);
        expect(test(`filename ~ caf${e}_`, rec), where).toBe(true);
        expect(test(`label == "CAF${e.toUpperCase()} TALK"`, rec), where).toBe(true);
      }
    }
  });

  it('finds words in the description, by stem', () => {
    expect(test({ description: 'tomato' }, v)).toBe(true);
    expect(test({ description: 'boiling pasta' }, v)).toBe(true);
    expect(test({ description: 'pizza' }, v)).toBe(false);
    expect(test({ description: { any: ['pizza', 'chef'] } }, v)).toBe(true);
    expect(test({ description: { all: ['pizza', 'chef'] } }, v)).toBe(false);
    expect(test({ description: { regex: 'busy\\s+kitchen' } }, v)).toBe(true);
  });
  it('finds a word written without spaces inside the run of letters it is written in (Chinese, Japanese, Thai, Korean)', () => {
    const zh = makeRecord({ ai: { description: '白い猫が寝ている。東京タワーの夜景' }, scenes: 0 });
    expect(test({ description: '猫' }, zh)).toBe(true);
    expect(test({ description: '東京タワー' }, zh)).toBe(true);
    expect(test({ description: 'ﾀﾜｰ' }, zh)).toBe(true); // half-width katakana reads as full width
    expect(test({ description: '京東' }, zh)).toBe(false);
    expect(test({ description: { any: ['犬', '夜景'] } }, zh)).toBe(true);
    expect(test({ description: { all: ['犬', '夜景'] } }, zh)).toBe(false);
    expect(test({ description: '서울' }, makeRecord({ ai: { description: '서울에서 만나요' }, scenes: 0 }))).toBe(true);
    expect(test({ description: 'ง่าย' }, makeRecord({ ai: { description: 'ภาษาไทยง่ายมาก' }, scenes: 0 }))).toBe(true);
    // beside other words, each looked for its own way: by stem, and inside the text
    expect(test({ description: 'tomatoes 猫' }, makeRecord({ ai: { description: 'A tomato. 白い猫' }, scenes: 0 }))).toBe(true);
    expect(test({ description: 'pizza 猫' }, makeRecord({ ai: { description: 'A tomato. 白い猫' }, scenes: 0 }))).toBe(false);
  });
  it('tests tags and categories by name, glob, all and any', () => {
    expect(test({ tag: 'kitchen' }, v)).toBe(true);
    expect(test({ tag: 'year-*' }, v)).toBe(true);
    expect(test({ tags: ['kitchen', 'beach'] }, v)).toBe(false);
    expect(test({ tags: { any: ['beach', 'kitchen'] } }, v)).toBe(true);
    expect(test({ tags: { all: ['kitchen', 'year-2023'] } }, v)).toBe(true);
    expect(test({ category: 'food' }, v)).toBe(true);
  });
  it('combines with all, any and not', () => {
    expect(test({ all: ['duration > 60', { tag: 'kitchen' }, { not: { tag: 'beach' } }] }, v)).toBe(true);
    expect(test({ any: ['duration > 600', { tag: 'beach' }] }, v)).toBe(false);
    expect(test({ not: { any: ['duration > 600', { tag: 'beach' }] } }, v)).toBe(true);
    expect(test({ where: 'fps > 29' }, v)).toBe(true);
    expect(test({ label: 'cook*' }, makeRecord({ label: 'cooking' }))).toBe(true);
  });
});

describe('rules files', () => {
  it('applies priorities: the higher rule decides, lower rules see earlier results', () => {
    const rules = parseRules(`
rules:
  - name: low-adds-archive
    priority: 0
    when: "duration > 10"
    add: [archive, long-ish]
  - name: high-removes-archive
    priority: 10
    when: { tag: hd }
    remove: archive
  - name: chained
    priority: -5
    when: { tag: long-ish }
    add: chained
    confidence: 0.7
  - name: strips-filename-words
    when: { filename: "*.mp4" }
    remove: [beach]
`);
    expect(rules.rules.map((r) => r.name)).toEqual(['high-removes-archive', 'low-adds-archive', 'strips-filename-words', 'chained']);
    const v = makeRecord();
    const out = applyTagRules(rules, v, [
      { name: 'hd', source: 'metadata', confidence: 1 },
      { name: 'beach', source: 'filename', confidence: 0.5 },
    ]);
    expect(names(out).sort()).toEqual(['chained', 'hd', 'long-ish']);
    expect(out.find((t) => t.name === 'chained')).toEqual({ name: 'chained', source: 'rule', confidence: 0.7, rule: 'chained' });
  });
  it("a plural name in a tag: condition or remove also finds the singular the model's tags are stored as", () => {
    const rules = parseRules(`
rules:
  - { name: about-dogs, when: { tag: dogs }, add: [pets] }
  - { name: any-cats, when: { tags: { any: [cats, birds] } }, add: [feline] }
  - { name: no-glasses, when: { tag: glasses }, add: [eyewear] }
  - { name: drop-buses, when: "duration > 0", remove: [buses] }
`);
    const v = makeRecord();
    const ai = (name: string) => ({ name, source: 'ai' as const, confidence: 0.8, rule: 'ai:tags' });
    expect(names(applyTagRules(rules, v, [ai('dog'), ai('cat'), ai('bus'), ai('glass')])).sort()).toEqual(['cat', 'dog', 'feline', 'glass', 'pets']);
    // a tag kept plural is still found as written; a word that is not a plural (glasses) finds only itself
    expect(names(applyTagRules(rules, v, [{ name: 'dogs', source: 'rule', confidence: 1, rule: 'x' }, { name: 'glasses', source: 'rule', confidence: 1, rule: 'y' }, { name: 'buses', source: 'rule', confidence: 1, rule: 'z' }])).sort()).toEqual(['dogs', 'eyewear', 'glasses', 'pets']);
  });
  it('replaces a tag or category a rule both removes and adds with its own; a later rule still cannot undo it', () => {
    const rules = parseRules(`
rules:
  - { name: resource, priority: 5, when: "duration > 10", remove: [hd, ghost], add: [hd, ghost], removeCategories: [sports], categories: [sports], confidence: 0.6 }
  - { name: later, when: "duration > 10", remove: [hd], removeCategories: [sports] }
`);
    const v = makeRecord();
    const tags = applyTagRules(rules, v, [{ name: 'hd', source: 'metadata', confidence: 1, rule: 'resolution-class' }]);
    expect(tags).toEqual([
      { name: 'hd', source: 'rule', confidence: 0.6, rule: 'resource' },
      { name: 'ghost', source: 'rule', confidence: 0.6, rule: 'resource' },
    ]);
    const cats = applyCategoryRules(rules, v, [{ name: 'sports', source: 'ai', confidence: 0.95, kind: 'category' }]);
    expect(cats).toEqual([{ name: 'sports', source: 'rule', confidence: 0.6, kind: 'category', rule: 'resource' }]);
  });

  it('counts in tagCount the tags of this pass so far, so a record tagged again comes out as one tagged from scratch', () => {
    const setup = createTaggingSetup({
      rulesText: 'rules:\n  - { name: many, priority: 1, when: "tagCount > 3", add: [many] }\n  - { name: few, when: "tagCount <= 3", add: [few] }\n',
    });
    const ctx = { config: configWith(), logger: createLogger({ file: null, level: 'silent', secrets: [] }) };
    const v = makeRecord(); // hd, landscape, h264, has-audio... and the words of its name: more than 3 before any rule
    const once = tagRecordSync(v, setup, ctx);
    expect(names(once.tags)).toContain('many');
    expect(names(once.tags)).not.toContain('few');
    const again = tagRecordSync({ ...v, ...once }, setup, ctx);
    expect(names(again.tags)).toEqual(names(once.tags));
    // a pass that removes tags counts what is left
    const bare = makeRecord({ path: '/x.mp4', metadata: null });
    expect(names(tagRecordSync(bare, setup, ctx).tags)).toEqual(['few']);
  });

  it('shows the tag actions the categories classification starts from, not the stored ones: tagging again gives the same tags', () => {
    const setup = createTaggingSetup({
      rulesText: [
        'rules:',
        '  - { name: sporty, when: { category: sports }, add: [sporty] }',
        '  - { name: foodie, when: { category: street-food }, add: [foodie] }',
        '  - { name: food, when: { filename: "*pasta*" }, categories: [street food] }',
        '  - { name: listed, when: { category: Entertainment }, add: [listed] }',
      ].join('\n'),
      taxonomyText: 'categories:\n  - { name: sports }\n  - { name: football, parent: sports, keywords: [soccer] }\n  - { name: street food }\n',
    });
    const ctx = { config: configWith(), logger: createLogger({ file: null, level: 'silent', secrets: [] }) };
    // the model says soccer (football, and its parent sports); a rule adds street food in the classify pass; the
    // site gave the category Entertainment at acquisition
    const v = makeRecord({ path: '/v/pasta.mp4', ai: { category: 'Soccer' } });
    v.categories = [{ name: 'Entertainment', source: 'metadata' }];
    const once = tagRecordSync(v, setup, ctx);
    expect(names(once.tags)).toContain('sporty');
    expect(names(once.tags)).toContain('listed');
    expect(names(once.tags)).not.toContain('foodie');
    const tagged = { ...v, ...once };
    const classified = { ...tagged, ...classifyRecord(tagged, setup) };
    expect(classified.categories.map((c) => c.name)).toEqual(expect.arrayContaining(['football', 'sports', 'street food', 'Entertainment']));
    expect(names(tagRecordSync(classified, setup, ctx).tags)).toEqual(names(once.tags));
  });

  it('applies category actions with the same precedence', () => {
    const rules = parseRules(`
- name: lecture
  when: { all: ["duration > 20", { description: slides }] }
  categories: [education, lecture]
- name: no-lecture-when-short
  priority: 5
  when: "duration < 40"
  removeCategories: lecture
`);
    const v = makeRecord({ ai: { description: 'A teacher shows slides.' } });
    const cats = applyCategoryRules(rules, v, [{ name: 'misc', source: 'ai', confidence: 0.5 }]);
    expect(cats.map((c) => c.name)).toEqual(['misc', 'education']);
    expect(cats[1]).toMatchObject({ source: 'rule', rule: 'lecture', confidence: 1 });
  });
  it('reads JSON too', () => {
    const rules = parseRules(JSON.stringify({ rules: [{ name: 'tall', when: 'height >= 1080', add: ['tall'] }] }));
    expect(names(applyTagRules(rules, makeRecord(), []))).toEqual(['tall']);
  });
  it('skips disabled rules', () => {
    const rules = parseRules(`- {name: off, enabled: false, when: "duration > 0", add: x}`);
    expect(rules.rules).toHaveLength(0);
  });

  const bad: Array<[string, string, RegExp]> = [
    ['unknown field', 'rules:\n  - name: a\n    when: "durationn > 5"\n    add: x\n', /^<r>:3:11: tag rules: rules\[0\]\.when: unknown field "durationn" \(did you mean duration\?\)/],
    ['bad operator', 'rules:\n  - name: a\n    when: "codec > 5"\n    add: x\n', /:3:\d+: .*codec is text: use == != ~/],
    ['not a number', '- name: a\n  when: "height >= tall"\n  add: x\n', /:2:\d+: .*height is a number: "tall" is not one/],
    ['bad unit', '- name: a\n  when: "duration > 5 parsecs"\n  add: x\n', /units s, m, h/],
    ['unknown condition key', 'rules:\n  - name: a\n    when:\n      all:\n        - tagz: foo\n    add: x\n', /^<r>:5:\d+: tag rules: rules\[0\]\.when\.all\[0\]\.tagz: unknown condition "tagz" \(did you mean tag/],
    ['two keys in one condition', 'rules:\n  - name: a\n    when: {tag: a, filename: "*.mp4"}\n    add: x\n', /a condition has one key/],
    ['bad regex', 'rules:\n  - name: a\n    when: {filename: {regex: "(("}}\n    add: x\n', /bad regex/],
    ['empty any', 'rules:\n  - name: a\n    when: {any: []}\n    add: x\n', /any needs a non-empty list/],
    ['no actions', 'rules:\n  - name: a\n    when: "duration > 1"\n', /the rule does nothing/],
    ['typo in a rule key', 'rules:\n  - name: a\n    when: "duration > 1"\n    ad: x\n', /^<r>:4:\d+: tag rules: rules\[0\]\.ad: Unrecognized key/],
    ['missing when', 'rules:\n  - name: a\n    add: x\n', /rules\[0\]\.when/],
    ['bad priority', 'rules:\n  - name: a\n    priority: high\n    when: "duration > 1"\n    add: x\n', /^<r>:3:15: .*priority/],
    ['confidence out of range', 'rules:\n  - name: a\n    confidence: 2\n    when: "duration > 1"\n    add: x\n', /confidence/],
    ['duplicate names', 'rules:\n  - {name: a, when: "duration > 1", add: x}\n  - {name: a, when: "duration > 1", add: y}\n', /^<r>:3: tag rules: rules\[1\]\.name: "a" is already the name of the rule at line 2/],
    ['yaml syntax', 'rules:\n  - name: [a\n', /^<r>:\d+:\d+: tag rules is not valid YAML\/JSON/],
    ['not a list', 'hello: 1\n', /expected a list of rules/],
    ['bad source kind', '- name: a\n  when: {source: ftp}\n  add: x\n', /source is one of local, http, ytdlp, hls/],
  ];
  for (const [what, text, message] of bad) {
    it(`refuses ${what} with the line and cause`, () => {
      let caught: unknown;
      try {
        parseRules(text, '<r>');
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).toMatch(message);
    });
  }

  it('loads from [Tagging] RulesFile and fails before any work on a bad file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'videodex-rules-'));
    try {
      const file = path.join(dir, 'rules.yaml');
      writeFileSync(file, '- name: a\n  when: "fps >= 50"\n  add: smooth\n');
      expect(loadRules(file).rules[0]!.line).toBe(1);
      const setup = loadTaggingSetup(configWith({ Tagging: { RulesFile: file } }));
      expect(setup.rules.rules).toHaveLength(1);
      writeFileSync(file, '- name: a\n  when: "fps >= fast"\n  add: smooth\n');
      expect(() => loadTaggingSetup(configWith({ Tagging: { RulesFile: file } }))).toThrow(new RegExp(`^${file.replace(/[/.]/g, '\\$&')}:2:9: tag rules`));
      expect(() => loadTaggingSetup(configWith({ Tagging: { RulesFile: path.join(dir, 'missing.yaml') } }))).toThrow(/cannot read tag rules: ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('changes the setup fingerprint when the rules change', () => {
    const a = createTaggingSetup({ rulesText: '- {name: a, when: "fps > 1", add: x}' });
    const b = createTaggingSetup({ rulesText: '- {name: a, when: "fps > 2", add: x}' });
    expect(a.fingerprint).not.toBe(b.fingerprint);
    expect(createTaggingSetup({ rulesText: '- {name: a, when: "fps > 1", add: x}' }).fingerprint).toBe(a.fingerprint);
  });
});
