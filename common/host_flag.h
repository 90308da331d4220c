#pragma once

// Checks of host flags shared by weft-raylet and `weft start` (header-only: for binaries that
// parse their flags with CLI11).

#include <CLI/CLI.hpp>
#include <string>

#include "common/net_address.h"

namespace weft {

// --advertise-address: a host others reach this machine at (CheckAdvertisableHost); anything
// else is a usage error.
inline CLI::Validator AdvertisableHost() {
  return CLI::Validator(
      [](std::string& host) -> std::string {
        const absl::Status checked = CheckAdvertisableHost(host);
        return checked.ok() ? "" : std::string(checked.message());
      },
      "HOST");
}

}  // namespace weft
