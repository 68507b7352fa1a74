// The API client: same origin, bearer token kept in sessionStorage (from the login form or `#token=`).
export const session = {
  get token() { return sessionStorage.getItem('haihe.token') || ''; },
  set token(v) { if (v) sessionStorage.setItem('haihe.token', v); else sessionStorage.removeItem('haihe.token'); },
};

export class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

export async function api(path, { method = 'GET', body } = {}) {
  const r = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${session.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) {
    let msg = text;
    try { msg = JSON.parse(text).error.message; } catch { /* plain text */ }
    if (r.status === 401) window.dispatchEvent(new Event('haihe:unauthorized'));
    throw new ApiError(r.status, `${r.status}: ${msg}`);
  }
  return text ? JSON.parse(text) : null;
}

export const qs = (o) => new URLSearchParams(Object.entries(o).filter(([, v]) => v !== '' && v != null)).toString();

/** Sums of every Prometheus sample of `name` (all label sets), from `/metrics` text. */
export function metricSum(text, name, filter = () => true) {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    const labels = rest[0] === '{' ? rest.slice(1, rest.indexOf('}')) : '';
    if (!filter(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1)) || 0;
  }
  return sum;
}

/**
 * The one live connection: EventSource on /api/v1/stream; listeners get parsed events.
 * Reconnects by itself (EventSource does); a `lagged` event asks views to refetch.
 */
export function openStream(handlers) {
  const es = new EventSource(`/api/v1/stream?types=alarm,sample,connector&token=${encodeURIComponent(session.token)}`);
  for (const type of ['alarm', 'sample', 'connector', 'lagged']) {
    es.addEventListener(type, (e) => {
      let data = null;
      try { data = JSON.parse(e.data); } catch { /* keep null */ }
      handlers(type, data);
    });
  }
  es.onopen = () => handlers('open', null);
  es.onerror = () => handlers('error', null);
  return es;
}
