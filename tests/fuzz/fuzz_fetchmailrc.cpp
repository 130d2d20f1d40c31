// Fuzzes `mailcollector import fetchmailrc`: the rc-file lexer and parser and the mapping must
// never crash or throw on any input, a syntax error names a line of the file, and whatever a
// successful import prints must load as a mailcollector configuration (ImportRoundTrip.hpp).

#include <algorithm>
#include <string>

#include "config/FetchmailrcImporter.hpp"
#include "config/Importers.hpp"
#include "tests/fuzz/ImportRoundTrip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const int lines = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));

    const auto rc = mc::config::importer::parseFetchmailrc(text);
    if (!rc.error.empty()) {
        MC_FUZZ_CHECK(rc.errorLine >= 1 && rc.errorLine <= lines);
        MC_FUZZ_CHECK(rc.entries.empty() && rc.globals.empty());
    }
    for (const auto& entry : rc.entries) {
        MC_FUZZ_CHECK(entry.line >= 1 && entry.line <= lines);
        for (const auto& user : entry.users) MC_FUZZ_CHECK(user.line >= 0 && user.line <= lines);
    }

    mc::config::importer::ImportOptions options;
    options.localUser = "me";
    const auto result = mc::config::importer::importFetchmailrc(text, "/home/me/.fetchmailrc", options);
    MC_FUZZ_CHECK(result.ok() == rc.error.empty());
    if (!result.ok()) MC_FUZZ_CHECK(result.errorLine == rc.errorLine);
    mc::fuzz::checkImport(result);
    return 0;
}
