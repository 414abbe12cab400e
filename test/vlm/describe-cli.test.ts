import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { FakeVlmServer } from '../helpers/fake-vlm-server.js';
import { makeTestVideo, tempDir } from '../helpers/media.js';

const CANARY = 'eas-TOKEN-CANARY-93b1e0f4c2';
const t = tempDir('videodex-describe-cli-');
const clip = path.join(t.dir, 'Garden Party 2023.mp4');
let pub: FakeVlmServer;
let vpc: FakeVlmServer;

beforeAll(async () => {
  await makeTestVideo(clip, { seconds: 3, width: 320, height: 180, fps: 10 });
  // PAI-EAS wants the token as is; both fakes refuse anything else.
  pub = await new FakeVlmServer({ auth: { openai: CANARY, eas: CANARY } }).start();
  vpc = await new FakeVlmServer({ auth: { openai: CANARY, eas: CANARY } }).start();
});
afterAll(async () => {
  await pub?.stop();
  await vpc?.stop();
  t.cleanup();
});

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

describe('videodex process with the model (CLI, separate process)', () => {
  it('without an endpoint: says once that describe is skipped, and the rest of the pipeline runs', async () => {
    const data = path.join(t.dir, 'no-endpoint');
    const r = await runCli(['process', clip, '--data-dir', data]);
    expect(r.code).toBe(0);
    const notes = r.stderr.split('\n').filter((l) => l.includes('describe skipped'));
    expect(notes).toEqual(['videodex: describe skipped: no model endpoint configured: set [QwenVL] PublicEndpoint (or VIDEODEX_QWENVL_PUBLICENDPOINT, or --endpoint) to describe videos']);
    const show = JSON.parse((await runCli(['show', clip, '--data-dir', data])).stdout);
    expect(show.stages.describe).toMatchObject({ status: 'skipped' });
    expect(show.stages.index).toMatchObject({ status: 'done' });
  });

  it('--dry-run prints frames and estimated tokens per video and the total, and calls nothing', async () => {
    const data = path.join(t.dir, 'dry');
    await runCli(['process', clip, '--data-dir', data]);
    const before = pub.requests.length;
    const r = await runCli(['process', clip, '--data-dir', data, '--dry-run', '--endpoint', `${pub.url}/v1`], { env: { ...process.env, VIDEODEX_QWEN_ACCESS_KEY: CANARY } });
    expect(r.code).toBe(0);
    const line = r.stderr.split('\n').find((l) => l.includes('describe:'));
    // The clip is one scene: its keyframe plus evenly spaced frames up to [QwenVL] MinFrames.
    expect(line).toMatch(/describe: 4 frames from 1 scene at \d+x\d+ as images, template describe, ~(\d+) tokens/);
    const perVideo = Number(/~(\d+) tokens/.exec(line!)![1]);
    expect(r.stderr).toContain(`model requests would use ~${perVideo} prompt tokens in total`);
    expect(pub.requests.length).toBe(before);
  });

  it('--use-vpc sends to the VPC endpoint, with the EAS token and no Bearer; the token is in no file nor output', async () => {
    const data = path.join(t.dir, 'vpc');
    const env = {
      ...process.env,
      VIDEODEX_QWEN_ACCESS_KEY: CANARY,
      VIDEODEX_QWENVL_PUBLICENDPOINT: `${pub.url}/api/predict/qwen`,
      VIDEODEX_QWENVL_VPCENDPOINT: `${vpc.url}/api/predict/qwen`,
      VIDEODEX_QWENVL_PROVIDER: 'pai-eas',
    };
    const pubBefore = pub.requests.length;
    const r = await runCli(['process', clip, '--data-dir', data, '--use-vpc', '--qwen-instruction', 'List the garden objects.', '--model', 'qwen2-vl-72b', '--json', '--log-level', 'debug'], { env });
    expect(r.stderr).not.toMatch(/: describe: /);
    expect(r.code).toBe(0);
    expect(pub.requests.length).toBe(pubBefore);
    expect(vpc.requests).toHaveLength(1);
    const req = vpc.requests[0]!;
    expect(req.route).toBe('eas');
    expect(req.authorization).toBe(CANARY);
    expect(req.body.model).toBe('qwen2-vl-72b');
    expect(JSON.stringify(req.body)).toContain('List the garden objects.');

    const show = await runCli(['show', clip, '--data-dir', data], { env });
    const record = JSON.parse(show.stdout);
    expect(record.ai).toMatchObject({ provider: 'pai-eas', model: 'qwen2-vl-72b', endpoint: `${new URL(vpc.url).host}/api/predict/qwen`, instruction: 'List the garden objects.' });

    const config = await runCli(['config', '--data-dir', data], { env });
    expect(config.stdout).toMatch(/\[QwenVL\] AccessKey\s+\*\*\*\s+env/);
    const usage = await runCli(['usage', '--data-dir', data, '--json'], { env });
    const report = JSON.parse(usage.stdout);
    expect(report.rows).toEqual([expect.objectContaining({ model: 'qwen2-vl-72b', requests: 1, ok: 1 })]);

    for (const out of [r, show, config, usage]) expect(out.stdout + out.stderr).not.toContain(CANARY);
    const files = walk(data);
    expect(files.some((f) => f.endsWith('audit.jsonl'))).toBe(true);
    expect(files.some((f) => f.endsWith('videodex.log'))).toBe(true);
    for (const file of files) expect(readFileSync(file).includes(CANARY), `${file} holds the token`).toBe(false);
  });

  it('stops with a config error before any call when the template uses an unknown variable', async () => {
    const data = path.join(t.dir, 'bad-template');
    const tpl = path.join(t.dir, 'mine.txt');
    (await import('node:fs')).writeFileSync(tpl, 'Describe {{title}} for {{audience}}.');
    const before = pub.requests.length;
    const r = await runCli(['process', clip, '--data-dir', data, '--endpoint', `${pub.url}/v1`, '--template', tpl]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/videodex: template .*mine\.txt: unknown variable \{\{audience\}\}/);
    expect(pub.requests.length).toBe(before);
    // exit 3 means nothing was run: the typo left an empty library (videodex.db, tagging-setups.json) behind
    expect(existsSync(data), 'data folder made').toBe(false);
  });

  it('stops with a config error before any call when the audit trail cannot be written (each call was paid for, then its answer lost to EISDIR)', async () => {
    const { mkdirSync, writeFileSync } = await import('node:fs');
    const folder = path.join(t.dir, 'audit-folder');
    mkdirSync(folder);
    const blocker = path.join(t.dir, 'audit-blocker');
    writeFileSync(blocker, 'a file\n');
    const cases: Array<[string, RegExp]> = [
      [folder, /^videodex: \[Logging\] AuditFile .*audit-folder is a folder, not the audit file: name a file\n$/],
      [path.join(blocker, 'sub', 'audit.jsonl'), /^videodex: \[Logging\] AuditFile .*audit-blocker\/sub\/audit\.jsonl cannot be written: a file is in the way of its folder \(.*audit-blocker\)\n$/],
    ];
    for (const [audit, message] of cases) {
      const data = path.join(t.dir, `bad-audit-${path.basename(path.dirname(audit))}`);
      const before = pub.requests.length;
      const r = await runCli(['process', clip, '--data-dir', data, '--endpoint', `${pub.url}/v1`], { env: { ...process.env, VIDEODEX_QWEN_ACCESS_KEY: CANARY, VIDEODEX_LOGGING_AUDITFILE: audit } });
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toMatch(message);
      expect(pub.requests.length).toBe(before);
      expect(existsSync(data), 'data folder made').toBe(false);
    }
  });

  it('stops with a config error before any call when the endpoint has a user and password in it (HTTP clients refuse such a URL)', async () => {
    const data = path.join(t.dir, 'userinfo');
    const before = pub.requests.length;
    const endpoint = `${pub.url.replace('http://', 'http://bob:PWSECRETxyz@')}/v1`;
    const r = await runCli(['process', clip, '--data-dir', data, '--endpoint', endpoint]);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/videodex: \[QwenVL\] endpoint .* has a user name or password in it, which HTTP clients refuse; put the key in \[QwenVL\] AccessKey/);
    expect(r.stderr).not.toContain('PWSECRETxyz');
    expect(pub.requests.length).toBe(before);
    expect(existsSync(data), 'data folder made').toBe(false);
  });
});
