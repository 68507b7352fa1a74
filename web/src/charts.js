// ECharts with only the pieces the dashboard draws (line and bar charts, canvas renderer).
import * as echarts from 'echarts/core';
import { LineChart, BarChart } from 'echarts/charts';
import { GridComponent, TooltipComponent, TitleComponent, DataZoomComponent, LegendComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';

echarts.use([LineChart, BarChart, GridComponent, TooltipComponent, TitleComponent, DataZoomComponent, LegendComponent,
  CanvasRenderer]);

/** A chart in `el`, resized with the window; `dispose()` when the view goes away. */
export function chart(el, option) {
  const c = echarts.init(el, null, { renderer: 'canvas' });
  c.setOption({ animation: false, grid: { left: 48, right: 16, top: 36, bottom: 28 }, tooltip: { trigger: 'axis' },
    ...option });
  return c;
}

export function lineOption(title, points, color) {
  return {
    title: { text: title, textStyle: { fontSize: 13 } },
    xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
    yAxis: { type: 'value', scale: true },
    series: [{ type: 'line', showSymbol: false, data: points, lineStyle: { width: 1.5, color }, itemStyle: { color } }],
  };
}

export function barOption(title, labels, values, color, yMin) {
  return {
    title: { text: title, textStyle: { fontSize: 13 } },
    xAxis: { type: 'category', data: labels },
    yAxis: { type: 'value', scale: yMin == null, min: yMin },
    series: [{ type: 'bar', data: values, itemStyle: { color }, barMaxWidth: 24 }],
  };
}
