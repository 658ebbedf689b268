import { escapeHtml } from '../../http/errorpage.js';
import type { SiteCluster, SiteStatus } from './combine.js';
import { formatters, type Format } from './format.js';
import { PAGE_SCRIPT, PAGE_STYLE } from './script.js';

/**
 * The status page: a summary that answers "is the site healthy?", then clusters, databases,
 * workers and the rest. Every value that changes is a `data-k` element (a path into the JSON and
 * a formatter) and every state a `data-s` badge, so the page's script can refresh them from
 * `?format=json` without reloading. Every key and value goes through escapeHtml — cluster names,
 * mount paths and the mail agent's last error come from config and remote servers.
 */
export function statusPage(title: string, data: SiteStatus, refreshSeconds: number): string {
  const r = new Render(data);
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>\n` +
    `<meta name="viewport" content="width=device-width"><link rel="icon" href="data:,">\n<style>${PAGE_STYLE}</style>\n</head><body>\n` +
    `<header><h1>${escapeHtml(title)}</h1><span id="live" class="st st-idle" data-refreshes="0">${refreshSeconds > 0 ? `live: every ${refreshSeconds} s` : 'live refresh off'}</span></header>\n` +
    `${r.main(refreshSeconds)}\n<script>${PAGE_SCRIPT}</script>\n</body></html>\n`
  );
}

class Render {
  readonly #now: number;
  constructor(readonly data: SiteStatus) {
    this.#now = Date.parse(data.generatedAt);
  }

  /** A live value: `path` into the JSON, shown with formatter `f`. */
  v(path: string, f: Format = 'int'): string {
    return `<span data-k="${escapeHtml(path)}" data-f="${f}">${escapeHtml(formatters[f](lookup(this.data, path), this.#now))}</span>`;
  }

  /** A live state badge (its colour is its class). */
  s(path: string): string {
    const state = String(lookup(this.data, path));
    return `<span class="st st-${escapeHtml(stateClass(state))}" data-s="${escapeHtml(path)}">${escapeHtml(formatters.state(state, this.#now))}</span>`;
  }

  main(refresh: number): string {
    const d = this.data;
    return (
      `<main data-layout="${escapeHtml(d.layout)}" data-refresh="${refresh}">\n` +
      `<div class="banner">${this.s('summary.level')} <ul class="problems" data-list="summary.problems">${d.summary.problems
        .map((p) => `<li class="lv-${p.level}">${escapeHtml(p.text)}</li>`)
        .join('')}</ul></div>\n` +
      `<section class="cards">${this.#cards()}</section>\n` +
      this.#clusters('Clusters', 'clusters', d.clusters) +
      this.#clusters('Databases', 'databases.clusters', d.databases.clusters) +
      this.#workers() +
      this.#rest() +
      `<p class="muted">Generated ${this.v('generatedAt', 'time')}. The same data as JSON: <a href="?format=json">?format=json</a>.</p>\n</main>`
    );
  }

  #cards(): string {
    const d = this.data;
    const card = (head: string, body: string): string => `<div class="card"><h3>${head}</h3>${body}</div>`;
    const cards = [
      card('Workers', `<div class="big">${this.v('summary.workers.up')} / ${this.v('summary.workers.expected')} up</div>` +
        `restarts ${this.v('summary.workers.restarts')} · reloads ${this.v('summary.workers.reloads')}<br>uptime ${this.v('summary.uptimeSeconds', 'dur')}`),
      card('Requests', `<div class="big">${this.v('summary.http.requests')}</div>in flight ${this.v('summary.http.inFlight')} · connections ${this.v('summary.http.connections')}<br>` +
        `in ${this.v('summary.http.bytes.in', 'bytes')} · out ${this.v('summary.http.bytes.out', 'bytes')}`),
      card('5xx answers', `<div class="big">${this.v('summary.http.recent', 'share')}</div>last ${this.v('summary.http.recent.seconds', 'dur')}: ` +
        `${this.v('summary.http.recent.errors5xx')} of ${this.v('summary.http.recent.responses')}<br>since start: ${this.v('summary.http.errors5xx')} of ${this.v('summary.http.responses')}`),
      ...d.summary.clusters.map((c, i) => {
        const p = `summary.clusters.${i}`;
        return card(`${c.kind === 'postgresql' ? 'PostgreSQL' : 'Cluster'} @${escapeHtml(c.name)}`,
          `<div class="big">${this.v(`${p}.up`)} / ${this.v(`${p}.members`)} up</div>${this.s(`${p}.level`)} · breaker ${this.s(`${p}.breaker`)}`);
      }),
    ];
    if (d.summary.mail) {
      cards.push(card('Mail queue', `<div class="big">${this.v('summary.mail.queued')} queued</div>sending ${this.v('summary.mail.sending')} · undeliverable ${this.v('summary.mail.undeliverable')}` +
        `<br>last error: ${this.v('summary.mail.lastError', 'text')}<br><small>${this.v('summary.mail.lastErrorAt', 'time')}</small>`));
    }
    const f = d.summary.faults;
    if (f.unhandledRejections + f.uncaughtExceptions > 0) {
      cards.push(card('Faults in app code', `unhandled rejections ${this.v('summary.faults.unhandledRejections')}<br>uncaught exceptions ${this.v('summary.faults.uncaughtExceptions')}`));
    }
    return cards.join('');
  }

  #clusters(title: string, base: string, clusters: readonly SiteCluster[]): string {
    if (clusters.length === 0) return '';
    const out = [`<h2>${title}</h2>`];
    clusters.forEach((c, i) => {
      const p = `${base}.${i}`;
      out.push(`<h3>@${escapeHtml(c.name)} <small>${escapeHtml(c.strategy)}${c.ssl ? ', TLS' : ''} · breaker ${this.s(`${p}.breaker.state`)} ` +
        `(opened ${this.v(`${p}.breaker.opens`)}×; per worker: ${this.v(`${p}.breaker.workers`, 'seen')}) · retries ${this.v(`${p}.retryBudget.retries`)}</small></h3>`);
      const pooled = c.members.some((m) => m.pool);
      out.push(table(['member', 'state', 'workers see', 'weight', 'in flight', 'requests', 'failures', 'in a row', 'ejections', 'ejected for', 'p50 / p99', ...(pooled ? ['pool idle / total', 'waiting'] : [])],
        c.members.map((m, j) => {
          const q = `${p}.members.${j}`;
          const pool = `${q}.pool`;
          return [escapeHtml(m.node), this.s(`${q}.state`), this.v(`${q}.workers`, 'seen'), this.v(`${q}.weight`), this.v(`${q}.inFlight`), this.v(`${q}.requests`), this.v(`${q}.failures`),
            this.v(`${q}.consecutiveFailures`), this.v(`${q}.ejections`), this.v(`${q}.ejectedForMs`, 'ms'), `${this.v(`${q}.latency.p50`, 'ms')} / ${this.v(`${q}.latency.p99`, 'ms')}`,
            ...(pooled ? [`${this.v(`${pool}.idle`)} / ${this.v(`${pool}.total`)}`, this.v(`${pool}.waiting`)] : [])];
        })));
    });
    return out.join('\n') + '\n';
  }

  #workers(): string {
    const rows = this.data.workers.map((w, i) => {
      const p = `workers.${i}`;
      const h = `${p}.report.http`;
      return [`${w.slot}`, this.v(`${p}.pid`, 'text'), this.s(`${p}.state`), this.v(`${p}.startedAt`, 'time'), this.v(`${p}.report.server.memory.rss`, 'bytes'),
        this.v(`${p}.report.server.memory.heapUsed`, 'bytes'), this.v(`${h}.requests.total`), this.v(`${h}.requests.byStatus.5xx`), this.v(`${h}.requests.inFlight`),
        this.v(`${h}.connections.open`), `${this.v(`${h}.bytes.in`, 'bytes')} / ${this.v(`${h}.bytes.out`, 'bytes')}`,
        `${this.v(`${p}.report.faults.unhandledRejections`)} / ${this.v(`${p}.report.faults.uncaughtExceptions`)}`];
    });
    const pr = this.data.primary;
    // A reload replaces every pid, so the page takes a new layout then and this part is rendered again.
    const reload = pr?.lastReload ? `${this.v('primary.lastReload.message', 'text')} <small>${this.v('primary.lastReload.at', 'time')}</small>` : 'none yet';
    const primary = pr
      ? `<p>Primary: pid ${this.v('primary.pid', 'text')}, ${this.s('primary.state')}, started ${this.v('primary.startedAt', 'time')}; last reload: ${reload}</p>`
      : '<p class="muted">A single process (no primary).</p>';
    return `<h2>Workers</h2>\n${primary}\n` +
      table(['slot', 'pid', 'state', 'started', 'memory', 'heap', 'requests', '5xx', 'in flight', 'connections', 'bytes in / out', 'faults (rejections / exceptions)'], rows) + '\n';
  }

  #rest(): string {
    const d = this.data;
    const out: string[] = [];
    if (d.mail && 'queued' in d.mail) {
      const a = 'agent' in d.mail && d.mail.agent;
      out.push('<h2>Mail</h2>', table(['queued', 'sending', 'undeliverable', 'corrupt', ...(a ? ['delivered', 'attempts', 'in flight'] : [])],
        [[this.v('mail.queued'), this.v('mail.sending'), this.v('mail.undeliverable'), this.v('mail.corrupt'),
          ...(a ? [this.v('mail.agent.delivered'), this.v('mail.agent.attempts'), this.v('mail.agent.inFlight')] : [])]]));
    } else if (d.mail) out.push('<h2>Mail</h2>', `<p>${this.v('mail.error', 'text')}</p>`);
    if (d.resultCache) {
      out.push('<h2>Result caches</h2>', table(['cache', 'entries', 'max (per worker)', 'hits', 'misses', 'evictions'], (['clients', 'databases'] as const).map((k) =>
        [k, this.v(`resultCache.${k}.size`), this.v(`resultCache.${k}.max`), this.v(`resultCache.${k}.hits`), this.v(`resultCache.${k}.misses`), this.v(`resultCache.${k}.evictions`)])));
    }
    if (d.auth) {
      out.push('<h2>Logins</h2>', table(['users', 'failures', 'lockouts', 'locked now', 'failure limit'],
        [[this.v('auth.users'), this.v('auth.failures'), this.v('auth.lockouts'), this.v('auth.lockedNow'), this.v('auth.failureLimit')]]));
    }
    out.push('<h2>Mounts</h2>', table(['prefix', 'handlers'], d.mounts.map((m) => [escapeHtml(m.prefix), escapeHtml(m.handlers.join(', '))])));
    return out.join('\n') + '\n';
  }
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return '<p class="muted">none</p>';
  return `<table${head.length <= 6 ? ' class="narrow"' : ''}><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** The value at a dotted path (`clusters.0.members.1.state`), as the page's script finds it. */
export function lookup(data: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, k) => (v === null || v === undefined ? undefined : (v as Record<string, unknown>)[k]), data);
}

/** The CSS class suffix of a state (`no answer` -> `no-answer`), as the script makes it. */
function stateClass(state: string): string {
  return state.replace(/[^a-z0-9]+/gi, '-');
}
