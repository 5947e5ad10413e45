/** The audit trail, filterable by model and time; each event with the person who acted. */
import { useState } from 'preact/hooks';
import type { AuditEvent, CaretakerClient } from '../../lib/client/core';
import { href } from './router';
import { ErrorBox, person, Show, time, useAsync } from './ui';

/** `datetime-local` input value (UTC) ↔ ISO time. */
const toInput = (iso?: string) => (iso ? iso.slice(0, 16) : '');
const fromInput = (value: string) => (value ? new Date(`${value}:00Z`).toISOString() : undefined);

export function AuditPage({ client, query }: { client: CaretakerClient; query: { model?: string; from?: string; to?: string } }) {
  const [models] = useAsync(() => client.listModels(), [client]);
  const [page] = useAsync(() => client.listAudit({ ...query, limit: 50 }), [client, query.model, query.from, query.to]);
  const [more, setMore] = useState<{ items: AuditEvent[]; nextToken?: string; error?: unknown }>({ items: [] });
  const [form, setForm] = useState({ model: query.model ?? '', from: toInput(query.from), to: toInput(query.to) });
  const loadMore = async (nextToken: string) => {
    try {
      const next = await client.listAudit({ ...query, limit: 50, nextToken });
      setMore((m) => ({ items: [...m.items, ...next.items], nextToken: next.nextToken }));
    } catch (error) {
      setMore((m) => ({ ...m, error }));
    }
  };
  return (
    <section>
      <h1>Audit trail</h1>
      <form
        class="filters"
        data-testid="audit-filters"
        onSubmit={(e) => {
          e.preventDefault();
          setMore({ items: [] });
          location.hash = href.audit({ model: form.model || undefined, from: fromInput(form.from), to: fromInput(form.to) });
        }}
      >
        <label>
          Model
          <select name="model" value={form.model} onChange={(e) => setForm({ ...form, model: e.currentTarget.value })}>
            <option value="">all models</option>
            {models.state === 'done' ? models.value.models.map((m) => <option key={m.name} value={m.name}>{m.name}</option>) : null}
          </select>
        </label>
        <label>
          From (UTC)
          <input type="datetime-local" name="from" value={form.from} onInput={(e) => setForm({ ...form, from: e.currentTarget.value })} />
        </label>
        <label>
          To (UTC)
          <input type="datetime-local" name="to" value={form.to} onInput={(e) => setForm({ ...form, to: e.currentTarget.value })} />
        </label>
        <button type="submit">Filter</button>
      </form>
      <Show value={page}>
        {(first) => {
          const items = [...first.items, ...more.items];
          const nextToken = more.items.length ? more.nextToken : first.nextToken;
          return (
            <>
              {items.length === 0 ? <p>No events match.</p> : null}
              <table class="list" data-testid="audit">
                <thead>
                  <tr><th>at</th><th>model</th><th>event</th><th>version</th><th>person</th><th>reason</th></tr>
                </thead>
                <tbody>
                  {items.map((e) => (
                    <tr key={e.eventId} data-type={e.type}>
                      <td>{time(e.at)}</td>
                      <td>{e.model}</td>
                      <td>{e.type}</td>
                      <td>{e.version !== undefined ? <a href={href.version(e.model, e.version)}>v{e.version}</a> : e.runId ? <a href={href.run(e.runId)}>run</a> : '—'}</td>
                      <td title={e.actor} data-testid="actor">{person(e.actor)}</td>
                      <td>{e.reason ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {more.error ? <ErrorBox error={more.error} /> : null}
              {nextToken ? <button type="button" onClick={() => void loadMore(nextToken)}>Older events</button> : null}
            </>
          );
        }}
      </Show>
    </section>
  );
}
