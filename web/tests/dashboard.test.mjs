// Browser test of the dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core). HAIHE_URL: the dashboard's base URL (API on the same origin under /api/v1);
// HAIHE_TOKEN: an admin token. Screenshots and perf.json go to target/browser-artifacts/.
// The platform must have a vehicle that raises a new alarm after the test starts (the harness
// injects a thermal runaway), which the test waits for on the alarms page and acknowledges.
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const BASE = (process.env.HAIHE_URL || '').replace(/\/$/, '');
const TOKEN = process.env.HAIHE_TOKEN || '';
if (!BASE || !TOKEN) { console.error('set HAIHE_URL and HAIHE_TOKEN'); process.exit(2); }
const ART = process.env.ARTIFACTS || join(dirname(fileURLToPath(import.meta.url)), '../../target/browser-artifacts');
mkdirSync(ART, { recursive: true });
const BENCH_N = Number(process.env.BENCH_VEHICLES || 20000);

let failed = false;
function check(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failed = true;
  return cond;
}
async function apiGet(path) {
  const r = await fetch(`${BASE}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  if (!r.ok) throw new Error(`GET ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}
const quantile = (xs, q) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const outside = [];
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.on('pageerror', (e) => { console.log(`page error: ${e.message}`); failed = true; });
  page.on('console', (m) => { if (m.type() === 'error') console.log(`console: ${m.text()}`); });
  page.on('request', (r) => { const u = new URL(r.url()); if (!['127.0.0.1', 'localhost'].includes(u.hostname) && u.protocol.startsWith('http')) outside.push(r.url()); });

  // 1. overview: login through #token=, live figures non-zero
  await page.goto(`${BASE}/?bench=1#token=${encodeURIComponent(TOKEN)}`);
  await page.waitForFunction(() => Number(document.getElementById('ov-online')?.dataset.value) > 0, null, { timeout: 30000 });
  await page.waitForFunction(() => Number(document.getElementById('ov-fps')?.dataset.value) > 0, null, { timeout: 30000 });
  await page.waitForFunction(() => Number(document.getElementById('ov-conn')?.dataset.value) > 0, null, { timeout: 30000 })
    .catch(() => {});
  const ov = await page.evaluate(() => Object.fromEntries(['ov-online', 'ov-fps', 'ov-alarms', 'ov-conn']
    .map((id) => [id, Number(document.getElementById(id).dataset.value || 0)])));
  console.log('overview', JSON.stringify(ov));
  check(ov['ov-online'] > 0, 'overview: vehicles online > 0');
  check(ov['ov-fps'] > 0, 'overview: frames/s > 0');
  check(ov['ov-conn'] > 0, 'overview: connectors > 0');
  check(await page.evaluate(() => sessionStorage.getItem('haihe.token')) !== null, 'token kept in sessionStorage');
  await page.screenshot({ path: join(ART, 'overview.png'), fullPage: true });
  await page.evaluate(() => { window.__sameDocument = true; }); // gone if the page ever reloads

  // 2. map: vehicles drawn
  await page.click('#nav a[href="#/map"]');
  await page.waitForFunction(() => document.getElementById('map')?.dataset.loaded === '1' && window.__haihe.layer.markers.size > 0,
    null, { timeout: 30000 });
  await page.waitForTimeout(800);
  const drawn = await page.evaluate(() => ({ markers: window.__haihe.layer.markers.size,
    clusters: document.querySelectorAll('.cluster-vehicle').length }));
  console.log('map', JSON.stringify(drawn));
  check(drawn.markers > 0 && drawn.clusters + drawn.markers > 0, 'map: vehicles drawn');
  await page.screenshot({ path: join(ART, 'map.png') });

  // 3. click a vehicle → popup → detail with a rendered chart
  const vin = await page.evaluate(() => {
    const online = [...window.__haihe.layer.markers.keys()].filter((v) => window.__haihe.vehicles.get(v)?.online);
    return online.find((v) => window.__haihe.vehicles.get(v).state?.speed_kmh > 0) || online[0];
  });
  const pt = await page.evaluate((v) => window.__haihe.vehiclePoint(v), vin);
  await page.waitForTimeout(300);
  await page.mouse.click(pt.x, pt.y);
  await page.waitForSelector('.leaflet-popup a.to-detail', { timeout: 5000 });
  await page.waitForTimeout(400); // the popup's fade-in
  await page.screenshot({ path: join(ART, 'map-popup.png') });
  await page.click('.leaflet-popup a.to-detail');
  await page.waitForFunction(() => location.hash.startsWith('#/vehicle/'));
  await page.waitForFunction(() => Number(document.getElementById('ch-speed')?.dataset.points) > 0, null, { timeout: 20000 });
  await page.waitForTimeout(500);
  const nonEmpty = await page.evaluate(() => {
    const c = document.querySelector('#ch-speed canvas');
    if (!c) return false;
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let colored = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && !(d[i] > 240 && d[i + 1] > 240 && d[i + 2] > 240)) colored++;
    return colored > 500;
  });
  check(nonEmpty, `detail of ${vin}: speed chart canvas drawn`);
  await page.screenshot({ path: join(ART, 'vehicle.png'), fullPage: true });

  // 4. alarms: a new alarm arrives live (no reload) and is acknowledged
  const before = new Set((await apiGet('/api/v1/alarms?limit=1000')).items.map((a) => a.alarm_id));
  await page.click('#nav a[href="#/alarms"]');
  await page.waitForSelector('#al-table');
  await page.waitForTimeout(500);
  const fresh = await page.waitForFunction((known) => {
    for (const tr of document.querySelectorAll('#al-table tr[data-id]')) {
      if (!known.includes(Number(tr.dataset.id)) && tr.querySelector('button.ack')) return Number(tr.dataset.id);
    }
    return false;
  }, [...before], { timeout: 90000, polling: 250 }).then((h) => h.jsonValue());
  check(fresh > 0, `alarms: alarm ${fresh} arrived live`);
  await page.screenshot({ path: join(ART, 'alarms-live.png'), fullPage: true });
  await page.click(`#al-table button.ack[data-id="${fresh}"]`);
  let acked = null;
  for (let i = 0; i < 50; i++) {
    acked = (await apiGet(`/api/v1/alarms?state=acknowledged&limit=1000`)).items.find((a) => a.alarm_id === fresh);
    if (acked) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  check(!!acked, `alarms: ${fresh} acknowledged in the API (${acked?.acked_by ?? ''})`);
  await page.screenshot({ path: join(ART, 'alarms.png'), fullPage: true });

  // 5. charging
  await page.click('#nav a[href="#/charging"]');
  await page.waitForSelector('#cg-stations table', { timeout: 20000 });
  await page.waitForTimeout(800);
  check(await page.evaluate(() => document.querySelectorAll('#cg-stations tbody tr').length > 0), 'charging: stations listed');
  await page.screenshot({ path: join(ART, 'charging.png'), fullPage: true });

  // language switch
  await page.click('#lang');
  await page.click('#nav a[href="#/overview"]');
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(ART, 'overview-other-language.png'), fullPage: true });
  check(await page.evaluate(() => window.__sameDocument === true), 'no page reload while navigating and receiving live data');

  // 6. 20 000 vehicles on the map: frame times during pan/zoom, click → popup latency
  await page.click('#nav a[href="#/map"]');
  await page.waitForFunction(() => document.getElementById('map')?.dataset.loaded === '1', null, { timeout: 30000 });
  const t0 = Date.now();
  await page.evaluate((n) => window.__haihe.loadSyntheticVehicles(n), BENCH_N);
  await page.waitForFunction((n) => window.__haihe.layer.markers.size >= n, BENCH_N, { timeout: 120000 });
  // chunked loading: wait until the cluster group has taken all of them
  await page.waitForFunction((n) => window.__haihe.layer.group.getLayers().length >= n, BENCH_N, { timeout: 120000 });
  const loadMs = Date.now() - t0;
  await page.evaluate(() => window.__haihe.map.setView([39.13, 117.25], 10, { animate: false }));
  await page.waitForTimeout(500);
  await page.screenshot({ path: join(ART, 'map-20000.png') });
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    window.__frameRun = true;
    window.__phase = 'start';
    window.__long = [];
    const tick = (now) => { window.__frames.push(now - last); if (now - last > 100) window.__long.push([window.__phase, Math.round(now - last), window.__haihe.map.getZoom()]); last = now; if (window.__frameRun) requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
  const box = await page.locator('#map').boundingBox();
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  for (let round = 0; round < 3; round++) {
    await page.evaluate((p) => { window.__phase = p; }, `pan ${round}`);
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let i = 1; i <= 20; i++) await page.mouse.move(cx + i * 15, cy + i * 8);
    await page.mouse.up();
    for (let z = 0; z < 3; z++) { await page.evaluate((p) => { window.__phase = p; }, `zoom-in ${round}.${z}`); await page.mouse.wheel(0, -240); await page.waitForTimeout(350); }
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    for (let i = 1; i <= 20; i++) await page.mouse.move(cx - i * 15, cy - i * 8);
    await page.mouse.up();
    for (let z = 0; z < 3; z++) { await page.evaluate((p) => { window.__phase = p; }, `zoom-out ${round}.${z}`); await page.mouse.wheel(0, 240); await page.waitForTimeout(350); }
  }
  const frames = await page.evaluate(() => { window.__frameRun = false; return window.__frames.slice(1); });
  const longFrames = await page.evaluate(() => window.__long);
  // click → popup latency on a synthetic vehicle
  const clicks = [];
  for (let i = 0; i < 5; i++) {
    const v = `LBENCH${String(i * 997).padStart(11, '0')}`;
    const p = await page.evaluate((x) => window.__haihe.vehiclePoint(x), v);
    await page.waitForTimeout(300);
    await page.evaluate((x) => {
      window.__haihe.map.closePopup();
      window.__clickMs = null;
      let downAt = null;
      document.getElementById('map').addEventListener('pointerdown', () => { downAt = performance.now(); }, { once: true, capture: true });
      // popup open, then the next frame painted with it: the latency a person sees
      window.__haihe.map.once('popupopen', (e) => {
        if (!e.popup.getContent().includes(x)) return;
        requestAnimationFrame(() => { window.__clickMs = performance.now() - downAt; });
      });
    }, v);
    await page.mouse.click(p.x, p.y);
    const ms = await page.waitForFunction(() => window.__clickMs ?? false, null, { timeout: 10000 }).then((h) => h.jsonValue());
    clicks.push(ms);
  }
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(ART, 'map-20000-popup.png') });
  const perf = {
    vehicles: await page.evaluate(() => window.__haihe.layer.markers.size),
    load_ms: loadMs,
    frames: frames.length,
    frame_ms_p50: +quantile(frames, 0.5).toFixed(1),
    frame_ms_p95: +quantile(frames, 0.95).toFixed(1),
    frame_ms_max: +Math.max(...frames).toFixed(1),
    click_popup_ms_p50: +quantile(clicks, 0.5).toFixed(1),
    click_popup_ms_max: +Math.max(...clicks).toFixed(1),
    long_frames: longFrames, // [phase, ms, zoom] of every frame over 100 ms
  };
  console.log(JSON.stringify(perf));
  writeFileSync(join(ART, 'perf.json'), `${JSON.stringify(perf, null, 2)}\n`);
  check(perf.vehicles >= BENCH_N, `bench: ${BENCH_N} synthetic vehicles on the map`);
  check(outside.length === 0, `no request left 127.0.0.1 (${outside.slice(0, 3).join(', ')})`);
} catch (e) {
  console.log(`FAIL ${e.stack || e}`);
  for (const p of browser.contexts().flatMap((c) => c.pages())) {
    await p.screenshot({ path: join(ART, 'failure.png'), fullPage: true }).catch(() => {});
  }
  failed = true;
} finally {
  await browser.close();
}
console.log(failed ? 'dashboard test FAILED' : 'dashboard test passed');
process.exit(failed ? 1 : 0);
