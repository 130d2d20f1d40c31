// Fuzzes `mailcollector import getmailrc`: the INI reader, Python tuple literals and the mapping
// must never crash or throw on any input, and whatever a successful import prints must load as a
// mailcollector configuration (ImportRoundTrip.hpp). The input is one or more getmailrc files
// separated by a line "%%next-file%%"; the tuple parser is also run on the raw payload.

#include <string>
#include <utility>
#include <vector>

#include "config/GetmailrcImporter.hpp"
#include "config/Importers.hpp"
#include "tests/fuzz/ImportRoundTrip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);

    // The tuple syntax on its own: a tuple's items never outnumber its quotes.
    if (const auto items = mc::config::importer::parsePythonStrings(text)) {
        std::size_t quotes = 0;
        for (char c : text) quotes += c == '"' || c == '\'';
        MC_FUZZ_CHECK(items->size() * 2 <= quotes);
    }

    std::vector<std::pair<std::string, std::string>> files;
    const std::string separator = "\n%%next-file%%\n";
    for (std::size_t start = 0;;) {
        const std::size_t end = text.find(separator, start);
        files.emplace_back("/home/me/.getmail/rc" + std::to_string(files.size()),
                           text.substr(start, end == std::string::npos ? std::string::npos : end - start));
        if (end == std::string::npos || files.size() == 8) break;
        start = end + separator.size();
    }
    for (const auto& [path, body] : files) {
        const auto ini = mc::config::importer::parseIni(body);
        if (!ini.error.empty()) MC_FUZZ_CHECK(ini.errorLine >= 1 && ini.sections.empty());
    }

    mc::config::importer::ImportOptions options;
    options.localUser = "me";
    mc::fuzz::checkImport(mc::config::importer::importGetmailrc(files, options));
    return 0;
}
