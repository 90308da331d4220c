#pragma once

#include "absl/strings/string_view.h"

namespace weft::dashboard {

// A file of the dashboard's web page (raylet/dashboard/web), built into the binary
// (embed_assets.cmake) so that the page needs neither files beside the binary nor the internet.
struct WebAsset {
  absl::string_view path;  // "/index.html"
  absl::string_view content_type;
  absl::string_view content;
};

// The asset at `path`; nullptr when there is none.
const WebAsset* FindAsset(absl::string_view path);

}  // namespace weft::dashboard
