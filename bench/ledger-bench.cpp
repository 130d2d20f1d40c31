// A micro-benchmark of the ledger store alone (no servers): durable writes with 1 and 8
// writers, and the small reads a poll makes. It uses only the LedgerStore interface, so the same
// source builds against older trees (bench/ledger-bench.sh builds it against any tree's build/).
//
//   ledger-bench LOCATION [MESSAGES] [READS]
//
// LOCATION: a SQLite file path (removed first) or a postgresql:// URL of an empty database.
// Prints one `result NAME VALUE UNIT` line per measurement.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "collector/ledger/LedgerStore.hpp"

namespace {

using mc::ledger::LedgerStore;
using mc::ledger::MessageKey;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

MessageKey key(int writer, int message) {
    return MessageKey{"bench-" + std::to_string(writer), "INBOX", 7, std::to_string(message)};
}

// Each of `writers` threads records and marks delivered `perWriter` messages of its own account
// (two durable writes per message, as a poll makes); returns writes a second.
double writes(LedgerStore& store, int writers, int perWriter, int offset) {
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w) {
        threads.emplace_back([&, w] {
            for (int m = 0; m < perWriter; ++m) {
                const MessageKey k = key(w, offset + m);
                store.recordSeen(k, 1000 + m);
                store.markDelivered(k, 1000 + m, std::string(64, 'a'), "<" + k.uid + "@bench>", std::string(64, 'b'));
            }
        });
    }
    for (std::thread& thread : threads) thread.join();
    return 2.0 * writers * perWriter / secondsSince(start);
}

template <typename Read>
double readsPerSecond(int count, Read&& read) {
    const auto start = Clock::now();
    for (int i = 0; i < count; ++i) read(i);
    return count / secondsSince(start);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: ledger-bench LOCATION [MESSAGES] [READS]\n");
        return 2;
    }
    const std::string location = argv[1];
    const int messages = argc > 2 ? std::atoi(argv[2]) : 2000;
    const int reads = argc > 3 ? std::atoi(argv[3]) : 20000;
    if (location.find("://") == std::string::npos) {
        for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(location + suffix);
    }
    std::unique_ptr<LedgerStore> store = mc::ledger::openLedger(location);
    for (int w = 0; w < 8; ++w) store->registerAccount("bench-" + std::to_string(w));

    auto report = [](const char* name, double value, const char* unit) {
        std::printf("result %s %.0f %s\n", name, value, unit);
        std::fflush(stdout);
    };
    report("write_1_writer", writes(*store, 1, messages, 0), "writes/s");
    report("write_8_writers", writes(*store, 8, messages / 8, messages), "writes/s");
    report("read_message", readsPerSecond(reads, [&](int i) { store->message(key(i % 8, i % messages)); }), "reads/s");
    report("read_account", readsPerSecond(reads / 10, [&](int i) { store->account("bench-" + std::to_string(i % 8)); }),
           "reads/s");
    report("read_work_due",
           readsPerSecond(reads / 10,
                          [&](int i) { store->workDue("bench-" + std::to_string(i % 8), "INBOX", 7, 0, 1000); }),
           "reads/s");
    // A nothing-new poll's bookkeeping: the lease taken, the poll's end (its result, its history and
    // the lease given up) and the next poll recorded.
    report("poll_bookkeeping",
           readsPerSecond(
               200,
               [&](int i) {
                   const std::string account = "bench-" + std::to_string(i % 8);
                   store->takeLease(account, "bench", std::chrono::seconds(60));
                   store->recordPollEnd(mc::ledger::PollRecord{account, 0, 0, "ok", "", 0, 0, 0, 0, 0, 0}, "", "bench");
                   store->recordNextPoll(account, 0);
               }),
           "polls/s");
    return 0;
}
