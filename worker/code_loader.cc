#include "worker/code_loader.h"

#include <dlfcn.h>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace weft::worker {

absl::Status CodeLoader::Load(const google::protobuf::RepeatedPtrField<std::string>& paths) {
  absl::MutexLock lock(&mu_);
  for (const auto& path : paths) {
    if (loaded_.contains(path)) continue;
    // Kept loaded for the process's life: actors and their static registrations live in it.
    if (!dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load code library ", path, ": ", dlerror()));
    }
    spdlog::info("loaded code library={}", path);
    loaded_.insert(path);
  }
  return absl::OkStatus();
}

}  // namespace weft::worker
