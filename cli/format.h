#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>

namespace weft::cli {

// Formatting shared by the renderings; pure functions, no I/O.

// "512 B", "1.5 KiB", "3.0 MiB", "2.0 GiB".
std::string HumanBytes(int64_t bytes);

// The message as indented JSON (as protobuf prints it).
std::string ToJson(const google::protobuf::Message& message);

}  // namespace weft::cli
