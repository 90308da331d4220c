#include "worker/call_dispatcher.h"

#include <unistd.h>

#include <asio/post.hpp>
#include <cstdlib>
#include <msgpack.hpp>
#include <thread>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/src/runtime.h"
#include "common/ids.h"
#include "common/logging.h"
#include "common/rpc.h"
#include "weft/error.h"
#include "weft/serialization.h"
#include "worker/exception_info.h"
#include "worker/output_tag.h"

namespace weft::worker {
namespace {

// How many answered calls a worker keeps for `weft timeline` (about 150 bytes each), from
// WEFT_CALL_LOG_EVENTS; WEFT_CALL_LOG=off keeps no log at all (to measure what it costs).
size_t CallLogCapacity() {
  const char* events = std::getenv("WEFT_CALL_LOG_EVENTS");
  size_t capacity = 0;
  if (events != nullptr && absl::SimpleAtoi(events, &capacity)) return capacity;
  return 10000;
}

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

bool CallLogEnabled() {
  const char* log = std::getenv("WEFT_CALL_LOG");
  return log == nullptr || std::string_view(log) != "off";
}

// The status payload that names the argument whose bytes could not be had.
constexpr char kLostObject[] = "weft.lost_object";

// True when the msgpack array `args` holds an argument to fetch first.
bool HasRefArgs(const std::string& args, msgpack::object_handle* parsed) {
  *parsed = internal::UnpackBounded(args.data(), args.size());
  const msgpack::object& array = parsed->get();
  if (array.type != msgpack::type::ARRAY) return false;
  for (uint32_t i = 0; i < array.via.array.size; ++i) {
    const auto& arg = array.via.array.ptr[i];
    if (arg.type == msgpack::type::EXT && arg.via.ext.type() == internal::kRefArgExt) return true;
  }
  return false;
}

}  // namespace

CallDispatcher::CallDispatcher(Identity identity, ActorHost& actors, CodeLoader& code,
                               ObjectStore& store,
                               std::shared_ptr<proto::ObjectDirectory::Stub> directory,
                               size_t inline_threshold)
    : identity_(std::move(identity)),
      actors_(actors),
      code_(code),
      store_(store),
      directory_(std::move(directory)),
      inline_threshold_(inline_threshold),
      log_enabled_(CallLogEnabled()),
      log_(CallLogCapacity(), [&actors](const std::string& id) { return actors.ClassOf(id); }),
      tasks_(std::max(1u, std::thread::hardware_concurrency())) {}

CallDispatcher::~CallDispatcher() { tasks_.join(); }

void CallDispatcher::Dispatch(proto::Call call, Reply reply) {
  Reply raw = call.stream_window() > 0 ? reply : nullptr;  // where a stream's items go
  if (call.lent_ids_size() > 0) {
    // The references lent with the call that this worker still holds once it is done (kept in
    // a member, in a value, handed on): their owners count it as a borrower from then on.
    reply = [lent = call.lent_ids(), reply = std::move(reply)](proto::CallResult result) {
      if (auto* runtime = internal::Runtime::Current()) {  // null while the worker stops
        runtime->objects().StillBorrowed(lent, result.mutable_borrowed_ids());
      }
      reply(std::move(result));
    };
  }
  auto token = std::make_shared<internal::CallToken>();
  if (!call.name().empty()) token->set_name(call.name());
  if (log_enabled_) reply = Logged(call, token, std::move(reply));
  if (call.stream_window() > 0 && !call.result_id().empty()) {
    reply = Stream(call, token, std::move(raw), std::move(reply));
  }
  if (!call.result_id().empty()) reply = Hold(call, token, std::move(reply));
  msgpack::object_handle parsed;
  bool needs_resolving = false;
  try {
    needs_resolving = HasRefArgs(call.args(), &parsed);
  } catch (const std::exception& e) {
    return Fail(call,
                absl::InvalidArgumentError(absl::StrCat("arguments are not msgpack: ", e.what())),
                reply);
  }
  const bool is_task = call.actor_id().empty();
  if (!needs_resolving) {
    bool in_order = is_task;
    if (!is_task) {
      absl::MutexLock lock(&mu_);
      auto it = waiting_.empty() ? waiting_.end() : waiting_.find(CallerQueue(call));
      in_order = it == waiting_.end() || it->second.empty();
      if (!in_order) {
        auto waiting = std::make_shared<Waiting>();
        waiting->args = std::string(call.args());
        waiting->call = std::move(call);
        waiting->reply = std::move(reply);
        waiting->token = std::move(token);
        it->second.push_back(std::move(waiting));
        return;
      }
    }
    std::string args = std::move(*call.mutable_args());
    return Run(std::move(call), std::move(args), std::move(reply), std::move(token));
  }
  auto waiting = std::make_shared<Waiting>();
  waiting->call = std::move(call);
  waiting->reply = std::move(reply);
  waiting->token = std::move(token);
  const std::string queue = CallerQueue(waiting->call);
  if (!is_task) {
    absl::MutexLock lock(&mu_);
    waiting_[queue].push_back(waiting);
  }
  ResolveArgs(
      waiting->call.args(), [this, waiting, queue, is_task](absl::StatusOr<std::string> args) {
        if (is_task) {
          if (!args.ok()) {
            return Fail(waiting->call, args.status(), waiting->reply, proto::FAILURE_OBJECT_LOST);
          }
          return Run(std::move(waiting->call), *std::move(args), std::move(waiting->reply),
                     std::move(waiting->token));
        }
        {
          absl::MutexLock lock(&mu_);
          waiting->args = std::move(args);
        }
        Drain(queue);
      });
}

CallDispatcher::Reply CallDispatcher::Logged(const proto::Call& call, const Token& token,
                                             Reply reply) {
  return [this, token, arrival = log_.Received(call.actor_id(), call.method(), NowMicros()),
          reply = std::move(reply)](proto::CallResult result) {
    log_.Answered(arrival, token->name(), token->started_us(), NowMicros(), result.has_error());
    reply(std::move(result));
  };
}

std::string CallDispatcher::CallerQueue(const proto::Call& call) {
  return absl::StrCat(call.actor_id(), "/", call.caller(), "/", call.concurrency_group());
}

void CallDispatcher::Drain(const std::string& queue_key) {
  std::vector<std::shared_ptr<Waiting>> ready;
  {
    absl::MutexLock lock(&mu_);
    auto it = waiting_.find(queue_key);
    if (it == waiting_.end()) return;
    auto& queue = it->second;
    // A call cancelled before its arguments came holds up no later call: it was answered.
    while (!queue.empty() && (queue.front()->args || queue.front()->token->dropped())) {
      ready.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    if (queue.empty()) waiting_.erase(it);
  }
  // Started in order; executors keep that order.
  for (auto& w : ready) {
    if (!w->args) continue;  // cancelled
    if (!w->args->ok()) {    // an argument's bytes cannot be had
      Fail(w->call, w->args->status(), w->reply, proto::FAILURE_OBJECT_LOST);
      continue;
    }
    Run(std::move(w->call), std::move(**w->args), std::move(w->reply), std::move(w->token));
  }
}

void CallDispatcher::Run(proto::Call call, std::string args, Reply reply, Token token) {
  if (call.actor_id().empty()) {
    return RunTask(std::move(call), std::move(args), std::move(reply), std::move(token));
  }
  // Exactly one of the two endings runs (or neither, and the call fails here).
  struct Running {
    proto::Call call;
    Reply reply;
  };
  auto running = std::make_shared<Running>(Running{std::move(call), std::move(reply)});
  const absl::Status started = actors_.Call(
      running->call.actor_id(), running->call.method(), running->call.concurrency_group(),
      std::move(args), std::move(token),
      [this, running](internal::PackedResult value, std::exception_ptr error) {
        Finish(running->call, std::move(value), error, std::move(running->reply));
      },
      [this, running](const absl::Status& status) {
        Fail(running->call, status, running->reply, proto::FAILURE_ACTOR_DIED);  // destroyed
      });
  if (!started.ok()) Fail(running->call, started, running->reply);
}

void CallDispatcher::RunTask(proto::Call call, std::string args, Reply reply, Token token) {
  if (auto loaded = code_.Load(call.code()); !loaded.ok()) return Fail(call, loaded, reply);
  const internal::FunctionInfo* function = internal::FindFunction(call.method());
  if (!function) {
    return Fail(call,
                absl::NotFoundError(
                    absl::StrCat("function ", call.method(), " is not registered in this worker")),
                reply);
  }
  asio::post(tasks_, [this, function, call = std::move(call), args = std::move(args),
                      reply = std::move(reply), token = std::move(token)] {
    if (!token->TryStart()) return;        // cancelled while it waited: answered
    ScopedOutputTag tag(&function->name);  // registered for the process's life
    internal::PackedResult value;
    std::exception_ptr error;
    try {
      internal::CallToken::Scope scope(token);
      value = function->call(nullptr, args);
    } catch (...) {
      error = std::current_exception();
    }
    token->Finished();
    Finish(call, std::move(value), error, reply);
  });
}

proto::RemoteError CallDispatcher::ErrorFor(const proto::Call& call) const {
  proto::RemoteError error;
  error.set_actor_id(call.actor_id());
  error.set_class_name(call.actor_id().empty() ? call.method() : actors_.ClassOf(call.actor_id()));
  if (!call.actor_id().empty()) error.set_method(call.method());
  error.set_call_name(call.name());
  error.set_node_id(identity_.node_id);
  error.set_worker_id(identity_.worker_id);
  error.set_pid(getpid());
  return error;
}

void CallDispatcher::Fail(const proto::Call& call, const absl::Status& status, const Reply& reply,
                          proto::FailureKind kind) {
  proto::CallResult result;
  result.set_call_id(call.call_id());
  auto& error = *result.mutable_error();
  error = ErrorFor(call);
  error.set_code(static_cast<int>(status.code()));
  error.set_message(std::string(status.message()));
  error.set_kind(kind);
  if (auto lost = status.GetPayload(kLostObject)) error.set_object_id(std::string(*lost));
  reply(std::move(result));
}

void CallDispatcher::Finish(const proto::Call& call, internal::PackedResult packed,
                            std::exception_ptr error, Reply reply) {
  proto::CallResult result;
  result.set_call_id(call.call_id());
  if (error) {
    auto info = DescribeException(error);
    auto& remote = *result.mutable_error();
    remote = ErrorFor(call);
    if (info.nested) {  // a nested call's error passes through: it keeps where it started
      const proto::RemoteError here = remote;
      remote = std::move(*info.nested);
      remote.add_via(absl::StrCat(here.class_name(), here.method().empty() ? "" : ".",
                                  here.method(), " (",
                                  here.actor_id().empty() ? "task" : "actor " + here.actor_id(),
                                  ", pid ", here.pid(), ")"));
      return reply(std::move(result));
    }
    remote.set_code(info.cancelled ? static_cast<int>(ErrorCode::kCancelled) : 2);
    remote.set_kind(info.cancelled ? proto::FAILURE_CANCELLED : proto::FAILURE_USER_EXCEPTION);
    remote.set_type(info.type);
    remote.set_message(info.message);
    return reply(std::move(result));
  }
  std::string value = std::move(packed.bytes);
  if (!packed.refs.empty()) reply = HandOverFirst(call, std::move(packed), std::move(reply));
  if (value.size() <= inline_threshold_) {
    result.set_value(std::move(value));
    return reply(std::move(result));
  }
  // Too large to inline: keep it here, tell the directory, and hand out its location.
  const std::string object_id = call.result_id().empty() ? RandomHex(12) : call.result_id();
  auto& stored = *result.mutable_stored();
  stored.set_node_id(identity_.node_id);
  stored.set_worker_id(identity_.worker_id);
  stored.set_address(identity_.address);
  stored.set_size_bytes(static_cast<int64_t>(value.size()));
  std::vector<std::string> spilled;
  if (auto kept = store_.Put(object_id, internal::MakeBytes(std::move(value)), &spilled);
      !kept.ok()) {
    return Fail(call, kept, reply,
                kept.code() == absl::StatusCode::kResourceExhausted
                    ? proto::FAILURE_OBJECT_STORE_FULL
                    : proto::FAILURE_UNSPECIFIED);
  }
  if (std::erase(spilled, object_id) > 0) stored.set_spilled(true);
  if (!spilled.empty()) MarkSpilled(std::move(spilled));
  proto::AddObjectLocationRequest request;
  request.set_object_id(object_id);
  *request.mutable_location() = stored;
  request.set_owner(call.job_id());
  request.set_owner_worker_id(call.owner_worker_id());
  CallAsync<proto::AddObjectLocationReply>(
      ContextWithTimeout(kControlRpcTimeout), std::move(request),
      [this](auto... args) { directory_->async()->AddObjectLocation(args...); },
      [this, result = std::make_shared<proto::CallResult>(std::move(result)),
       reply = std::move(reply), object_id](const absl::Status& status, const auto&) {
        if (status.code() == absl::StatusCode::kFailedPrecondition) {
          store_.Free({object_id});  // its owner has ended: nobody will ask for it or free it
        } else if (status.ok() && !result->stored().spilled() && store_.Spilled(object_id)) {
          MarkSpilled({object_id});  // spilled while the directory was being told of it
        } else if (!status.ok()) {
          spdlog::warn("object directory did not take object id={}: {}", object_id,
                       status.message());
        }
        reply(std::move(*result));
      });
}

CallDispatcher::Reply CallDispatcher::HandOverFirst(const proto::Call& call,
                                                    internal::PackedResult packed, Reply reply) {
  struct Inside {
    std::vector<std::shared_ptr<const std::string>> refs;
    std::vector<std::string> owners;
  };
  auto inside = std::make_shared<Inside>(Inside{std::move(packed.refs), std::move(packed.owners)});
  return [inside, outer = call.result_id(), caller = call.owner_address(),
          reply = std::move(reply)](proto::CallResult result) {
    auto* runtime = internal::Runtime::Current();  // null while the worker stops
    if (result.has_error() || !runtime) return reply(std::move(result));
    result.set_has_refs(true);
    for (size_t i = 0; i < inside->refs.size(); ++i) {
      auto& ref = *result.add_refs_inside();
      ref.set_object_id(*inside->refs[i]);
      ref.set_owner_address(inside->owners[i]);
    }
    auto& objects = runtime->objects();
    if (caller.empty()) {  // a caller that does not say where it answers: kept for good
      for (const auto& ref : inside->refs) objects.PassOn(*ref, /*held=*/false);
      return reply(std::move(result));
    }
    auto answer = std::make_shared<proto::CallResult>(std::move(result));
    objects.HandOver(outer, caller, std::move(inside->refs), inside->owners,
                     [answer, reply] { reply(std::move(*answer)); });
  };
}

void CallDispatcher::MarkSpilled(std::vector<std::string> object_ids) {
  proto::MarkObjectsSpilledRequest request;
  request.set_worker_id(identity_.worker_id);
  for (auto& id : object_ids) request.add_object_ids(std::move(id));
  CallAsync<proto::MarkObjectsSpilledReply>(
      ContextWithTimeout(kControlRpcTimeout), std::move(request),
      [this](auto... args) { directory_->async()->MarkObjectsSpilled(args...); },
      [](const absl::Status& status, const auto&) {
        if (!status.ok()) spdlog::debug("directory did not mark spills: {}", status.message());
      });
}

void CallDispatcher::Free(const std::vector<std::string>& object_ids) {
  proto::RemoveObjectLocationRequest request;
  for (auto& id : store_.Free(object_ids)) request.add_object_ids(std::move(id));
  if (request.object_ids().empty()) return;
  request.set_worker_id(identity_.worker_id);
  CallAsync<proto::RemoveObjectLocationReply>(
      ContextWithTimeout(kControlRpcTimeout), std::move(request),
      [this](auto... args) { directory_->async()->RemoveObjectLocation(args...); },
      [](const absl::Status& status, const auto&) {
        if (!status.ok()) {
          spdlog::warn("object directory did not drop freed objects: {}", status.message());
        }
      });
}

void CallDispatcher::ResolveArgs(const std::string& args,
                                 std::function<void(absl::StatusOr<std::string>)> done) {
  auto parsed =
      std::make_shared<msgpack::object_handle>(internal::UnpackBounded(args.data(), args.size()));
  const msgpack::object& array = parsed->get();
  struct State {
    absl::Mutex mu;
    int remaining = 0;
    absl::Status failed;
    std::vector<internal::ObjectTable::Bytes> values;  // per argument; null: keep as is
  };
  auto state = std::make_shared<State>();
  state->values.resize(array.via.array.size);
  std::vector<std::pair<uint32_t, std::string>> refs;
  for (uint32_t i = 0; i < array.via.array.size; ++i) {
    const auto& arg = array.via.array.ptr[i];
    if (arg.type == msgpack::type::EXT && arg.via.ext.type() == internal::kRefArgExt) {
      refs.emplace_back(i, std::string(arg.via.ext.data(), arg.via.ext.size));
    }
  }
  state->remaining = static_cast<int>(refs.size());
  auto finish_one = [state, parsed, done](uint32_t index, const std::string& id,
                                          absl::StatusOr<internal::ObjectTable::Bytes> value) {
    bool last = false;
    {
      absl::MutexLock lock(&state->mu);
      if (value.ok()) {
        state->values[index] = *value;
      } else if (state->failed.ok()) {
        state->failed = value.status();
        state->failed.SetPayload(kLostObject, absl::Cord(id));
      }
      last = --state->remaining == 0;
    }
    if (!last) return;
    if (!state->failed.ok()) return done(state->failed);
    msgpack::sbuffer buffer;
    msgpack::packer<msgpack::sbuffer> packer(buffer);
    const msgpack::object& all = parsed->get();
    packer.pack_array(all.via.array.size);
    for (uint32_t i = 0; i < all.via.array.size; ++i) {
      if (state->values[i]) {
        buffer.write(state->values[i]->data(), state->values[i]->size());
      } else {
        packer.pack(all.via.array.ptr[i]);
      }
    }
    done(std::string(buffer.data(), buffer.size()));
  };
  auto& objects = internal::Runtime::Get().objects();
  for (auto& [index, id] : refs) {
    // Through the directory: where do this object's bytes live?
    proto::GetObjectLocationsRequest request;
    request.set_object_id(id);
    CallAsync<proto::GetObjectLocationsReply>(
        ContextWithTimeout(kControlRpcTimeout), std::move(request),
        [this](auto... args) { directory_->async()->GetObjectLocations(args...); },
        [&objects, finish_one, index = index, id = id](const absl::Status& status,
                                                       proto::GetObjectLocationsReply& reply) {
          if (!status.ok() || reply.locations().empty()) {
            return finish_one(
                index, id,
                absl::NotFoundError(
                    absl::StrCat("argument object ", id, " has no location in the object directory",
                                 status.ok() ? "" : absl::StrCat(": ", status.message()))));
          }
          objects.Hold(id);  // until the value is here
          objects.SetLocation(id, reply.locations(0));
          objects.WhenReady(id, [&objects, finish_one, index, id] {
            try {
              const std::chrono::milliseconds now{0};
              finish_one(index, id, objects.Get(id, &now));
            } catch (const std::exception& e) {
              finish_one(index, id, absl::UnavailableError(e.what()));
            }
            objects.Release(id);
          });
        });
  }
}

}  // namespace weft::worker
