#pragma once

#include <link.h>

#include <string>
#include <vector>

namespace weft {

// What the dynamic loader knows of the shared libraries in this process (issue 14: the
// libraries a job's code needs travel with it).

// The names `library` needs (its DT_NEEDED entries) and the name it answers to (DT_SONAME;
// empty without one).
std::vector<std::string> NeededBy(const link_map& library);
std::string SonameOf(const link_map& library);

// The loaded library `name` (a path, or a name the loader would match) refers to; null when
// this process has none by that name.
const link_map* LoadedLibrary(const std::string& name);

// True when a library of this process has the file name or SONAME `name`.
bool HasLoadedLibrary(const std::string& name);

}  // namespace weft
