// Sluice console page. Plain DOM, no framework. Query names and every other record field are
// attacker-influenced: they are only ever put on the page with textContent (never innerHTML),
// and the server's Content-Security-Policy forbids inline script as a second line.
'use strict';
(function () {
  const PAGE = 100;
  const state = {
    zones: new Map(),
    attacks: new Map(),
    reports: new Map(),
    blocklist: null,
    health: [],
    selectedAlert: null,
    selectedZone: null,
    zonePinned: false,
    bl: { offset: 0, version: -1, stopsVersion: -1, loading: false, again: false },
  };
  // Test and operator hooks: render timings (ms) for the mitigation table.
  const perf = (window.__sluice = { blocklistRenderMs: [], blocklistFetchMs: [], updates: 0 });

  const $ = (id) => document.getElementById(id);
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(cells) {
    const tr = document.createElement('tr');
    for (const c of cells) tr.appendChild(c instanceof Node ? wrapCell(c) : el('td', c));
    return tr;
  }
  function wrapCell(node) {
    if (node.nodeName === 'TD') return node;
    const td = document.createElement('td');
    td.appendChild(node);
    return td;
  }
  const iso = (ms) =>
    ms === null || ms === undefined ? '' : new Date(ms).toISOString().replace('.000', '');
  const time = (ms) =>
    ms === null || ms === undefined ? '' : new Date(ms).toISOString().slice(11, 19);
  const num = (n, d = 0) =>
    n === null || n === undefined
      ? '–'
      : Number(n).toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
  const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)} %`);
  const asnText = (asn) => (asn === null || asn === undefined ? '??' : `AS${asn}`);

  // ---- live stream -------------------------------------------------------------------------
  function connect() {
    const es = new EventSource('/api/events');
    es.addEventListener('open', () => setConn(true));
    es.addEventListener('error', () => {
      // EventSource reconnects by itself after a network error; a refusal (session over, key
      // revoked) closes it: back to the login page.
      setConn(false);
      if (es.readyState === EventSource.CLOSED) void whyClosed();
    });
    es.addEventListener('snapshot', (ev) => applySnapshot(JSON.parse(ev.data)));
    es.addEventListener('update', (ev) => {
      perf.updates++;
      for (const u of JSON.parse(ev.data)) applyUpdate(u);
      renderAll();
    });
  }
  function loggedOut() {
    window.location.assign('/login');
  }
  // Refused for the session (401/403): log in again; refused for something else (a limit, a
  // restart): open a new stream in a while.
  async function whyClosed() {
    const res = await fetch('/api/session').catch(() => null);
    if (res && (res.status === 401 || res.status === 403)) return loggedOut();
    setTimeout(connect, 5_000);
  }
  function setConn(ok) {
    const c = $('conn');
    c.textContent = ok ? 'live' : 'reconnecting…';
    c.className = `conn ${ok ? 'ok' : 'bad'}`;
  }

  function applySnapshot(s) {
    state.zones = new Map(s.zones.map((z) => [z.zone, z]));
    state.attacks = new Map(s.attacks.map((a) => [a.alertId, a]));
    state.reports = new Map(s.reports.map((r) => [r.alertId, r.report]));
    state.health = s.health;
    setBlocklist(s.blocklist);
    renderAll();
  }

  function applyUpdate(u) {
    switch (u.type) {
      case 'zone':
        state.zones.set(u.zone.zone, u.zone);
        break;
      case 'points': {
        let z = state.zones.get(u.zone);
        if (!z) {
          z = { zone: u.zone, points: [], phases: [], activeAlertId: null, updatedAt: 0 };
          state.zones.set(u.zone, z);
        }
        for (const p of u.points) {
          const last = z.points[z.points.length - 1];
          if (!last || p.t > last.t) z.points.push(p); // the snapshot may already hold it
        }
        for (const m of u.phases)
          if (!z.phases.some((x) => x.alertId === m.alertId && x.phase === m.phase && x.t === m.t))
            z.phases.push(m);
        if (z.points.length > 2000) z.points.splice(0, z.points.length - 2000);
        z.activeAlertId = u.activeAlertId;
        break;
      }
      case 'attack':
        state.attacks.set(u.attack.alertId, u.attack);
        break;
      case 'report':
        state.reports.set(u.alertId, u.report);
        break;
      case 'blocklist':
        setBlocklist(u.summary);
        break;
      case 'health':
        state.health = u.stages;
        break;
      case 'removed':
        if (u.kind === 'zone') state.zones.delete(u.id);
        else {
          state.attacks.delete(u.id);
          state.reports.delete(u.id);
        }
        break;
    }
  }

  // ---- attacks -----------------------------------------------------------------------------
  function sortedAttacks() {
    return [...state.attacks.values()].sort(
      (x, y) => Number(x.phase === 'ended') - Number(y.phase === 'ended') || y.onset - x.onset,
    );
  }
  function renderAttacks() {
    const attacks = sortedAttacks();
    if (!state.selectedAlert || !state.attacks.has(state.selectedAlert))
      state.selectedAlert = attacks.length ? attacks[0].alertId : null;
    const body = document.createDocumentFragment();
    for (const a of attacks) {
      const names = el('td', a.sampleNames.join('  '), 'name');
      const tr = row([
        el('td', a.zone, 'name'),
        el('td', a.phase, `phase-${a.phase}`),
        a.severity ?? '',
        iso(a.onset),
        a.phase === 'ended' ? `ended ${iso(a.endedAt)}` : iso(a.at),
        num(a.qps, 1),
        num(a.peakQps, 1),
        num(a.baselineQps, 1),
        pct(a.neverSeenRate),
        pct(a.nxdomainShare),
        a.generator,
        a.resolversDropped
          ? `${num(a.resolvers)} (+${num(a.resolversDropped)} not kept)`
          : num(a.resolvers),
        names,
      ]);
      tr.dataset.alertId = a.alertId;
      if (a.alertId === state.selectedAlert) tr.className = 'selected';
      tr.addEventListener('click', () => {
        state.selectedAlert = a.alertId;
        state.selectedZone = a.zone;
        state.zonePinned = true;
        renderAll();
      });
      body.appendChild(tr);
    }
    $('attacks').tBodies[0].replaceChildren(body);
    $('attacks-empty').hidden = attacks.length > 0;
  }

  // ---- timeline ----------------------------------------------------------------------------
  let chart = null;
  let chartZone = null;
  function renderZones() {
    const sel = $('zone-select');
    const zones = [...state.zones.keys()].sort();
    const attack = state.selectedAlert ? state.attacks.get(state.selectedAlert) : null;
    if (!state.zonePinned && attack) state.selectedZone = attack.zone;
    if (!state.selectedZone || !state.zones.has(state.selectedZone))
      state.selectedZone = zones[0] ?? null;
    const opts = document.createDocumentFragment();
    for (const z of zones) {
      const o = el('option', z);
      o.value = z;
      o.selected = z === state.selectedZone;
      opts.appendChild(o);
    }
    sel.replaceChildren(opts);
    renderTimeline();
  }

  function phaseMarks(z) {
    return (z && z.phases) || [];
  }
  const phasePlugin = {
    hooks: {
      draw: [
        (u) => {
          const z = state.zones.get(chartZone);
          const ctx = u.ctx;
          ctx.save();
          for (const m of phaseMarks(z)) {
            const x = Math.round(u.valToPos(m.t / 1000, 'x', true));
            if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
            ctx.strokeStyle =
              m.phase === 'ended' ? '#57ab5a' : m.phase === 'started' ? '#e5534b' : '#c69026';
            ctx.lineWidth = 2;
            ctx.setLineDash([4, 4]);
            ctx.beginPath();
            ctx.moveTo(x, u.bbox.top);
            ctx.lineTo(x, u.bbox.top + u.bbox.height);
            ctx.stroke();
          }
          ctx.restore();
        },
      ],
    },
  };

  function renderTimeline() {
    const z = state.selectedZone ? state.zones.get(state.selectedZone) : null;
    const host = $('chart');
    const pts = z ? z.points : [];
    const data = [
      pts.map((p) => p.t / 1000),
      pts.map((p) => p.qps),
      pts.map((p) => p.baseline),
      pts.map((p) => p.neverSeen),
      pts.map((p) => (p.nxdomain === null ? p.failure : p.nxdomain)),
      pts.map((p) => p.random),
    ];
    if (typeof uPlot === 'undefined') return;
    if (!chart || chartZone !== state.selectedZone) {
      if (chart) chart.destroy();
      chartZone = state.selectedZone;
      chart = new uPlot(
        {
          width: Math.max(600, host.clientWidth || 900),
          height: 300,
          plugins: [phasePlugin],
          scales: { x: { time: true }, rate: { range: [0, 1] } },
          axes: [
            { stroke: '#7b8794', grid: { stroke: '#2a323c' } },
            { stroke: '#7b8794', grid: { stroke: '#2a323c' }, label: 'queries/s' },
            {
              side: 1,
              scale: 'rate',
              stroke: '#7b8794',
              grid: { show: false },
              label: 'rate',
              values: (_u, v) => v.map((x) => `${Math.round(x * 100)}%`),
            },
          ],
          series: [
            {},
            { label: 'qps', stroke: '#6cb6ff', width: 2 },
            { label: 'baseline qps', stroke: '#7b8794', dash: [6, 4] },
            { label: 'never-seen rate', stroke: '#e5534b', scale: 'rate' },
            { label: 'NXDOMAIN / failure rate', stroke: '#c69026', scale: 'rate' },
            { label: 'random share', stroke: '#b083f0', scale: 'rate', show: false },
          ],
        },
        data,
        host,
      );
    } else chart.setData(data);
    const marks = document.createDocumentFragment();
    for (const m of phaseMarks(z))
      marks.appendChild(
        el('li', `${iso(m.t)} ${m.phase} (${m.severity}) ${m.alertId}`, `phase-${m.phase}`),
      );
    $('phases').replaceChildren(marks);
  }

  // ---- report ------------------------------------------------------------------------------
  function renderReport() {
    const id = state.selectedAlert;
    const r = id ? state.reports.get(id) : null;
    $('report-title').textContent = id ? `${state.attacks.get(id)?.zone ?? ''} · ${id}` : '';
    const countries = document.createDocumentFragment();
    const asns = document.createDocumentFragment();
    const hist = document.createDocumentFragment();
    const outliers = document.createDocumentFragment();
    const callouts = document.createDocumentFragment();
    if (!r) {
      $('report-totals').textContent = id ? 'No enriched offenders for this attack yet.' : '';
      $('qps-stats').textContent = '';
    } else {
      const t = r.totals;
      $('report-totals').textContent =
        `${num(t.attackQueries)} attack queries from ${num(t.resolvers)} resolvers in ${num(t.prefixes)} prefixes, ` +
        `${num(t.asns)} ASNs and ${num(t.countries)} countries (${iso(r.from)} – ${iso(r.to)}).`;
      const c = r.callouts;
      for (const line of [
        c.miraiDefaultAddresses,
        c.miraiDefaultNetworks,
        c.otherPublicResolvers,
        ...c.publicByOperator.slice(0, 5),
        c.bogon,
        c.unknown,
      ])
        if (line.attackQueries > 0)
          callouts.appendChild(
            el(
              'li',
              `${line.label}: ${line.share.toFixed(2)} % (${num(line.resolvers)} resolvers)`,
            ),
          );
      for (const k of r.countries)
        countries.appendChild(
          row([
            k.country,
            k.share.toFixed(2),
            num(k.attackQueries),
            num(k.resolvers),
            num(k.prefixes),
            num(k.asns),
          ]),
        );
      for (const a of r.asns.slice(0, 50)) {
        const callout = a.miraiDefaultOperator
          ? `Mirai default: ${a.miraiDefaultOperator}`
          : a.publicResolverOperators.length
            ? `public resolver: ${a.publicResolverOperators.join(', ')}`
            : '';
        const links = document.createElement('td');
        for (const format of ['csv', 'json']) {
          const link = el('a', format.toUpperCase());
          const asnParam = a.asn === null ? 'unknown' : String(a.asn);
          link.href = `/api/evidence?alert=${encodeURIComponent(id)}&asn=${encodeURIComponent(asnParam)}&format=${format}`;
          link.setAttribute('download', '');
          link.dataset.asn = asnParam;
          link.dataset.format = format;
          links.appendChild(link);
          links.appendChild(document.createTextNode(' '));
        }
        asns.appendChild(
          row([
            asnText(a.asn),
            el('td', a.org, 'wrap'),
            a.country,
            a.share.toFixed(2),
            num(a.resolvers),
            num(a.prefixes),
            callout,
            links,
          ]),
        );
      }
      const q = r.qps;
      $('qps-stats').textContent =
        `${num(q.resolvers)} resolvers · median ${num(q.p50, 2)} · p90 ${num(q.p90, 2)} · p99 ${num(q.p99, 2)} · max ${num(q.max, 2)} · outliers above ${num(q.upperFence, 2)}: ${num(q.outlierCount)}`;
      const most = Math.max(1, ...q.histogram.map((b) => b.resolvers));
      for (const b of q.histogram) {
        const bar = el('span', '', 'bar');
        bar.style.width = `${Math.max(1, Math.round((b.resolvers / most) * 200))}px`;
        hist.appendChild(row([num(b.from, 2), num(b.to, 2), num(b.resolvers), bar]));
      }
      for (const o of q.outliers)
        outliers.appendChild(
          row([
            o.resolver,
            num(o.qps, 2),
            asnText(o.asn),
            el('td', o.org, 'wrap'),
            o.country,
            o.kind,
          ]),
        );
    }
    $('countries').tBodies[0].replaceChildren(countries);
    $('asns').tBodies[0].replaceChildren(asns);
    $('qps-hist').tBodies[0].replaceChildren(hist);
    $('outliers').tBodies[0].replaceChildren(outliers);
    $('report-callouts').replaceChildren(callouts);
  }

  // ---- mitigation (server-side pages: the browser holds 100 rows, whatever the list size) ----
  function setBlocklist(summary) {
    state.blocklist = summary;
    const s = summary;
    const kinds = Object.entries(s.byKind)
      .map(([k, n]) => `${k} ${num(n)}`)
      .join(', ');
    $('bl-summary').textContent =
      `${num(s.total)} entries: ${num(s.enforced)} enforced, ${num(s.shadow)} shadow; ${num(s.guards)} zone guards` +
      (kinds ? ` (${kinds})` : '') +
      (s.overflow ? `; ${num(s.overflow)} not kept (view full)` : '');
    if (s.version !== state.bl.version || s.stopsVersion !== state.bl.stopsVersion) {
      state.bl.stopsVersion = s.stopsVersion;
      loadBlocklist();
    }
  }

  async function loadBlocklist() {
    if (state.bl.loading) {
      state.bl.again = true; // one more fetch when this one lands, not one per event
      return;
    }
    state.bl.loading = true;
    const params = new URLSearchParams({
      offset: String(state.bl.offset),
      limit: String(PAGE),
      sort: $('bl-sort').value,
      mode: $('bl-mode').value,
    });
    if ($('bl-q').value) params.set('q', $('bl-q').value);
    if ($('bl-kind').value) params.set('kind', $('bl-kind').value);
    try {
      const t0 = performance.now();
      const res = await fetch(`/api/blocklist?${params}`);
      if (res.status === 401 || res.status === 403) return loggedOut();
      const page = await res.json();
      const t1 = performance.now();
      renderBlocklist(page);
      const t2 = performance.now();
      perf.blocklistFetchMs.push(t1 - t0);
      perf.blocklistRenderMs.push(t2 - t1);
      $('bl-render').textContent =
        `page in ${(t1 - t0).toFixed(0)} ms, drawn in ${(t2 - t1).toFixed(1)} ms`;
    } catch (e) {
      $('bl-render').textContent = `could not load the blocklist: ${e}`;
    } finally {
      state.bl.loading = false;
      if (state.bl.again) {
        state.bl.again = false;
        void loadBlocklist();
      }
    }
  }

  // What the entry matched (queries refused when enforced, would-have when shadow) and its
  // rate over the last minute of event time.
  function stoppedCell(r) {
    const s = r.stopped;
    const text = s.queries
      ? `${r.shadow ? 'would stop ' : ''}${num(s.queries)} · ${num(s.recentQps, 1)}/s`
      : '0';
    const td = el('td', text, 'stopped');
    if (s.lastAt) td.title = `last matched window ended ${iso(s.lastAt)}`;
    return td;
  }

  function renderBlocklist(page) {
    state.bl.version = page.version;
    const body = document.createDocumentFragment();
    const now = Date.now();
    for (const r of page.rows) {
      const guard = r.guard
        ? `${r.guard.appliesTo === 'all' ? 'all clients' : 'offenders'}; ${num(r.guard.knownNames)} known names${r.guard.namesTruncated ? ' (truncated)' : ''}; ${r.guard.sources.join(', ')}`
        : r.networks
          ? `${num(r.networks)} networks`
          : '';
      body.appendChild(
        row([
          r.kind,
          el('td', r.target, 'name'),
          r.action,
          el('td', r.shadow ? 'shadow' : 'enforced', r.shadow ? 'shadow' : 'enforced'),
          num(r.score, 2),
          el('td', r.reason, 'wrap'),
          iso(r.createdAt),
          `${iso(r.expiresAt)}${r.expiresAt < now ? ' (expired)' : ''}`,
          stoppedCell(r),
          el('td', guard, 'wrap'),
        ]),
      );
    }
    $('blocklist').tBodies[0].replaceChildren(body);
    const end = Math.min(page.offset + page.rows.length, page.matched);
    $('bl-pos').textContent = page.matched
      ? `${num(page.offset + 1)}–${num(end)} of ${num(page.matched)}`
      : 'no entries';
    $('bl-prev').disabled = page.offset === 0;
    $('bl-next').disabled = end >= page.matched;
  }

  // ---- health ------------------------------------------------------------------------------
  function renderHealth() {
    const body = document.createDocumentFragment();
    for (const s of state.health) {
      const lag = s.lag
        ? Object.entries(s.lag)
            .map(([g, n]) => `${g}: ${num(n)}`)
            .join('; ')
        : '–';
      const checks = Object.entries(s.checks)
        .map(([k, ok]) => `${k} ${ok ? '✓' : '✗'}`)
        .join(' ');
      body.appendChild(
        row([
          s.name,
          el(
            'td',
            s.ready === null ? `down: ${s.error ?? ''}` : s.ready ? 'ready' : 'not ready',
            s.ready ? 'ready-yes' : 'ready-no',
          ),
          el('td', checks, 'wrap'),
          lag,
          num(s.badInput),
          num(s.drops),
          time(s.checkedAt),
        ]),
      );
    }
    $('health').tBodies[0].replaceChildren(body);
  }

  function renderAll() {
    renderAttacks();
    renderZones();
    renderReport();
    renderHealth();
  }

  // ---- controls ----------------------------------------------------------------------------
  function wire() {
    $('zone-select').addEventListener('change', (e) => {
      state.selectedZone = e.target.value;
      state.zonePinned = true;
      renderTimeline();
    });
    let debounce = null;
    const reload = () => {
      state.bl.offset = 0;
      void loadBlocklist();
    };
    $('bl-q').addEventListener('input', () => {
      clearTimeout(debounce);
      debounce = setTimeout(reload, 200);
    });
    for (const id of ['bl-mode', 'bl-kind', 'bl-sort']) $(id).addEventListener('change', reload);
    $('bl-prev').addEventListener('click', () => {
      state.bl.offset = Math.max(0, state.bl.offset - PAGE);
      void loadBlocklist();
    });
    $('bl-next').addEventListener('click', () => {
      state.bl.offset += PAGE;
      void loadBlocklist();
    });
  }

  wire();
  connect();
})();
