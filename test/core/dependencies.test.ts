import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// `npm ci --omit=dev` installs `dependencies` only: a package there that only the tests use is dead weight in
// every install, and one the runtime imports from `devDependencies` breaks the CLI of such an install.
const root = path.resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : /\.(ts|mts|js|mjs)$/.test(e.name) ? [path.join(dir, e.name)] : [],
  );
}

/** Package names a file loads: static imports and re-exports, import(), require() and require.resolve(). */
function importedPackages(file: string): Set<string> {
  const text = readFileSync(file, 'utf8');
  const found = new Set<string>();
  const patterns = [/\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]/g, /\bimport\s+['"]([^'"]+)['"]/g, /\brequire(?:\.resolve)?\s*\(\s*['"]([^'"]+)['"]/g];
  for (const re of patterns) {
    for (const m of text.matchAll(re)) {
      const spec = m[1]!;
      if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      found.add(name);
    }
  }
  return found;
}

function packagesOf(dir: string): Set<string> {
  const all = new Set<string>();
  for (const f of sourceFiles(path.join(root, dir))) for (const p of importedPackages(f)) all.add(p);
  return all;
}

describe('package.json dependencies', () => {
  const runtime = packagesOf('src');
  const srcText = sourceFiles(path.join(root, 'src')).map((f) => readFileSync(f, 'utf8')).join('\n');

  it('lists in dependencies only packages that src/ loads (directly or by name, as the bundled ffmpeg)', () => {
    const unused = Object.keys(pkg.dependencies).filter((name) => !runtime.has(name) && !srcText.includes(`'${name}'`));
    expect(unused).toEqual([]);
  });

  it('puts the packages only the tests load in devDependencies', () => {
    const testOnly = [...packagesOf('test')].filter((name) => !runtime.has(name) && !name.startsWith('videodex'));
    expect(testOnly.length).toBeGreaterThan(0);
    const misfiled = testOnly.filter((name) => name in pkg.dependencies);
    expect(misfiled).toEqual([]);
  });

  it('declares every package src/ imports in dependencies (tsx only serves runs from the TypeScript sources)', () => {
    const undeclared = [...runtime].filter((name) => !(name in pkg.dependencies) && name !== 'tsx');
    expect(undeclared).toEqual([]);
  });
});

describe('npm ci --omit=dev', () => {
  // The prepare script as package.json names it, run by npm in a copy of the package with no node_modules: what
  // `npm ci --omit=dev` does after installing the runtime dependencies only.
  function prepareIn(withDist: boolean): { status: number | null; stderr: string } {
    const dir = mkdtempSync(path.join(tmpdir(), 'videodex-prepare-'));
    try {
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'videodex-prepare-test', private: true, type: 'module', scripts: { prepare: pkg.scripts.prepare } }));
      cpSync(path.join(root, 'scripts'), path.join(dir, 'scripts'), { recursive: true });
      if (withDist) {
        mkdirSync(path.join(dir, 'dist/cli'), { recursive: true });
        writeFileSync(path.join(dir, 'dist/cli/main.js'), '');
      }
      const run = spawnSync('npm', ['run', '--silent', 'prepare'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      return { status: run.status, stderr: run.stderr };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('keeps a dist/ built earlier instead of failing on the missing TypeScript', () => {
    const run = prepareIn(true);
    expect(run.stderr).toContain('keeping the dist/ already built');
    expect(run.status).toBe(0);
  });

  it('fails with a line saying what to do when there is no dist/ either', () => {
    const run = prepareIn(false);
    expect(run.stderr).toContain('dist/ is not built and TypeScript is not installed');
    expect(run.status).not.toBe(0);
  });
});
