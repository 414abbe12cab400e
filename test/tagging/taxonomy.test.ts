import { describe, expect, it } from 'vitest';
import { ConfigError, configWith, createLogger } from '../../src/core/index.js';

const silentLogger = createLogger({ file: null, level: 'silent', secrets: [] });
import {
  classify,
  classifyRecord,
  createTaggingSetup,
  labelVocabulary,
  LabelMapper,
  needsReview,
  parseActionLabels,
  parseTaxonomy,
  tagRecord,
  tagRecordSync,
  UNMAPPED,
} from '../../src/tagging/index.js';
import { makeRecord, names } from './records.js';

const TAXONOMY = `
categories:
  - name: sports
    description: Any sport
    keywords: [athletics]
  - name: football
    parent: sports
    keywords: [soccer]
  - name: cooking
    description: Preparing food
    keywords: [recipe, baking]
  - name: street food
    parent: cooking
actions: [playing guitar]
synonyms:
  riding a bike: [cycling, biking]
`;

const ACTIONS = `# Kinetics subset
label
riding a bike
riding a horse
playing piano
"juggling balls"
dribbling basketball,extra,columns
`;

describe('taxonomy file', () => {
  it('parses categories, parents, actions and synonyms; also the map form', () => {
    const t = parseTaxonomy(TAXONOMY);
    expect(t.categories.map((c) => c.name)).toEqual(['sports', 'football', 'cooking', 'street food']);
    expect(t.categories[1]).toMatchObject({ parent: 'sports', keywords: ['soccer'] });
    const m = parseTaxonomy('categories:\n  news: {description: Current events}\n  politics: {parent: news}\n');
    expect(m.categories).toEqual([
      { name: 'news', description: 'Current events', keywords: [], parent: null },
      { name: 'politics', description: '', keywords: [], parent: 'news' },
    ]);
  });
  it('refuses unknown parents, cycles, repeats and typos with the line', () => {
    const cases: Array<[string, RegExp]> = [
      ['categories:\n  - name: a\n    parent: b\n', /^tx:3:13: taxonomy: category "a" has parent "b", which is not a category/],
      ['categories:\n  - {name: a, parent: b}\n  - {name: b, parent: a}\n', /is its own ancestor/],
      ['categories:\n  - name: Sports\n  - name: sports\n', /^tx:3:\d+: taxonomy: category "sports" repeats "Sports"/],
      ['categories:\n  - name: a\n    keywrods: [x]\n', /^tx:3:\d+: taxonomy: categories\[0\]\.keywrods: Unrecognized key/],
      // one keyword for two categories: an answer could map to one only, and the other entry would never match
      ['categories:\n  - name: food\n    keywords: [BBQ, recipe]\n  - name: outdoors\n    keywords: [hike, bbq]\n', /^tx:5:\d+: taxonomy: keyword "bbq" is given to both "food" and "outdoors"/],
      ['synonyms:\n  car: [automobile, auto]\n  truck: [lorry, Automobile]\n', /^tx:3:\d+: taxonomy: synonym "Automobile" is given to both "car" and "truck"/],
      ['categories:\n  - name: food\n  - name: cooking\n    synonyms: [Food]\n', /^tx:3:\d+: taxonomy: keyword "Food" of category "cooking" is the name of category "food"/],
    ];
    for (const [text, re] of cases) {
      expect(() => parseTaxonomy(text, 'tx')).toThrow(ConfigError);
      expect(() => parseTaxonomy(text, 'tx')).toThrow(re);
    }
  });
  it('accepts a keyword that repeats its own category name or is given twice to one category', () => {
    const t = parseTaxonomy('categories:\n  - name: food\n    keywords: [Food, recipe, Recipe]\n', 'tx');
    expect(t.categories[0]!.keywords).toEqual(['Food', 'recipe', 'Recipe']);
  });
  it('reads action label lists: comments, header, quotes, CSV first column', () => {
    expect(parseActionLabels(ACTIONS)).toEqual(['riding a bike', 'riding a horse', 'playing piano', 'juggling balls', 'dribbling basketball']);
  });
  it('gives the model templates category names parents first, a guide tree and the actions', () => {
    const setup = createTaggingSetup({ taxonomyText: TAXONOMY, actionLabelsText: ACTIONS });
    const v = labelVocabulary(setup.taxonomy);
    expect(v.categoryGuide).toContain('- sports: Any sport; e.g. athletics\n  - football: e.g. soccer');
    expect(v.categories.indexOf('sports')).toBeLessThan(v.categories.indexOf('football'));
    expect(v.categories).toContain('street food');
    expect(v.actions.slice(0, 2)).toEqual(['playing guitar', 'riding a bike']);
    expect(labelVocabulary(createTaggingSetup().taxonomy)).toEqual({ categories: [], categoryGuide: '', actions: [] });
  });

});

describe('label mapping', () => {
  const mapper = new LabelMapper(
    [
      { name: 'riding a bike', synonyms: ['cycling'] },
      { name: 'riding a horse' },
      { name: 'playing guitar' },
      { name: 'playing piano' },
    ],
    0.8,
  );
  it('maps exact names whatever the case and plural', () => {
    expect(mapper.map('Playing Guitar')).toEqual({ name: 'playing guitar', match: 'exact', confidence: 1, similarity: 1 });
  });
  it('maps synonyms', () => {
    expect(mapper.map('Cycling')).toMatchObject({ name: 'riding a bike', match: 'synonym', confidence: 0.95 });
  });
  it('maps close wording by token similarity, scaled below a synonym', () => {
    const m = mapper.map('plays the guitar');
    expect(m).toMatchObject({ name: 'playing guitar', match: 'fuzzy' });
    expect(m.name && m.confidence).toBeLessThan(0.95);
    expect(mapper.map('guitar playing')).toMatchObject({ name: 'playing guitar', match: 'fuzzy' });
  });
  it('does not invent: too far, or a tie between two labels, is unmapped', () => {
    expect(mapper.map('cooking pasta')).toMatchObject({ name: null, match: 'none' });
    const tie = mapper.map('riding');
    expect(tie.name).toBeNull();
    const strict = new LabelMapper([{ name: 'playing guitar' }], 1);
    expect(strict.map('playing a guitar solo').name).toBeNull();
    const loose = new LabelMapper([{ name: 'playing guitar' }], 0.5);
    expect(loose.map('playing a guitar solo').name).toBe('playing guitar');
  });
});

describe('classify', () => {
  const setup = createTaggingSetup({ taxonomyText: TAXONOMY, actionLabelsText: ACTIONS, fuzzyThreshold: 0.8 });

  it('takes a parent named in another spelling than its category', () => {
    const s = createTaggingSetup({ taxonomyText: 'categories:\n  - { name: ball sports }\n  - { name: football, parent: Ball-Sports, keywords: [soccer] }\n' });
    expect(classify(makeRecord({ ai: { category: 'soccer' } }), s).map((c) => c.name)).toEqual(['football', 'ball sports']);
  });
  it('maps the model category (with ancestors) and actions, keeps unmapped answers for review', () => {
    const v = makeRecord({ ai: { category: 'Soccer', actions: ['biking', 'juggles balls', 'knitting'] } });
    const cats = classify(v, setup);
    expect(cats).toEqual([
      { name: 'football', source: 'ai', confidence: 0.95, kind: 'category', label: 'Soccer', match: 'synonym' },
      { name: 'sports', source: 'ai', confidence: 0.95, kind: 'category', label: 'Soccer', match: 'parent', rule: 'parent of football' },
      { name: 'riding a bike', source: 'ai', confidence: 0.95, kind: 'action', label: 'biking', match: 'synonym' },
      expect.objectContaining({ name: 'juggling balls', kind: 'action', match: 'fuzzy', label: 'juggles balls' }),
      expect.objectContaining({ name: UNMAPPED, kind: 'action', label: 'knitting', match: 'none' }),
    ]);
    expect(cats.filter((c) => needsReview(c, 0.75)).map((c) => c.label)).toEqual(['knitting']);
  });
  it('takes synonyms named in another spelling than the category or action label', () => {
    const s = createTaggingSetup({ taxonomyText: 'categories:\n  - { name: street food }\nactions: [Riding a bike]\nsynonyms:\n  Street Food: [hawker stall]\n  riding-a-bike: [cycling]\n' });
    expect(classify(makeRecord({ ai: { category: 'Hawker stall', actions: ['cycling'] } }), s)).toEqual([
      { name: 'street food', source: 'ai', confidence: 0.95, kind: 'category', label: 'Hawker stall', match: 'synonym' },
      { name: 'Riding a bike', source: 'ai', confidence: 0.95, kind: 'action', label: 'cycling', match: 'synonym' },
    ]);
  });
  it('keeps answers as given when there is no vocabulary, with modest confidence', () => {
    const cats = classify(makeRecord({ ai: { category: 'Travel', actions: ['surfing'] } }), createTaggingSetup());
    expect(cats).toEqual([
      { name: 'Travel', source: 'ai', confidence: 0.6, kind: 'category', label: 'Travel', match: 'open' },
      { name: 'surfing', source: 'ai', confidence: 0.6, kind: 'action', label: 'surfing', match: 'open' },
    ]);
  });
  it('adds list labels and rule categories', () => {
    const s = createTaggingSetup({ taxonomyText: TAXONOMY, rulesText: '- {name: food, when: {tag: pasta}, categories: cooking}' });
    const v = makeRecord({ label: 'riding a horse' });
    v.tags = [{ name: 'pasta', source: 'filename', confidence: 0.5 }];
    expect(classify(v, s)).toEqual([
      { name: 'riding a horse', source: 'list', confidence: 1, kind: 'action', rule: 'list label' },
      { name: 'cooking', source: 'rule', confidence: 1, kind: 'category', rule: 'food' },
    ]);
  });
  it('gives a rule category its kind: an action when it names an action label, merged with the model\'s mapped action', () => {
    const s = createTaggingSetup({ taxonomyText: TAXONOMY, rulesText: '- {name: strum, when: {tag: guitar}, categories: [Playing Guitar, music, cooking]}' });
    const v = makeRecord({ ai: { actions: ['playing guitar'] } });
    v.tags = [{ name: 'guitar', source: 'filename', confidence: 0.5 }];
    const cats = classify(v, s);
    // one entry for the action under the vocabulary's name, not a kind-less `playing-guitar` twin
    expect(cats.filter((c) => /playing.guitar/i.test(c.name)).map((c) => [c.name, c.kind])).toEqual([['playing guitar', 'action']]);
    expect(cats.find((c) => c.name === 'music')).toMatchObject({ source: 'rule', kind: 'category' });
    expect(cats.find((c) => c.name === 'cooking')).toMatchObject({ source: 'rule', kind: 'category' });
    expect(cats.every((c) => c.kind !== undefined)).toBe(true);
  });
  it('rules name a category of several words as the taxonomy spells it: conditions, removal and additions match it', () => {
    const rules = `
- {name: tag-it, when: {category: "Street Food"}, add: snack}
- {name: drop-it, priority: 5, when: {tag: vegan}, removeCategories: [street food]}
- {name: add-it, when: {tag: stall}, categories: [STREET FOOD]}
`;
    const s = createTaggingSetup({ taxonomyText: TAXONOMY, rulesText: rules });
    const mapped = makeRecord({ ai: { category: 'street food' } });
    mapped.categories = classify(mapped, s);
    expect(mapped.categories.map((c) => c.name)).toEqual(['street food', 'cooking']);
    // a tag rule reads the categories the record has
    const tagged = { ...mapped, ...tagRecordSync(mapped, s, { config: configWith(), logger: silentLogger }) };
    expect(names(tagged.tags)).toContain('snack');
    const vegan = makeRecord({ ai: { category: 'street food' } });
    vegan.tags = [{ name: 'vegan', source: 'filename', confidence: 0.5 }];
    expect(classify(vegan, s).map((c) => c.name)).toEqual(['cooking']);
    const stall = makeRecord();
    stall.tags = [{ name: 'stall', source: 'filename', confidence: 0.5 }];
    expect(classify(stall, s)).toEqual([{ name: 'street food', source: 'rule', confidence: 1, kind: 'category', rule: 'add-it' }]);
  });
});

describe('re-tagging a record', () => {
  it('recomputes its own tags, keeps acquisition tags and plugin stage tags, and is stable', async () => {
    const setup = createTaggingSetup({ rulesText: '- {name: drop-beach, when: {tag: sunset}, remove: beach}' });
    const ctx = { config: undefined as never, logger: undefined as never };
    const v = makeRecord({ path: '/v/beach_trip.mp4' });
    v.tags = [{ name: 'travel-vlog', source: 'metadata', confidence: 0.7, rule: 'ytdlp:tags' }];
    v.extra = { brightness: { tags: ['dark'] } };
    const first = await tagRecord(v, setup, ctx);
    expect(names(first.tags)).toEqual(expect.arrayContaining(['travel-vlog', 'beach', 'trip', 'fhd', 'dark']));
    expect(first.tags.find((t) => t.name === 'dark')).toEqual({ name: 'dark', source: 'plugin', rule: 'brightness' });
    const after = { ...v, ...first };
    const second = await tagRecord(after, setup, ctx);
    expect(second.tags).toEqual(first.tags);
    // a rule now removes a tag the filename gave: it goes, and comes back when the rule no longer applies
    const withAi = { ...after, ai: makeRecord({ ai: { tags: ['Sunset'] } }).ai };
    const third = await tagRecord(withAi, setup, ctx);
    expect(names(third.tags)).toContain('sunset');
    expect(names(third.tags)).not.toContain('beach');
    expect(names(third.tags)).toContain('travel-vlog');
    const fourth = await tagRecord({ ...withAi, ...third, ai: null }, setup, ctx);
    expect(names(fourth.tags)).toContain('beach');
    expect(names(fourth.tags)).not.toContain('sunset');
    expect(names(fourth.tags)).toContain('travel-vlog');
  });
  it('keeps acquisition categories across classify runs', () => {
    const setup = createTaggingSetup();
    const v = makeRecord({ ai: { category: 'Travel' } });
    v.categories = [{ name: 'curated', source: 'list', confidence: 1 }];
    const first = classifyRecord(v, setup);
    expect(first.categories.map((c) => c.name)).toEqual(['Travel', 'curated']);
    const second = classifyRecord({ ...v, ...first, ai: null }, setup);
    expect(second.categories.map((c) => c.name)).toEqual(['curated']);
  });

  it("a list row's label is one action category, not also acquisition's copy of it (both category: and action: matched)", () => {
    const setup = createTaggingSetup();
    const v = makeRecord({ label: 'surfing' });
    // as acquisition leaves it: the list's label among the categories
    v.categories = [{ name: 'surfing', source: 'list' }];
    const once = classifyRecord(v, setup);
    expect(once.categories).toEqual([{ name: 'surfing', source: 'list', confidence: 1, kind: 'action', rule: 'list label' }]);
    // another list category (not the row's label) is still carried
    v.categories = [{ name: 'surfing', source: 'list' }, { name: 'curated', source: 'list' }];
    expect(classifyRecord(v, setup).categories.map((c) => `${c.name}/${c.kind ?? 'category'}`)).toEqual(['surfing/action', 'curated/category']);
  });
});
