/** Small shared pieces: loading, errors shown on the page, formatting. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { CaretakerApiError } from '../../lib/client/core';

export type Async<T> = { state: 'loading' } | { state: 'error'; error: unknown } | { state: 'done'; value: T };

/** Runs `load` when `deps` change; `reload` runs it again. Errors are kept to be shown, never thrown. */
export function useAsync<T>(load: () => Promise<T>, deps: readonly unknown[]): [Async<T>, () => void] {
  const [result, setResult] = useState<Async<T>>({ state: 'loading' });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setResult((previous) => (previous.state === 'done' ? previous : { state: 'loading' }));
    load().then(
      (value) => live && setResult({ state: 'done', value }),
      (error: unknown) => live && setResult({ state: 'error', error }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return [result, reload];
}

/** Renders the value, a loading line, or the error: a page is never blank. */
export function Show<T>({ value, children }: { value: Async<T>; children: (value: T) => ComponentChildren }) {
  if (value.state === 'loading') return <p class="loading">Loading…</p>;
  if (value.state === 'error') return <ErrorBox error={value.error} />;
  return <>{children(value.value)}</>;
}

export function ErrorBox({ error, title }: { error: unknown; title?: string }) {
  if (error instanceof CaretakerApiError) {
    return (
      <div class="error" role="alert" data-testid="api-error">
        <strong>{title ?? 'The API refused or failed'}</strong>: {error.status} {error.code} — {error.message}
        {error.details?.length ? (
          <ul>
            {error.details.map((d) => (
              <li key={`${d.field ?? ''}${d.message}`}>
                {d.field ? <code>{d.field}</code> : null} {d.message}
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && error.name === 'SignInRequired') {
    return (
      <div class="error" role="alert" data-testid="api-error">
        <strong>{title ?? 'Your sign-in has ended'}</strong>: {message} <a href="#/signin">Sign in again</a>
      </div>
    );
  }
  return (
    <div class="error" role="alert" data-testid="api-error">
      <strong>{title ?? 'Something failed'}</strong>: {message}
      {error instanceof TypeError ? <p>The API could not be reached: is it running, and is this the right URL?</p> : null}
    </div>
  );
}

export function Status({ status }: { status: string }) {
  return <span class={`status status-${status.toLowerCase()}`} data-testid="status">{status}</span>;
}

export function time(iso: string | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

export function num(value: number | undefined | null, digits = 4): string {
  return value === undefined || value === null || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}

/** The person part of a principal ARN (`…/assumed-role/ml-lead/alice` → `alice (ml-lead)`). */
export function person(principal: string): string {
  const session = /:assumed-role\/([^/]+)\/(.+)$/.exec(principal);
  if (session) return `${session[2] ?? ''} (${session[1] ?? ''})`;
  return principal;
}

/** Re-renders every second (countdowns). */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}
