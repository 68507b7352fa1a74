// The Leaflet maps: Tianjin district outlines (bundled) or an operator-configured tile layer,
// vehicles and charging stations as canvas circles in marker clusters, positions in WGS-84
// converted to GCJ-02 when the basemap says so.
import L from 'leaflet';
import 'leaflet.markercluster';
import districts from './tianjin-districts.json';
import { wgs84ToGcj02 } from './gcj02.js';
import { t } from './i18n.js';

/** Basemap settings: `config.json` next to index.html, overridden by `?tiles=URL&gcj02=1`. */
export const basemap = { tiles: null, attribution: '', gcj02: false, maxZoom: 18 };
export async function loadBasemapConfig() {
  try {
    const r = await fetch('config.json', { cache: 'no-store' });
    if (r.ok) Object.assign(basemap, await r.json());
  } catch { /* no config.json: bundled outlines */ }
  const q = new URLSearchParams(location.search);
  if (q.get('tiles')) basemap.tiles = q.get('tiles');
  if (q.has('gcj02')) basemap.gcj02 = q.get('gcj02') !== '0';
}

/** A vehicle or station position as a Leaflet LatLng in the basemap's datum. */
export function toLatLng(lon, lat) {
  if (basemap.gcj02) [lon, lat] = wgs84ToGcj02(lon, lat);
  return L.latLng(lat, lon);
}

export const COLORS = { alarm: '#d7263d', charging: '#1b6ef3', moving: '#1a9e4b', stopped: '#7fb800',
  offline: '#9aa0a6', available: '#1a9e4b', occupied: '#1b6ef3', faulted: '#d7263d', unknown: '#9aa0a6' };

/** The state a vehicle is drawn in. */
export function vehicleState(v) {
  if (!v.online) return 'offline';
  const s = v.state || {};
  if ((s.alarm_level || 0) >= 1 || v.alarm) return 'alarm';
  if (s.charging_status && /charging$/.test(s.charging_status) && s.charging_status !== 'not_charging') return 'charging';
  return (s.speed_kmh || 0) > 0.5 ? 'moving' : 'stopped';
}

export function createMap(el, { small = false } = {}) {
  const renderer = L.canvas({ padding: 0.3 });
  const map = L.map(el, { preferCanvas: true, renderer, zoomControl: !small, attributionControl: !!basemap.tiles,
    maxZoom: basemap.maxZoom, minZoom: 7 });
  if (basemap.tiles) {
    L.tileLayer(basemap.tiles, { attribution: basemap.attribution, maxZoom: basemap.maxZoom }).addTo(map);
  } else {
    el.classList.add('no-tiles');
    L.geoJSON(districts, {
      renderer,
      interactive: false,
      style: { color: '#5b7083', weight: 1, fillColor: '#eef3f7', fillOpacity: 1 },
    }).addTo(map);
    if (!small) {
      for (const f of districts.features) {
        const [lon, lat] = f.properties.cp;
        L.marker([lat, lon], { interactive: false, keyboard: false,
          icon: L.divIcon({ className: 'district-label', html: f.properties.name, iconSize: null }) }).addTo(map);
      }
    }
  }
  map.setView([39.13, 117.25], small ? 11 : 10);
  map.renderer = renderer;
  return map;
}

function clusterIcon(kind) {
  return (cluster) => {
    const n = cluster.getChildCount();
    let worst = 'ok';
    // The worst state among at most a few hundred children decides the colour (bounded work).
    const kids = n <= 400 ? cluster.getAllChildMarkers() : null;
    if (kids) {
      for (const m of kids) {
        if (m.options.fillColor === COLORS.alarm || m.options.fillColor === COLORS.faulted) { worst = 'alarm'; break; }
      }
    }
    const size = n < 100 ? 30 : n < 1000 ? 38 : 46;
    return L.divIcon({ html: `<span>${n}</span>`, className: `cluster cluster-${kind} cluster-${worst}`,
      iconSize: L.point(size, size) });
  };
}

/**
 * The vehicle layer: `set(v)` adds or moves one vehicle (object with vin, online, state{lon,lat,...}),
 * `popup(vin)` opens its popup. Markers are canvas circles; clustering keeps the drawn count small.
 */
export function vehicleLayer(map, { onPopup } = {}) {
  const group = L.markerClusterGroup({ chunkedLoading: true, chunkInterval: 100, disableClusteringAtZoom: 17,
    showCoverageOnHover: false, spiderfyOnMaxZoom: false, removeOutsideVisibleBounds: true,
    maxClusterRadius: 60, iconCreateFunction: clusterIcon('vehicle') });
  const markers = new Map();
  function style(v) {
    const c = COLORS[vehicleState(v)];
    return { radius: 6, color: '#ffffff', weight: 1, fillColor: c, fillOpacity: 0.95 };
  }
  function make(v, ll) {
    const m = L.circleMarker(ll, { renderer: map.renderer, ...style(v) });
    m.vin = v.vin;
    m.on('click', () => {
      m.bindPopup(onPopup(m.vin), { autoPan: false }).openPopup();
      m.unbindPopup();
    });
    return m;
  }
  return {
    group,
    markers,
    /** Adds or updates many vehicles at once (the batched path of the live stream). */
    setMany(list) {
      const fresh = [];
      for (const v of list) {
        const s = v.state;
        if (!s || s.lon == null || s.lat == null || !s.position_valid && s.position_valid !== undefined) continue;
        const ll = toLatLng(s.lon, s.lat);
        const m = markers.get(v.vin);
        if (!m) {
          const nm = make(v, ll);
          markers.set(v.vin, nm);
          fresh.push(nm);
        } else {
          const st = style(v);
          if (m.options.fillColor !== st.fillColor) m.setStyle(st);
          const old = m.getLatLng();
          if (old.lat !== ll.lat || old.lng !== ll.lng) m.setLatLng(ll);
        }
      }
      if (fresh.length) group.addLayers(fresh);
    },
    clear() {
      group.clearLayers();
      markers.clear();
    },
  };
}

export function stationLayer(map) {
  return L.markerClusterGroup({ disableClusteringAtZoom: 14, showCoverageOnHover: false, maxClusterRadius: 40,
    iconCreateFunction: clusterIcon('station') });
}

export function stationMarker(map, st, counts) {
  const worst = counts.faulted ? 'faulted' : counts.occupied ? 'occupied' : counts.available ? 'available' : 'unknown';
  const m = L.circleMarker(toLatLng(st.lon, st.lat), { renderer: map.renderer, radius: 9, weight: 3,
    color: '#222', fillColor: COLORS[worst], fillOpacity: 0.9 });
  const line = Object.entries(counts).map(([k, n]) => `${t(`st_${k}`)} ${n}`).join(' · ');
  m.bindPopup(`<b>${escapeHtml(st.name || st.station_id)}</b><br>${escapeHtml(st.operator_id)} / ${escapeHtml(st.station_id)}`
    + `<br>${t('connectors')}: ${st.connectors ?? ''} ${line ? `(${line})` : ''}`);
  return m;
}

export function escapeHtml(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}
