#include "schedules/StatusPageAssets.hpp"

namespace mc::schedules {

const char* const kStatusPageCss = R"css(
:root { color-scheme: light dark; --fg: #202124; --bg: #f8f9fa; --card: #fff; --muted: #5f6368; --line: #dadce0;
  --ok: #188038; --bad: #d93025; --busy: #1a73e8; --held: #b06000; --accent: #1a73e8; }
@media (prefers-color-scheme: dark) {
  :root { --fg: #e8eaed; --bg: #202124; --card: #292a2d; --muted: #9aa0a6; --line: #3c4043;
    --ok: #81c995; --bad: #f28b82; --busy: #8ab4f8; --held: #fdd663; --accent: #8ab4f8; }
}
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); }
header { display: flex; flex-wrap: wrap; gap: .75em; align-items: center; padding: .75em 1em;
  border-bottom: 1px solid var(--line); background: var(--card); }
header h1 { font-size: 1.2em; margin: 0 auto 0 0; }
a { color: var(--accent); }
header h1 a { color: inherit; text-decoration: none; }
main { max-width: 60em; margin: 0 auto; padding: 1em; display: grid; gap: 1em; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75em 1em; min-width: 0; }
h2 { font-size: 1.1em; margin: 0 0 .4em; overflow-wrap: anywhere; }
.source, .labels, .updated, .legend { color: var(--muted); margin: .2em 0; overflow-wrap: anywhere; }
.label { display: inline-block; border: 1px solid var(--line); border-radius: 1em; padding: 0 .6em; margin-right: .3em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15em 1em; margin: .5em 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
.state { font-size: .8em; font-weight: 600; border-radius: 1em; padding: .1em .6em; vertical-align: middle;
  border: 1px solid currentColor; }
.state-ok { color: var(--ok); } .state-failing { color: var(--bad); } .state-polling { color: var(--busy); }
.state-held { color: var(--held); } .state-never { color: var(--muted); }
.error { border-left: 3px solid var(--bad); padding: .1em .75em; margin: .5em 0; overflow-wrap: anywhere; }
.error p { margin: .3em 0; white-space: pre-wrap; }
.hint { color: var(--muted); }
.progress { color: var(--busy); font-weight: 600; }
.actions { display: flex; flex-wrap: wrap; gap: .75em; align-items: center; }
form { display: inline; margin: 0; }
button { font: inherit; padding: .35em .9em; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: var(--card); cursor: pointer; }
button.quiet, button.drop { background: transparent; color: var(--accent); }
input[type=password] { font: inherit; padding: .3em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9em; }
th, td { text-align: left; padding: .3em .5em; border-bottom: 1px solid var(--line); vertical-align: top;
  overflow-wrap: anywhere; }
td form { margin-right: .3em; }
svg.chart { width: 100%; height: auto; max-height: 14em; }
svg.chart .axis { fill: var(--muted); font-size: 11px; }
.legend span { margin-right: 1em; white-space: nowrap; }
[hidden] { display: none !important; }
)css";

const char* const kStatusPageScript = R"js(
(function () {
  'use strict';
  var main = document.querySelector('main[data-live]');
  if (!main || !window.fetch) return;
  var url = main.getAttribute('data-live');
  var fields = ['state', 'last_checked', 'next_check', 'fetched', 'pending', 'quarantined', 'progress', 'held',
                'error', 'hint'];
  var states = ['never', 'ok', 'failing', 'polling', 'held'];
  var timer = null;
  function schedule(ms) { clearTimeout(timer); timer = setTimeout(refresh, ms); }
  function field(panel, name) { return panel.querySelector('[data-field="' + name + '"]'); }
  function apply(data) {
    var byName = {};
    var busy = false;
    data.accounts.forEach(function (a) { byName[a.name] = a; if (a.state === 'polling') busy = true; });
    document.querySelectorAll('section.account').forEach(function (panel) {
      var a = byName[panel.dataset.account];
      if (!a) return;
      fields.forEach(function (name) { var el = field(panel, name); if (el) el.textContent = a.text[name]; });
      var state = field(panel, 'state');
      states.forEach(function (s) { state.classList.toggle('state-' + s, s === a.state); });
      field(panel, 'progress').hidden = a.text.progress === '';
      field(panel, 'held').hidden = a.text.held === '';
      field(panel, 'error_box').hidden = a.text.error === '';
    });
    var updated = document.querySelector('[data-field="updated"]');
    if (updated) updated.textContent = 'updated ' + new Date().toLocaleTimeString();
    return busy;
  }
  function refresh() {
    fetch(url, {credentials: 'same-origin', cache: 'no-store'})
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (data) { schedule(apply(data) ? 2000 : 10000); })
      .catch(function () { schedule(15000); });
  }
  document.querySelectorAll('form.poll').forEach(function (form) {
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      fetch(form.action, {method: 'POST', credentials: 'same-origin', headers: {'X-Requested-With': 'fetch'},
                          body: new URLSearchParams(new FormData(form))})
        .then(function () { schedule(200); }, function () { schedule(1000); });
    });
  });
  schedule(1000);
})();
)js";

}  // namespace mc::schedules
