#include "raylet/node/code_cache.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/code_library.h"
#include "common/logging.h"
#include "common/rpc.h"

namespace weft::node {
namespace {

// How long one fetch may take: within a worker's wait for the library (50 s), itself within
// the head's wait for an actor's construction (60 s).
constexpr auto kFetchTimeout = std::chrono::seconds(40);

bool IsPartial(const std::filesystem::path& path) {
  return path.filename().string().find(".partial-") != std::string::npos;
}

}  // namespace

void CodeCache::Close() {
  absl::MutexLock lock(&state_->mu);
  state_->closing = true;
  for (auto& [path, fetch] : state_->fetches) fetch.context->TryCancel();
  state_->mu.Await(absl::Condition(
      +[](int* running) { return *running == 0; }, &state_->running));
}

void CodeCache::Open(const std::string& head_address) {
  std::error_code error;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_, error)) {
    if (IsPartial(entry.path())) std::filesystem::remove(entry.path(), error);
  }
  absl::MutexLock lock(&state_->mu);
  state_->head = proto::CodeStore::NewStub(MakeChannel(head_address, token_));
}

std::string CodeCache::PathOf(const proto::CodeLibrary& library) const {
  return absl::StrCat(dir_, "/", library.sha256(), "/", library.name());
}

std::string CodeCache::CopyOf(const std::string& sha256) const {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir_ + "/" + sha256, error)) {
    if (entry.is_regular_file(error) && !IsPartial(entry.path())) return entry.path().string();
  }
  return "";
}

void CodeCache::Provide(const proto::CodeLibrary& library, Done done) {
  if (auto status = CheckLibrary(library); !status.ok()) return done(status);
  const std::string& sha = library.sha256();
  if (std::string copy = CopyOf(sha); !copy.empty()) return done(std::move(copy));
  std::shared_ptr<grpc::ClientContext> context;
  {
    absl::MutexLock lock(&state_->mu);
    if (state_->closing || !state_->head) {
      return done(absl::UnavailableError("the node is stopping"));
    }
    if (auto it = state_->fetches.find(sha); it != state_->fetches.end()) {
      it->second.waiting.push_back(std::move(done));  // its fetch answers it
      return;
    }
    if (state_->fetches.size() >= kMaxFetches) {
      return done(absl::UnavailableError(absl::StrCat("the node is fetching ", kMaxFetches,
                                                      " code libraries already; try again")));
    }
    context = std::make_shared<grpc::ClientContext>();
    SetTimeout(*context, kFetchTimeout);
    Fetch& fetch = state_->fetches[sha];
    fetch.waiting.push_back(std::move(done));
    fetch.context = context;
    ++state_->running;
  }
  try {
    std::thread([state = state_, library, path = PathOf(library), context] {
      Run(state, library, path, context);
    }).detach();
  } catch (const std::system_error& error) {
    std::vector<Done> waiting;
    {
      absl::MutexLock lock(&state_->mu);
      waiting = std::move(state_->fetches[sha].waiting);
      state_->fetches.erase(sha);
      --state_->running;
    }
    for (auto& waiter : waiting) {
      waiter(absl::UnavailableError(
          absl::StrCat("the node cannot start a fetch now: ", error.what())));
    }
  }
}

void CodeCache::Run(const std::shared_ptr<State>& state, const proto::CodeLibrary& library,
                    const std::string& path, std::shared_ptr<grpc::ClientContext> context) {
  absl::Status fetched = FetchInto(*state->head, library, path, *context);
  if (fetched.ok()) {
    spdlog::info("code library fetched name={} sha256={} bytes={}", library.name(),
                 library.sha256(), library.size());
  } else {
    spdlog::warn("cannot fetch code library name={} sha256={}: {}", library.name(),
                 library.sha256(), fetched.message());
    std::error_code ignored;
    std::filesystem::remove(std::filesystem::path(path).parent_path(), ignored);  // if empty
  }
  std::vector<Done> waiting;
  {
    absl::MutexLock lock(&state->mu);
    auto it = state->fetches.find(library.sha256());
    waiting = std::move(it->second.waiting);
    state->fetches.erase(it);
  }
  for (auto& done : waiting) {
    if (fetched.ok()) {
      done(path);
    } else {
      done(fetched);
    }
  }
  absl::MutexLock lock(&state->mu);
  --state->running;  // the cache's destructor goes on once this is 0; `state` outlives it
}

absl::Status CodeCache::FetchInto(proto::CodeStore::Stub& head, const proto::CodeLibrary& library,
                                  const std::string& path, grpc::ClientContext& context) {
  auto writer = CodeFileWriter::Create(path, library);
  if (!writer.ok()) return writer.status();
  proto::FetchCodeRequest request;
  *request.mutable_library() = library;
  auto reader = head.FetchCode(&context, request);
  proto::CodeChunk chunk;
  absl::Status appended = absl::OkStatus();
  while (appended.ok() && reader->Read(&chunk)) appended = (*writer)->Append(chunk.data());
  if (!appended.ok()) {
    context.TryCancel();
    reader->Finish();
    return appended;
  }
  if (auto status = FromGrpcStatus(reader->Finish()); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("the head did not send code library ",
                                                    library.name(), ": ", status.message()));
  }
  return (*writer)->Commit();
}

}  // namespace weft::node
