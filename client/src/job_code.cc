#include "client/src/job_code.h"

#include <dlfcn.h>

#include <filesystem>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/code_library.h"
#include "common/loaded_libraries.h"
#include "weft/registry.h"
#include "weft/weft.h"

namespace weft::internal {

namespace {

// The path of libweft.so in this process.
std::string WeftLibrary() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<const void*>(&weft::Init), &info) || !info.dli_fname) return "";
  return std::filesystem::weakly_canonical(info.dli_fname).string();
}

// Adds the libraries of its own that the library at `path` needs (depth first, each before the
// libraries that need it), then that library itself named `name`, to `order`. A dependency
// travels under its SONAME, the name its dependents ask the loader for.
absl::Status AddWithDependencies(const std::string& path, const std::string& name,
                                 const std::string& weft, absl::flat_hash_set<std::string>& seen,
                                 std::vector<CodeFile>& order) {
  const std::string canonical = std::filesystem::weakly_canonical(path).string();
  if (!seen.insert(canonical).second) return absl::OkStatus();
  if (const link_map* map = LoadedLibrary(path)) {
    for (const auto& needed : NeededBy(*map)) {
      const link_map* dependency = LoadedLibrary(needed);
      if (!dependency || !dependency->l_name || dependency->l_name[0] != '/') continue;
      const std::string at = std::filesystem::weakly_canonical(dependency->l_name).string();
      if (at == weft || IsSystemLibrary(at) || seen.contains(at)) continue;  // on every node
      const std::string soname = SonameOf(*dependency);
      if (soname.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "code library ", path, " needs ", dependency->l_name,
            ", which has no SONAME: the cluster's workers could not match it to what needs it. "
            "Link it with -Wl,-soname,",
            std::filesystem::path(dependency->l_name).filename().string(),
            " (CMake does so for every SHARED library)"));
      }
      if (auto added = AddWithDependencies(dependency->l_name, soname, weft, seen, order);
          !added.ok()) {
        return added;
      }
    }
  }
  auto library = DescribeLibrary(canonical);
  if (!library.ok()) return library.status();
  library->set_name(name);
  order.push_back({canonical, *std::move(library)});
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<CodeFile>> JobCode() {
  const std::string weft = WeftLibrary();
  absl::flat_hash_set<std::string> seen;
  std::vector<CodeFile> code;
  // The libraries that register classes and functions travel wherever they are installed.
  for (const auto& library : CodeLibraries()) {
    const std::string name = std::filesystem::path(library).filename().string();
    if (auto added = AddWithDependencies(library, name, weft, seen, code); !added.ok()) {
      return added;
    }
  }
  return code;
}

}  // namespace weft::internal
