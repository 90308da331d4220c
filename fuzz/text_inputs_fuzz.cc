// libFuzzer: the text and files a person or a disk hands to Weft: CLI filters (`weft list
// actors --filter`), --resources JSON, a session's token file and its record of the head's
// address, its TLS files, an address's host, the sealed CA key of a stored cluster and a
// certificate's hosts. The first input byte picks the decoder. Each returns an error or a value; a
// crash or a sanitizer report is a finding.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "common/actor_listing.h"
#include "common/auth.h"
#include "common/certificates.h"
#include "common/cluster_endpoint.h"
#include "common/cluster_tls.h"
#include "common/net_address.h"
#include "common/resources.h"
#include "common/rpc.h"
#include "common/session_dir.h"

namespace {

// A session dir of this process's own, whose files the input becomes.
// Removed when the fuzzer exits (a plain array: it outlives the exit handlers).
char session_path[] = "/tmp/weft-fuzz-XXXXXX";

const std::string& Session() {
  static const std::string dir = [] {
    if (!mkdtemp(session_path)) {
      std::perror("mkdtemp");
      std::abort();
    }
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(session_path, ignored);
    });
    return std::string(session_path);
  }();
  return dir;
}

void Write(const std::string& path, const std::string& text) {
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const weft::SessionDir session(Session());
  switch (data[0] % 7) {
    case 0:
      (void)weft::ParseActorFilter(text);
      break;
    case 1:
      (void)weft::ParseResourcesJson(text);
      break;
    case 2: {  // a session's token and head address record, as drivers and the CLI read them
      Write(session.TokenPath(), text);
      Write(session.HeadAddressPath(), text);
      (void)weft::ReadTokenFile(session.TokenPath());
      (void)weft::ResolveClusterEndpoint("", Session());
      break;
    }
    case 3: {  // a session's TLS files
      std::filesystem::create_directories(session.TlsDir());
      for (const char* name : {"/ca.pem", "/cert.pem", "/key.pem"}) {
        Write(session.TlsDir() + name, text);
      }
      (void)weft::ReadTlsFiles(session.TlsDir());
      (void)weft::HostsOf(text);
      break;
    }
    case 4:
      (void)weft::IsLoopback(text);
      break;
    case 5:
      (void)weft::OpenWithToken("fuzz-token", text);
      break;
    default:
      (void)weft::PublicKeyOf(text);
      break;
  }
  return 0;
}
