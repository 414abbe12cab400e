import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, describeConfig, loadConfig, maskSecret, secretValues } from '../../src/core/index.js';
import { tempDir } from '../helpers/media.js';

let cleanup: () => void = () => undefined;
afterEach(() => cleanup());

function withIni(text: string) {
  const t = tempDir();
  cleanup = t.cleanup;
  const file = path.join(t.dir, 'config.ini');
  writeFileSync(file, text);
  return { dir: t.dir, file };
}

describe('config', () => {
  it('has documented defaults, derives paths from DataDir', () => {
    const { config, sources } = loadConfig({ env: {}, cwd: '/srv/x' });
    expect(config.Concurrency.Cpu).toBe(2);
    expect(config.SceneDetection.Threshold).toBe(27);
    expect(config.Paths.DataDir).toBe('/srv/x/videodex-data');
    expect(config.Database.Path).toBe('/srv/x/videodex-data/videodex.db');
    expect(config.Logging.AuditFile).toBe('/srv/x/videodex-data/audit.jsonl');
    expect(sources['Concurrency.Cpu']).toBe('default');
    expect(Object.isFrozen(config.Concurrency)).toBe(true);
  });

  it('layers file < env < flag and records where each value came from', () => {
    const { file, dir } = withIni('[Concurrency]\nCpu = 3\nDownloads = 5\n[SceneDetection]\nThreshold = 30\n');
    const loaded = loadConfig({ file, cwd: dir, env: { VIDEODEX_CONCURRENCY_DOWNLOADS: '7' }, overrides: { 'SceneDetection.Threshold': 12 } });
    expect(loaded.config.Concurrency.Cpu).toBe(3);
    expect(loaded.sources['Concurrency.Cpu']).toBe('file');
    expect(loaded.config.Concurrency.Downloads).toBe(7);
    expect(loaded.sources['Concurrency.Downloads']).toBe('env');
    expect(loaded.config.SceneDetection.Threshold).toBe(12);
    expect(loaded.sources['SceneDetection.Threshold']).toBe('flag');
  });

  it('reads ./config.ini from the working folder when no file is named', () => {
    const { dir } = withIni('[General]\nIdLength = 20\n');
    expect(loadConfig({ cwd: dir, env: {} }).config.General.IdLength).toBe(20);
  });

  it('stops on an unknown key, naming file, section, key and a suggestion', () => {
    const { file, dir } = withIni('[Concurrency]\nDownlods = 3\n');
    expect(() => loadConfig({ file, cwd: dir, env: {} })).toThrowError(ConfigError);
    expect(() => loadConfig({ file, cwd: dir, env: {} })).toThrowError(/config\.ini: \[Concurrency\] Downlods is not a key videodex knows \(did you mean Downloads\?\)/);
  });

  it('never shows a line with no "=" that holds no key: it may be a secret written with a colon or pasted alone', () => {
    const cases = [
      ['AccessKey: sk-live-SECRET123456', 3],
      ['sk-live-SECRET123456', 3],
      ['SECRET123456abcdef', 3],
      ['sk-live-SECRET123456', 1],
      ['skSECRET9f8a7b6c5d4e3f2a1', 1],
      ['c2VjcmV0SECRETrZXktMTIz==', 3],
    ] as const;
    for (const [line, at] of cases) {
      const { file, dir } = withIni(at === 1 ? `${line}\n[QwenVL]\n` : `[QwenVL]\nModel = qwen\n${line}\n`);
      let message = '';
      try {
        loadConfig({ file, cwd: dir, env: {} });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message).toMatch(/it may (hold|be) a secret/);
      expect(message).not.toContain('SECRET');
      expect(message).toContain(`config.ini:${at}:`);
    }
    // a misspelt key alone on its line is still named, with the suggestion
    const { file, dir } = withIni('[Concurrency]\nDownlods\n');
    expect(() => loadConfig({ file, cwd: dir, env: {} })).toThrowError(/Downlods is not a key videodex knows \(did you mean Downloads\?\)/);
  });

  it('reads a relative path in a config file as relative to the file; from a flag or the environment, to the working folder', () => {
    const { file, dir } = withIni('[Paths]\nDataDir = data\nCacheDir = ../shared-cache\n[Tagging]\nRulesFile = rules.yaml\n[Plugins]\nModules = ./plugins/p.mjs, some-package\n');
    const elsewhere = path.join(dir, 'work', 'elsewhere');
    const c = loadConfig({ file, cwd: elsewhere, env: {} }).config;
    expect(c.Paths.DataDir).toBe(path.join(dir, 'data'));
    expect(c.Paths.CacheDir).toBe(path.join(path.dirname(dir), 'shared-cache'));
    expect(c.Database.Path).toBe(path.join(dir, 'data', 'videodex.db'));
    expect(c.Tagging.RulesFile).toBe(path.join(dir, 'rules.yaml'));
    expect(c.Plugins.Modules).toEqual([path.join(dir, 'plugins', 'p.mjs'), 'some-package']);
    // keys taking a name or a path: a path is rebased, a name is not
    const { file: tools } = withIni('[Paths]\nFfmpeg = ./bin/ffmpeg\nFfprobe = auto\n[Sources]\nYtDlp = yt-dlp\n[QwenVL]\nTemplate = prompts/mine.txt\nSceneTemplate = scene-captions\n');
    const t = loadConfig({ file: tools, cwd: elsewhere, env: {} }).config;
    expect([t.Paths.Ffmpeg, t.Paths.Ffprobe, t.Sources.YtDlp, t.QwenVL.Template, t.QwenVL.SceneTemplate]).toEqual([
      path.join(path.dirname(tools), 'bin', 'ffmpeg'), 'auto', 'yt-dlp', path.join(path.dirname(tools), 'prompts', 'mine.txt'), 'scene-captions',
    ]);
    const fromEnv = loadConfig({ file, cwd: elsewhere, env: { VIDEODEX_PATHS_DATADIR: 'mine' } }).config;
    expect(fromEnv.Paths.DataDir).toBe(path.join(elsewhere, 'mine'));
    const fromFlag = loadConfig({ file, cwd: elsewhere, env: {}, overrides: { 'Tagging.RulesFile': 'r.yaml' } }).config;
    expect(fromFlag.Tagging.RulesFile).toBe(path.join(elsewhere, 'r.yaml'));
    // not set anywhere: the default, in the working folder
    expect(loadConfig({ file: withIni('[General]\nIdLength = 20\n').file, cwd: elsewhere, env: {} }).config.Paths.DataDir).toBe(path.join(elsewhere, 'videodex-data'));
  });

  it('refuses an empty --config rather than reading ./config.ini instead', () => {
    const { dir } = withIni('[General]\nIdLength = 20\n');
    expect(() => loadConfig({ file: '', cwd: dir, env: {} })).toThrowError(/--config names no file/);
    expect(loadConfig({ cwd: dir, env: { VIDEODEX_CONFIG: '' } }).config.General.IdLength).toBe(20);
  });

  it('says a UTF-16 file is UTF-16', () => {
    const { file, dir } = withIni('');
    writeFileSync(file, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('[General]\r\nIdLength = 20\r\n', 'utf16le')]));
    expect(() => loadConfig({ file, cwd: dir, env: {} })).toThrowError(/config\.ini: the file is UTF-16; save it as UTF-8/);
  });

  it('stops on an unknown section', () => {
    const { file, dir } = withIni('[Concurency]\nCpu = 3\n');
    expect(() => loadConfig({ file, cwd: dir, env: {} })).toThrowError(/\[Concurency\] is not a section videodex knows \(did you mean Concurrency\?\)/);
  });

  it('stops on a wrong type and a negative concurrency, saying what is allowed', () => {
    let f = withIni('[Concurrency]\nCpu = lots\n');
    expect(() => loadConfig({ file: f.file, cwd: f.dir, env: {} })).toThrowError(/\[Concurrency\] Cpu = "lots" is not allowed: expected an integer from 1 to 256/);
    cleanup();
    f = withIni('[Concurrency]\nDownloads = -2\n');
    expect(() => loadConfig({ file: f.file, cwd: f.dir, env: {} })).toThrowError(/Downloads = "-2" is not allowed/);
    cleanup();
    // a number is a plain decimal: hex and exponents are refused, not read as 16 and 100
    for (const v of ['0x10', '1e2', '.5.']) {
      f = withIni(`[SceneDetection]\nThreshold = ${v}\n`);
      expect(() => loadConfig({ file: f.file, cwd: f.dir, env: {} }), v).toThrowError(/\[SceneDetection\] Threshold = ".*" is not allowed: expected a number/);
      cleanup();
    }
    for (const [v, n] of [['27.5', 27.5], ['+30', 30], ['.5', 0.5], ['30.', 30]] as const) {
      f = withIni(`[SceneDetection]\nThreshold = ${v}\n`);
      expect(loadConfig({ file: f.file, cwd: f.dir, env: {} }).config.SceneDetection.Threshold, v).toBe(n);
      cleanup();
    }
    f = withIni('[SceneDetection]\nDetector = magic\n');
    expect(() => loadConfig({ file: f.file, cwd: f.dir, env: {} })).toThrowError(/expected one of content, adaptive, threshold/);
  });

  it('stops on a bad environment value and an unknown VIDEODEX_ key', () => {
    expect(() => loadConfig({ env: { VIDEODEX_CONCURRENCY_CPU: '0' } })).toThrowError(/environment VIDEODEX_CONCURRENCY_CPU: \[Concurrency\] Cpu/);
    // a section videodex does not know: stopped like an unknown key, with the setting meant
    expect(() => loadConfig({ env: { VIDEODEX_DATABSE_PATH: '/tmp/x.db' } })).toThrowError(
      /environment: VIDEODEX_DATABSE_PATH is not a setting videodex knows \(did you mean VIDEODEX_DATABASE_PATH\?\)/,
    );
    // what is not a setting: the config file, aliases, the launcher's mark, test and bench set-up
    const others = { VIDEODEX_CONFIG: '', VIDEODEX_QWEN_ACCESS_KEY: 'k', VIDEODEX_NODE_RELAUNCHED: '1', VIDEODEX_TEST_PG_URL: 'x', VIDEODEX_BENCH_PG_URL: 'x' };
    expect(loadConfig({ env: others, cwd: '/srv/x' }).config.QwenVL.AccessKey).toBe('k');
    expect(() => loadConfig({ env: { VIDEODEX_CONCURRENCY_GPU: '1' } })).toThrowError(/VIDEODEX_CONCURRENCY_GPU is not a key/);
  });

  it('an empty DataDir is the default folder, as an empty path is for every other path', () => {
    const f = withIni('[Paths]\nDataDir =\n');
    const { config } = loadConfig({ file: f.file, cwd: f.dir, env: {} });
    expect(config.Paths.DataDir).toBe(path.join(f.dir, 'videodex-data'));
    expect(config.Database.Path).toBe(path.join(f.dir, 'videodex-data', 'videodex.db'));
    cleanup();
  });

  it('refuses a folder or file under /proc or /sys (Node would never return from making it) before any work', () => {
    expect(() => loadConfig({ env: { VIDEODEX_PATHS_DATADIR: '/proc/videodex' } })).toThrow(
      '[Paths] DataDir = /proc/videodex is under /proc, a kernel file system where videodex cannot make its files: choose another folder',
    );
    expect(() => loadConfig({ env: {}, overrides: { 'Logging.AuditFile': '/sys/audit.jsonl' } })).toThrow(/\[Logging\] AuditFile = \/sys\/audit\.jsonl is under \/sys/);
    expect(() => loadConfig({ env: {}, overrides: { 'Paths.DataDir': '/processed/videos' } })).not.toThrow();
  });

  it('names a missing explicit config file', () => {
    expect(() => loadConfig({ file: '/nonexistent/videodex.ini', env: {} })).toThrowError(/videodex\.ini: config file not found/);
  });

  it('reads the key from env aliases and masks secrets everywhere it is shown', () => {
    const loaded = loadConfig({ env: { DASHSCOPE_API_KEY: 'sk-canary-123456', VIDEODEX_DATABASE_URL: 'postgres://u:hunter22@db/x' } });
    expect(loaded.config.QwenVL.AccessKey).toBe('sk-canary-123456');
    const rows = describeConfig(loaded);
    const text = JSON.stringify(rows);
    expect(text).not.toContain('sk-canary-123456');
    expect(text).not.toContain('hunter22');
    expect(rows.find((r) => r.key === 'Url')!.value).toBe('postgres://u:***@db/x');
    expect(secretValues(loaded)).toEqual(expect.arrayContaining(['sk-canary-123456', 'hunter22']));
    expect(maskSecret('')).toBe('');
  });

  it('an empty environment variable counts as unset: the next alias, or the file, stays in force', () => {
    expect(loadConfig({ env: { VIDEODEX_QWENVL_ACCESSKEY: '', DASHSCOPE_API_KEY: 'sk-alias-1234' } }).config.QwenVL.AccessKey).toBe('sk-alias-1234');
    const { dir, file } = withIni('[Concurrency]\nCpu = 3\n');
    const loaded = loadConfig({ file, cwd: dir, env: { VIDEODEX_CONCURRENCY_CPU: '' } });
    expect(loaded.config.Concurrency.Cpu).toBe(3);
    expect(loaded.sources['Concurrency.Cpu']).toBe('file');
  });

  it('treats credentials written into any URL as secrets: a ?password= of a database, an endpoint user:pass@ or ?api-key=', () => {
    const loaded = loadConfig({
      env: {
        VIDEODEX_DATABASE_URL: 'postgres://u@db/x?password=s3cretQP&sslmode=require',
        VIDEODEX_QWENVL_PUBLICENDPOINT: 'http://epuser:epPASSWD1@127.0.0.1:9/v1?api-key=epQUERYKEY1',
      },
    });
    const secrets = secretValues(loaded);
    expect(secrets).toEqual(expect.arrayContaining(['s3cretQP', 'epPASSWD1', 'epQUERYKEY1']));
    const text = JSON.stringify(describeConfig(loaded));
    for (const s of ['s3cretQP', 'epPASSWD1', 'epQUERYKEY1']) expect(text).not.toContain(s);
    expect(maskSecret('postgres://u@db/x?password=s3cretQP&sslmode=require')).toBe('postgres://u@db/x?password=***&sslmode=require');
    // a URL with nothing secret in it is shown as it is
    expect(describeConfig(loadConfig({ env: { VIDEODEX_QWENVL_PUBLICENDPOINT: 'http://127.0.0.1:9/v1?x=1' } })).find((r) => r.key === 'PublicEndpoint')!.value).toBe('http://127.0.0.1:9/v1?x=1');
  });

  it('scrubs a key from a model error before cutting the message, so no part of it is kept', async () => {
    const { httpModelError } = await import('../../src/analysis/vlm/endpoint.js');
    const key = 'sk-ENVsecretKEY9876543210';
    const e = httpModelError('openai', 'at http://x', 401, { error: { message: `${'x'.repeat(290)}${key}` } }, undefined, [key]);
    expect(e.message).not.toContain('sk-ENVsecr');
    expect(e.message).toContain('HTTP 401');
  });

  it('refuses what the INI parser took silently: a # or ; inside a value, a key set twice, a key outside a section; reads a BOM', () => {
    const load = (text: string) => {
      const { dir, file } = withIni(text);
      return () => loadConfig({ file, env: {}, cwd: dir });
    };
    expect(load('[QwenVL]\nAccessKey = sk-abcd#efgh;ijkl\n')).toThrowError(/config\.ini:2: the value of AccessKey has a # inside it, where a comment would start; put the value in quotes/);
    expect(load('[Concurrency]\nCpu = 2\ncpu = 5\n')).toThrowError(/config\.ini:3: cpu is set twice in \[concurrency\] \(also on line 2\); keep one/);
    expect(load('Cpu = 3\n[Concurrency]\n')).toThrowError(/config\.ini:1: Cpu = \.\.\. sits outside any section/);
    // what works: a quoted value keeps its # and ;, a comment after a space, a byte order mark
    const { dir, file } = withIni('\uFEFF[QwenVL]\nAccessKey = "sk-abcd#efgh;ijkl"\n[Concurrency]\nCpu = 3 ; three\n');
    const { config } = loadConfig({ file, env: {}, cwd: dir });
    expect(config.QwenVL.AccessKey).toBe('sk-abcd#efgh;ijkl');
    expect(config.Concurrency.Cpu).toBe(3);
  });

  it('reads a quoted value exactly, with or without a comment after it; an unclosed quote or text after it stops the run', () => {
    const read = (text: string) => {
      const { dir, file } = withIni(text);
      return loadConfig({ file, env: {}, cwd: dir }).config;
    };
    // the closing quote ends the value: a # or ; inside stays, the comment after it goes, the quotes go
    expect(read('[Sources]\nUserAgent = "my agent #2" ; note\n').Sources.UserAgent).toBe('my agent #2');
    expect(read('[Sources]\nUserAgent = "my agent" ; note\n').Sources.UserAgent).toBe('my agent');
    expect(read('[Sources]\nUserAgent = "my agent"   # note\n').Sources.UserAgent).toBe('my agent');
    expect(read("[Sources]\nUserAgent = 'it is #1; really' ; note\n").Sources.UserAgent).toBe('it is #1; really');
    expect(read('[QwenVL]\nDefaultInstruction = "Say #1; then stop" ; why\n').QwenVL.DefaultInstruction).toBe('Say #1; then stop');
    expect(read('[QwenVL]\nAccessKey = "ab#cd;ef" ; prod key\n').QwenVL.AccessKey).toBe('ab#cd;ef');
    // quoted values read as before: JSON escapes in double quotes, single quotes as written
    expect(read("[Paths]\nDataDir = 'C:\\Videos\\new'\n").Paths.DataDir).toContain('C:\\Videos\\new');
    expect(read('[Sources]\nUserAgent = "say \\"hi\\" #1" ; q\n').Sources.UserAgent).toBe('say "hi" #1');
    expect(read('[Sources]\nUserAgent = ""\n').Sources.UserAgent).toBe('');

    const load = (text: string) => {
      const { dir, file } = withIni(text);
      return () => loadConfig({ file, env: {}, cwd: dir });
    };
    expect(load('[Sources]\nUserAgent = "my agent #2 ; note\n')).toThrowError(
      /^config\.ini:2: the value of \[Sources\] UserAgent opens a " that is never closed; close the quote on the same line$/,
    );
    expect(load('[QwenVL]\nAccessKey = "ab#cd" ef\n')).toThrowError(
      /^config\.ini:2: the value of \[QwenVL\] AccessKey has text after its closing quote; only a comment may follow it, after a space \(\.\.\. ; note\)$/,
    );
    expect(load('[Sources]\nUserAgent = "a";note\n')).toThrowError(/config\.ini:2: the value of \[Sources\] UserAgent has text after its closing quote/);
    expect(load('[Paths]\nDataDir = "C:\\Videos"\n')).toThrowError(/config\.ini:2: the value of \[Paths\] DataDir has a \\ that starts no escape inside "\.\.\."; write \\\\ for a backslash, or use single quotes/);
    // the key is a secret: the message shows none of it
    expect(load('[QwenVL]\nAccessKey = "sk-secret-part" sk-more\n')).toThrowError(/^(?!.*sk-).*$/);
  });

  it('a comment after a value starts at a ; or # after a space, even with a # or ; in its own text', () => {
    const { dir, file } = withIni('[Concurrency] ; the pools\nCpu = 3 ; three#per core\nAi = 5 # five;ish\n[Sources]\nUserAgent = ; none yet\n');
    const { config } = loadConfig({ file, env: {}, cwd: dir });
    expect([config.Concurrency.Cpu, config.Concurrency.Ai, config.Sources.UserAgent]).toEqual([3, 5, '']);
    const bad = withIni('[QwenVL] AccessKey = sk-on-the-header-line\n');
    expect(() => loadConfig({ file: bad.file, env: {}, cwd: bad.dir })).toThrowError(
      /^config\.ini:1: text follows the section header \[QwenVL\]; put each Key = value on a line of its own \(a comment may follow the header, after a space\)$/,
    );
  });

  it('parses sizes, lists and booleans from strings', () => {
    const { config } = loadConfig({ env: { VIDEODEX_SOURCES_MAXBYTES: '2G', VIDEODEX_GENERAL_VIDEOEXTENSIONS: 'mp4, mkv', VIDEODEX_GENERAL_SNIFFCONTENT: 'no' } });
    expect(config.Sources.MaxBytes).toBe(2 * 1024 ** 3);
    expect(config.General.VideoExtensions).toEqual(['mp4', 'mkv']);
    expect(config.General.SniffContent).toBe(false);
  });
});
