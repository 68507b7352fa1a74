// Haihe dashboard: a one-page app with hash routes (#/overview, #/map, #/vehicle/VIN, #/alarms,
// #/charging), live updates from the server-sent event stream, never a reload.
import 'leaflet/dist/leaflet.css';
import 'leaflet.markercluster/dist/MarkerCluster.css';
import './style.css';
import L from 'leaflet';
import { api, qs, session, metricSum, openStream } from './api.js';
import { t, getLang, setLang } from './i18n.js';
// ECharts is loaded on the first page that draws a chart (its own chunk), keeping the first load small.
let chartsModule = null;
const loadCharts = () => (chartsModule ??= import('./charts.js'));
import { createMap, vehicleLayer, stationLayer, stationMarker, loadBasemapConfig, toLatLng, escapeHtml as h,
  vehicleState, COLORS } from './map.js';

const app = document.getElementById('app');
const nav = document.getElementById('nav');
const BENCH = new URLSearchParams(location.search).get('bench') === '1';

// ---- shared state -------------------------------------------------------------------------
/** vin → {vin, online, registry, state}: what the map and the popups show. */
const vehicles = new Map();
let view = null; // the current view: {dispose, onSample(list), onAlarm(notice), onConnector(c), onLagged}
let stream = null;
const pendingSamples = new Map();
let flushQueued = false;

function flushSamples() {
  flushQueued = false;
  if (!pendingSamples.size) return;
  const changed = [];
  for (const [vin, s] of pendingSamples) {
    let v = vehicles.get(vin);
    if (!v) { v = { vin, online: true, registry: null, state: s }; vehicles.set(vin, v); }
    v.online = true;
    v.last_seen = s.received_at;
    v.state = slim(s);
    changed.push(v);
  }
  pendingSamples.clear();
  view?.onSample?.(changed);
}

/** A vehicle state without the per-cell arrays (kept only on the detail page). */
function slim(s) {
  if (!s) return s;
  const { cell_voltages_v, probe_temps_c, motors, ...rest } = s;
  return rest;
}

function onStream(type, data) {
  if (type === 'sample' && data?.vin) {
    pendingSamples.set(data.vin, data);
    if (!flushQueued) { flushQueued = true; requestAnimationFrame(flushSamples); }
    view?.onRawSample?.(data);
  } else if (type === 'alarm' && data?.alarm) {
    view?.onAlarm?.(data);
    const v = vehicles.get(data.alarm.entity_id);
    if (v) v.alarm = data.alarm.state !== 'closed' && data.alarm.level >= 1;
  } else if (type === 'connector') {
    view?.onConnector?.(data);
  } else if (type === 'lagged') {
    view?.onLagged?.();
  }
  if (type === 'open' || type === 'error') {
    document.getElementById('live').className = type === 'open' ? 'live on' : 'live off';
  }
}

// ---- helpers --------------------------------------------------------------------------------
const fmtTime = (s) => (s ? new Date(s).toLocaleString(getLang() === 'zh' ? 'zh-CN' : 'en-GB', { hour12: false }) : '');
const num = (x, d = 1) => (x == null || Number.isNaN(x) ? '–' : Number(x).toFixed(d));
const pct = (x) => (x == null ? '–' : `${(x * 100).toFixed(1)} %`);
function el(html) {
  const d = document.createElement('div');
  d.innerHTML = html.trim();
  return d.firstElementChild;
}
function errorBox(e) {
  return `<div class="error">${h(e.message || e)}</div>`;
}
/** Sets the HTML of element `id` if it is still on the page (a late answer after navigating away). */
function put(id, html) {
  const e = document.getElementById(id);
  if (e) e.innerHTML = html;
}
function every(ms, fn) {
  fn();
  const id = setInterval(fn, ms);
  return () => clearInterval(id);
}
const statusText = (s) => (t(`st_${s}`) === `st_${s}` ? s : t(`st_${s}`));
const levelTag = (l) => `<span class="lvl lvl${l}">${l}</span>`;

// ---- login ---------------------------------------------------------------------------------
function loginView() {
  app.innerHTML = `<form class="login card" id="login"><h2>${t('login')}</h2>
    <input id="token" type="password" autocomplete="off" placeholder="${t('token_prompt')}" size="60">
    <button type="submit">${t('login')}</button><div id="login-msg"></div></form>`;
  document.getElementById('login').onsubmit = async (e) => {
    e.preventDefault();
    session.token = document.getElementById('token').value.trim();
    try {
      await api('/api/v1/vehicles?limit=1');
      startStream();
      location.hash = '#/overview';
    } catch {
      session.token = '';
      document.getElementById('login-msg').innerHTML = errorBox(t('token_bad'));
    }
  };
  return {};
}

// ---- overview ------------------------------------------------------------------------------
function overviewView() {
  app.innerHTML = `<div class="grid">
    <div class="card"><h3>${t('vehicles_online')}</h3><div class="big" id="ov-online">…</div><div id="ov-cats"></div></div>
    <div class="card"><h3>${t('frames_s')}</h3><div class="big" id="ov-fps">…</div><div class="sub" id="ov-fps-sub"></div></div>
    <div class="card"><h3>${t('open_alarms')}</h3><div class="big" id="ov-alarms">…</div><div id="ov-levels"></div></div>
    <div class="card"><h3>${t('chargers_status')}</h3><div class="big" id="ov-conn">…</div><div id="ov-conn-st"></div></div>
  </div>
  <div class="card"><h3>${t('kpi')}</h3><div id="ov-kpi">…</div></div>`;
  const $ = (id) => document.getElementById(id);
  let lastMetrics = null;
  let categories = ['private', 'taxi', 'bus', 'sanitation', 'logistics'];
  let closed = false;
  let alarmQueued = false;

  async function refresh() {
    try {
      const [all, metricsText] = await Promise.all([
        api('/api/v1/vehicles?online=true&limit=1'),
        fetch('/metrics', { headers: { Authorization: `Bearer ${session.token}` } }).then((r) => r.text()),
      ]);
      if (closed) return;
      const counts = await Promise.all(categories.map((c) => api(`/api/v1/vehicles?${qs({ online: true, category: c, limit: 1 })}`)
        .then((r) => r.total).catch(() => 0)));
      if (closed) return;
      const known = counts.reduce((a, b) => a + b, 0);
      $('ov-online').textContent = all.total;
      $('ov-online').dataset.value = all.total;
      const rows = categories.map((c, i) => [t(c), counts[i]]).filter(([, n]) => n > 0);
      if (all.total - known > 0) rows.push([t('unregistered'), all.total - known]);
      $('ov-cats').innerHTML = bars(rows, all.total, '#1a9e4b');
      const now = performance.now();
      const frames = metricSum(metricsText, 'haihe_frames_total');
      const ocpp = metricSum(metricsText, 'haihe_ocpp_calls_total');
      const tcec = metricSum(metricsText, 'haihe_tcec_accepted_total');
      const dt = lastMetrics ? (now - lastMetrics.at) / 1000 : 0;
      if (lastMetrics && dt >= 2) { // a rate over less than 2 s would be noise
        const fps = (frames - lastMetrics.frames) / dt;
        $('ov-fps').textContent = num(fps, 1);
        $('ov-fps').dataset.value = fps;
        $('ov-fps-sub').textContent = `OCPP ${num((ocpp - lastMetrics.ocpp) / dt, 1)}/s · T/CEC ${num((tcec - lastMetrics.tcec) / dt, 1)}/s`
          + ` · ${t('total')} ${frames}`;
      }
      if (!lastMetrics || dt >= 2) lastMetrics = { at: now, frames, ocpp, tcec };
    } catch (e) { put('ov-cats', errorBox(e)); }
    await refreshAlarms();
    await refreshConnectors();
  }
  async function refreshAlarms() {
    try {
      const lv = await Promise.all([1, 2, 3, 4].map((l) => api(`/api/v1/alarms?${qs({ state: 'open', min_level: l, limit: 1 })}`)
        .then((r) => r.total)));
      const acked = await api('/api/v1/alarms?state=acknowledged&limit=1').then((r) => r.total).catch(() => 0);
      if (closed) return;
      $('ov-alarms').textContent = lv[0];
      $('ov-alarms').dataset.value = lv[0];
      $('ov-levels').innerHTML = bars([4, 3, 2, 1].map((l) => [`${t('level')} ${l}`, lv[l - 1] - (lv[l] || 0)]), lv[0], COLORS.alarm)
        + `<div class="sub">${t('acked')}: ${acked}</div>`;
    } catch (e) { put('ov-levels', errorBox(e)); }
  }
  async function refreshConnectors() {
    try {
      const c = await api('/api/v1/connectors');
      if (closed) return;
      const by = {};
      for (const x of c.items) by[x.status] = (by[x.status] || 0) + 1;
      $('ov-conn').textContent = c.total;
      $('ov-conn').dataset.value = c.total;
      $('ov-conn-st').innerHTML = bars(Object.entries(by).sort((a, b) => b[1] - a[1]).map(([k, n]) => [statusText(k), n]), c.total, '#1b6ef3');
    } catch (e) { put('ov-conn-st', errorBox(e)); }
  }
  async function kpi() {
    try {
      const k = await api('/api/v1/kpi');
      if (closed) return;
      categories = k.fleet.map((f) => f.category);
      const rows = k.fleet.map((f) => `<tr><td>${t(f.category)}</td><td>${f.registered.total}</td><td>${pct(f.registered.share)}</td>
        <td>${f.active.total}</td><td>${pct(f.active.share)}</td>
        <td title="${h(f.target?.text || '')}">${f.target?.share != null ? `≥ ${pct(f.target.share)}` : (f.target ? 'ⓘ' : '–')}</td></tr>`).join('');
      const ch = k.charging;
      $('ov-kpi').innerHTML = `<table><thead><tr><th>${t('category')}</th><th>${t('registered')}</th><th>${t('ne_share')}</th>
        <th>${t('active')}</th><th>${t('ne_share')}</th><th>${t('target')}</th></tr></thead><tbody>${rows}</tbody></table>
        ${ch ? `<p><b>${t('chargers_built')}</b>: ${ch.commissioned_in_plan} / ${ch.target?.chargers ?? '–'}
          (${t('progress')} ${pct(ch.target?.progress)}) <span class="sub">${h(ch.target?.text || '')}</span></p>
          <div class="meter"><div style="width:${Math.min(100, (ch.target?.progress || 0) * 100)}%"></div></div>` : ''}`;
    } catch (e) { put('ov-kpi', errorBox(e)); }
  }
  const stop = every(5000, refresh);
  const stopKpi = every(60000, kpi);
  return {
    dispose() { closed = true; stop(); stopKpi(); },
    onAlarm() {
      if (alarmQueued) return;
      alarmQueued = true;
      setTimeout(() => { alarmQueued = false; if (!closed) refreshAlarms(); }, 500);
    },
  };
}

function bars(rows, total, color) {
  return `<table class="bars">${rows.map(([k, n]) => `<tr><td>${h(k)}</td><td class="n">${n}</td>
    <td class="bar"><div style="width:${total ? (100 * n) / total : 0}%;background:${color}"></div></td></tr>`).join('')}</table>`;
}

// ---- map -----------------------------------------------------------------------------------
function vehiclePopup(vin) {
  const v = vehicles.get(vin) || { vin, state: {} };
  const s = v.state || {};
  return `<div class="popup"><b>${h(vin)}</b> <span class="dot" style="background:${COLORS[vehicleState(v)]}"></span>
    ${t(v.online ? 'online' : 'offline')}<br>${t('category')}: ${h(t(v.registry?.category || 'unregistered'))}<br>
    ${t('speed')}: ${num(s.speed_kmh)} · ${t('soc')}: ${num(s.soc_pct, 0)}<br>${fmtTime(s.ts)}<br>
    <a class="to-detail" href="#/vehicle/${encodeURIComponent(vin)}">${t('detail')} →</a></div>`;
}

async function loadAllVehicles(onPage) {
  const limit = 10000;
  for (let offset = 0; ; offset += limit) {
    const page = await api(`/api/v1/vehicles?${qs({ limit, offset })}`);
    const list = page.items.map((v) => ({ vin: v.vin, online: v.online, last_seen: v.last_seen, registry: v.registry,
      state: slim(v.state) }));
    for (const v of list) vehicles.set(v.vin, v);
    onPage(list);
    if (offset + limit >= page.total || !page.items.length) break;
  }
}

function mapView() {
  app.innerHTML = `<div class="mapwrap"><div id="map"></div>
    <div class="legend card">${['moving', 'stopped', 'charging', 'alarm', 'offline'].map((k) =>
      `<div><span class="dot" style="background:${COLORS[k]}"></span>${t(`lg_${k}`)}</div>`).join('')}
      <div><span class="dot sq"></span>${t('stations')}</div><div id="map-count" class="sub"></div></div></div>`;
  const map = createMap(document.getElementById('map'));
  const layer = vehicleLayer(map, { onPopup: vehiclePopup });
  map.addLayer(layer.group);
  const stations = stationLayer(map);
  map.addLayer(stations);
  L.control.layers(null, { [t('vehicles')]: layer.group, [t('stations')]: stations }, { collapsed: true }).addTo(map);
  let closed = false;
  const count = () => { document.getElementById('map-count').textContent = `${t('vehicles')}: ${layer.markers.size}`; };
  loadAllVehicles((list) => { if (!closed) { layer.setMany(list); count(); } })
    .then(() => { const m = document.getElementById('map'); if (m && !closed) m.dataset.loaded = '1'; })
    .catch((e) => app.insertAdjacentHTML('afterbegin', errorBox(e)));
  (async () => {
    try {
      const [st, ch, co] = await Promise.all([api('/api/v1/stations'), api('/api/v1/chargers'), api('/api/v1/connectors')]);
      const eqToStation = new Map(ch.items.map((c) => [`${c.operator_id}/${c.equipment_id}`, c.station_id]));
      const counts = new Map();
      for (const c of co.items) {
        const sid = c.station_id || eqToStation.get(`${c.operator_id}/${c.equipment_id}`);
        const key = `${c.operator_id}/${sid}`;
        const m = counts.get(key) || {};
        const s = ['available', 'occupied', 'faulted'].includes(c.status) ? c.status : (c.status === 'charging' ? 'occupied' : 'unknown');
        m[s] = (m[s] || 0) + 1;
        counts.set(key, m);
      }
      if (closed) return;
      stations.addLayers(st.items.filter((s) => s.lon != null && s.lat != null)
        .map((s) => stationMarker(map, s, counts.get(`${s.operator_id}/${s.station_id}`) || {})));
    } catch (e) { /* stations are optional on the map */ }
  })();
  if (BENCH) {
    window.__haihe.map = map;
    window.__haihe.layer = layer;
  }
  return {
    dispose() { closed = true; map.remove(); },
    onSample(list) { layer.setMany(list); count(); },
  };
}

// ---- vehicle detail -------------------------------------------------------------------------
function vehicleView(vin) {
  const periods = { last_hour: 3600, last_6h: 6 * 3600, last_day: 86400 };
  app.innerHTML = `<div class="card"><h2>${t('vehicle')} ${h(vin)} <span id="vd-online"></span></h2>
    <label>${t('period')} <select id="vd-period">${Object.keys(periods).map((k) => `<option value="${k}">${t(k)}</option>`).join('')}</select></label>
    <div id="vd-latest" class="kv"></div></div>
    <div class="grid2">
      <div class="card chart" id="ch-speed"></div><div class="card chart" id="ch-soc"></div>
      <div class="card chart" id="ch-volt"></div><div class="card chart" id="ch-curr"></div>
      <div class="card chart" id="ch-cells"></div><div class="card chart" id="ch-probes"></div>
      <div class="card"><h3>${t('track')}</h3><div id="vd-track" class="smallmap"></div></div>
      <div class="card"><h3>${t('alarms')}</h3><div id="vd-alarms"></div></div>
    </div>`;
  const $ = (id) => document.getElementById(id);
  const charts = {};
  let ready = false;
  const track = createMap($('vd-track'), { small: true });
  let trackLine = null;
  let samples = [];
  let closed = false;
  const onResize = () => chartsModule && Object.values(charts).forEach((c) => c.resize());
  window.addEventListener('resize', onResize);
  loadCharts().then(({ chart, lineOption, barOption }) => {
    if (closed) return;
    Object.assign(charts, {
    speed: chart($('ch-speed'), lineOption(t('speed'), [], '#1a9e4b')),
    soc: chart($('ch-soc'), lineOption(t('soc'), [], '#1b6ef3')),
    volt: chart($('ch-volt'), lineOption(t('voltage'), [], '#e07a00')),
    curr: chart($('ch-curr'), lineOption(t('current'), [], '#7b3fe4')),
    cells: chart($('ch-cells'), barOption(t('cells'), [], [], '#1b6ef3')),
    probes: chart($('ch-probes'), barOption(t('probes'), [], [], '#e07a00')),
    });
    ready = true;
    load();
  });

  function showLatest(s, online) {
    if (!ready) return;
    if (!s) { $('vd-latest').innerHTML = t('no_data'); return; }
    $('vd-online').innerHTML = `<span class="dot" style="background:${COLORS[vehicleState({ online, state: s })]}"></span>`;
    const kv = [[t('last_seen'), fmtTime(s.ts)], [t('source'), s.source], [t('speed'), num(s.speed_kmh)], [t('soc'), num(s.soc_pct, 0)],
      [t('voltage'), num(s.total_voltage_v)], [t('current'), num(s.total_current_a)], [t('position'), `${num(s.lon, 5)}, ${num(s.lat, 5)}`],
      [t('vehicle_status'), s.vehicle_status], [t('charging_status'), s.charging_status], [t('alarm_level'), s.alarm_level],
      [t('cell_range'), `${num(s.max_cell_voltage_v, 3)} / ${num(s.min_cell_voltage_v, 3)}`],
      [t('temp_range'), `${num(s.max_temp_c, 0)} / ${num(s.min_temp_c, 0)}`], [t('odometer'), num(s.odometer_km)]];
    $('vd-latest').innerHTML = kv.map(([k, v]) => `<div><span>${h(k)}</span><b>${h(v ?? '–')}</b></div>`).join('');
    if (s.cell_voltages_v?.length) {
      charts.cells.setOption({ xAxis: { data: s.cell_voltages_v.map((_, i) => i + 1) }, series: [{ data: s.cell_voltages_v }] });
    }
    if (s.probe_temps_c?.length) {
      charts.probes.setOption({ xAxis: { data: s.probe_temps_c.map((_, i) => i + 1) }, series: [{ data: s.probe_temps_c }] });
    }
  }
  function drawSeries() {
    const pts = (f) => samples.filter((s) => s[f] != null).map((s) => [s.ts, s[f]]);
    charts.speed.setOption({ series: [{ data: pts('speed_kmh') }] });
    charts.soc.setOption({ series: [{ data: pts('soc_pct') }] });
    charts.volt.setOption({ series: [{ data: pts('total_voltage_v') }] });
    charts.curr.setOption({ series: [{ data: pts('total_current_a') }] });
    $('ch-speed').dataset.points = samples.length;
  }
  async function load() {
    const secs = periods[$('vd-period').value];
    const to = new Date();
    const from = new Date(to - secs * 1000);
    const range = { from: from.toISOString(), to: to.toISOString() };
    try {
      const [v, smp, tr, al] = await Promise.all([
        api(`/api/v1/vehicles/${encodeURIComponent(vin)}`),
        api(`/api/v1/vehicles/${encodeURIComponent(vin)}/samples?${qs({ ...range, limit: 20000 })}`),
        api(`/api/v1/vehicles/${encodeURIComponent(vin)}/track?${qs(range)}`),
        api(`/api/v1/alarms?${qs({ entity: vin, limit: 50 })}`),
      ]);
      if (closed) return;
      showLatest(v.state, v.online);
      samples = (Array.isArray(smp) ? smp : smp.items || []).map(slim);
      drawSeries();
      if (trackLine) trackLine.remove();
      const coords = (tr.geometry?.coordinates || []).map(([lo, la]) => toLatLng(lo, la));
      if (coords.length) {
        L.circleMarker(coords.at(-1), { renderer: track.renderer, radius: 6, color: '#fff', weight: 2, fillColor: '#d7263d', fillOpacity: 1 }).addTo(track);
        trackLine = L.polyline(coords, { color: '#d7263d', weight: 3 }).addTo(track);
        track.fitBounds(trackLine.getBounds(), { maxZoom: 15, padding: [10, 10] });
      }
      $('vd-alarms').innerHTML = alarmTable(al.items, false);
    } catch (e) { put('vd-latest', errorBox(e)); }
  }
  $('vd-period').onchange = load;
  return {
    dispose() { closed = true; window.removeEventListener('resize', onResize); for (const c of Object.values(charts)) c.dispose(); track.remove(); },
    onRawSample(s) {
      if (s.vin !== vin || closed || !ready) return;
      showLatest(s, true);
      samples.push(slim(s));
      drawSeries();
      if (trackLine && s.lon != null) trackLine.addLatLng(toLatLng(s.lon, s.lat));
    },
    onAlarm(n) { if (n.alarm.entity_id === vin) load(); },
  };
}

// ---- alarms --------------------------------------------------------------------------------
function alarmRow(a, withAck) {
  return `<tr data-id="${a.alarm_id}" class="st-${h(a.state)}"><td>${a.alarm_id}</td><td>${levelTag(a.level)}</td>
    <td><a href="#/vehicle/${encodeURIComponent(a.entity_id)}">${h(a.entity_id)}</a></td><td>${h(a.kind)}</td>
    <td class="state">${h(t(a.state === 'acknowledged' ? 'acked' : a.state))}</td><td>${fmtTime(a.opened_at)}</td>
    <td class="detail">${h(a.detail || '')}${a.ack_comment ? `<div class="sub">${h(a.acked_by || '')}: ${h(a.ack_comment)}</div>` : ''}</td>
    ${withAck ? `<td>${a.state === 'open' ? `<button class="ack" data-id="${a.alarm_id}">${t('ack')}</button>` : ''}</td>` : ''}</tr>`;
}
function alarmTable(items, withAck) {
  if (!items.length) return `<div class="sub">${t('no_data')}</div>`;
  return `<table class="alarms"><thead><tr><th>#</th><th>${t('level')}</th><th>${t('vehicle')}</th><th>${t('kind')}</th>
    <th>${t('state')}</th><th>${t('opened')}</th><th>${t('detail')}</th>${withAck ? '<th></th>' : ''}</tr></thead>
    <tbody>${items.map((a) => alarmRow(a, withAck)).join('')}</tbody></table>`;
}

function alarmsView() {
  app.innerHTML = `<div class="card"><div class="filters">
    <label>${t('state')} <select id="al-state"><option value="">${t('all')}</option><option value="open" selected>${t('open')}</option>
      <option value="acknowledged">${t('acked')}</option><option value="closed">${t('closed')}</option></select></label>
    <label>${t('min_level')} <select id="al-level">${[1, 2, 3, 4].map((l) => `<option>${l}</option>`).join('')}</select></label>
    <label>${t('comment')} <input id="al-comment" value="${h(t('acked'))}"></label>
    <span id="al-total" class="sub"></span></div><div id="al-table"></div></div>`;
  const $ = (id) => document.getElementById(id);
  let items = [];
  let closed = false;
  const matches = (a) => (!$('al-state').value || a.state === $('al-state').value) && a.level >= Number($('al-level').value);
  function render() {
    $('al-table').innerHTML = alarmTable(items, true);
    $('al-total').textContent = `${t('total')}: ${items.length}`;
  }
  async function load() {
    try {
      const r = await api(`/api/v1/alarms?${qs({ state: $('al-state').value, min_level: $('al-level').value, limit: 500 })}`);
      if (closed) return;
      items = r.items;
      render();
    } catch (e) { put('al-table', errorBox(e)); }
  }
  $('al-state').onchange = load;
  $('al-level').onchange = load;
  $('al-table').onclick = async (e) => {
    const b = e.target.closest('button.ack');
    if (!b) return;
    b.disabled = true;
    try {
      const a = await api(`/api/v1/alarms/${b.dataset.id}/ack`, { method: 'POST', body: { comment: $('al-comment').value } });
      const updated = a?.alarm || a;
      const i = items.findIndex((x) => String(x.alarm_id) === b.dataset.id);
      if (i >= 0 && updated?.alarm_id != null) items[i] = updated; else if (i >= 0) items[i].state = 'acknowledged';
      // the row stays (now acknowledged) until the filter is applied again
      render();
    } catch (err) {
      b.disabled = false;
      b.insertAdjacentHTML('afterend', errorBox(`${t('ack_failed')}: ${err.message}`));
    }
  };
  load();
  return {
    dispose() { closed = true; },
    onAlarm(n) {
      const a = n.alarm;
      const i = items.findIndex((x) => x.alarm_id === a.alarm_id);
      if (i >= 0) items[i] = a; // a listed alarm changes in place (acknowledged, closed)
      else if (matches(a)) items.unshift(a);
      render();
      const row = $('al-table').querySelector(`tr[data-id="${a.alarm_id}"]`);
      if (row && n.change === 'opened') row.classList.add('fresh');
    },
    onLagged: load,
  };
}

// ---- charging ------------------------------------------------------------------------------
function chargingView() {
  app.innerHTML = `<div class="grid2">
    <div class="card chart" id="cg-status"></div><div class="card chart" id="cg-util"></div></div>
    <div class="card"><h3>${t('stations')}</h3><div id="cg-stations">…</div></div>
    <div class="card"><h3>${t('sessions')}</h3><div id="cg-sessions">…</div></div>`;
  const $ = (id) => document.getElementById(id);
  let statusChart = null;
  let utilChart = null;
  let closed = false;
  let pending = false;
  async function load() {
    try {
      if (!statusChart) {
        const { chart, barOption } = await loadCharts();
        if (closed) return;
        statusChart = chart($('cg-status'), barOption(t('chargers_status'), [], [], '#1b6ef3', 0));
        utilChart = chart($('cg-util'), { ...barOption(`${t('utilisation')} % (24 h)`, [], [], '#1a9e4b', 0),
          grid: { left: 48, right: 16, top: 36, bottom: 80 } });
      }
      const [st, ch, co, stats, ss] = await Promise.all([api('/api/v1/stations'), api('/api/v1/chargers'), api('/api/v1/connectors'),
        api('/api/v1/charging/stats?by=station'), api('/api/v1/charging-sessions')]);
      if (closed) return;
      const eqToStation = new Map(ch.items.map((c) => [`${c.operator_id}/${c.equipment_id}`, c.station_id]));
      const statuses = ['available', 'occupied', 'charging', 'reserved', 'faulted', 'unavailable', 'unknown'];
      const perStation = new Map();
      const total = {};
      for (const c of co.items) {
        const key = `${c.operator_id}/${c.station_id || eqToStation.get(`${c.operator_id}/${c.equipment_id}`) || ''}`;
        const m = perStation.get(key) || {};
        m[c.status] = (m[c.status] || 0) + 1;
        perStation.set(key, m);
        total[c.status] = (total[c.status] || 0) + 1;
      }
      const used = statuses.filter((s) => total[s]).concat(Object.keys(total).filter((s) => !statuses.includes(s)));
      statusChart.setOption({ xAxis: { data: used.map(statusText) }, series: [{ data: used.map((s) => total[s]) }] });
      const groups = stats.groups.filter((g) => g.utilisation != null);
      utilChart.setOption({ xAxis: { data: groups.map((g) => g.name || g.key.replace(/\/$/, '')), axisLabel: { rotate: 30, fontSize: 10 } },
        series: [{ data: groups.map((g) => +(g.utilisation * 100).toFixed(1)) }] });
      const stRows = [...st.items.map((s) => ({ key: `${s.operator_id}/${s.station_id}`, name: s.name, op: s.operator_id, id: s.station_id,
        district: s.district, n: s.connectors, kw: s.rated_power_kw }))];
      for (const k of perStation.keys()) {
        if (!stRows.some((r) => r.key === k)) {
          const [op, id] = k.split('/');
          stRows.push({ key: k, name: id || op, op, id, district: '', n: null, kw: null });
        }
      }
      $('cg-stations').innerHTML = `<table><thead><tr><th>${t('station')}</th><th>${t('operator')}</th><th>${t('district')}</th>
        <th>${t('connectors')}</th><th>${t('power')}</th>${used.map((s) => `<th>${statusText(s)}</th>`).join('')}</tr></thead><tbody>
        ${stRows.map((r) => { const m = perStation.get(r.key) || {}; return `<tr><td>${h(r.name)}</td><td>${h(r.op)}</td><td>${h(r.district)}</td>
          <td>${r.n ?? Object.values(m).reduce((a, b) => a + b, 0)}</td><td>${num(r.kw, 0)}</td>${used.map((s) => `<td class="n">${m[s] || ''}</td>`).join('')}</tr>`; }).join('')}
        </tbody></table>`;
      const sessions = ss.items.slice().sort((a, b) => (b.start_ts || '').localeCompare(a.start_ts || '')).slice(0, 100);
      $('cg-sessions').innerHTML = `<div class="sub">${t('total')}: ${ss.total}</div><table><thead><tr><th>${t('operator')}</th><th>${t('station')}</th>
        <th>${t('chargers')}</th><th>${t('connectors')}</th><th>${t('start')}</th><th>${t('end')}</th><th>${t('energy')}</th><th>${t('reason')}</th></tr></thead>
        <tbody>${sessions.map((s) => `<tr><td>${h(s.operator_id)}</td><td>${h(s.station_id)}</td><td>${h(s.equipment_id)}</td><td>${h(s.connector_id)}</td>
          <td>${fmtTime(s.start_ts)}</td><td>${fmtTime(s.end_ts)}</td><td class="n">${num(s.energy_kwh, 2)}</td><td>${h(s.stop_reason || '')}</td></tr>`).join('')}</tbody></table>`;
    } catch (e) { put('cg-stations', errorBox(e)); }
  }
  const stop = every(10000, load);
  return {
    dispose() { closed = true; stop(); statusChart?.dispose(); utilChart?.dispose(); },
    onConnector() {
      if (pending) return;
      pending = true;
      setTimeout(() => { pending = false; if (!closed) load(); }, 2000);
    },
  };
}

// ---- router --------------------------------------------------------------------------------
function route() {
  const hash = location.hash || '#/overview';
  if (hash.startsWith('#token=')) {
    session.token = decodeURIComponent(hash.slice(7));
    history.replaceState(null, '', `${location.pathname}${location.search}#/overview`);
    startStream();
    return route();
  }
  view?.dispose?.();
  view = null;
  app.innerHTML = '';
  if (!session.token) { view = loginView(); renderNav(''); return; }
  const [, name, arg] = hash.match(/^#\/([a-z]+)\/?(.*)$/) || [, 'overview', ''];
  renderNav(name);
  const views = { overview: overviewView, map: mapView, vehicle: () => vehicleView(decodeURIComponent(arg)), alarms: alarmsView, charging: chargingView };
  view = (views[name] || overviewView)();
  document.body.dataset.view = name;
}

function renderNav(active) {
  nav.innerHTML = `<b class="brand">${t('title')}</b>${session.token ? ['overview', 'map', 'alarms', 'charging']
    .map((k) => `<a href="#/${k}" class="${k === active ? 'active' : ''}">${t(k)}</a>`).join('') : ''}
    <span class="spacer"></span><span id="live" class="live ${stream?.readyState === 1 ? 'on' : 'off'}">● ${t('live')}</span>
    <button id="lang">${t('lang')}</button>${session.token ? `<button id="logout">${t('logout')}</button>` : ''}`;
  document.getElementById('lang').onclick = () => { setLang(getLang() === 'zh' ? 'en' : 'zh'); route(); };
  const lo = document.getElementById('logout');
  if (lo) lo.onclick = () => { session.token = ''; stream?.close(); stream = null; location.hash = '#/login'; };
}

function startStream() {
  if (stream || !session.token) return;
  stream = openStream(onStream);
}

window.addEventListener('haihe:unauthorized', () => {
  session.token = '';
  stream?.close();
  stream = null;
  if (location.hash !== '#/login') location.hash = '#/login';
});
window.addEventListener('hashchange', route);

if (BENCH) {
  // Test hooks, present only with ?bench=1: synthetic vehicles for the 20 000-vehicle measurement,
  // and the pixel position of a vehicle so a test can click it like a person would.
  window.__haihe = {
    vehicles,
    loadSyntheticVehicles(n, seed = 7) {
      let x = seed >>> 0; // mulberry32: a small PRNG so that runs are repeatable
      const rnd = () => {
        x = (x + 0x6d2b79f5) >>> 0;
        let z = Math.imul(x ^ (x >>> 15), 1 | x);
        z = (z + Math.imul(z ^ (z >>> 7), 61 | z)) ^ z;
        return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
      };
      const list = [];
      for (let i = 0; i < n; i++) {
        const vin = `LBENCH${String(i).padStart(11, '0')}`;
        const r = rnd();
        const v = { vin, online: r > 0.1, registry: null, state: { vin, lon: 116.95 + rnd() * 0.75, lat: 38.85 + rnd() * 0.55,
          speed_kmh: r > 0.5 ? rnd() * 60 : 0, soc_pct: rnd() * 100, alarm_level: r < 0.02 ? 3 : 0,
          charging_status: r > 0.9 ? 'parked_charging' : 'not_charging', ts: new Date().toISOString() } };
        vehicles.set(vin, v);
        list.push(v);
      }
      window.__haihe.layer.setMany(list);
      return list.length;
    },
    /** Zooms the map to the vehicle (unclustered) and returns its pixel in the page, or null. */
    vehiclePoint(vin, zoom = 17) {
      const m = window.__haihe.layer.markers.get(vin);
      if (!m) return null;
      const map = window.__haihe.map;
      map.setView(m.getLatLng(), zoom, { animate: false });
      const p = map.latLngToContainerPoint(m.getLatLng());
      const r = map.getContainer().getBoundingClientRect();
      return { x: r.left + p.x, y: r.top + p.y };
    },
  };
}

setLang(getLang());
loadBasemapConfig().then(() => { startStream(); route(); });
