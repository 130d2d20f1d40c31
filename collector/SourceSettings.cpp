#include "collector/SourceSettings.hpp"

#include <algorithm>

#include "proto/AsciiText.hpp"

namespace mc::collector {

FolderRole folderRole(const std::vector<std::string>& flags, std::string_view name, std::optional<char> delimiter) {
    static const std::pair<const char*, FolderRole> kSpecialUse[] = {
        {"\\Trash", FolderRole::Trash}, {"\\Junk", FolderRole::Junk},       {"\\Drafts", FolderRole::Drafts},
        {"\\All", FolderRole::Virtual}, {"\\Flagged", FolderRole::Virtual},
    };
    for (const auto& flag : flags)
        for (const auto& [special, role] : kSpecialUse)
            if (proto::equalsNoCase(flag, special)) return role;
    // Names mail clients and servers give these folders (Outlook, Apple Mail, Yahoo, localized).
    static const std::pair<const char*, FolderRole> kCommonNames[] = {
        {"Trash", FolderRole::Trash},
        {"Deleted Items", FolderRole::Trash},
        {"Deleted Messages", FolderRole::Trash},
        {"Deleted", FolderRole::Trash},
        {"Bin", FolderRole::Trash},
        {"Papierkorb", FolderRole::Trash},
        {"Gel\xC3\xB6schte Elemente", FolderRole::Trash},
        {"Corbeille", FolderRole::Trash},
        {"Papelera", FolderRole::Trash},
        {"Cestino", FolderRole::Trash},
        {"Junk", FolderRole::Junk},
        {"Spam", FolderRole::Junk},
        {"Junk E-mail", FolderRole::Junk},
        {"Junk Email", FolderRole::Junk},
        {"Junk Mail", FolderRole::Junk},
        {"Bulk Mail", FolderRole::Junk},
        {"Spamverdacht", FolderRole::Junk},
        {"Courrier ind\xC3\xA9sirable", FolderRole::Junk},
        {"Correo no deseado", FolderRole::Junk},
        {"Posta indesiderata", FolderRole::Junk},
        {"Drafts", FolderRole::Drafts},
        {"Draft", FolderRole::Drafts},
        {"Entw\xC3\xBCrfe", FolderRole::Drafts},
        {"Brouillons", FolderRole::Drafts},
        {"Borradores", FolderRole::Drafts},
        {"Bozze", FolderRole::Drafts},
    };
    std::string_view component = name;
    if (delimiter) {
        auto last = name.rfind(*delimiter);
        if (last != std::string_view::npos) component = name.substr(last + 1);
    }
    for (const auto& [common, role] : kCommonNames)
        if (proto::equalsNoCase(component, common)) return role;
    return FolderRole::None;
}

}  // namespace mc::collector
