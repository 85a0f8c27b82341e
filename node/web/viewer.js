// kpledger viewer: reads the node's documented /v1 routes (docs/API.md) and
// renders them. Every piece of ledger data is inserted as text, never as
// markup; the one exception is the trail picture, which the node renders as
// SVG with every text escaped, parsed as SVG (never as HTML).
'use strict';

const app = document.getElementById('app');
const COUNTRY_COLOURS = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948'];
const MAX_QUERY = 256;

// ---------- small helpers ----------

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function link(href, text, attrs) { return el('a', Object.assign({ href }, attrs || {}), text); }
function seg(s) { return encodeURIComponent(s); }
function lotPath(p, lot) { return seg(p) + '/' + String(lot).split('/').map(seg).join('/'); }
function lotHref(p, lot) { return '/lots/' + lotPath(p, lot); }
function certHref(n) { return '/certificates/' + seg(n); }
function entryHref(h) { return '/entries/' + seg(h); }
function zoneHref(p, z) { return '/zones/' + seg(p) + '/' + seg(z); }
function ct(w) { return (Number(w) / 100).toFixed(2) + ' ct'; }
function usd(c) { return (Number(c) / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + ' USD'; }
function share(s) { const p = Math.round(s * 1000) / 10; return (Number.isInteger(p) ? p.toFixed(0) : p.toFixed(1)) + ' %'; }
function short(h) { return String(h).slice(0, 12) + '…'; }
function when(ms) { return new Date(Number(ms)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'); }
function kv(rows) {
  return el('table', { class: 'kv' }, rows.filter(r => r).map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, v))));
}
function table(head, rows) {
  return el('table', {}, el('tr', {}, head.map(h => el('th', {}, h))), rows.map(r => el('tr', {}, r.map(c => el('td', {}, c)))));
}
function section(title, ...children) { return el('section', {}, el('h2', {}, title), ...children); }
function verdict(ok, yes, no) { return el('span', { class: 'verdict ' + (ok ? 'ok' : 'bad') }, ok ? yes : no); }
function setTitle(t) { document.title = t + ' · kpledger'; }
function show(...children) { app.replaceChildren(...children); }

class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

async function api(path) {
  const r = await fetch(path, { headers: { accept: 'application/json' } });
  let body = null;
  try { body = await r.json(); } catch (_) { body = null; }
  if (!r.ok) {
    throw new ApiError(r.status, body && body.code || 'http', body && body.message || ('the node answered HTTP ' + r.status));
  }
  return body;
}

async function maybe(path) {
  try { return await api(path); } catch (e) { if (e.status === 404) return null; throw e; }
}

function problem(title, e) {
  setTitle(title);
  const msg = e instanceof ApiError ? e.message : String(e && e.message || e);
  show(el('h1', {}, title), el('p', { class: 'error', id: 'error' }, msg),
    el('p', {}, link('/', 'Search the ledger'), ' · ', link('/check', 'Check a certificate')));
}

function originChart(origins) {
  if (!origins || origins.length === 0) return el('p', { class: 'muted' }, 'No production behind it.');
  const bar = el('div', { class: 'bar', role: 'img', 'aria-label': 'share of weight per country of mining origin' },
    origins.map((o, i) => el('span', {
      style: 'width:' + Math.max(o.share * 100, 0.5) + '%;background:' + COUNTRY_COLOURS[i % COUNTRY_COLOURS.length],
      title: o.country + ' ' + share(o.share),
    }, o.country + ' ' + share(o.share))));
  const rows = origins.map(o => [el('strong', {}, o.country), share(o.share), ct(Math.round(o.weight))]);
  const t = table(['Country of mining origin', 'Share', 'Carats'], rows);
  t.id = 'origins';
  return el('div', {}, bar, t);
}

function complianceBlock(c) {
  return el('div', { id: 'compliance' },
    el('p', {}, verdict(c.compliant, 'COMPLIANT', 'NOT COMPLIANT')),
    c.problems.length ? el('div', {}, el('strong', {}, 'Problems'), el('ul', { class: 'plain' }, c.problems.map(p => el('li', { class: 'bad' }, p)))) : null,
    c.notes.length ? el('div', {}, el('strong', {}, 'Notes'), el('ul', { class: 'plain' }, c.notes.map(p => el('li', {}, p)))) : null);
}

const KIND_NAMES = { forged_certificate: 'forged certificate report', seizure: 'seizure', hold: 'hold', release: 'release', note: 'note' };

function attestationTable(list) {
  if (!list.length) return el('p', { class: 'muted' }, 'None recorded.');
  return table(['What', 'Note', 'By', 'When', 'Entry'], list.map(a => [
    el('span', { class: a.kind === 'forged_certificate' || a.kind === 'seizure' || a.kind === 'hold' ? 'bad' : '' },
      a.finding ? 'laboratory result: ' + a.finding : (KIND_NAMES[a.kind] || a.kind)),
    a.note + (a.report_hash ? ' (report ' + short(a.report_hash) + ')' : ''),
    el('code', {}, short(a.author)),
    when(a.timestamp_ms),
    link(entryHref(a.entry), short(a.entry)),
  ]));
}

// Which witnessed checkpoint covers an entry, and who cosigned it.
async function coverage(hash) {
  try {
    const p = await api('/v1/proofs/inclusion?entry=' + seg(hash));
    const c = p.checkpoint;
    if (!c) return el('span', { class: 'warn' }, 'no checkpoint covers it yet (log size ' + p.tree_size + ')');
    return el('span', {},
      (c.witnessed ? el('span', { class: 'ok' }, 'witnessed') : el('span', { class: 'warn' }, 'not yet witnessed')),
      ' checkpoint of the ' + p.log_name + ' log at size ' + c.size + ' (entry ' + p.seq + '), cosigned by ' +
      (c.witnesses.length ? c.witnesses.join(', ') : 'nobody') + ' (quorum ' + c.quorum + '), ' + when(c.timestamp_ms));
  } catch (e) {
    return el('span', { class: 'error' }, e.message);
  }
}

async function entriesBlock(list) {
  const rows = [];
  for (const [what, hash] of list) rows.push([what, link(entryHref(hash), short(hash)), await coverage(hash)]);
  return table(['Entry', 'Hash', 'Checkpoint and witnesses'], rows);
}

// ---------- pages ----------

async function searchPage(params) {
  setTitle('Search');
  const q = (params.get('q') || '').trim();
  const input = el('input', { name: 'q', id: 'q', value: q, size: 50, maxlength: MAX_QUERY, placeholder: 'CF-000001 · IN IN/BOM/2017/0001 · entry hash · licensee key', autofocus: true });
  const form = el('form', { method: 'get', action: '/', class: 'search' }, input, ' ', el('button', { type: 'submit' }, 'Search'));
  const help = el('p', { class: 'muted' },
    'Search by certificate number (CF-000001), lot (participant and lot id: IN IN/BOM/2017/0001, or a lot id that starts with its participant code), entry hash or licensee key (64 hex digits).');
  const out = el('div', { id: 'result' });
  show(el('h1', {}, 'Search the ledger'), form, help, out,
    section('Other pages', el('p', { class: 'links' }, link('/check', 'Check a paper certificate'), link('/network', 'The network: participants, logs, checkpoints, evidence'))));
  if (!q) return;
  const say = (...c) => out.replaceChildren(el('p', { class: 'error', id: 'error' }, ...c));
  if (q.length > MAX_QUERY) return say('That query is too long (over ' + MAX_QUERY + ' characters).');
  if (/^[A-Za-z]{2}-\d+$/.test(q)) {
    const n = q.toUpperCase();
    const c = await maybe('/v1/certificates/' + seg(n));
    if (c) { location.assign(certHref(n)); return; }
    return say('No certificate numbered ' + n + ' is held on this ledger. ', link('/check?number=' + seg(n), 'Check a paper certificate'));
  }
  if (/^[0-9a-fA-F]{64}$/.test(q)) {
    const h = q.toLowerCase();
    const e = await maybe('/v1/entries/' + h);
    if (e) { location.assign(entryHref(h)); return; }
    const l = await maybe('/v1/licensees/' + h);
    if (l) {
      out.replaceChildren(section('Licensee ' + l.name, kv([
        ['Name', l.name], ['Registered by', l.participant], ['Roles', l.roles.join(', ')],
        ['Active', l.active ? 'yes' : el('span', { class: 'bad' }, 'revoked')],
        ['Key', el('code', {}, l.key)], ['Registration entry', link(entryHref(l.registered_by), l.registered_by)],
      ])));
      return;
    }
    return say('No entry and no licensee with that hash or key.');
  }
  let p = null, lot = null;
  let m = q.match(/^([A-Za-z]{2})\s+(\S+)$/);
  if (m) { p = m[1].toUpperCase(); lot = m[2]; }
  else if ((m = q.match(/^([A-Z]{2})\/\S+$/))) { p = m[1]; lot = q; }
  if (p && lot) {
    const l = await maybe('/v1/lots/' + lotPath(p, lot));
    if (l) { location.assign(lotHref(p, lot)); return; }
    return say('No lot ' + lot + ' in ' + p + '.');
  }
  return say('Nothing matches “' + q + '”. Try a certificate number (CF-000001), a participant and lot id (IN IN/BOM/2017/0001), or 64 hex digits.');
}

async function certificatePage(number) {
  setTitle('Certificate ' + number);
  let c;
  try { c = await api('/v1/certificates/' + seg(number)); } catch (e) {
    return problem(e.status === 404 ? 'Unknown certificate' : 'Certificate ' + number, e.status === 404 ? new Error('No certificate numbered “' + number + '” is held on this ledger.') : e);
  }
  const [trail, atts, exporter] = await Promise.all([
    api('/v1/trail/certificate/' + seg(number)).catch(e => e),
    api('/v1/attestations/certificate/' + seg(number)).catch(() => []),
    maybe('/v1/licensees/' + c.exporter_licensee).catch(() => null),
  ]);
  const conf = c.confirmation;
  let confBlock;
  if (!conf) confBlock = el('p', { class: 'warn' }, 'Not yet confirmed by ' + c.importer + '.');
  else {
    const mism = [];
    if (conf.weight !== c.weight) mism.push('weight: ' + ct(conf.weight) + ' received against ' + ct(c.weight) + ' certified');
    if (conf.parcels !== c.parcels) mism.push('parcels: ' + conf.parcels + ' received against ' + c.parcels + ' certified');
    confBlock = el('div', { id: 'confirmation' }, kv([
      ['Confirmed by', c.importer + ' on ' + conf.date],
      ['Received', ct(conf.weight) + ' in ' + conf.parcels + ' parcels'],
      ['Became lot', link(lotHref(c.importer, conf.lot), c.importer + ' ' + conf.lot)],
      ['Mismatches (R7)', conf.mismatch ? el('ul', { class: 'plain bad' }, mism.map(x => el('li', {}, x))) : el('span', { class: 'ok' }, 'none')],
      conf.after_expiry ? ['After expiry', el('span', { class: 'bad' }, 'confirmed after the certificate expired on ' + c.expires)] : null,
    ]));
  }
  const entries = [['Export (issue) by ' + c.exporter, c.entry]];
  if (conf) entries.push(['Import confirmation by ' + c.importer, conf.entry]);
  show(
    el('h1', {}, 'Certificate ' + c.number),
    el('p', { class: 'links' },
      link(certHref(number) + '/trail', 'Trail (picture)', { id: 'trail-link' }),
      link(certHref(number) + '/print', 'Printable certificate', { id: 'print-link' }),
      link('/check?number=' + seg(number), 'Check a paper against it'),
      link('/v1/bundles/certificate/' + seg(number), 'Download the bundle (for kp verify)', { download: 'bundle-' + number + '.json', id: 'bundle-link' })),
    section('Certificate', kv([
      ['Number', el('strong', {}, c.number)],
      ['Exporting participant', c.exporter + ' (issued by its KP authority)'],
      ['Exporter', [exporter ? exporter.name + ' ' : '', el('code', {}, short(c.exporter_licensee))]],
      ['Importing participant', c.importer],
      ['Consignee', c.consignee],
      ['Date of issue', c.issued],
      ['Date of expiry', c.expires],
      ['Parcels', String(c.parcels)],
      ['Weight', ct(c.weight)],
      ['Value', usd(c.value_cents)],
      ['Nature', c.nature],
    ])),
    section('HS lines', table(['HS code', 'Carats', 'Value'], c.lines.map(l => [l.code, ct(l.weight), usd(l.value_cents)]).concat([[el('strong', {}, 'Total'), ct(c.weight), usd(c.value_cents)]]))),
    section('Exported lots', table(['Lot', 'Carats taken'], c.inputs.map(t => [link(lotHref(c.exporter, t.lot), c.exporter + ' ' + t.lot), ct(t.weight)]))),
    section('Import confirmation', confBlock),
    section('Countries of mining origin', trail instanceof Error ? el('p', { class: 'error' }, trail.message) : originChart(trail.origins)),
    section('Compliance', trail instanceof Error ? el('p', { class: 'error' }, trail.message) : complianceBlock(trail.compliance)),
    section('Attestations', attestationTable(atts)),
    section('Entries, checkpoints and witnesses', el('p', { class: 'muted' }, 'Looking up checkpoints…')),
  );
  const last = app.lastElementChild;
  last.replaceChildren(el('h2', {}, 'Entries, checkpoints and witnesses'), await entriesBlock(entries));
}

const LEGEND = [['production', '#fbe9c6'], ['transfer', '#dde9fb'], ['import', '#e9e0fa'], ['export (certificate)', '#d8f1e6']];

async function trailPicture(apiPath, fileName) {
  const holder = el('div', { class: 'trail-picture', id: 'trail-picture' }, el('p', { class: 'muted' }, 'Drawing the trail…'));
  const r = await fetch(apiPath + '?format=svg');
  if (!r.ok) {
    let m = 'HTTP ' + r.status;
    try { m = (await r.json()).message; } catch (_) { /* keep the status */ }
    holder.replaceChildren(el('p', { class: 'error' }, m));
  } else {
    const text = await r.text();
    const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
    const svg = doc.documentElement;
    if (svg.nodeName !== 'svg') holder.replaceChildren(el('p', { class: 'error' }, 'the node sent a picture that does not parse'));
    else holder.replaceChildren(document.importNode(svg, true));
  }
  return el('div', {},
    el('p', { class: 'legend' }, LEGEND.map(([k, c]) => el('span', {}, el('i', { style: 'background:' + c }), k)),
      el('span', {}, el('i', { style: 'border:3px solid #c62828' }), 'non-compliant'),
      ' Hover a box for its details; click it for its entry.'),
    holder,
    el('p', { class: 'links' }, link(apiPath + '?format=svg', 'Download this picture (SVG)', { download: fileName, id: 'svg-link' }), link(apiPath, 'The trail as JSON')));
}

async function trailSections(trail, apiPath, fileName) {
  return [
    section('Where its carats were mined', originChart(trail.origins)),
    section('Compliance', complianceBlock(trail.compliance),
      el('p', { class: 'muted' }, trail.productions + ' production entries behind it, ' + trail.depth + ' hops deep.')),
    section('The trail, from productions to the subject', await trailPicture(apiPath, fileName)),
  ];
}

async function certificateTrailPage(number) {
  setTitle('Trail of certificate ' + number);
  const apiPath = '/v1/trail/certificate/' + seg(number);
  let trail;
  try { trail = await api(apiPath); } catch (e) { return problem('Trail of certificate ' + number, e); }
  show(el('h1', {}, 'Trail of certificate ' + number),
    el('p', { class: 'links' }, link(certHref(number), 'The certificate')),
    ...(await trailSections(trail, apiPath, 'trail-' + number + '.svg')));
}

function originText(p, o) {
  if (o.production) {
    const z = o.production.zone;
    return el('span', {}, 'production at ' + o.production.site + ', ' + o.production.stones + ' stones',
      z ? [', zone ', link(zoneHref(p, z), z + ' (status history)')] : '');
  }
  if (o.transfer) return el('span', {}, 'transfer from ', o.transfer.inputs.map((t, i) => [i ? ', ' : '', link(lotHref(p, t.lot), t.lot), ' (' + ct(t.weight) + ')']));
  if (o.import) return el('span', {}, 'import under certificate ', link(certHref(o.import.certificate), o.import.certificate));
  return JSON.stringify(o);
}

async function lotPage(p, lot) {
  setTitle('Lot ' + lot + ' of ' + p);
  let v;
  try { v = await api('/v1/lots/' + lotPath(p, lot)); } catch (e) {
    return problem(e.status === 404 ? 'Unknown lot' : 'Lot ' + lot, e.status === 404 ? new Error('No lot “' + lot + '” in participant “' + p + '” is held on this ledger.') : e);
  }
  const l = v.lot;
  const apiPath = '/v1/trail/lot/' + lotPath(p, lot);
  const [trail, atts] = await Promise.all([api(apiPath).catch(e => e), api('/v1/attestations/lot/' + lotPath(p, lot)).catch(() => [])]);
  const head = [
    el('h1', {}, 'Lot ' + l.lot + ' of ' + l.participant),
    section('Lot', kv([
      ['Participant', l.participant], ['Lot id', l.lot],
      ['Holder', [v.holder_name ? v.holder_name + ' ' : '', el('code', {}, short(l.holder))]],
      ['Weight at creation', ct(l.weight)], ['Weight not yet taken', ct(l.remaining)],
      ['Nature', l.nature], ['Compliant (R6)', l.compliant ? el('span', { class: 'ok' }, 'yes') : el('span', { class: 'bad' }, 'no')],
      ['Date', l.date], ['Created by', originText(l.participant, l.origin)],
      ['Creating entry', link(entryHref(l.created_by), l.created_by)],
    ])),
    section('Attestations', attestationTable(atts)),
  ];
  if (trail instanceof Error) return show(...head, section('Trail', el('p', { class: 'error' }, trail.message)));
  show(...head, ...(await trailSections(trail, apiPath, 'trail-' + p + '-' + lot.replace(/[^A-Za-z0-9._-]/g, '_') + '.svg')));
}

function bodyKind(body) { return Object.keys(body)[0]; }

function valueView(v, depth) {
  if (v === null || v === undefined) return el('span', { class: 'muted' }, '—');
  if (Array.isArray(v)) {
    if (!v.length) return el('span', { class: 'muted' }, 'none');
    return el('ol', { class: 'plain' }, v.map(x => el('li', {}, valueView(x, depth + 1))));
  }
  if (typeof v === 'object') {
    if (depth > 6) return JSON.stringify(v);
    return kv(Object.entries(v).map(([k, x]) => [k.replace(/_/g, ' '), valueView(x, depth + 1)]));
  }
  if (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)) return el('code', {}, v);
  return String(v);
}

function findProduction(e) {
  const rec = e.record && e.record.body;
  return rec && rec.production ? rec.production : null;
}

async function entryPage(hash) {
  setTitle('Entry ' + short(hash));
  if (!/^[0-9a-fA-F]{64}$/.test(hash)) return problem('Not an entry hash', new Error('An entry hash is 64 hex digits; “' + hash.slice(0, 80) + '” is not one.'));
  let e;
  try { e = await api('/v1/entries/' + seg(hash.toLowerCase())); } catch (x) {
    return problem(x.status === 404 ? 'Unknown entry' : 'Entry', x.status === 404 ? new Error('No entry ' + hash + ' is held on this ledger.') : x);
  }
  const kind = bodyKind(e.body);
  const recKind = e.record ? bodyKind(e.record.body) : null;
  const parts = [
    el('h1', {}, (recKind ? recKind.replace(/_/g, ' ') + ' (countersigned record)' : kind.replace(/_/g, ' ')) + ' · entry ' + e.seq + ' of the ' + e.author_name + ' log'),
    section('Entry', kv([
      ['Hash', el('code', {}, e.hash)], ['Log', e.author_name], ['Author key', el('code', {}, e.author)],
      ['Position', String(e.seq)], ['Previous', e.prev ? link(entryHref(e.prev), short(e.prev)) : 'none'],
      ['Time stamp', when(e.timestamp_ms)],
    ]), el('p', {}, 'Checkpoint: ', await coverage(e.hash))),
  ];
  const prod = findProduction(e);
  const zoneId = prod && prod.zone ? prod.zone.zone : null;
  const who = guessParticipant(e);
  if (prod) parts.push(section('Production', kv([
    ['Lot', link(lotHref(who, prod.lot), who + ' ' + prod.lot)],
    ['Site', prod.site],
    ['Zone', zoneId ? link(zoneHref(who, zoneId), zoneId) : 'none'],
    ['Weight', ct(prod.weight)], ['Stones', String(prod.stones)],
    ['Date', prod.date], ['Nature', prod.nature],
  ])));
  if (e.record) parts.push(section('The licensee\'s record', kv([['Licensee', el('code', {}, e.record.licensee)]]), valueView(e.record.body, 0)));
  else parts.push(section('Body', valueView(e.body[kind], 0)));
  show(...parts);
  if (zoneId) {
    const zones = await api('/v1/zones?participant=' + seg(who)).catch(() => []);
    app.append(section('Status history of zone ' + zoneId + ' (' + who + ')', zoneHistory(zones.filter(z => z.status.zone === zoneId), prod.date),
      el('p', {}, link(zoneHref(who, zoneId), 'The zone\'s page'))));
  }
}

// A countersigned record is written into its authority's log: the log's
// name starts with the participant code ("CF authority").
function guessParticipant(e) { return String(e.author_name).split(' ')[0]; }

function zoneHistory(list, date) {
  if (!list.length) return el('p', { class: 'warn', id: 'zone-history' }, 'No status was ever declared for this zone.');
  list.sort((a, b) => a.status.effective < b.status.effective ? -1 : a.status.effective > b.status.effective ? 1 : 0);
  const t = table(['Effective from', 'Status', 'Zone', 'Declared in entry'], list.map(z => [
    z.status.effective,
    el('span', { class: z.status.status === 'compliant' ? 'ok' : 'bad' }, z.status.status),
    z.status.zone + ' (' + z.status.name + ')',
    link(entryHref(z.entry), short(z.entry)),
  ]));
  t.id = 'zone-history';
  const wrap = el('div', {}, t);
  if (date) {
    const inForce = list.filter(z => z.status.effective <= date).pop();
    wrap.append(el('p', {}, 'On the production date ' + date + ' the zone was ',
      inForce ? el('span', { class: inForce.status.status === 'compliant' ? 'ok' : 'bad' }, inForce.status.status) : el('span', { class: 'bad' }, 'not declared'), '.'));
  }
  return wrap;
}

async function zonePage(p, zone) {
  setTitle('Zone ' + zone + ' of ' + p);
  let zones;
  try { zones = await api('/v1/zones?participant=' + seg(p)); } catch (e) { return problem('Zone ' + zone, e); }
  const mine = zones.filter(z => z.status.zone === zone);
  show(el('h1', {}, 'Zone ' + zone + ' of ' + p + (mine.length ? ' (' + mine[mine.length - 1].status.name + ')' : '')),
    section('Status history', zoneHistory(mine, null)),
    section('Other zones of ' + p, el('p', { class: 'links' },
      [...new Set(zones.map(z => z.status.zone))].filter(z => z !== zone).map(z => link(zoneHref(p, z), z)))));
}

async function networkPage() {
  setTitle('Network');
  let status, roster, frauds;
  try {
    [status, roster, frauds] = await Promise.all([api('/v1/status'), api('/v1/roster'), api('/v1/evidence/checkpoints')]);
  } catch (e) { return problem('Network', e); }
  const net = roster.versions[roster.versions.length - 1].network;
  const parts = Object.entries(net.participants).map(([code, ps]) => {
    const pt = ps.participant;
    const nodes = (pt.nodes || []).map(n => n.peer_id.slice(0, 16) + '… ' + (n.addrs || []).join(' '));
    return [el('strong', {}, code), pt.name || '', ps.suspended ? el('span', { class: 'bad' }, 'suspended') : el('span', { class: 'ok' }, 'active'),
      el('code', {}, short(pt.authority || '')), el('div', {}, nodes.map(n => el('div', {}, el('code', {}, n))))];
  });
  const logRows = [];
  for (const h of status.logs) {
    let cp = null;
    try {
      const list = await api('/v1/logs/' + h.author + '/checkpoints?limit=20');
      cp = list.find(c => c.witnessed) || null;
    } catch (_) { cp = null; }
    logRows.push([h.name, el('code', {}, short(h.author)), String(h.head.seq) + (h.head.frozen ? ' (FROZEN)' : ''),
      link(entryHref(h.head.hash), short(h.head.hash)),
      cp ? 'size ' + cp.size + ', cosigned by ' + cp.witnesses.join(', ') + ', ' + when(cp.timestamp_ms) : el('span', { class: 'warn' }, 'none witnessed yet')]);
  }
  const evidence = status.evidence.map(e => [e.author, String(e.seq), link(entryHref(e.existing), short(e.existing)), el('code', {}, short(e.conflicting))]);
  show(
    el('h1', {}, 'Network ' + status.network),
    section('This node', kv([['Network', status.network], ['Roster', el('code', {}, status.roster_hash)], ['Roster version', String(net.version)],
      ['kp-node version', status.version], ['Writes', status.writes.join(', ') || 'nothing (read-only)'], ['Entries held', String(status.entries)]])),
    section('Participants and their nodes', table(['Code', 'Name', 'Status', 'Authority key', 'Nodes (peer id, address)'], parts)),
    section('Logs: heads and the newest witnessed checkpoint', table(['Log', 'Author', 'Head', 'Head entry', 'Newest witnessed checkpoint'], logRows)),
    section('Evidence of equivocation', evidence.length ? table(['Log', 'Position', 'Kept entry', 'Conflicting entry'], evidence) : el('p', { class: 'ok', id: 'no-evidence' }, 'None: no log signed two entries at one position.')),
    section('Evidence of checkpoint fraud', frauds.length ? table(['Log', 'Kind', 'Id'], frauds.map(f => [f.log_name, Object.keys(f.fraud)[0], el('code', {}, short(f.id))])) : el('p', { class: 'ok' }, 'None.')),
  );
}

const CHECK_FIELDS = [
  ['number', 'Certificate number', 'CF-000001'],
  ['exporter', 'Exporter (participant or name)', 'CF'],
  ['importer', 'Importer (participant or consignee)', 'EU'],
  ['carats', 'Carats', '1000.00'],
  ['value', 'Value (US dollars)', '12400.00'],
  ['parcels', 'Parcels', '2'],
  ['issued', 'Date of issue', 'YYYY-MM-DD'],
  ['expires', 'Date of expiry', 'YYYY-MM-DD'],
];

const RESULTS = {
  genuine: ['ok', 'GENUINE AND MATCHING'],
  unknown_number: ['bad', 'UNKNOWN NUMBER'],
  details_differ: ['bad', 'DETAILS DIFFER'],
  reported_forged: ['bad', 'REPORTED FORGED'],
  already_confirmed: ['warn', 'ALREADY CONFIRMED'],
  expired: ['warn', 'EXPIRED'],
};

async function checkPage(params) {
  setTitle('Check a certificate');
  const inputs = CHECK_FIELDS.map(([name, label, ph]) => [
    el('label', { for: 'f-' + name }, label),
    el('input', { id: 'f-' + name, name, placeholder: ph, value: params.get(name) || '', maxlength: MAX_QUERY, required: name === 'number' }),
  ]);
  const out = el('div', { id: 'check-result' });
  show(el('h1', {}, 'Check a paper certificate'),
    el('p', { class: 'muted' }, 'Type what the paper says; only the fields filled in are compared. The answer comes from GET /v1/certificates/{number}/check.'),
    el('form', { class: 'check', method: 'get', action: '/check', id: 'check-form' }, inputs.flat(), el('button', { type: 'submit', id: 'check-submit' }, 'Check')),
    out);
  const number = (params.get('number') || '').trim();
  if (!number) return;
  const q = new URLSearchParams();
  for (const [name] of CHECK_FIELDS.slice(1)) { const v = (params.get(name) || '').trim(); if (v) q.set(name, v); }
  let r;
  try { r = await api('/v1/certificates/' + seg(number) + '/check?' + q.toString()); } catch (e) {
    out.replaceChildren(el('p', { class: 'error' }, e.message)); return;
  }
  const [cls, label] = RESULTS[r.result] || ['bad', r.result];
  out.replaceChildren(el('div', { class: 'result-box r-' + cls },
    el('p', {}, el('span', { class: 'verdict ' + cls, id: 'check-verdict', 'data-result': r.result }, label)),
    el('p', { id: 'check-message' }, r.message),
    r.differences.length ? (() => { const t = table(['Field', 'The paper says', 'The ledger holds'], r.differences.map(d => [el('strong', {}, d.field), d.paper, d.ledger])); t.id = 'differences'; return t; })() : null,
    r.matching.length ? el('p', {}, 'Matching: ' + r.matching.join(', ')) : null,
    r.forged_reports.length ? el('div', {}, el('strong', {}, 'Forgery reports'), attestationTable(r.forged_reports)) : null,
    r.certificate ? el('p', { class: 'links' }, link(certHref(r.number), 'The certificate on the ledger'), link(certHref(r.number) + '/print', 'Printable certificate')) : null,
    el('p', { class: 'muted' }, 'Checked against this node\'s ledger on ' + r.today + '.')));
}

// ---------- routing ----------

async function route() {
  const params = new URLSearchParams(location.search);
  let parts;
  try { parts = location.pathname.split('/').filter(s => s !== '').map(decodeURIComponent); } catch (_) {
    return problem('Bad address', new Error('This address is not valid.'));
  }
  if (parts.some(p => p.length > MAX_QUERY)) return problem('Bad address', new Error('Part of this address is too long.'));
  const [a, b, c] = parts;
  if (parts.length === 0) return searchPage(params);
  if (a === 'check' && parts.length === 1) return checkPage(params);
  if (a === 'network' && parts.length === 1) return networkPage();
  if (a === 'certificates' && parts.length === 2) return certificatePage(b);
  if (a === 'certificates' && parts.length === 3 && c === 'trail') return certificateTrailPage(b);
  if (a === 'lots' && parts.length >= 3) return lotPage(b, parts.slice(2).join('/'));
  if (a === 'entries' && parts.length === 2) return entryPage(b);
  if (a === 'zones' && parts.length === 3) return zonePage(b, c);
  return problem('No such page', new Error('The viewer has no page at this address.'));
}

// Marks the page drawn (ms since navigation started) for the benchmark
// and the browser tests: the frame after everything is in the page.
function drawn() {
  requestAnimationFrame(() => requestAnimationFrame(() => { document.body.dataset.rendered = String(Math.round(performance.now())); }));
}

route().catch(e => problem('Something went wrong', e)).finally(drawn);
