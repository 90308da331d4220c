#pragma once

#include <string>

#include "head.pb.h"

namespace weft::cli {

// Renderings of the node table; pure functions of the reply, no I/O.
std::string RenderStatus(const proto::ListNodesReply& reply, const std::string& head_address);
std::string RenderNodesTable(const proto::ListNodesReply& reply);
std::string RenderNodesJson(const proto::ListNodesReply& reply);

}  // namespace weft::cli
