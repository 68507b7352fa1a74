// Decodes the Tianjin district outlines shipped by echarts@4.9.0 (map/json/province/tianjin.json,
// Apache-2.0; "UTF8Encoding" format: per ring, pairs of characters holding zigzag-encoded deltas
// from `encodeOffsets`, scaled by 1024) into plain GeoJSON: src/tianjin-districts.json.
//   node tools/decode-tianjin.mjs path/to/echarts-4.9.0/map/json/province/tianjin.json
import { readFileSync, writeFileSync } from 'node:fs';
const src = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const scale = src.UTF8Scale || 1024;
const unzig = (v) => (v >> 1) ^ -(v & 1);
function ring(str, offset) {
  let x = offset[0], y = offset[1];
  const out = [];
  for (let i = 0; i + 1 < str.length; i += 2) {
    x += unzig(str.charCodeAt(i) - 64);
    y += unzig(str.charCodeAt(i + 1) - 64);
    out.push([+(x / scale).toFixed(5), +(y / scale).toFixed(5)]);
  }
  if (out.length && (out[0][0] !== out.at(-1)[0] || out[0][1] !== out.at(-1)[1])) out.push(out[0]);
  return out;
}
const features = src.features.map((f) => {
  const g = f.geometry, off = g.encodeOffsets;
  const coordinates = g.type === 'Polygon'
    ? g.coordinates.map((r, i) => ring(r, off[i]))
    : g.coordinates.map((p, j) => p.map((r, i) => ring(r, off[j][i])));
  return { type: 'Feature', id: f.id, properties: { code: f.id, name: f.properties.name, cp: f.properties.cp },
    geometry: { type: g.type, coordinates } };
});
writeFileSync(new URL('../src/tianjin-districts.json', import.meta.url),
  JSON.stringify({ type: 'FeatureCollection', source: 'echarts@4.9.0 map/json/province/tianjin.json (decoded)', features }));
console.log(`${features.length} districts`);
