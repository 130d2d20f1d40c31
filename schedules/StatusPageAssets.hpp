#pragma once
// The status page's stylesheet and script, inlined into every page (no external assets: the page
// works offline and under a Content-Security-Policy that allows only these, by nonce).

namespace mc::schedules {

extern const char* const kStatusPageCss;
// Live updates: polls the JSON at main[data-live] (every 2 s while a poll runs, else every 10 s)
// and puts each account's texts in with textContent; "Check mail now" posts without reloading.
extern const char* const kStatusPageScript;

}  // namespace mc::schedules
