/**
 * Human units for the status page. One text serves both sides: the server formats the first
 * render with it, and the page's script embeds the same text to format each live refresh, so the
 * two can never disagree. Hence plain ES2020 in a string, with no imports and no free names.
 */
export const FORMAT_SOURCE = String.raw`{
  int: function (v) { return typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : '—'; },
  text: function (v) { return v === null || v === undefined || v === '' ? '—' : String(v); },
  bytes: function (v) {
    if (typeof v !== 'number') return '—';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return (i === 0 ? String(v) : v < 10 ? v.toFixed(1) : String(Math.round(v))) + ' ' + units[i];
  },
  dur: function (v) {
    if (typeof v !== 'number') return '—';
    var s = Math.max(0, Math.floor(v)), d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    return d > 0 ? d + 'd ' + h + 'h' : h > 0 ? h + 'h ' + m + 'm' : m > 0 ? m + 'm ' + (s % 60) + 's' : s + 's';
  },
  ms: function (v) {
    if (typeof v !== 'number' || v === 0) return '—';
    if (v >= 1000) return (v / 1000 < 10 ? (v / 1000).toFixed(1) : String(Math.round(v / 1000))) + ' s';
    return (v < 10 ? v.toFixed(1) : String(Math.round(v))) + ' ms';
  },
  pct: function (v) {
    if (typeof v !== 'number' || !isFinite(v)) return '—';
    return v === 0 ? '0 %' : v < 0.001 ? '< 0.1 %' : (v * 100).toFixed(1) + ' %';
  },
  share: function (v) {
    if (!v || typeof v.errors5xx !== 'number') return '—';
    return v.errors5xx === 0 ? 'none' : (v.errors5xx * 100 / Math.max(1, v.responses)).toFixed(1) + ' %';
  },
  time: function (v, now) {
    if (typeof v !== 'string' || !v) return '—';
    var t = Date.parse(v), ago = Math.round((now - t) / 1000);
    var rel = ago >= 0 ? this.dur(ago) + ' ago' : 'in ' + this.dur(-ago);
    return rel + ' (' + new Date(t).toISOString().slice(0, 19).replace('T', ' ') + ' UTC)';
  },
  seen: function (v) {
    if (!v || typeof v !== 'object') return '—';
    var parts = [];
    for (var k in v) if (v[k] > 0) parts.push(v[k] + ' ' + k);
    return parts.length ? parts.join(', ') : '—';
  },
  state: function (v) {
    var labels = { ok: 'healthy', warn: 'degraded', bad: 'unhealthy' };
    return v === null || v === undefined ? '—' : labels[v] || String(v);
  }
}`;

/** The formatter names (`data-f` in the page). */
export type Format = 'int' | 'text' | 'bytes' | 'dur' | 'ms' | 'pct' | 'share' | 'time' | 'seen' | 'state';

/** Formatters as the page's script has them; `now` (epoch ms) is the report's time, for relative times. */
export const formatters = new Function(`return ${FORMAT_SOURCE};`)() as Record<Format, (value: unknown, now: number) => string>;
