import { isUtf8 } from 'node:buffer';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileError, firstInvalidUtf8, jsonErrorOffset, parseJson, readJson, readText, utf8Chunks } from '../../lib/files';

const dir = mkdtempSync(join(tmpdir(), 'caretaker-files-'));
const write = (name: string, content: string | Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

/** Deterministic bytes biased towards UTF-8's edge cases. */
function randomBytes(seed: number, length: number): Uint8Array {
  let x = seed;
  const next = () => ((x = (x * 1_103_515_245 + 12_345) >>> 0) >>> 16) & 0xff;
  const interesting = [0x0a, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xa0, 0xed, 0x9f, 0xef, 0xf0, 0x90, 0xf4, 0x8f, 0xf5, 0xff];
  return Uint8Array.from({ length }, () => (next() % 3 === 0 ? (interesting[next() % interesting.length] ?? 0) : next() % 2 ? 0x61 : next()));
}

describe('UTF-8 checking', () => {
  it('agrees with Node\'s isUtf8 on 5 000 byte strings, and the bytes before the offset are valid', () => {
    for (let seed = 1; seed <= 5000; seed++) {
      const bytes = randomBytes(seed, 1 + (seed % 24));
      const offset = firstInvalidUtf8(bytes);
      expect(offset === -1, `seed ${seed}`).toBe(isUtf8(bytes));
      if (offset >= 0) expect(isUtf8(bytes.subarray(0, offset)), `seed ${seed}`).toBe(true);
    }
  });

  it('a streamed file names the same line and byte however its chunks are cut', async () => {
    const bytes = Buffer.concat([Buffer.from('a,b\nçé,ü\n€,𝄞\n'), Buffer.from([0xe2, 0x82]), Buffer.from('x\n')]);
    const file = write('streamed.csv', bytes);
    const whole = () => readText(file);
    expect(whole).toThrow(new FileError(file, 'not UTF-8 text (byte 0xe2); save the file as UTF-8', { line: 4, byte: bytes.indexOf(0xe2, 20) }));
    for (let size = 1; size <= 7; size++) {
      const chunks = function* () {
        for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
      };
      const read = async () => {
        for await (const chunk of utf8Chunks(file, chunks())) expect(chunk.length).toBeGreaterThan(0);
      };
      await expect(read(), `chunks of ${size}`).rejects.toThrow(`${file}: line 4, byte ${bytes.indexOf(0xe2, 20)}: not UTF-8 text`);
    }
  });

  it('a file that ends inside a character is refused at its end', async () => {
    const file = write('cut.csv', Buffer.from([0x61, 0x0a, 0xf0, 0x9d]));
    const read = async () => {
      for await (const chunk of utf8Chunks(file)) expect(chunk.length).toBeGreaterThan(0);
    };
    await expect(read()).rejects.toThrow(`${file}: line 2, byte 2: not UTF-8 text`);
  });

  it('drops a byte order mark and names a missing file or a folder', () => {
    expect(readText(write('bom.json', '\ufeff{"a":1}'))).toBe('{"a":1}');
    expect(() => readText(join(dir, 'nope.json'))).toThrow(`${join(dir, 'nope.json')}: no such file`);
    expect(() => readText(dir)).toThrow(`${dir}: is a folder, not a file`);
  });
});

describe('JSON errors', () => {
  it('finds the offset V8 reports wherever V8 reports one (mutated documents)', () => {
    const doc = '{\n  "models": [\n    { "name": "churn", "tags": ["a", "b"], "n": -1.5e3, "ok": true, "x": null }\n  ]\n}\n';
    let compared = 0;
    for (let i = 0; i < doc.length; i++) {
      for (const replacement of ['', ',', '}', ']', ':', '"', 'x', '1']) {
        const text = doc.slice(0, i) + replacement + doc.slice(i + 1);
        let message: string | undefined;
        try {
          JSON.parse(text);
        } catch (error) {
          message = (error as Error).message;
        }
        if (message === undefined) {
          expect(jsonErrorOffset(text)).toBe(-1);
          continue;
        }
        const reported = /at position (\d+)/.exec(message);
        if (reported) {
          expect(jsonErrorOffset(text), JSON.stringify(text)).toBe(Number(reported[1]));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(100);
  });

  it('names line and column for a token V8 reports without a position', () => {
    expect(() => parseJson('f.json', '{\n  "a": [1,,2]\n}')).toThrow("f.json: line 2, column 11: not valid JSON: Unexpected token ','");
    expect(() => readJson(write('short.json', '{"a": [1,'))).toThrow(/short\.json: line 1, column 10: not valid JSON: the JSON ends early/);
  });
});
