#include "common/code_library.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace weft {

struct Sha256::State {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(context); }
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  EVP_DigestInit_ex(state_->context, EVP_sha256(), nullptr);
}

Sha256::~Sha256() = default;

void Sha256::Update(std::string_view bytes) {
  EVP_DigestUpdate(state_->context, bytes.data(), bytes.size());
}

std::string Sha256::HexDigest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(state_->context, digest, &length);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), static_cast<size_t>(length)));
}

absl::StatusOr<proto::CodeLibrary> DescribeLibrary(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::NotFoundError(
        absl::StrCat("cannot read code library ", path, ": ", std::strerror(errno)));
  }
  Sha256 hash;
  int64_t size = 0;
  std::string buffer(kCodeChunkBytes, '\0');
  for (;;) {
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close(fd);
      return absl::InternalError(
          absl::StrCat("cannot read code library ", path, ": ", std::strerror(error)));
    }
    if (n == 0) break;
    hash.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
    size += n;
  }
  close(fd);
  proto::CodeLibrary library;
  library.set_sha256(hash.HexDigest());
  library.set_name(std::filesystem::path(path).filename().string());
  library.set_size(size);
  return library;
}

absl::Status CheckLibrary(const proto::CodeLibrary& library) {
  const std::string& sha = library.sha256();
  const bool hex = sha.size() == 64 && std::all_of(sha.begin(), sha.end(), [](char c) {
                     return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
                   });
  if (!hex)
    return absl::InvalidArgumentError("a code library's SHA-256 is 64 lowercase hex digits");
  const std::string& name = library.name();
  if (name.empty() || name.size() > 255 || name == "." || name == ".." ||
      name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("code library ", sha, ": its name is not a plain file name"));
  }
  if (library.size() < 0 || library.size() > kMaxCodeLibraryBytes) {
    return absl::InvalidArgumentError(absl::StrCat("code library ", name, " weighs ",
                                                   library.size(), " bytes; at most ",
                                                   kMaxCodeLibraryBytes, " are taken"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<CodeFileWriter>> CodeFileWriter::Create(const std::string& path,
                                                                       proto::CodeLibrary library) {
  if (auto status = CheckLibrary(library); !status.ok()) return status;
  std::error_code ignored;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ignored);
  std::string temp = path + ".partial-XXXXXX";
  const int fd = mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot write ", temp, ": ", std::strerror(errno)));
  }
  return std::unique_ptr<CodeFileWriter>(
      new CodeFileWriter(path, std::move(temp), fd, std::move(library)));
}

CodeFileWriter::CodeFileWriter(std::string path, std::string temp, int fd,
                               proto::CodeLibrary library)
    : path_(std::move(path)), temp_(std::move(temp)), fd_(fd), library_(std::move(library)) {}

CodeFileWriter::~CodeFileWriter() {
  if (fd_ >= 0) close(fd_);
  if (!committed_) unlink(temp_.c_str());
}

absl::Status CodeFileWriter::Append(std::string_view bytes) {
  if (written_ + static_cast<int64_t>(bytes.size()) > library_.size()) {
    return absl::DataLossError(absl::StrCat("code library ", library_.name(),
                                            " does not match its SHA-256 ", library_.sha256(),
                                            ": it has more than its ", library_.size(), " bytes"));
  }
  hash_.Update(bytes);
  while (!bytes.empty()) {
    const ssize_t n = write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::InternalError(absl::StrCat("cannot write ", temp_, ": ", std::strerror(errno)));
    }
    bytes.remove_prefix(static_cast<size_t>(n));
    written_ += n;
  }
  return absl::OkStatus();
}

absl::Status CodeFileWriter::Commit() {
  const std::string sha = hash_.HexDigest();
  if (written_ != library_.size() || sha != library_.sha256()) {
    return absl::DataLossError(absl::StrCat("code library ", library_.name(),
                                            " does not match its SHA-256 ", library_.sha256(), " (",
                                            written_, " bytes whose SHA-256 is ", sha, ")"));
  }
  // Read-only: a copy is never changed in place, only replaced.
  const bool written = fchmod(fd_, 0444) == 0 && fsync(fd_) == 0;
  const int error = errno;
  const bool closed = close(fd_) == 0;
  fd_ = -1;
  if (!written || !closed) {
    return absl::InternalError(
        absl::StrCat("cannot write ", temp_, ": ", std::strerror(written ? errno : error)));
  }
  if (rename(temp_.c_str(), path_.c_str()) != 0) {
    return absl::InternalError(
        absl::StrCat("cannot move ", temp_, " to ", path_, ": ", std::strerror(errno)));
  }
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace weft
