/**
 * `caretaker local up` without moto: a clear install hint and a non-zero exit, nothing left running.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli';

describe('caretaker local up', () => {
  const saved = { PATH: process.env.PATH, AWS_ENDPOINT_URL: process.env.AWS_ENDPOINT_URL };
  afterEach(() => {
    process.env.PATH = saved.PATH;
    if (saved.AWS_ENDPOINT_URL === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = saved.AWS_ENDPOINT_URL;
    vi.restoreAllMocks();
  });

  it('exits non-zero saying how to install moto_server when it is not on PATH', async () => {
    process.env.PATH = '/nonexistent';
    delete process.env.AWS_ENDPOINT_URL;
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
    expect(await main(['node', 'caretaker', 'local', 'up', '--port', '0'])).toBe(1);
    expect(errors.join('\n')).toContain('moto_server is not on PATH: pip install "moto[server]"');
  });

  it('refuses a port out of range', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await main(['node', 'caretaker', 'local', 'up', '--port', '70000'])).not.toBe(0);
  });
});
