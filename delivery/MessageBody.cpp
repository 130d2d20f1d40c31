#include "delivery/MessageBody.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "base/Hex.hpp"
namespace mc::delivery {

struct MessageBody::HashState {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    HashState() { EVP_DigestInit_ex(context, EVP_sha256(), nullptr); }
    ~HashState() { EVP_MD_CTX_free(context); }
};

namespace {

[[noreturn]] void throwErrno(const std::string& what) { throw std::runtime_error(what + ": " + std::strerror(errno)); }

void writeAll(int fd, std::string_view bytes, const std::string& what) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno(what);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

MessageBody::MessageBody(std::string spoolDir, std::size_t memoryLimit)
    : spoolDir_(std::move(spoolDir)), memoryLimit_(memoryLimit), hash_(std::make_unique<HashState>()) {}

MessageBody::~MessageBody() {
    if (spoolFd_ >= 0) ::close(spoolFd_);
}

MessageBody::MessageBody(MessageBody&& other) noexcept
    : spoolDir_(std::move(other.spoolDir_)),
      memoryLimit_(other.memoryLimit_),
      memory_(std::move(other.memory_)),
      spoolFd_(other.spoolFd_),
      size_(other.size_),
      crlf_(other.crlf_),
      hash_(std::move(other.hash_)),
      sha256_(std::move(other.sha256_)) {
    other.spoolFd_ = -1;
}

MessageBody& MessageBody::operator=(MessageBody&& other) noexcept {
    if (this != &other) {
        if (spoolFd_ >= 0) ::close(spoolFd_);
        spoolDir_ = std::move(other.spoolDir_);
        memoryLimit_ = other.memoryLimit_;
        memory_ = std::move(other.memory_);
        spoolFd_ = other.spoolFd_;
        size_ = other.size_;
        crlf_ = other.crlf_;
        hash_ = std::move(other.hash_);
        sha256_ = std::move(other.sha256_);
        other.spoolFd_ = -1;
    }
    return *this;
}

void MessageBody::spill() {
    const int directoryFd = openDirectoryNoFollow(spoolDir_, false);
    // O_TMPFILE: the file has no name, so a crash leaves nothing behind.
    spoolFd_ = ::openat(directoryFd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    ::close(directoryFd);
    if (spoolFd_ < 0) {
        std::string pattern = spoolDir_ + "/message-XXXXXX";
        spoolFd_ = ::mkostemp(pattern.data(), O_CLOEXEC);
        if (spoolFd_ < 0) throwErrno("cannot create a spool file in " + spoolDir_);
        ::unlink(pattern.c_str());
    }
    writeAll(spoolFd_, memory_, "cannot write the spool file");
    memory_.clear();
    memory_.shrink_to_fit();
}

void MessageBody::append(std::string_view bytes) {
    EVP_DigestUpdate(hash_->context, bytes.data(), bytes.size());
    size_ += bytes.size();
    crlf_.add(bytes);
    if (spoolFd_ < 0 && memory_.size() + bytes.size() > memoryLimit_) spill();
    if (spoolFd_ >= 0)
        writeAll(spoolFd_, bytes, "cannot write the spool file");
    else
        memory_.append(bytes);
}

void MessageBody::finish() {
    crlf_.finish();
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(hash_->context, digest, &length);
    sha256_ = base::lowerHex(digest, length);
}

std::string MessageBody::head(std::size_t n) const {
    if (spoolFd_ < 0) return memory_.substr(0, n);
    std::string out(std::min<std::uint64_t>(n, size_), '\0');
    ssize_t got = ::pread(spoolFd_, out.data(), out.size(), 0);
    out.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    return out;
}

void MessageBody::forEachChunk(const std::function<void(std::string_view)>& sink) const {
    if (spoolFd_ < 0) {
        sink(memory_);
        return;
    }
    std::string chunk(256 * 1024, '\0');
    off_t offset = 0;
    for (;;) {
        ssize_t n = ::pread(spoolFd_, chunk.data(), chunk.size(), offset);
        if (n < 0) {
            if (errno == EINTR) continue;
            throwErrno("cannot read the spool file");
        }
        if (n == 0) break;
        sink(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
        offset += n;
    }
}

void MessageBody::writeTo(const std::string& path) const { writeTo(AT_FDCWD, path, path); }

void MessageBody::writeTo(int directoryFd, const std::string& name, const std::string& path) const {
    int fd = ::openat(directoryFd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) throwErrno("cannot create " + path);
    try {
        forEachChunk([&](std::string_view chunk) { writeAll(fd, chunk, "cannot write " + path); });
        if (::fsync(fd) != 0) throwErrno("cannot sync " + path);
    } catch (...) {
        ::close(fd);
        throw;
    }
    ::close(fd);
}

int openDirectoryNoFollow(const std::string& path, bool makePrivate) {
    std::filesystem::path directory = std::filesystem::path(path).lexically_normal();
    if (directory.has_parent_path() && directory.filename().empty()) directory = directory.parent_path();
    std::error_code ignored;
    // The parents are the operator's choice (they may be links); only the last component, which
    // this program creates and chmods, must be a real directory.
    if (directory.has_parent_path()) std::filesystem::create_directories(directory.parent_path(), ignored);
    if (::mkdir(directory.c_str(), 0700) != 0 && errno != EEXIST) throwErrno("cannot create " + path);
    int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        struct stat link {};
        if (errno == ELOOP || (::lstat(directory.c_str(), &link) == 0 && S_ISLNK(link.st_mode)))
            throw std::runtime_error(path + " is a symbolic link; refusing to follow it (make it a real directory)");
        throwErrno("cannot open directory " + path);
    }
    struct stat status {};
    if (makePrivate && ::fstat(fd, &status) == 0 && (status.st_mode & 07777) != 0700 && ::fchmod(fd, 0700) != 0) {
        ::close(fd);
        throwErrno("cannot chmod 700 " + path);
    }
    return fd;
}

}  // namespace mc::delivery
