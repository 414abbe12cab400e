import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expandInputs, safeFileName } from '../../src/sources/index.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

const t = tempDir();
afterAll(() => t.cleanup());
const opts = { videoExtensions: ['mp4', 'mkv'], sniffContent: true, followSymlinks: false };

beforeAll(async () => {
  mkdirSync(path.join(t.dir, 'lib/sub'), { recursive: true });
  mkdirSync(path.join(t.dir, 'nothing'), { recursive: true });
  await makeTestVideo(path.join(t.dir, 'lib/a.mp4'), { seconds: 1 });
  copyFileSync(path.join(t.dir, 'lib/a.mp4'), path.join(t.dir, 'lib/sub/odd-name.bin'));
  writeFileSync(path.join(t.dir, 'lib/notes.mp4'), 'just some text, not a video\n');
  writeFileSync(path.join(t.dir, 'lib/readme.txt'), 'hello');
  writeFileSync(path.join(t.dir, 'lib/.hidden.mp4'), 'x');
  writeFileSync(path.join(t.dir, 'lib/partial.mp4.part'), 'x');
  writeFileSync(path.join(t.dir, 'nothing/readme.txt'), 'hello');
  writeFileSync(path.join(t.dir, 'list.txt'), '# my list\nhttps://example.test/v.mp4\n\n  lib/a.mp4  \nmissing.mp4\n');
});

describe('expandInputs', () => {
  it('with FollowSymlinks, a link back up the tree is scanned once, not again at every depth', async () => {
    const tree = path.join(t.dir, 'looped');
    mkdirSync(path.join(tree, 'sub'), { recursive: true });
    copyFileSync(path.join(t.dir, 'lib/a.mp4'), path.join(tree, 'sub/v.mp4'));
    symlinkSync('..', path.join(tree, 'sub/loop'));
    const r = await expandInputs([tree], [], { ...opts, followSymlinks: true });
    expect(r.items.map((i) => path.relative(tree, i.path!))).toEqual(['sub/v.mp4']);
    expect(r.problems).toEqual([]);
  });

  it('with FollowSymlinks, a broken or looping link named as a video is reported, not skipped without a word', async () => {
    const tree = path.join(t.dir, 'links');
    mkdirSync(tree, { recursive: true });
    copyFileSync(path.join(t.dir, 'lib/a.mp4'), path.join(tree, 'ok.mp4'));
    symlinkSync('gone.mp4', path.join(tree, 'dangling.mp4'));
    symlinkSync('self.mp4', path.join(tree, 'self.mp4'));
    symlinkSync('gone', path.join(tree, 'not-a-video-name'));
    const r = await expandInputs([tree], [], { ...opts, followSymlinks: true });
    expect(r.items.map((i) => path.basename(i.path!))).toEqual(['ok.mp4']);
    expect(r.problems.map((p) => `${path.basename(p.raw)}: ${p.message}`)).toEqual([
      'dangling.mp4: skipped: a link that leads nowhere (no such file or folder)',
      expect.stringMatching(/^self\.mp4: skipped: a link that leads nowhere \(.*ELOOP.*\)$/),
    ]);
  });

  it('the same input twice is one input: the label of a list joins it, two different labels are reported', async () => {
    const csv = path.join(t.dir, 'labels.csv');
    writeFileSync(csv, 'url,label,split\nlib/a.mp4,x,test\nlib/a.mp4,y,train\n');
    const r = await expandInputs([path.join(t.dir, 'lib/a.mp4')], [csv], opts);
    expect(r.items).toHaveLength(1);
    expect(r.items[0]!.list).toMatchObject({ label: 'x', split: 'test', row: 2 });
    expect(r.problems).toEqual([{ raw: 'lib/a.mp4', message: 'listed again in labels.csv row 3 (label "y", split "train"); the first, labels.csv row 2 (label "x", split "test"), is used' }]);
  });

  it('a file or folder whose name is not UTF-8 is a problem naming its bytes, not a video that is then "not found"', async () => {
    const tree = path.join(t.dir, 'bytes');
    const treeBytes = Buffer.from(tree);
    mkdirSync(tree, { recursive: true });
    copyFileSync(path.join(t.dir, 'lib/a.mp4'), path.join(tree, 'fine.mp4'));
    copyFileSync(path.join(t.dir, 'lib/a.mp4'), Buffer.concat([treeBytes, Buffer.from('/caf\xe9.mp4', 'latin1')]));
    mkdirSync(Buffer.concat([treeBytes, Buffer.from('/d\xfcr', 'latin1')]));
    writeFileSync(Buffer.concat([treeBytes, Buffer.from('/note\xff.txt', 'latin1')]), 'not a video name');
    for (const sniffContent of [true, false]) {
      const r = await expandInputs([tree], [], { ...opts, sniffContent });
      expect(r.items.map((i) => path.basename(i.path!))).toEqual(['fine.mp4']);
      expect(r.problems).toEqual([
        { raw: path.join(tree, 'caf\\xe9.mp4'), message: 'skipped: its name is not valid UTF-8 (rename it to index it)' },
        { raw: path.join(tree, 'd\\xfcr'), message: 'skipped: a folder whose name is not valid UTF-8 (rename it to scan it)' },
        ...(sniffContent ? [{ raw: path.join(tree, 'note\\xff.txt'), message: 'skipped: its name is not valid UTF-8 (rename it to index it)' }] : []),
      ]);
    }
  });

  it('scans folders recursively by extension and by content', async () => {
    const r = await expandInputs([path.join(t.dir, 'lib')], [], opts);
    expect(r.items.map((i) => path.relative(t.dir, i.path!)).sort()).toEqual(['lib/a.mp4', 'lib/sub/odd-name.bin']);
    expect(r.problems).toEqual([expect.objectContaining({ message: expect.stringMatching(/notes\.mp4|named \.mp4 but its content is text/) })]);
  });

  it('an empty argument (an unset "$URL") is a problem, not a scan of the working folder', async () => {
    const r = await expandInputs(['', '  '], [], { ...opts, cwd: path.join(t.dir, 'lib') });
    expect(r.items).toEqual([]);
    expect(r.problems).toEqual([
      { raw: '""', message: 'empty input' },
      { raw: '"  "', message: 'empty input' },
    ]);
  });

  it('a folder given twice, or after a file in it, is scanned without a false "no videos" and says a skipped file once', async () => {
    const lib = path.join(t.dir, 'lib');
    const twice = await expandInputs(['lib', './lib/', lib], [], { ...opts, cwd: t.dir });
    expect(twice.items.map((i) => path.relative(t.dir, i.path!)).sort()).toEqual(['lib/a.mp4', 'lib/sub/odd-name.bin']);
    expect(twice.problems).toEqual([{ raw: path.join(lib, 'notes.mp4'), message: 'skipped: named .mp4 but its content is text, not a video' }]);
    const fileFirst = await expandInputs(['lib/a.mp4', 'lib/sub/odd-name.bin', 'lib'], [], { ...opts, cwd: t.dir });
    expect(fileFirst.items).toHaveLength(2);
    expect(fileFirst.problems.map((p) => p.message)).toEqual(['skipped: named .mp4 but its content is text, not a video']);
  });

  it('a list row naming a folder labels every video in it (one folder per class)', async () => {
    const data = path.join(t.dir, 'classes');
    mkdirSync(path.join(data, 'surfing/deep'), { recursive: true });
    mkdirSync(path.join(data, 'running'), { recursive: true });
    copyFileSync(path.join(t.dir, 'lib/a.mp4'), path.join(data, 'surfing/s1.mp4'));
    copyFileSync(path.join(t.dir, 'lib/a.mp4'), path.join(data, 'surfing/deep/s2.mp4'));
    copyFileSync(path.join(t.dir, 'lib/a.mp4'), path.join(data, 'running/r1.mp4'));
    writeFileSync(path.join(data, 'classes.csv'), 'path,label,split\nsurfing/,surfing,train\nrunning,running,val\n');
    const r = await expandInputs([], [path.join(data, 'classes.csv')], opts);
    expect(r.problems).toEqual([]);
    expect(r.items.map((i) => [path.relative(data, i.path!), i.list?.label, i.list?.split, i.list?.row])).toEqual([
      ['surfing/deep/s2.mp4', 'surfing', 'train', 2],
      ['surfing/s1.mp4', 'surfing', 'train', 2],
      ['running/r1.mp4', 'running', 'val', 3],
    ]);
  });

  it('says so for a folder with no videos and a path that does not exist', async () => {
    const r = await expandInputs([path.join(t.dir, 'nothing'), path.join(t.dir, 'nope.mp4')], [], opts);
    expect(r.items).toEqual([]);
    expect(r.problems.map((p) => p.message)).toEqual(['folder contains no videos', 'no such file or folder']);
  });

  it('reads list files: URLs, paths relative to the list, comments and blanks skipped, duplicates once', async () => {
    const r = await expandInputs([path.join(t.dir, 'lib/a.mp4')], [path.join(t.dir, 'list.txt')], opts);
    expect(r.items.map((i) => i.kind)).toEqual(['local', 'url']);
    expect(r.items[1]!.url).toBe('https://example.test/v.mp4');
    expect(r.problems).toEqual([{ raw: 'list.txt row 5', message: 'missing.mp4: no such file or folder' }]);
  });

  it('a problem with a plain list entry names the list and its line, as CSV rows do (comments, blanks, BOM and CRLF counted right)', async () => {
    const list = path.join(t.dir, 'urls.txt');
    writeFileSync(list, ['\uFEFF# videos to fetch', '', 'https://example.test/a.mp4', 'missing.mp4', '# a folder next', 'nothing', 'http//typo.example/b.mp4', 'lib/a.mp4', ''].join('\r\n'));
    const r = await expandInputs([path.join(t.dir, 'nope.mp4')], [list], opts);
    expect(r.items.map((i) => i.raw)).toEqual(['https://example.test/a.mp4', 'lib/a.mp4']);
    expect(r.problems).toEqual([
      { raw: path.join(t.dir, 'nope.mp4'), message: 'no such file or folder' }, // a command-line input: as before
      { raw: 'urls.txt row 4', message: 'missing.mp4: no such file or folder' },
      { raw: 'urls.txt row 6', message: 'nothing: folder contains no videos' },
      { raw: 'urls.txt row 7', message: 'http//typo.example/b.mp4: no such file or folder' },
    ]);
    // the same words as a CSV row's problems, whose rows go through the same helper
    const csv = path.join(t.dir, 'rows.csv');
    writeFileSync(csv, 'url,label\n# kept out\nmissing.mp4,x\n,y\n');
    const c = await expandInputs([], [csv], opts);
    expect(c.problems).toEqual([
      { raw: 'rows.csv row 4', message: 'no url or youtube_id' },
      { raw: 'rows.csv row 3', message: 'missing.mp4: no such file or folder' },
    ]);
  });

  it('reads lists saved as UTF-16 with a byte-order mark, or with CR alone ending lines; a file with NUL bytes is one problem', async () => {
    const plain = '# mine\nhttps://example.test/v.mp4\nlib/a.mp4\nmissing.mp4\n';
    const csv = 'url,label,start,end\nhttps://example.test/v.mp4,surf,1,2\nlib/a.mp4,run,,\n';
    const utf16be = (text: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    const files: Record<string, Buffer> = {
      'le.txt': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(plain.replace(/\n/g, '\r\n'), 'utf16le')]),
      'be.txt': utf16be(plain),
      'mac.txt': Buffer.from(plain.replace(/\n/g, '\r')),
      'le.csv': Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv, 'utf16le')]),
      'mac.csv': Buffer.from(csv.replace(/\n/g, '\r')),
    };
    for (const [name, bytes] of Object.entries(files)) {
      writeFileSync(path.join(t.dir, name), bytes);
      const r = await expandInputs([], [path.join(t.dir, name)], opts);
      const csvList = name.endsWith('.csv');
      expect(r.items.map((i) => [i.key.replace(t.dir, ''), i.list?.row, i.list?.label])).toEqual(
        csvList
          ? [['https://example.test/v.mp4#t=1,2', 2, 'surf'], ['/lib/a.mp4', 3, 'run']]
          : [['https://example.test/v.mp4', 2, undefined], ['/lib/a.mp4', 3, undefined]],
      );
      expect(r.problems).toEqual(csvList ? [] : [{ raw: `${name} row 4`, message: 'missing.mp4: no such file or folder' }]);
    }
    // UTF-16 without its mark (or a binary file given as a list): one line, not a junk problem per row
    writeFileSync(path.join(t.dir, 'nomark.txt'), Buffer.from(plain, 'utf16le'));
    const r = await expandInputs([], [path.join(t.dir, 'nomark.txt')], opts);
    expect(r.items).toEqual([]);
    expect(r.problems).toEqual([{ raw: path.join(t.dir, 'nomark.txt'), message: 'not a text list: it holds NUL bytes (UTF-16 without a byte-order mark, or not a text file); save it as UTF-8' }]);
  });

  it('a # after a space starts a comment in a plain list; a # inside a URL or path (a fragment) stays', async () => {
    const list = path.join(t.dir, 'commented.txt');
    writeFileSync(list, [
      'http://host/beach.mp4   # trailing comment',
      'http://h/v.mp4#t=5',
      'http://h/w.mp4#t=5\t# both',
      'lib/a.mp4 # a path, with a comment (url, file)',
      '   # only a comment',
      'missing.mp4 #gone',
    ].join('\n'));
    const r = await expandInputs([], [list], opts);
    expect(r.items.map((i) => i.raw)).toEqual(['http://host/beach.mp4', 'http://h/v.mp4#t=5', 'http://h/w.mp4#t=5', 'lib/a.mp4']);
    expect(r.items[3]!.path).toBe(path.join(t.dir, 'lib/a.mp4'));
    expect(r.problems).toEqual([{ raw: 'commented.txt row 6', message: 'missing.mp4: no such file or folder' }]);
    // a list whose first entry's comment names CSV columns is still a plain list
    const first = path.join(t.dir, 'first.txt');
    writeFileSync(first, 'http://host/a.mp4  # was: label, url\n');
    expect((await expandInputs([], [first], opts)).items.map((i) => i.raw)).toEqual(['http://host/a.mp4']);
    // CSV keeps its rule: a line starting with # is a comment, a # inside a row is data
    const csv = path.join(t.dir, 'hash.csv');
    writeFileSync(csv, 'url,label\n# kept out\nhttp://h/c.mp4#t=3,C# basics\nhttp://h/d.mp4,take #2\n');
    const c = await expandInputs([], [csv], opts);
    expect(c.items.map((i) => [i.raw, i.list?.label])).toEqual([['http://h/c.mp4#t=3', 'C# basics'], ['http://h/d.mp4', 'take #2']]);
  });

  it('takes explicitly named files without sniffing (ffprobe decides later)', async () => {
    const r = await expandInputs([path.join(t.dir, 'lib/notes.mp4')], [], opts);
    expect(r.items).toHaveLength(1);
  });

  it('makes file names that cannot escape the media folder', () => {
    expect(safeFileName('../../etc/passwd')).toBe('passwd');
    expect(safeFileName('..')).toBe('video');
    expect(safeFileName('a\u0000b.mp4')).toBe('a_b.mp4');
    expect(safeFileName('CON.mp4')).toBe('_CON.mp4');
    expect(Buffer.byteLength(safeFileName('x'.repeat(400) + '.mp4'))).toBeLessThanOrEqual(180);
  });
});
