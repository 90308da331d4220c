#include "client/src/stream_table.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/src/blocking_scope.h"
#include "client/src/call_token.h"
#include "client/src/loop.h"
#include "client/src/runtime.h"
#include "weft/cancel.h"
#include "weft/error.h"
#include "weft/generator.h"

namespace weft::internal {

void StreamTable::Open(const std::string& result_id, int window) {
  {
    absl::MutexLock lock(&mu_);
    streams_[result_id].window = std::max(1, window);
  }
  runtime_.objects().WhenReady(result_id, [this, result_id] { OnEnd(result_id); });
}

void StreamTable::SetSource(const std::string& result_id, const std::string& address) {
  absl::MutexLock lock(&mu_);
  if (auto it = streams_.find(result_id); it != streams_.end()) it->second.address = address;
}

void StreamTable::OnItem(const std::string& result_id, proto::CallResult& result) {
  const std::string id = StreamItemId(result_id, result.item());
  auto& objects = runtime_.objects();
  objects.AddPending(id, /*held=*/true);
  // A stored item stays where it was made: it cannot be made again.
  objects.SetCallResult(id, result, [](const std::string&, std::string* why_not) {
    *why_not = "a stream's item cannot be made again";
    return false;
  });
  {
    absl::MutexLock lock(&mu_);
    auto it = streams_.find(result_id);
    // Taken by nobody: the reader is gone, or the stream failed before this item's place.
    const bool wanted = it != streams_.end() && !it->second.closed &&
                        !(it->second.ended && it->second.failed) &&
                        result.item() >= it->second.next;
    if (wanted) {
      it->second.arrived.emplace(result.item(), id);
      changed_.SignalAll();
      return;
    }
  }
  objects.Release(id);  // a stored one is freed at its worker
}

void StreamTable::OnEnd(const std::string& result_id) {
  bool failed = false;
  int64_t count = 0;
  try {
    const std::chrono::milliseconds now{0};
    Bytes bytes = runtime_.objects().Get(result_id, &now);
    count = Unpack<int64_t>(bytes->view());
  } catch (const std::exception&) {
    failed = true;  // the error is the stream's last item
  }
  std::vector<std::string> dropped;
  {
    absl::MutexLock lock(&mu_);
    auto it = streams_.find(result_id);
    if (it == streams_.end()) return;
    Stream& stream = it->second;
    if (stream.closed) {
      streams_.erase(it);  // its items were released
      return;
    }
    stream.ended = true;
    stream.failed = failed;
    // Ended well, every item came before the call's own result (the worker answers it last,
    // on the same stream). Failed here (the worker died, the stream broke), items may be
    // missing: the error takes the place of the first one missing, and those after it go.
    stream.total = failed ? 0 : count;
    if (failed) {
      int64_t at = stream.next;
      while (stream.arrived.count(at)) ++at;
      for (auto item = stream.arrived.upper_bound(at); item != stream.arrived.end();) {
        dropped.push_back(std::move(item->second));
        item = stream.arrived.erase(item);
      }
      stream.total = at;  // the error's place
    }
    changed_.SignalAll();
  }
  for (const auto& id : dropped) runtime_.objects().Release(id);
}

void StreamTable::MaybeAckLocked(const std::string& result_id, Stream& stream, bool now) {
  const int64_t taken = stream.next - 1;
  if (stream.ended || stream.address.empty() || taken <= stream.acked) return;
  if (!now && taken - stream.acked < std::max<int64_t>(1, stream.window / 4)) return;
  stream.acked = taken;
  proto::StreamAck ack;
  ack.set_object_id(result_id);
  ack.set_taken(taken);
  runtime_.workers().StreamAck(stream.address, std::move(ack));
}

std::optional<std::string> StreamTable::TakeLocked(const std::string& result_id, bool* wait) {
  *wait = false;
  auto it = streams_.find(result_id);
  if (it == streams_.end()) return std::nullopt;
  Stream& stream = it->second;
  if (auto item = stream.arrived.find(stream.next); item != stream.arrived.end()) {
    std::string id = std::move(item->second);
    stream.arrived.erase(item);
    ++stream.next;
    MaybeAckLocked(result_id, stream, false);
    return id;
  }
  if (stream.ended && stream.failed && stream.next == stream.total) {
    ++stream.next;  // the call's result, holding the stream's error, in the failed item's place
    runtime_.objects().Hold(result_id);
    return result_id;
  }
  if (stream.ended && (stream.failed || stream.next > stream.total)) return std::nullopt;
  MaybeAckLocked(result_id, stream, true);  // the producer may wait for room
  *wait = true;
  return std::nullopt;
}

std::optional<std::string> StreamTable::Next(const std::string& result_id,
                                             const std::chrono::milliseconds* timeout) {
  const absl::Time deadline =
      timeout ? absl::Now() + absl::FromChrono(*timeout) : absl::InfiniteFuture();
  bool wait = false;
  {
    absl::MutexLock lock(&mu_);
    auto taken = TakeLocked(result_id, &wait);
    if (!wait) return taken;
  }
  // It waits: not on an async actor's loop, and lending a task's CPUs meanwhile.
  Loop::CheckMayBlock("iterating a weft::ObjectRefGenerator");
  BlockingScope blocking;
  absl::MutexLock lock(&mu_);
  while (true) {
    auto taken = TakeLocked(result_id, &wait);
    if (!wait) return taken;
    if (changed_.WaitWithDeadline(&mu_, deadline) && absl::Now() >= deadline) {
      throw GetTimeoutError(absl::StrCat("the next item of stream ", result_id, " did not come in ",
                                         absl::FormatDuration(absl::FromChrono(*timeout))));
    }
  }
}

void StreamTable::Close(const std::string& result_id) {
  std::vector<std::string> dropped;
  bool producing = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = streams_.find(result_id);
    if (it == streams_.end()) return;
    for (auto& [number, id] : it->second.arrived) dropped.push_back(std::move(id));
    it->second.arrived.clear();
    producing = !it->second.ended;
    if (producing) {
      it->second.closed = true;  // erased when it ends
    } else {
      streams_.erase(it);
    }
  }
  for (const auto& id : dropped) runtime_.objects().Release(id);
  if (!producing) return;
  try {  // nobody takes its items: the producer would wait for room forever
    CancelCall(result_id, {.force = false, .recursive = true});
  } catch (const std::exception&) {
  }
}

StreamReader::StreamReader(std::string result_id) : result_id_(std::move(result_id)) {}

StreamReader::~StreamReader() {
  if (auto* runtime = Runtime::Current()) runtime->streams().Close(result_id_);
}

std::optional<std::string> StreamReader::Next(const std::chrono::milliseconds* timeout) {
  return Runtime::Get().streams().Next(result_id_, timeout);
}

}  // namespace weft::internal
