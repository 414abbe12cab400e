import { describe, expect, it } from 'vitest';
import {
  aiTags,
  buildSynonymTable,
  BUILTIN_SYNONYMS,
  durationClass,
  filenameTags,
  frameRateClass,
  mergeTags,
  metadataTags,
  normalizeTag,
  orientation,
  resolutionClass,
  singular,
  splitWords,
  tokenSimilarity,
  similarityTokens,
} from '../../src/tagging/index.js';
import { makeRecord, names } from './records.js';
import { tagLabel } from '../../src/store/index.js';

describe('words', () => {
  it('splits separators, camelCase and letter/digit boundaries', () => {
    expect(splitWords('myHolidayVideo_Beach-day.2023')).toEqual(['my', 'holiday', 'video', 'beach', 'day', '2023']);
    expect(splitWords('HTMLParser')).toEqual(['html', 'parser']);
    expect(splitWords('Café au lait')).toEqual(['café', 'au', 'lait']);
  });
  it('singularises conservatively', () => {
    expect(['dogs', 'puppies', 'boxes', 'news', 'glass', 'children', 'tennis', 'cat'].map(singular)).toEqual(['dog', 'puppy', 'box', 'news', 'glass', 'child', 'tennis', 'cat']);
    // plurals of words that end in s, -ie nouns, and eyewear
    expect(['buses', 'bus', 'gases', 'lenses', 'viruses', 'classes', 'movies', 'cookies', 'cities', 'glasses', 'sunglasses'].map(singular)).toEqual(['bus', 'bus', 'gas', 'lens', 'virus', 'class', 'movie', 'cookie', 'city', 'glasses', 'sunglasses']);
  });
  it('normalises tag names', () => {
    expect(normalizeTag('  Golden Retrievers ')).toBe('golden-retriever');
    expect(normalizeTag('has_audio')).toBe('has-audio');
    expect(normalizeTag('Dogs', { keepPlural: true })).toBe('dogs');
    // a combining mark that lower-casing leaves (İ is i and a dot) stays in its word, and tag: finds it as typed
    expect(normalizeTag('İstanbul')).toBe('i\u0307stanbul');
    expect(tagLabel(normalizeTag('İstanbul'))).toBe(tagLabel('İstanbul'));
    expect(normalizeTag('!!!')).toBe('');
  });
  it('scores token similarity', () => {
    expect(tokenSimilarity(similarityTokens('plays the guitar'), similarityTokens('playing guitar'))).toBe(1);
    expect(tokenSimilarity(similarityTokens('dog'), similarityTokens('cat'))).toBe(0);
    const partial = tokenSimilarity(similarityTokens('riding a bike'), similarityTokens('riding a horse'));
    expect(partial).toBeGreaterThan(0.3);
    expect(partial).toBeLessThan(0.8);
  });
});

describe('filename tagger', () => {
  it('takes words from the name and the last folders, dropping stop words and numbers', () => {
    const v = makeRecord({ path: '/home/ann/Videos/Holiday2023/beachDay_with_Dogs_001.MP4' });
    const tags = filenameTags(v);
    expect(names(tags)).toEqual(expect.arrayContaining(['beach', 'day', 'dog', 'holiday']));
    expect(names(tags)).not.toContain('with');
    expect(names(tags)).not.toContain('001');
    expect(names(tags)).not.toContain('video');
    expect(names(tags)).not.toContain('ann'); // three folders up: beyond the default depth of 2
    expect(tags.find((t) => t.name === 'beach')).toMatchObject({ source: 'filename', confidence: 0.5, rule: 'filename-word' });
  });
  it('recognises episodes, dates, resolutions and frame rates', () => {
    const v = makeRecord({ path: '/tv/The.Show.S01E02.1080p.2023-05-14.60fps.mkv' });
    const n = names(filenameTags(v));
    expect(n).toEqual(expect.arrayContaining(['s01e02', 'season-1', 'tv-episode', '1080p', 'year-2023', 'date-2023-05-14', '60fps', 'show']));
    expect(n).not.toContain('14');
    expect(n).not.toContain('p');
    const cam = names(filenameTags(makeRecord({ path: '/x/VID_20230514_101500.mp4' })));
    expect(cam).toContain('date-2023-05-14');
    expect(names(filenameTags(makeRecord({ path: '/x/clip 4K 1920x1080.mp4' })))).toEqual(expect.arrayContaining(['4k', '1920x1080']));
  });
  it('honours extra stop words, folder depth and minimum length', () => {
    const v = makeRecord({ path: '/a/projects/client/acme_intro_x.mp4' });
    expect(names(filenameTags(v, { stopWords: ['ACME'], folderDepth: 0 }))).toEqual(['intro']);
    expect(names(filenameTags(v, { folderDepth: 1, minWordLength: 1 }))).toEqual(['acme', 'intro', 'x', 'client']);
  });
  it('reads the URL path for downloads and the title for yt-dlp', () => {
    expect(names(filenameTags(makeRecord({ kind: 'http', url: 'https://cdn.example.com/media/cooking%20pasta.mp4?sig=abc', path: '/data/media/ab12.mp4' })))).toEqual(['cooking', 'pasta']);
    expect(names(filenameTags(makeRecord({ kind: 'ytdlp', url: 'https://youtube.com/watch?v=x', title: 'Skateboard Tricks Compilation', path: '/data/media/x.mp4' })))).toEqual(
      expect.arrayContaining(['skateboard', 'trick', 'compilation']),
    );
  });
});

describe('metadata tagger', () => {
  it('classifies resolution, orientation, duration and frame rate', () => {
    expect([resolutionClass(640, 480), resolutionClass(1280, 720), resolutionClass(1080, 1920), resolutionClass(3840, 2160)]).toEqual(['sd', 'hd', 'fhd', '4k']);
    expect([orientation(1080, 1920), orientation(1920, 1080), orientation(1000, 1020)]).toEqual(['portrait', 'landscape', 'square']);
    expect([durationClass(10), durationClass(300), durationClass(3600)]).toEqual(['short', 'medium', 'long']);
    expect([frameRateClass(23.976), frameRateClass(29.97), frameRateClass(12), frameRateClass(120), frameRateClass(27)]).toEqual(['24fps', '30fps', 'low-frame-rate', 'high-frame-rate', null]);
  });
  it('tags a record: technical facts with full confidence, container keywords and people, yt-dlp tags', () => {
    const v = makeRecord({
      metadata: { width: 720, height: 1280, durationSec: 1500, fps: 59.94, audio: null, videoCodec: 'hevc', containerTags: { keywords: 'Cats, Funny; pets', artist: 'Jane Doe', title: 'Morning routine' } },
    });
    (v.extra as Record<string, unknown>).ytdlp = { tags: ['Kittens'], categories: ['Pets & Animals'] };
    const tags = metadataTags(v);
    const n = names(tags);
    expect(n).toEqual(expect.arrayContaining(['hd', 'portrait', 'long', 'silent', 'hevc', '60fps', 'cat', 'funny', 'pet', 'jane-doe', 'morning', 'routine', 'kitten', 'pets-animal']));
    expect(tags.find((t) => t.name === 'silent')).toMatchObject({ confidence: 1, rule: 'audio' });
    expect(tags.find((t) => t.name === 'cat')).toMatchObject({ confidence: 0.9, rule: 'container:keywords' });
    expect(tags.find((t) => t.name === 'morning')!.confidence).toBeLessThan(0.5);
  });
  it('has nothing to say before probe', () => {
    expect(metadataTags(makeRecord({ metadata: null }))).toEqual([]);
  });
});

describe('ai tagger', () => {
  it('normalises case, plural and synonyms; actions keep their form', () => {
    const synonyms = buildSynonymTable(BUILTIN_SYNONYMS, { 'guitar playing': ['strumming'] });
    const v = makeRecord({ ai: { tags: ['Dogs', 'Automobiles', ' BEACH ', 'golden retrievers', ''], actions: ['Running', 'strumming'] } });
    const tags = aiTags(v, synonyms);
    expect(names(tags)).toEqual(['dog', 'car', 'beach', 'golden-retriever', 'running', 'guitar-playing']);
    expect(tags[0]).toMatchObject({ source: 'ai', confidence: 0.8, rule: 'ai:tags' });
    expect(tags.at(-1)).toMatchObject({ confidence: 0.7, rule: 'ai:actions' });
    expect(aiTags(makeRecord(), synonyms)).toEqual([]);
  });
});

describe('tag merge', () => {
  it('keeps the strongest evidence per name, then the more trusted source', () => {
    const merged = mergeTags([
      { name: 'beach', source: 'filename', confidence: 0.5 },
      { name: 'beach', source: 'ai', confidence: 0.8 },
      { name: 'hd', source: 'metadata', confidence: 1 },
      { name: 'hd', source: 'rule', confidence: 1, rule: 'r' },
      { name: 'dog', source: 'ai', confidence: 0.8 },
      { name: 'dog', source: 'filename', confidence: 0.5 },
    ]);
    expect(merged).toEqual([
      { name: 'beach', source: 'ai', confidence: 0.8 },
      { name: 'hd', source: 'rule', confidence: 1, rule: 'r' },
      { name: 'dog', source: 'ai', confidence: 0.8 },
    ]);
  });
});
