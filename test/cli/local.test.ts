/**
 * `caretaker local up` without moto: a clear install hint and a non-zero exit, nothing left running.
 * A busy port says --port before anything starts; the sample principals it prints are ones the
 * API accepts as two different people.
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../bin/cli';
import { APPROVER as SAMPLE_APPROVER, REQUESTER as SAMPLE_REQUESTER } from '../../local/demo';
import { parsePrincipal, samePerson, sameRole } from '../../lambdas/api/principal';

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

  it('says the port is in use and to pass --port, before starting moto', async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    const { port } = holder.address() as AddressInfo;
    const errors: string[] = [];
    vi.spyOn(console, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
    const logs: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void logs.push(String(line)));
    try {
      expect(await main(['node', 'caretaker', 'local', 'up', '--port', String(port)])).toBe(1);
    } finally {
      holder.close();
    }
    expect(errors.join('\n')).toContain(`port ${port} is already in use`);
    expect(errors.join('\n')).toContain('--port');
    // Nothing started: the "Starting local mode" line comes after the port check.
    expect(logs.join('\n')).not.toContain('Starting local mode');
  });

  it('prints sample principals the API takes as a requester and a different approver', () => {
    const requester = parsePrincipal(SAMPLE_REQUESTER);
    const approver = parsePrincipal(SAMPLE_APPROVER);
    expect(requester?.kind).toBe('role-session');
    expect(approver?.kind).toBe('role-session');
    expect(samePerson(requester!, approver!)).toBe(false);
    expect(sameRole(requester!, approver!)).toBe(false);
  });

  it('--version prints the package version', async () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(await main(['node', 'caretaker', '--version'])).toBe(0);
    expect(out.join('').trim()).toBe(version);
  });
});
