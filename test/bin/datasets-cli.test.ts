import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli';

describe('caretaker datasets check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caretaker-datasets-cli-'));
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({
      models: [
        {
          name: 'churn',
          trainingImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1',
          objective: { metricName: 'validation:auc', direction: 'maximize' },
          dataset: { name: 'churn', minRows: 2, columns: [{ name: 'tenure', type: 'integer', min: 0 }, { name: 'plan', type: 'string' }] },
        },
      ],
    }),
  );
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((line: string) => out.push(line));
  vi.spyOn(console, 'error').mockImplementation((line: string) => err.push(line));
  afterEach(() => {
    out.length = 0;
    err.length = 0;
  });
  const check = (file: string) => main(['node', 'caretaker', 'datasets', 'check', file, '--dataset', 'churn', '--config', config]);

  it('prints sha256, content address and PASSED for valid files, exit 0', async () => {
    const file = join(dir, 'good.csv');
    writeFileSync(file, 'tenure,plan\n1,"a, b"\n2,c\n');
    expect(await check(file)).toBe(0);
    expect(out[0]).toMatch(/good\.csv: 2 rows, \d+ bytes, sha256 [0-9a-f]{64}/);
    expect(out[1]).toMatch(/^PASSED: 2 rows, content address sha256:[0-9a-f]{64}/);
  });

  it('lists every reason and exits 1 when the files would fail validation', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'tenure,plan\n-1,a\n');
    expect(await check(file)).toBe(1);
    expect(out).toContain('  - 1 rows, fewer than minRows 2');
    // Named by the local path the user typed, not the upload key.
    expect(out).toContain(`  - column "tenure": 1 values are not ≥ 0 (first at ${file} line 2: "-1")`);
  });

  it('refuses a file that is not UTF-8, naming line and byte, as drift and config do', async () => {
    const file = join(dir, 'latin1.csv');
    writeFileSync(file, Buffer.from('tenure,plan\n1,a\n2,caf\xe9\n', 'latin1'));
    expect(await check(file)).toBe(1);
    expect(err).toEqual([`caretaker: ${file}: line 3, byte 21: not UTF-8 text (byte 0xe9); save the file as UTF-8`]);
  });

  it('names a missing file and a missing config, never a raw ENOENT', async () => {
    expect(await check(join(dir, 'nope.csv'))).toBe(1);
    expect(err).toEqual([`caretaker: ${join(dir, 'nope.csv')}: no such file or folder`]);
    err.length = 0;
    const file = join(dir, 'ok.csv');
    writeFileSync(file, 'tenure,plan\n1,a\n2,b\n');
    expect(await main(['node', 'caretaker', 'datasets', 'check', file, '--dataset', 'churn', '--config', join(dir, 'none.json')])).toBe(1);
    expect(err.join('\n')).toMatch(/none\.json is not a valid Caretaker config:\n {2}- no such file/);
    expect(err.join('\n')).not.toMatch(/ENOENT/);
  });

  it('names the file and line of a ragged row, exit 1', async () => {
    const file = join(dir, 'ragged.csv');
    writeFileSync(file, 'tenure,plan\n1,a,extra\n');
    expect(await check(file)).toBe(1);
    expect(err).toEqual([`caretaker: ${file} line 2: ragged row with 3 fields, the header has 2`]);
  });
});

describe('caretaker datasets register --objects and the stack outputs file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'caretaker-objects-'));
  const err: string[] = [];
  const register = async (objects: string, ...more: string[]) => {
    err.length = 0;
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
    try {
      // Local files are read before any request: the URL points nowhere.
      return await main(['node', 'caretaker', 'datasets', 'register', 'churn', '--objects', objects, '--api-url', 'http://127.0.0.1:9', '--principal', 'arn:aws:iam::123456789012:user/bob', ...more]);
    } finally {
      spy.mockRestore();
    }
  };
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it.each([
    ['a missing file', () => join(dir, 'nope.json'), /nope\.json: no such file$/],
    ['malformed JSON, with its line', () => write('broken.json', '[\n  { "key": "datasets/churn/a.csv" }\n  { "key": "b" }\n]'), /broken\.json: line 3, column 3: not valid JSON: Expected ',' or '\]' after array element/],
    ['not an array', () => write('object.json', '{ "key": "datasets/churn/a.csv" }'), /object\.json: must be a non-empty JSON array/],
    ['an entry without a key', () => write('nokey.json', '[{ "key": "a" }, { "versionId": "v" }]'), /nokey\.json: entry \[1\] must be an object with a string "key"/],
    ['an unknown field', () => write('field.json', '[{ "key": "a", "size": 3 }]'), /field\.json: entry \[0\] has unknown field "size"/],
  ])('%s is named by the file', async (_name, file, message) => {
    expect(await register(file())).toBe(1);
    expect(err.join('\n')).toMatch(message);
    expect(err.join('\n')).not.toMatch(/ENOENT|fetch failed|ECONNREFUSED/);
  });

  it('a malformed outputs file is named with its line', async () => {
    const outputs = write('outputs.json', '{\n  "Caretaker": { "ApiUrl": "https://x" \n');
    const objects = write('ok.json', '[{ "key": "datasets/churn/a.csv" }]');
    err.length = 0;
    const spy = vi.spyOn(console, 'error').mockImplementation((line: string) => void err.push(line));
    try {
      expect(await main(['node', 'caretaker', 'datasets', 'register', 'churn', '--objects', objects, '--outputs', outputs])).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(err.join('\n')).toMatch(/outputs\.json: line 3, column 1: not valid JSON/);
  });
});
