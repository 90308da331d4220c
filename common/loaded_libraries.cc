#include "common/loaded_libraries.h"

#include <dlfcn.h>

#include <filesystem>

namespace weft {
namespace {

// The string table of a loaded library's dynamic section.
const char* StringsOf(const ElfW(Dyn) * dynamic, ElfW(Addr) base) {
  for (const ElfW(Dyn)* d = dynamic; d->d_tag != DT_NULL; ++d) {
    if (d->d_tag != DT_STRTAB) continue;
    auto address = static_cast<ElfW(Addr)>(d->d_un.d_ptr);
    if (address < base) address += base;  // not relocated by the loader
    return reinterpret_cast<const char*>(address);
  }
  return nullptr;
}

std::vector<std::string> Entries(const ElfW(Dyn) * dynamic, ElfW(Addr) base, ElfW(Sxword) tag) {
  std::vector<std::string> entries;
  const char* strings = StringsOf(dynamic, base);
  if (!strings) return entries;
  for (const ElfW(Dyn)* d = dynamic; d->d_tag != DT_NULL; ++d) {
    if (d->d_tag == tag) entries.emplace_back(strings + d->d_un.d_val);
  }
  return entries;
}

}  // namespace

std::vector<std::string> NeededBy(const link_map& library) {
  return Entries(library.l_ld, library.l_addr, DT_NEEDED);
}

std::string SonameOf(const link_map& library) {
  auto names = Entries(library.l_ld, library.l_addr, DT_SONAME);
  return names.empty() ? "" : names.front();
}

const link_map* LoadedLibrary(const std::string& name) {
  void* handle = dlopen(name.c_str(), RTLD_LAZY | RTLD_NOLOAD);
  if (!handle) return nullptr;
  link_map* map = nullptr;
  dlinfo(handle, RTLD_DI_LINKMAP, &map);
  dlclose(handle);  // RTLD_NOLOAD took a reference; the library stays loaded
  return map;
}

bool HasLoadedLibrary(const std::string& name) {
  struct Search {
    const std::string* name;
    bool found = false;
  } search{&name};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* s = static_cast<Search*>(data);
        if (!info->dlpi_name || !*info->dlpi_name) return 0;  // the executable
        const ElfW(Dyn)* dynamic = nullptr;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          if (info->dlpi_phdr[i].p_type == PT_DYNAMIC) {
            dynamic =
                reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
          }
        }
        const bool named = std::filesystem::path(info->dlpi_name).filename() == *s->name;
        const auto soname =
            dynamic ? Entries(dynamic, info->dlpi_addr, DT_SONAME) : std::vector<std::string>();
        if (named || (!soname.empty() && soname.front() == *s->name)) {
          s->found = true;
          return 1;
        }
        return 0;
      },
      &search);
  return search.found;
}

}  // namespace weft
