// Same-origin stand-in for the binary's embedded dashboard: serves DIST at `/` and proxies
// /api/, /metrics and /healthz to the haihe HTTP address (streams, so SSE works).
//   node tests/static-server.mjs DIST http://127.0.0.1:PORT [LISTEN_PORT]   → prints "listening URL"
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
const [dist, upstream, listenPort = '0'] = process.argv.slice(2);
const up = new URL(upstream);
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml', '.ico': 'image/x-icon' };
const server = http.createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  if (path.startsWith('/api/') || path === '/metrics' || path === '/healthz') {
    const p = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url,
      headers: req.headers }, (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
    p.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(p);
    res.on('close', () => p.destroy());
    return;
  }
  const rel = normalize(path === '/' ? '/index.html' : path).replace(/^(\.\.[/\\])+/, '');
  try {
    const body = await readFile(join(dist, rel));
    res.writeHead(200, { 'content-type': types[extname(rel)] || 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404); res.end('not found');
  }
});
server.listen(Number(listenPort), '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`);
});
