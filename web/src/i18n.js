// UI text in Chinese and English; `t(key)` looks the key up in the chosen language.
const TEXT = {
  zh: {
    title: '海河 · 城市车辆与充电监测', overview: '总览', map: '地图', alarms: '告警', charging: '充电',
    logout: '退出', login: '登录', token_prompt: '粘贴 API 令牌', token_bad: '令牌无效或服务器不可达',
    vehicles_online: '在线车辆', by_category: '按类别在线车辆', frames_s: '帧/秒', open_alarms: '未处理告警',
    by_level: '按级别未处理告警', chargers_status: '充电接口状态', kpi: '规划指标', category: '类别',
    registered: '登记', active: '活跃', ne_share: '新能源占比', target: '目标', chargers_built: '新建充电设施',
    progress: '完成度', level: '级别', vehicle: '车辆', state: '状态', kind: '类型', opened: '发生时间',
    detail: '详情', ack: '确认', acked: '已确认', comment: '备注', all: '全部', open: '未处理',
    closed: '已关闭', min_level: '最低级别', speed: '车速 km/h', soc: 'SOC %', voltage: '总电压 V', current: '总电流 A',
    cells: '单体电压 V', probes: '探针温度 °C', track: '轨迹', period: '时段', last_hour: '最近 1 小时',
    last_6h: '最近 6 小时', last_day: '最近 24 小时', latest: '最新状态', online: '在线', offline: '离线',
    charging_st: '充电中', alarm_st: '告警', stations: '充电站', connectors: '接口', sessions: '充电记录',
    utilisation: '利用率', station: '充电站', operator: '运营商', district: '区', power: '功率 kW',
    start: '开始', end: '结束', energy: '电量 kWh', reason: '结束原因', available: '空闲', occupied: '占用',
    faulted: '故障', unavailable: '不可用', unknown: '未知', unregistered: '未登记', live: '实时',
    no_data: '暂无数据', source: '来源', position: '位置', last_seen: '最后上报', chargers: '充电桩',
    vehicles: '车辆', bench: '压测', lang: 'English', private: '私家车', taxi: '出租车', bus: '公交车',
    sanitation: '环卫车', logistics: '物流车', postal: '邮政车', port: '港口车辆', rental: '租赁车',
    official: '公务车', other: '其他', heavy_truck: '重型货车', test: '测试', lg_moving: '行驶中', lg_stopped: '在线停驶',
    lg_charging: '充电中', lg_alarm: '告警', lg_offline: '离线', ack_prompt: '确认备注', ack_failed: '确认失败', reserved: '预约',
    total: '合计', alarm_new: '新告警', st_available: '空闲', st_occupied: '占用', st_charging: '充电中',
    st_reserved: '预约', st_faulted: '故障', st_unavailable: '不可用', st_unknown: '未知', st_offline: '离线',
    vehicle_status: '车辆状态', charging_status: '充电状态', alarm_level: '报警等级', cell_range: '单体电压 高/低 V',
    temp_range: '温度 高/低 °C', odometer: '里程 km',
  },
  en: {
    title: 'Haihe · city vehicle and charging monitor', overview: 'Overview', map: 'Map', alarms: 'Alarms',
    charging: 'Charging', logout: 'Log out', login: 'Log in', token_prompt: 'Paste an API token',
    token_bad: 'Token refused or server unreachable', vehicles_online: 'Vehicles online',
    by_category: 'Online vehicles by category', frames_s: 'frames/s', open_alarms: 'Open alarms',
    by_level: 'Open alarms by level', chargers_status: 'Connectors by status', kpi: 'Plan KPIs',
    category: 'Category', registered: 'Registered', active: 'Active', ne_share: 'NEV share', target: 'Target',
    chargers_built: 'New chargers', progress: 'Progress', level: 'Level', vehicle: 'Vehicle', state: 'State',
    kind: 'Kind', opened: 'Opened', detail: 'Detail', ack: 'Acknowledge', acked: 'Acknowledged',
    comment: 'Comment', all: 'All', open: 'Open', closed: 'Closed', min_level: 'Min level',
    speed: 'Speed km/h', soc: 'SOC %', voltage: 'Voltage V', current: 'Current A', cells: 'Cell voltages V',
    probes: 'Probe temperatures °C', track: 'Track', period: 'Period', last_hour: 'Last hour',
    last_6h: 'Last 6 hours', last_day: 'Last 24 hours', latest: 'Latest state', online: 'online',
    offline: 'offline', charging_st: 'charging', alarm_st: 'alarm', stations: 'Stations',
    connectors: 'Connectors', sessions: 'Charging sessions', utilisation: 'Utilisation', station: 'Station',
    operator: 'Operator', district: 'District', power: 'Power kW', start: 'Start', end: 'End',
    energy: 'Energy kWh', reason: 'Stop reason', available: 'available', occupied: 'charging',
    faulted: 'faulted', unavailable: 'unavailable', unknown: 'unknown', unregistered: 'unregistered',
    live: 'live', no_data: 'No data', source: 'Source', position: 'Position', last_seen: 'Last seen',
    chargers: 'Chargers', vehicles: 'Vehicles', bench: 'bench', lang: '中文', private: 'private', taxi: 'taxi',
    bus: 'bus', sanitation: 'sanitation', logistics: 'logistics', postal: 'postal', port: 'port',
    rental: 'rental', official: 'official', other: 'other', heavy_truck: 'heavy truck', test: 'test', lg_moving: 'moving', lg_stopped: 'online, stopped',
    lg_charging: 'charging', lg_alarm: 'alarm', lg_offline: 'offline', ack_prompt: 'Acknowledgement comment',
    ack_failed: 'Acknowledgement failed', reserved: 'reserved', total: 'Total', alarm_new: 'New alarm', st_available: 'available', st_occupied: 'occupied',
    st_charging: 'charging', st_reserved: 'reserved', st_faulted: 'faulted', st_unavailable: 'unavailable',
    st_unknown: 'unknown', st_offline: 'offline', vehicle_status: 'Vehicle status', charging_status: 'Charging status',
    alarm_level: 'Alarm level', cell_range: 'Cell max/min V', temp_range: 'Temp max/min °C', odometer: 'Odometer km',
  },
};

let lang = localStorage.getItem('haihe.lang')
  || ((navigator.language || 'zh').toLowerCase().startsWith('en') ? 'en' : 'zh');

export const getLang = () => lang;
export function setLang(l) {
  lang = l;
  localStorage.setItem('haihe.lang', l);
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
}
/** The text of `key` in the current language (the key itself when unknown). */
export const t = (key) => TEXT[lang][key] ?? TEXT.en[key] ?? key;
