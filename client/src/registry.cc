#include "weft/registry.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>

#include "weft/error.h"

namespace weft::internal {
namespace {

struct Registry {
  std::mutex mu;
  std::deque<ClassInfo> classes;  // deque: pointers stay valid as classes are added
  std::deque<FunctionInfo> functions;
};

Registry& TheRegistry() {
  static auto* registry = new Registry();  // never destroyed: used from static destructors
  return *registry;
}

std::string LibraryOf(const void* where) {
  Dl_info info{};
  if (!dladdr(where, &info) || !info.dli_fname) return "";
  return info.dli_fname;
}

}  // namespace

ClassInfo* RegisterClass(std::string name, const std::type_info& type, const void* where) {
  auto& registry = TheRegistry();
  std::lock_guard lock(registry.mu);
  for (auto& cls : registry.classes) {
    if (cls.name == name) {
      // Loaded twice (driver and a library both register it): keep the first, refresh methods.
      cls.methods.clear();
      return &cls;
    }
  }
  auto& cls = registry.classes.emplace_back();
  cls.name = std::move(name);
  cls.type_name = type.name();
  cls.library = LibraryOf(where);
  return &cls;
}

void RegisterFunction(FunctionInfo info, const void* where) {
  auto& registry = TheRegistry();
  std::lock_guard lock(registry.mu);
  info.library = LibraryOf(where);
  for (auto& f : registry.functions) {
    if (f.name == info.name) {
      f = std::move(info);
      return;
    }
  }
  registry.functions.push_back(std::move(info));
}

const ClassInfo* FindClass(std::string_view name) {
  auto& registry = TheRegistry();
  std::lock_guard lock(registry.mu);
  for (const auto& cls : registry.classes) {
    if (cls.name == name) return &cls;
  }
  return nullptr;
}

const ClassInfo* FindClassByType(const std::type_info& type) {
  auto& registry = TheRegistry();
  std::lock_guard lock(registry.mu);
  for (const auto& cls : registry.classes) {
    if (cls.type_name == type.name()) return &cls;
  }
  throw Error(5, std::string("actor class ") + type.name() +
                     " is not registered: add a weft::ActorClass<...> for it");
}

const FunctionInfo* FindFunction(std::string_view name) {
  auto& registry = TheRegistry();
  std::lock_guard lock(registry.mu);
  for (const auto& f : registry.functions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

const FunctionInfo* FindFunctionByPointer(const void* pointer) {
  auto& registry = TheRegistry();
  std::lock_guard lock(registry.mu);
  for (const auto& f : registry.functions) {
    if (f.pointer == pointer) return &f;
  }
  throw Error(5, "function is not registered: add a weft::RemoteFunction(\"Name\", &f) for it");
}

const std::string& MethodName(const ClassInfo& cls, const std::type_info& pointer_type,
                              const void* pointer, size_t size) {
  for (const auto& method : cls.methods) {
    if (*method.pointer_type == pointer_type && method.pointer.size() == size &&
        std::memcmp(method.pointer.data(), pointer, size) == 0) {
      return method.name;
    }
  }
  throw Error(5, "method of actor class " + cls.name + " is not registered: add .Method(...)");
}

std::string ConcurrencyGroupsError(const ClassInfo& cls) {
  const auto declared = [&](const std::string& name) {
    for (const auto& [group, limit] : cls.groups) {
      if (group == name) return true;
    }
    return false;
  };
  for (size_t i = 0; i < cls.groups.size(); ++i) {
    const auto& [name, limit] = cls.groups[i];
    const std::string which = "actor class " + cls.name + ": concurrency group \"" + name + "\"";
    if (name.empty()) return "actor class " + cls.name + ": a concurrency group needs a name";
    if (limit < 1) {
      return which + " has max_concurrency " + std::to_string(limit) + "; it must be 1 or more";
    }
    for (size_t j = 0; j < i; ++j) {
      if (cls.groups[j].first == name) return which + " is declared twice";
    }
  }
  for (const auto& method : cls.methods) {
    if (!method.group.empty() && !declared(method.group)) {
      return "actor class " + cls.name + ": method " + method.name + " is in concurrency group \"" +
             method.group + "\", which the class does not declare (add .ConcurrencyGroup(\"" +
             method.group + "\", N))";
    }
  }
  return "";
}

std::vector<std::string> CodeLibraries() {
  char self[4096] = {};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  const std::string main_executable = n > 0 ? std::string(self, n) : "";
  auto& registry = TheRegistry();
  std::lock_guard lock(registry.mu);
  std::vector<std::string> libraries;
  auto add = [&](const std::string& library) {
    if (library.empty()) return;
    // The main executable goes by the name it was started as ("./driver"), a library by the
    // name it was loaded as (kept: a soname link stays one).
    std::error_code error;
    if (std::filesystem::equivalent(library, main_executable, error)) return;
    for (const auto& known : libraries)
      if (known == library) return;
    libraries.push_back(library);
  };
  for (const auto& cls : registry.classes) add(cls.library);
  for (const auto& f : registry.functions) add(f.library);
  return libraries;
}

}  // namespace weft::internal
