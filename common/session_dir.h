#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace weft {

// The folder where one machine's part of a cluster keeps its files:
//
//   token           the cluster token, mode 0600
//   head_address    host:port of the head this session belongs to, as this machine dials it
//   head_advertised_address  a head's session: host:port others reach the head at
//   head_state.sqlite  the head's tables (raylet/head/storage), kept across head restarts
//   raylets/<pid>   one record (NodeInfo as JSON) per running weft-raylet of this session
//   logs/           raylet and worker stdout/stderr
//
// Several sessions (distinct folders) can run side by side on one machine.
class SessionDir {
 public:
  explicit SessionDir(std::string root) : root_(std::move(root)) {}

  // $WEFT_SESSION_DIR when set, else /tmp/weft-<uid>/default.
  static std::string Default();

  // Creates the folder and its subfolders (mode 0700) if they are missing. PERMISSION_DENIED
  // when one exists but is a symlink or another user's.
  [[nodiscard]] absl::Status Create() const;

  const std::string& root() const { return root_; }
  std::string TokenPath() const { return root_ + "/token"; }
  std::string HeadAddressPath() const { return root_ + "/head_address"; }
  // A head's session only: where others reach the head (its advertised address), when
  // head_address is where this machine does.
  std::string HeadAdvertisedAddressPath() const { return root_ + "/head_advertised_address"; }
  std::string HeadStatePath() const { return root_ + "/head_state.sqlite"; }
  std::string LogsDir() const { return root_ + "/logs"; }
  // TLS (issue 13): the cluster CA's certificate, and this session's certificate and key,
  // which its raylet and workers serve with (see common/cluster_tls.h).
  std::string TlsDir() const { return root_ + "/tls"; }
  // Where a head of this session serves its web dashboard ("http://127.0.0.1:8265/\n").
  std::string DashboardUrlPath() const { return root_ + "/dashboard_url"; }
  std::string RayletsDir() const { return root_ + "/raylets"; }
  std::string RayletRecordPath(int pid) const;

  // Pids of the raylets recorded in this session that still run (they hold their record's
  // lock). Stale records are deleted.
  std::vector<pid_t> RunningRaylets() const;

  // Takes the session's head lock (flock on <root>/head.lock), held while the returned fd
  // stays open, i.e. for the life of the head. ALREADY_EXISTS when another head holds it.
  [[nodiscard]] absl::StatusOr<int> LockHead() const;

  // Writes the record of raylet `pid` and locks it; the record counts as running only while
  // the returned fd stays open (closed when that raylet exits, however it exits).
  [[nodiscard]] absl::StatusOr<int> WriteRayletRecord(int pid, const std::string& json) const;

 private:
  std::string root_;
};

// Writes `contents` to `path` (with permission bits `mode`) through a temporary file and
// rename, so readers never see a partial file.
[[nodiscard]] absl::Status WriteFileAtomic(const std::string& path, const std::string& contents,
                                           int mode = 0644);

// Opens (creating) `path` and takes an exclusive flock on it; ALREADY_EXISTS when another
// open file holds it. The lock lasts while the returned fd is open.
[[nodiscard]] absl::StatusOr<int> LockFile(const std::string& path);

// True when some process holds a lock taken with LockFile on `path`.
bool RecordLocked(const std::string& path);

// Reads a whole file; NOT_FOUND when it does not exist.
[[nodiscard]] absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace weft
