/**
 * Child processes of the runner (training, processing and serving "containers"), tracked so
 * that every one of them is stopped when the runner closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface RunningProcess {
  readonly pid: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after `graceMs` (SageMaker gives a container 120 s; locally less). */
  stop(graceMs: number): Promise<void>;
}

export interface SpawnOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Each line of stdout and stderr, as it arrives. */
  readonly onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export class ProcessSupervisor {
  private readonly children = new Set<ChildProcess>();

  spawn(command: readonly string[], options: SpawnOptions): RunningProcess {
    const [file, ...args] = command;
    if (!file) throw new Error('empty command');
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.children.add(child);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('error', (error) => {
        // The command could not start (missing executable or working directory): say so in its output.
        options.onLine?.(`could not start ${file}: ${error.message}`, 'stderr');
        resolve({ code: 127, signal: null });
      });
      child.once('close', (code, signal) => resolve({ code, signal }));
    }).finally(() => this.children.delete(child));
    for (const stream of ['stdout', 'stderr'] as const) {
      createInterface({ input: child[stream] }).on('line', (line) => options.onLine?.(line, stream));
    }
    const stop = async (graceMs: number) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    };
    return { pid: child.pid ?? -1, exited, stop };
  }

  /** Pids of the processes still running. */
  pids(): number[] {
    return [...this.children].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
  }

  async stopAll(graceMs: number): Promise<void> {
    await Promise.all(
      [...this.children].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const closed = new Promise((resolve) => child.once('close', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await closed;
        clearTimeout(timer);
      }),
    );
  }
}
