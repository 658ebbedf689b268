import { escapeHtml } from '../../http/errorpage.js';

/**
 * The status report as a plain HTML page: objects as two-column tables, lists of objects as tables
 * with one row each. Every key and value goes through escapeHtml — cluster names, mount paths and
 * the mail agent's last error come from config and remote servers.
 */
export function statusPage(title: string, report: Record<string, unknown>): string {
  const body = Object.entries(report)
    .map(([k, v]) => `<h2>${escapeHtml(k)}</h2>\n${render(v)}`)
    .join('\n');
  return (
    `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>\n` +
    '<style>body{font:14px sans-serif;margin:1em 2em}table{border-collapse:collapse;margin:.2em 0}' +
    'td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}th{background:#f4f4f4}</style>\n' +
    `</head><body><h1>${escapeHtml(title)}</h1>\n${body}\n</body></html>\n`
  );
}

function render(value: unknown): string {
  if (value === null || value === undefined) return '<em>none</em>';
  if (Array.isArray(value)) {
    if (value.length === 0) return '<em>none</em>';
    if (value.every(isPlainObject)) return rows(value as Record<string, unknown>[]);
    return `<ol>${value.map((v) => `<li>${render(v)}</li>`).join('')}</ol>`;
  }
  if (isPlainObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0) return '<em>none</em>';
    return `<table>${entries.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${render(v)}</td></tr>`).join('')}</table>`;
  }
  return escapeHtml(String(value));
}

/** A list of objects: one column per key any of them has. */
function rows(items: Record<string, unknown>[]): string {
  const keys = [...new Set(items.flatMap((i) => Object.keys(i)))];
  const head = `<tr>${keys.map((k) => `<th>${escapeHtml(k)}</th>`).join('')}</tr>`;
  const body = items.map((i) => `<tr>${keys.map((k) => `<td>${render(i[k])}</td>`).join('')}</tr>`).join('');
  return `<table>${head}${body}</table>`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
