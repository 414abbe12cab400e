/**
 * The web page: search with the query language, filter by facets, browse results, play a video from any scene,
 * and edit a video's tags (when the server takes edits). One self-contained HTML file; every value from the library
 * is inserted as text, never as HTML.
 */
export const WEB_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>videodex</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d232b; background: #f5f6f8; }
  body { margin: 0; }
  header { display: flex; gap: .75rem; align-items: center; padding: .75rem 1rem; background: #1d232b; color: #fff; }
  header h1 { font-size: 1.1rem; margin: 0; }
  header form { flex: 1; display: flex; gap: .5rem; }
  header input { flex: 1; padding: .5rem .7rem; border-radius: 6px; border: 0; font-size: 1rem; }
  header button { padding: .5rem 1rem; border: 0; border-radius: 6px; background: #4f8cff; color: #fff; font-size: 1rem; cursor: pointer; }
  main { display: grid; grid-template-columns: 220px 1fr; gap: 1rem; padding: 1rem; }
  aside h3 { font-size: .8rem; text-transform: uppercase; color: #687384; margin: 1rem 0 .3rem; }
  aside button { display: block; width: 100%; text-align: left; border: 0; background: none; padding: .2rem .3rem; cursor: pointer; border-radius: 4px; }
  aside button:hover { background: #e3e7ee; }
  #status { color: #687384; margin-bottom: .5rem; }
  #error { color: #b3261e; white-space: pre; font-family: ui-monospace, monospace; }
  #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: .8rem; }
  .card { background: #fff; border-radius: 8px; overflow: hidden; box-shadow: 0 1px 3px #0002; cursor: pointer; }
  .card:focus-visible, .scene:focus-visible { outline: 3px solid #4f8cff; outline-offset: 2px; }
  .card img, .card .noimg { width: 100%; aspect-ratio: 16/9; object-fit: cover; background: #cfd5de; display: block; }
  .card .body { padding: .5rem .6rem; }
  .card .name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .meta, .tags { font-size: .8rem; color: #687384; }
  .hl { font-size: .8rem; margin-top: .3rem; }
  .hl mark { background: #ffe58a; color: inherit; border-radius: 2px; }
  .failed { color: #b3261e; font-size: .8rem; white-space: pre-line; }
  #more { margin: 1rem 0; }
  #detail { position: fixed; inset: 0; background: #000a; display: none; align-items: center; justify-content: center; }
  #detail .panel { background: #fff; width: min(1000px, 95vw); max-height: 92vh; overflow: auto; border-radius: 10px; padding: 1rem; }
  #detail video { width: 100%; max-height: 55vh; background: #000; }
  #scenes { display: grid; grid-template-columns: repeat(auto-fill, minmax(140px, 1fr)); gap: .5rem; margin-top: .6rem; }
  .scene { cursor: pointer; font-size: .75rem; }
  .scene img, .scene .noframe { width: 100%; border-radius: 4px; display: block; }
  .scene .noframe { aspect-ratio: 16/9; background: #cfd5de; }
  .close { float: right; border: 0; background: none; font-size: 1.4rem; cursor: pointer; }
  #d-tags { display: flex; flex-wrap: wrap; gap: .3rem; align-items: center; margin: .4rem 0; }
  .tag { display: inline-flex; align-items: center; gap: .2rem; background: #eef1f5; border-radius: 999px; padding: .1rem .5rem; }
  .tag.mine { background: #dce8ff; color: #1d3f8a; font-weight: 600; }
  .tag .src { font-size: .7rem; color: #687384; }
  .tag button { border: 0; background: none; cursor: pointer; font-size: 1rem; line-height: 1; padding: 0 .1rem; color: #687384; border-radius: 4px; }
  .tag button:hover, .tag button:focus-visible { color: #b3261e; outline: 2px solid #4f8cff; }
  #d-tagform { display: flex; gap: .4rem; margin: .3rem 0; }
  #d-tagform[hidden] { display: none; }
  #d-tagform input { flex: 1; max-width: 22rem; padding: .3rem .5rem; border: 1px solid #cfd5de; border-radius: 6px; }
  #d-tagform button { padding: .3rem .8rem; border: 0; border-radius: 6px; background: #4f8cff; color: #fff; cursor: pointer; }
  #d-tagerror { color: #b3261e; font-size: .85rem; }
</style>
</head>
<body>
<header>
  <h1>videodex</h1>
  <form id="search"><input id="q" name="q" placeholder='beach tag:outdoor duration:10..60 height:>=720 "exact phrase"' autocomplete="off"><button>Search</button></form>
</header>
<main>
  <aside id="facets"></aside>
  <section>
    <div id="status"></div><div id="error"></div>
    <div id="results"></div>
    <button id="more" hidden>More</button>
  </section>
</main>
<div id="detail"><div class="panel">
  <button class="close" title="Close">×</button>
  <h2 id="d-title"></h2><div class="meta" id="d-meta"></div>
  <div class="failed" id="d-failed"></div>
  <video id="player" controls preload="metadata"></video>
  <p id="d-desc"></p><div class="tags" id="d-tags" aria-label="Tags"></div>
  <div class="tags" id="d-removed"></div>
  <form id="d-tagform" hidden><input id="d-newtag" placeholder="add tags, comma-separated" aria-label="Add tags, comma-separated" autocomplete="off"><button>Add</button></form>
  <div id="d-tagerror" role="alert"></div>
  <div id="scenes"></div>
</div></div>
<script>
const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) k === 'text' ? (n.textContent = v) : n.setAttribute(k, v);
  for (const c of children) if (c) n.append(c);
  return n;
};
const fmtTime = (s) => s == null ? '-' : (s >= 3600 ? Math.floor(s / 3600) + ':' : '') + String(Math.floor(s / 60) % 60).padStart(s >= 3600 ? 2 : 1, '0') + ':' + String(Math.floor(s % 60)).padStart(2, '0');
// The query whose results are on screen and the cursor of its next page: "More" continues that query, not
// whatever the box holds now. 'latest' numbers the searches, so only the newest one's answer is shown.
let shown = '';
let cursor = null;
let latest = 0;
// The same for the video panel: a slow answer for a video clicked before another, or before the panel was closed,
// must not show that video over the newer one or open the closed panel again.
let opening = 0;
// The video in the panel, for its tag edits; 'tagEdits' says whether the server takes them (not beyond loopback
// unless [Server] AllowEdits), so a page it would refuse shows no controls.
let current = null;
const tagEdits = getJson('/api/health').then(({ ok, body }) => ok && body.tagEdits === true);

/** A JSON answer, or { error } when the server answered something else or could not be reached. */
async function getJson(url, init) {
  try {
    const res = await fetch(url, init);
    const body = await res.json().catch(() => ({ error: 'the server answered ' + res.status + ' ' + res.statusText }));
    return { ok: res.ok, body };
  } catch (e) {
    return { ok: false, body: { error: 'cannot reach videodex serve (' + e.message + ')' } };
  }
}

/**
 * One page of results. A new search is a new entry in the browser's history ('push'), so Back returns to the search
 * before it; the page's first search and one Back or Forward returned to only rewrite the address they are at.
 */
async function search(append, address = 'push') {
  const q = append ? shown : $('q').value;
  const params = new URLSearchParams({ q });
  // the page's size, unless the query names its own with limit:
  if (!/(^|\\s)limit:/i.test(q)) params.set('limit', '40');
  if (append && cursor) params.set('cursor', cursor);
  if (!append && address !== 'none') {
    const url = '?' + new URLSearchParams({ q });
    if (address === 'push' && location.search !== url) history.pushState(null, '', url);
    else history.replaceState(null, '', url);
  }
  $('error').textContent = '';
  const mine = ++latest;
  $('more').disabled = true;
  const { ok, body } = await getJson('/api/search?' + params);
  if (mine !== latest) return;
  $('more').disabled = false;
  if (!ok) {
    $('results').replaceChildren();
    $('facets').replaceChildren();
    $('status').textContent = '';
    $('more').hidden = true;
    $('error').textContent = body.error + (body.column ? '\\n' + q + '\\n' + ' '.repeat(body.column - 1) + '^' : '');
    return;
  }
  if (!append) $('results').replaceChildren();
  for (const h of body.hits) $('results').append(card(h));
  shown = q;
  cursor = body.nextCursor;
  $('more').hidden = !cursor;
  $('status').textContent = statusText(body.total, q);
  if (!append) facets(body.facets);
}

/** An empty library, not an empty answer: says how to fill it. */
function statusText(total, q) {
  return total === 0 && !q.trim() ? 'No videos in the library yet: add some with videodex process <folder, file or URL>' : total + ' video' + (total === 1 ? '' : 's');
}

/**
 * After a tag edit: the facet counts and the total of the query on screen as they are now (they counted the tags
 * before it); the cards stay where they are, the edited one showing its new tags.
 */
async function refreshFacets() {
  const mine = latest;
  const q = shown;
  const { ok, body } = await getJson('/api/search?' + new URLSearchParams({ q, limit: '1' }));
  // a search started meanwhile shows its own
  if (!ok || mine !== latest || q !== shown) return;
  facets(body.facets);
  $('status').textContent = statusText(body.total, q);
}

/**
 * A keyframe, or a grey box of the same size once serve refuses it (its file deleted, or not a JPEG): a browser
 * showed its broken-image icon on every card after a keyframes folder was cleaned away.
 */
function keyframe(src, cls) {
  const img = el('img', { src, alt: '', loading: 'lazy' });
  img.addEventListener('error', () => img.replaceWith(el('div', { class: cls })), { once: true });
  return img;
}

/**
 * A card or scene acts on a click, and as a button does from the keyboard (Tab to it, Enter or Space): they were
 * divs only a mouse could open, so a video could not be opened or played from a scene without one.
 */
function activate(node, action) {
  node.setAttribute('tabindex', '0');
  node.setAttribute('role', 'button');
  node.addEventListener('click', action);
  node.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' && e.key !== ' ') return;
    e.preventDefault();
    action();
  });
}

function card(h) {
  const img = h.thumbnail ? keyframe(h.thumbnail, 'noimg') : el('div', { class: 'noimg' });
  const meta = [fmtTime(h.durationSec), h.width ? h.width + '×' + h.height : null, h.codec, h.sceneCount ? h.sceneCount + (h.sceneCount === 1 ? ' scene' : ' scenes') : null].filter(Boolean).join(' · ');
  const c = el('div', { class: 'card' }, img, el('div', { class: 'body' },
    el('div', { class: 'name', text: h.title || h.name, title: h.name }),
    el('div', { class: 'meta', text: meta }),
    cardTags(h.tags),
    h.snippet ? el('div', { class: 'hl' }, ...h.snippet.map((p) => p.match ? el('mark', { text: p.text }) : document.createTextNode(p.text))) : h.highlight ? el('div', { class: 'hl', text: h.highlight }) : null,
    h.failedStages.length ? el('div', { class: 'failed', text: 'failed: ' + h.failedStages.join(', ') }) : null));
  c.dataset.id = h.id;
  activate(c, () => open(h.id));
  return c;
}

function cardTags(names) {
  const box = el('div', { class: 'tags', text: names.slice(0, 8).join(', ') });
  box.hidden = !names.length;
  return box;
}

function facets(f) {
  const box = $('facets');
  box.replaceChildren();
  const groups = [['tags', 'tag', 'Tags'], ['categories', 'category', 'Categories'], ['codecs', 'codec', 'Codecs'], ['resolutions', 'resolution', 'Resolutions'], ['sourceKinds', 'source', 'Sources']];
  for (const [key, field, label] of groups) {
    const entries = Object.entries(f[key] || {});
    if (!entries.length) continue;
    box.append(el('h3', { text: label }));
    for (const [name, n] of entries.slice(0, 15)) {
      const b = el('button', { text: name + ' (' + n + ')' });
      b.addEventListener('click', () => {
        // quoted unless plainly one word: a bracket, a star or a quote would be read as query syntax (a label
        // 'dog(s)' searched for dog AND s), and the quotes of a name are part of it, escaped, not dropped
        const term = field + ':' + (/^[\\p{L}\\p{M}\\p{N}._+#-]+$/u.test(name) ? name : '"' + name.replace(/["\\\\]/g, '\\\\$&') + '"');
        $('q').value = narrowed(shown, term);
        search(false);
      });
      box.append(b);
    }
  }
}

/**
 * The query the facet counts were made for, narrowed by a term. OR binds looser than the space (AND), so a query
 * with an OR is put in parentheses first: 'a OR b tag:x' would narrow only b.
 */
function narrowed(q, term) {
  if (!q.trim()) return term;
  return /(^|\\s)(OR|\\|\\|?)(\\s|$)/.test(q) ? '(' + q.trim() + ') ' + term : q.trim() + ' ' + term;
}

async function open(id) {
  const mine = ++opening;
  const [{ ok, body: v }, editable] = await Promise.all([getJson('/api/videos/' + encodeURIComponent(id)), tagEdits]);
  if (mine !== opening) return;
  if (!ok) { $('error').textContent = 'video ' + id + ': ' + v.error; return; }
  history.replaceState(null, '', '?' + new URLSearchParams({ q: $('q').value, v: id }));
  $('d-title').textContent = v.source.title || (v.metadata && v.metadata.containerTags.title) || v.file.path.split('/').pop();
  const m = v.metadata;
  $('d-meta').textContent = m ? [fmtTime(m.durationSec), m.width + '×' + m.height, m.fps + ' fps', m.videoCodec, m.audio ? m.audio.codec : 'silent'].join(' · ') : '';
  // what went wrong, with the reason the run recorded: the card says only which stage failed
  $('d-failed').textContent = Object.entries(v.stages || {}).filter(([, st]) => st.status === 'failed').map(([name, st]) => name + ' failed: ' + (st.error || 'no reason recorded')).join('\\n');
  $('d-desc').textContent = v.ai ? v.ai.description : '';
  current = v;
  $('d-tagerror').textContent = '';
  $('d-newtag').value = '';
  showTags(v, editable);
  const player = $('player');
  player.src = '/api/videos/' + id + '/file';
  // scene times count from the video's first frame, the player's clock from the file's start: a video after
  // audio or an empty edit starts metadata.videoStartSec in, and the list shows the times the player will show
  const lead = (m && m.videoStartSec) || 0;
  const scenes = $('scenes');
  scenes.replaceChildren();
  for (const s of v.scenes) {
    const item = el('div', { class: 'scene' },
      s.keyframe ? keyframe('/api/videos/' + id + '/keyframes/' + s.index, 'noframe') : null,
      el('div', { text: '#' + s.index + ' ' + fmtTime(s.startSec + lead) + '–' + fmtTime(s.endSec + lead) + (s.description ? ' ' + s.description : '') }));
    activate(item, () => { player.currentTime = s.startSec + lead; player.play(); });
    scenes.append(item);
  }
  $('detail').style.display = 'flex';
}

/**
 * The panel's tags: each with its source, the person's own (source user) marked as theirs; with edits allowed, each
 * has a remove button and the form adds names. Names the person removed are listed, so they know why a tag is gone.
 */
function showTags(v, editable) {
  const box = $('d-tags');
  box.replaceChildren();
  for (const [i, t] of v.tags.entries()) {
    const mine = t.source === 'user';
    const chip = el('span', { class: mine ? 'tag mine' : 'tag', title: mine ? 'added by you' : 'source: ' + t.source },
      el('span', { text: t.name }), el('span', { class: 'src', text: mine ? 'yours' : t.source }));
    if (editable) {
      const remove = el('button', { type: 'button', class: 'remove', 'aria-label': 'Remove tag ' + t.name, title: 'Remove tag ' + t.name, text: '×' });
      remove.addEventListener('click', () => editTags(v.id, { remove: [t.name] }, i));
      chip.append(remove);
    }
    box.append(chip);
  }
  if (!v.tags.length) box.append(el('span', { class: 'src', text: 'no tags' }));
  const removed = (v.extra && v.extra._userTags && Array.isArray(v.extra._userTags.remove)) ? v.extra._userTags.remove : [];
  $('d-removed').textContent = removed.length ? 'removed by you: ' + removed.join(', ') : '';
  $('d-tagform').hidden = !editable;
}

/**
 * Sends an edit of the panel's video; shows the record the server answers, or its error in the panel. After a
 * removal the focus goes to the remove button now at that place (or the box), not lost with the button it was on.
 */
async function editTags(id, edit, removedAt) {
  $('d-tagerror').textContent = '';
  const { ok, body } = await getJson('/api/videos/' + encodeURIComponent(id) + '/tags', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(edit) });
  // another video may have been opened, or the panel closed, meanwhile
  if (!current || current.id !== id || $('detail').style.display !== 'flex') return ok;
  if (!ok) {
    $('d-tagerror').textContent = 'tags not changed: ' + body.error;
    return false;
  }
  current = body;
  showTags(body, true);
  // kept on the record but not applied: tagging needs the probe's answer (as videodex tag says)
  if (body.stages && body.stages.probe && body.stages.probe.status === 'failed') $('d-tagerror').textContent = 'edits kept: its probe failed, so it is not tagged; they apply once it is processed';
  if (removedAt !== undefined) {
    const buttons = $('d-tags').querySelectorAll('button.remove');
    (buttons[Math.min(removedAt, buttons.length - 1)] || $('d-newtag')).focus();
  }
  // its card shows the tags as they are now, too, and the facets count them
  for (const c of document.querySelectorAll('#results .card')) if (c.dataset.id === id) c.querySelector('.tags').replaceWith(cardTags(body.tags.map((t) => t.name)));
  refreshFacets();
  return true;
}

$('d-tagform').addEventListener('submit', async (e) => {
  e.preventDefault();
  const names = $('d-newtag').value.split(',').map((n) => n.trim()).filter(Boolean);
  if (!current || !names.length) return;
  if (await editTags(current.id, { add: names })) $('d-newtag').value = '';
});

// A player that cannot load its video shows only a black box: the server says why (the file was deleted or changed
// since it was indexed) in a JSON error the player never shows, so it is asked for it once.
$('player').addEventListener('error', async () => {
  const src = $('player').getAttribute('src');
  if (!src) return;
  let why = 'this browser cannot play it';
  try {
    const res = await fetch(src, { headers: { range: 'bytes=0-0' } });
    if (!res.ok) why = (await res.json().catch(() => null) || {}).error || 'the server answered ' + res.status;
    else await res.body?.cancel();
  } catch (e) {
    why = 'cannot reach videodex serve (' + e.message + ')';
  }
  // another video may have been opened meanwhile
  if ($('player').getAttribute('src') !== src) return;
  $('d-failed').textContent = ($('d-failed').textContent ? $('d-failed').textContent + '\\n' : '') + 'the video cannot be played: ' + why;
});

function closeDetail() {
  opening++;
  current = null;
  $('player').pause();
  // a paused player goes on holding its download (a connection to serve, more bytes buffered) until its source goes
  $('player').removeAttribute('src');
  $('player').load();
  $('detail').style.display = 'none';
  history.replaceState(null, '', '?' + new URLSearchParams({ q: $('q').value }));
}
$('detail').querySelector('.close').addEventListener('click', closeDetail);
// as any dialog: Escape, or a click on the dimmed page around the panel (the × alone was the way out)
document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && $('detail').style.display === 'flex') closeDetail(); });
$('detail').addEventListener('click', (e) => { if (e.target === $('detail')) closeDetail(); });
$('search').addEventListener('submit', (e) => { e.preventDefault(); search(false); });
$('more').addEventListener('click', () => search(true));
// Back and Forward: the search and the video the address names
window.addEventListener('popstate', () => {
  const at = new URLSearchParams(location.search);
  $('q').value = at.get('q') || '';
  search(false, 'none');
  if (at.get('v')) open(at.get('v'));
  else if ($('detail').style.display === 'flex') closeDetail();
});
const initial = new URLSearchParams(location.search);
$('q').value = initial.get('q') || '';
search(false, 'replace');
if (initial.get('v')) open(initial.get('v'));
</script>
</body>
</html>
`;
