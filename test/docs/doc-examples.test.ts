import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { takesQuery } from '../../src/cli/query-args.js';
import { loadConfig } from '../../src/core/index.js';
import { readIni } from '../../src/core/config/read-ini.js';
import { parseQuery } from '../../src/store/index.js';
import { classify, computeTagsSync, createTaggingSetup, parseRules, parseTaxonomy } from '../../src/tagging/index.js';
import { repoRoot } from '../helpers/cli.js';
import { makeRecord } from '../helpers/records.js';

/**
 * The examples of README.md and docs/*.md, read from the files themselves, so a newcomer who pastes one gets what
 * the text says: every `videodex ...` line names a real command with flags it has and a query that parses, every
 * config block loads, and the rules and taxonomy examples parse and map as shown.
 */

const DOCS = ['README.md', ...readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

interface Block {
  doc: string;
  /** Line of the opening fence, 1-based. */
  line: number;
  lang: string;
  body: string;
}

function blocksOf(doc: string): Block[] {
  const text = readFileSync(path.join(repoRoot, doc), 'utf8');
  const out: Block[] = [];
  const re = /^```(\w*)\n([\s\S]*?)^```/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push({ doc, line: text.slice(0, m.index).split('\n').length, lang: m[1]!, body: m[2]! });
  }
  return out;
}

const BLOCKS = DOCS.flatMap(blocksOf);
const blocks = (lang: string) => BLOCKS.filter((b) => b.lang === lang);

interface ShellCommand {
  where: string;
  words: string[];
  /** What the shell would do that the example does not mean: a `>` or `<` inside a word is a redirection. */
  problems: string[];
}

/**
 * The simple commands of a shell block, as sh splits them: quotes, `\` line continuations, here-documents
 * (skipped), `#` comments, `&&`, `||`, `|`, `;`, and redirections (a `> file` is dropped with its file).
 */
function shellCommands(block: Block): ShellCommand[] {
  const lines = block.body.split('\n');
  const commands: ShellCommand[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!;
    const heredoc = /<<-?\s*'?(\w+)'?/.exec(line);
    if (heredoc) {
      while (i + 1 < lines.length && lines[i + 1]!.trim() !== heredoc[1]) i++;
      i++;
      line = line.replace(heredoc[0], '');
    }
    const where = `${block.doc}:${block.line + 1 + start}`;
    let words: string[] = [];
    let problems: string[] = [];
    let word: string | null = null;
    let quote: "'" | '"' | null = null;
    let redirect = false;
    const endWord = () => {
      if (word === null) return;
      if (redirect) redirect = false;
      else words.push(word);
      word = null;
    };
    const endCommand = () => {
      endWord();
      if (words.length) commands.push({ where, words, problems });
      words = [];
      problems = [];
    };
    for (let j = 0; j < line.length; j++) {
      const c = line[j]!;
      if (quote) {
        if (c === quote) quote = null;
        else if (c === '\\' && quote === '"' && j + 1 < line.length) word += line[++j]!;
        else word += c;
        continue;
      }
      if (c === "'" || c === '"') {
        quote = c;
        word ??= '';
        continue;
      }
      if (c === '\\' && j + 1 < line.length) {
        word = (word ?? '') + line[++j]!;
        continue;
      }
      if (c === ' ' || c === '\t') {
        endWord();
        continue;
      }
      if (c === '#' && word === null) break;
      if (c === '|' || c === ';' || (c === '&' && line[j + 1] === '&')) {
        if (line[j + 1] === c) j++;
        endCommand();
        continue;
      }
      if (c === '>' || c === '<') {
        // `2>file`, `> file`, `>> file` redirect; `height:>=720` is a word the shell cuts at its `>`
        if (word !== null && !/^\d$/.test(word)) problems.push(`the shell takes the "${c}" in ${word}${line.slice(j).split(/\s/)[0]} for a redirection: quote the word`);
        word = null;
        if (line[j + 1] === c) j++;
        redirect = true;
        continue;
      }
      word = (word ?? '') + c;
    }
    endCommand();
  }
  return commands;
}

// the example plugins' READMEs are read by newcomers too (`tags --source plugin` there named no flag tags has)
const EXAMPLE_DOCS = readdirSync(path.join(repoRoot, 'examples/plugins')).map((d) => `examples/plugins/${d}/README.md`);

const videodexLines = [...BLOCKS, ...EXAMPLE_DOCS.flatMap(blocksOf)]
  .filter((b) => b.lang === 'sh')
  .flatMap(shellCommands)
  .filter((c) => c.words[0] === 'videodex');

function findCommand(program: Command, words: string[]): { cmd: Command; rest: string[] } {
  let cmd = program;
  let i = 1;
  for (;;) {
    const sub = cmd.commands.find((c) => c.name() === words[i] || c.aliases().includes(words[i]!));
    if (!sub) break;
    cmd = sub;
    i++;
  }
  return { cmd, rest: words.slice(i) };
}

describe('the videodex command lines of README.md and docs/*.md', () => {
  it('finds the examples', () => {
    expect(videodexLines.length).toBeGreaterThan(60);
    for (const doc of ['README.md', 'docs/search.md', 'docs/tagging.md', 'docs/datasets.md', 'docs/stores.md', 'examples/plugins/brightness/README.md']) {
      expect(videodexLines.some((c) => c.where.startsWith(`${doc}:`)), doc).toBe(true);
    }
  });

  it.each(videodexLines.map((c) => [`${c.where}: ${c.words.join(' ')}`, c] as const))('%s', (_name, c) => {
    expect(c.problems).toEqual([]);
    const program = buildProgram();
    program.configureOutput({ writeErr: () => {}, writeOut: () => {} });
    const { cmd, rest } = findCommand(program, c.words);
    expect(cmd, 'a command videodex has').not.toBe(program);
    expect(cmd.commands.filter((s) => s.name() !== 'help'), 'a command, not a group of them').toEqual([]);
    for (const sub of [cmd]) sub.configureOutput({ writeErr: () => {}, writeOut: () => {} });
    // commander's own reading of the words: an unknown flag, a value outside its choices or of the wrong type throws
    const { operands, unknown } = cmd.parseOptions(rest);
    expect(unknown, 'flags the command has').toEqual([]);
    if (takesQuery(cmd)) expect(() => parseQuery(operands.join(' '))).not.toThrow();
  });
});

describe('every command and flag of the CLI', () => {
  const docs = DOCS.map((d) => readFileSync(path.join(repoRoot, d), 'utf8')).join('\n');
  const all: Array<[string, Command]> = [];
  const walk = (cmd: Command, prefix: string) => {
    for (const sub of cmd.commands) {
      if (sub.name() === 'help') continue;
      all.push([`${prefix}${sub.name()}`, sub]);
      walk(sub, `${prefix}${sub.name()} `);
    }
  };
  walk(buildProgram(), '');

  it.each(all)('videodex %s is in README.md or docs/*.md, with each of its flags', (name, cmd) => {
    // named, not printed: a failure would otherwise show the whole documentation
    const missing = [`videodex ${name}`, ...cmd.aliases().map((a) => `videodex ${a}`)].filter((t) => !docs.includes(t));
    missing.push(...cmd.options.map((o) => o.long!).filter((long) => !new RegExp(`${long}(?![\\w-])`).test(docs)));
    expect(missing, 'not in README.md or docs/*.md').toEqual([]);
  });
});

describe('the query error examples of docs/search.md', () => {
  const text = readFileSync(path.join(repoRoot, 'docs/search.md'), 'utf8');
  const pairs = [...text.matchAll(/^\$ videodex search '([^']*)'\nvideodex: query: (.*)$/gm)].map((m) => [m[1]!, m[2]!] as const);

  it.each(pairs)('%s', (query, message) => {
    expect(() => parseQuery(query)).toThrow(message);
    expect(() => parseQuery(query)).toThrow(expect.objectContaining({ message }));
  });

  it('has them', () => expect(pairs.length).toBeGreaterThanOrEqual(3));
});

describe('the config.ini blocks of README.md and docs/*.md', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vdx-doc-ini-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(blocks('ini').map((b) => [`${b.doc}:${b.line}`, b] as const))('%s loads as a config', (_name, b) => {
    readIni(b.body, 'config.ini');
    writeFileSync(path.join(dir, 'config.ini'), b.body);
    const loaded = loadConfig({ cwd: dir, env: {} });
    for (const [section, keys] of Object.entries(readIni(b.body, 'config.ini'))) {
      for (const key of Object.keys(keys)) expect(loaded.sources[`${section}.${key}`], `[${section}] ${key}`).toBe('file');
    }
  });

  it('has them', () => expect(blocks('ini').length).toBeGreaterThanOrEqual(8));
});

describe('the rules and taxonomy examples', () => {
  /** A record of a local file at `file` (rules read the path it came from). */
  const at = (file: string) => {
    const v = makeRecord();
    return { ...v, source: { ...v.source, url: file }, file: { ...v.file!, path: file } };
  };
  const ctx = { config: loadConfig({ env: {} }).config, logger: pino({ level: 'silent' }) };
  const yaml = blocks('yaml');
  const readmeRules = yaml.find((b) => b.doc === 'README.md')!.body;
  const [docRules, docTaxonomy] = yaml.filter((b) => b.doc === 'docs/tagging.md').map((b) => b.body);

  it('parse (a disabled rule is left out)', () => {
    expect(parseRules(readmeRules).rules.map((r) => r.name)).toEqual(['phone-footage']);
    expect(parseRules(docRules!).rules.map((r) => r.name).sort()).toEqual(['drop-noise', 'gopro', 'lecture', 'phone-footage']);
    expect(parseTaxonomy(docTaxonomy!).categories.map((c) => c.name)).toEqual(['sports', 'football', 'cooking']);
  });

  it("README's phone-footage rule tags a portrait VID_ file, and not a landscape one", () => {
    const setup = createTaggingSetup({ rulesText: readmeRules });
    const portrait = at('/v/VID_20240101_1200.mp4');
    portrait.metadata = { ...portrait.metadata!, width: 720, height: 1280 };
    const landscape = at('/v/VID_20240101_1300.mp4');
    const byRule = (v: typeof portrait) => computeTagsSync(v, setup, ctx).filter((t) => t.rule === 'phone-footage').map((t) => t.name).sort();
    expect(byRule(portrait)).toEqual(['phone', 'vertical']);
    expect(byRule(landscape)).toEqual([]);
  });

  it("docs/tagging.md's rules do what their comments say", () => {
    const setup = createTaggingSetup({ rulesText: docRules! });
    const lecture = makeRecord({ ai: { description: 'A lecture with slides', tags: [], actions: [], model: 'm' } as never });
    lecture.metadata = { ...lecture.metadata!, durationSec: 45 * 60 };
    lecture.tags = [{ name: 'party', source: 'filename', confidence: 0.5 }];
    const tags = computeTagsSync(lecture, setup, ctx);
    expect(tags.filter((t) => t.rule === 'lecture').map((t) => [t.name, t.confidence])).toEqual([['lecture', 0.9], ['education', 0.9]]);
    expect(classify(lecture, setup).map((c) => c.name)).toContain('education');
    const gopro = at('/media/GoPro/2024/clip.mp4');
    gopro.metadata = { ...gopro.metadata!, durationSec: 2 };
    const goproTags = computeTagsSync(gopro, setup, ctx).map((t) => t.name);
    expect(goproTags).toEqual(expect.arrayContaining(['action-cam', 'glitch']));
    expect(goproTags).not.toContain('short');
    expect(goproTags).not.toContain('busy');
  });

  it("docs/tagging.md's mapping example is what classify gives for the answers it shows", () => {
    const text = readFileSync(path.join(repoRoot, 'docs/tagging.md'), 'utf8');
    const shown = /```json\n(\{ "name": "football"[\s\S]*?)```/.exec(text)![1]!.trim().split('\n').map((l) => JSON.parse(l));
    const setup = createTaggingSetup({ taxonomyText: docTaxonomy! });
    const video = makeRecord({ ai: { description: 'x', tags: [], category: 'Soccer', actions: ['playing ukulele'], model: 'm' } as never });
    expect(classify(video, setup)).toEqual(shown);
  });
});

describe('the TypeScript examples of README.md and docs/*.md', () => {
  // the complete programs among them (the others are fragments of a plugin: a stage, a tagger, an exporter)
  const programs = [
    ...blocks('ts').filter((b) => /^import .* from 'videodex';$/m.test(b.body) && !b.body.includes('/path/to/')),
    // the plugin test harness, given the folder it names
    ...blocks('ts').filter((b) => b.body.includes('/path/to/my-plugin.js')).map((b) => ({ ...b, body: `declare const dir: string;\n${b.body}` })),
    // a plugin's stage, tagger and exporter, with the imports a plugin file has
    ...blocks('ts')
      .filter((b) => /^const (stage|tagger|exporter): /m.test(b.body))
      .map((b) => ({ ...b, body: `import type { Stage, PluginTagger, PluginExporter } from 'videodex';\nimport { once } from 'node:events';\n${b.body}` })),
  ];

  it('type-check against the library as published (videodex = src/index.ts)', async () => {
    expect(programs.map((b) => b.doc).sort()).toEqual(['README.md', 'docs/datasets.md', ...Array(5).fill('docs/plugins.md'), 'docs/search.md']);
    const ts = (await import('typescript')).default;
    const dir = mkdtempSync(path.join(tmpdir(), 'vdx-doc-ts-'));
    try {
      writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
      const files = programs.map((b, i) => {
        const file = path.join(dir, `example-${i}.ts`);
        writeFileSync(file, `${b.body}\nexport {};\n`);
        return file;
      });
      const program = ts.createProgram(files, {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        noEmit: true,
        types: ['node'],
        typeRoots: [path.join(repoRoot, 'node_modules/@types')],
        baseUrl: dir,
        paths: { videodex: [path.join(repoRoot, 'src/index.ts')] },
      });
      const shown = ts.getPreEmitDiagnostics(program).map((d) => {
        const at = d.file ? `${programs[files.indexOf(d.file.fileName)]?.doc ?? d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : '';
        return `${at}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
      });
      expect(shown).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
