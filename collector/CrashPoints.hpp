#pragma once
// Test-only crash points: with MC_CRASH_AT=<point>[:<n>] in the environment the process kills
// itself (SIGKILL, no cleanup) the n-th time (default 1st) it reaches that point, so tests can
// prove that a crash at each step of the per-message order loses and doubles nothing.
// Points: after-fetch, after-accept, after-commit, after-dele, before-quit; IMAP: after-store
// (between UID STORE \Deleted and UID EXPUNGE).

namespace mc::collector {

void crashPoint(const char* point);

}  // namespace mc::collector
