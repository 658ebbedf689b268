/**
 * The status page's style and script, constant texts so the Content-Security-Policy can name them
 * by hash: the page runs nothing else (no external asset, no inline handler, no eval in the
 * browser), and fetches only its own JSON.
 */
import { createHash } from 'node:crypto';
import { FORMAT_SOURCE } from './format.js';

export const PAGE_STYLE = [
  'body{font:14px/1.4 system-ui,sans-serif;margin:0 auto;padding:12px 20px;color:#1d2330;background:#f6f7f9;max-width:1280px;box-sizing:border-box}',
  'header{display:flex;justify-content:space-between;align-items:center;gap:12px;flex-wrap:wrap}h1{font-size:20px;margin:0}',
  'h2{font-size:16px;margin:20px 0 6px}h3{font-size:14px;margin:12px 0 4px;overflow-wrap:anywhere}a{color:#1a55b0}',
  '.banner{display:flex;gap:12px;align-items:flex-start;margin:10px 0;padding:8px 12px;background:#fff;border:1px solid #dde1e7;border-radius:6px}',
  '.banner>.st{font-size:16px;padding:2px 10px}.problems{margin:0;padding-left:18px}.lv-bad{color:#9b1c14}.lv-warn{color:#7a4b00}',
  '.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:8px}',
  '.card{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:6px 10px;min-width:0;overflow-wrap:anywhere}',
  '.card h3{margin:0 0 2px;font-size:13px;color:#5a6272}.big{font-size:20px;font-weight:600}',
  'table{border-collapse:collapse;background:#fff;width:100%}table.narrow{width:auto;min-width:50%}td,th{border-bottom:1px solid #e4e7ec;padding:3px 6px;text-align:right}',
  'th{background:#eef0f3;font-weight:600;font-size:12px}td:first-child,th:first-child{text-align:left;overflow-wrap:anywhere}',
  '.st{display:inline-block;padding:0 6px;border-radius:3px;font-weight:600;font-size:12px;white-space:nowrap}',
  '.st-ok,.st-healthy,.st-closed,.st-serving,.st-running,.st-live{background:#d4f0dc;color:#11612f}',
  '.st-warn,.st-ejected,.st-half-open,.st-draining,.st-starting,.st-reloading{background:#fdeac4;color:#7a4b00}',
  '.st-bad,.st-down,.st-open,.st-no-answer,.st-stopping,.st-failed{background:#fbd6d3;color:#9b1c14}',
  '.st-idle{background:#e4e7ec;color:#3b4250}small,.muted{color:#5a6272}',
].join('');

/** Every `data-refresh` seconds: fetch `?format=json` and update the `data-k`, `data-s` and `data-list` elements in place. */
export const PAGE_SCRIPT = `(function () {
  'use strict';
  var F = ${FORMAT_SOURCE};
  var main = document.querySelector('main'), live = document.getElementById('live');
  var every = Number(main.getAttribute('data-refresh')) * 1000;
  if (!(every > 0)) return;
  var url = new URL(location.href);
  url.username = ''; url.password = ''; url.hash = '';
  url.searchParams.set('format', 'json');
  var refreshes = 0;
  function get(o, path) {
    return path.split('.').reduce(function (v, k) { return v === null || v === undefined ? undefined : v[k]; }, o);
  }
  function apply(d) {
    var now = Date.parse(d.generatedAt);
    main.querySelectorAll('[data-k]').forEach(function (el) {
      var t = F[el.getAttribute('data-f')](get(d, el.getAttribute('data-k')), now);
      if (el.textContent !== t) el.textContent = t;
    });
    main.querySelectorAll('[data-s]').forEach(function (el) {
      var s = String(get(d, el.getAttribute('data-s')));
      el.className = 'st st-' + s.replace(/[^a-z0-9]+/gi, '-');
      el.textContent = F.state(s);
    });
    main.querySelectorAll('[data-list]').forEach(function (el) {
      var items = get(d, el.getAttribute('data-list')) || [];
      el.replaceChildren.apply(el, items.map(function (p) {
        var li = document.createElement('li');
        li.className = 'lv-' + p.level;
        li.textContent = p.text;
        return li;
      }));
    });
  }
  /* Workers, clusters or members came or went: take the new layout from the server's HTML. */
  function relayout() {
    var u = new URL(url);
    u.searchParams.set('format', 'html');
    return fetch(u, { cache: 'no-store' }).then(function (r) { return r.text(); }).then(function (html) {
      var next = new DOMParser().parseFromString(html, 'text/html').querySelector('main');
      if (next) { main.replaceWith(next); main = next; }
    });
  }
  function tick() {
    fetch(url, { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (d) { return d.layout === main.getAttribute('data-layout') ? apply(d) : relayout(); })
      .then(function () {
        refreshes++;
        live.setAttribute('data-refreshes', String(refreshes));
        live.className = 'st st-live';
        live.textContent = 'live: updated ' + new Date().toISOString().slice(11, 19) + ' UTC';
      }, function (err) {
        live.className = 'st st-bad';
        live.textContent = 'refresh failed (' + err.message + '), retrying';
      })
      .then(function () { setTimeout(tick, every); });
  }
  setTimeout(tick, every);
})();`;

const sha256 = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Allows exactly the page's own style and script, and fetches to the page's origin. */
export const PAGE_CSP =
  `default-src 'none'; script-src ${sha256(PAGE_SCRIPT)}; style-src ${sha256(PAGE_STYLE)}; connect-src 'self'; img-src data:; ` +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
