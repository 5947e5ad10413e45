/** Hash routes (`#/models/churn/versions/3`): the console is static files, any path serves index.html. */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { page: 'models' }
  | { page: 'model'; model: string }
  | { page: 'version'; model: string; version: number }
  | { page: 'drift'; model: string }
  | { page: 'run'; runId: string }
  | { page: 'audit'; model?: string; from?: string; to?: string }
  | { page: 'signin' }
  | { page: 'unknown'; path: string };

export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const query = new URLSearchParams(search);
  const [a, b, c, d] = parts;
  if (parts.length === 0 || (a === 'models' && parts.length === 1)) return { page: 'models' };
  if (a === 'signin' && parts.length === 1) return { page: 'signin' };
  if (a === 'audit' && parts.length === 1) return { page: 'audit', model: query.get('model') ?? undefined, from: query.get('from') ?? undefined, to: query.get('to') ?? undefined };
  if (a === 'runs' && b && parts.length === 2) return { page: 'run', runId: b };
  if (a === 'models' && b) {
    if (parts.length === 2) return { page: 'model', model: b };
    if (c === 'drift' && parts.length === 3) return { page: 'drift', model: b };
    if (c === 'versions' && d && parts.length === 4 && /^\d+$/.test(d)) return { page: 'version', model: b, version: Number(d) };
  }
  return { page: 'unknown', path };
}

export const href = {
  models: () => '#/models',
  model: (model: string) => `#/models/${encodeURIComponent(model)}`,
  version: (model: string, version: number) => `#/models/${encodeURIComponent(model)}/versions/${version}`,
  drift: (model: string) => `#/models/${encodeURIComponent(model)}/drift`,
  run: (runId: string) => `#/runs/${encodeURIComponent(runId)}`,
  audit: (query: { model?: string; from?: string; to?: string } = {}) => {
    const search = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '')).toString();
    return `#/audit${search ? `?${search}` : ''}`;
  },
  signin: () => '#/signin',
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
