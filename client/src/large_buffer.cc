#include <sys/mman.h>

#include <cstdint>
#include <string>

#include "weft/serialization.h"

namespace weft::internal {
namespace {

// Transparent huge pages, where the kernel has them on request (madvise mode): a fresh 100 MiB
// buffer then fills in well under half the time, most of which is otherwise page faults.
constexpr uintptr_t kHugePageBytes = 2 << 20;

}  // namespace

void ReserveLarge(std::string& out, size_t size) {
  out.reserve(out.size() + size);
  if (size < kLargeValueBytes) return;
  const auto begin = reinterpret_cast<uintptr_t>(out.data());
  const uintptr_t aligned = (begin + kHugePageBytes - 1) & ~(kHugePageBytes - 1);
  const uintptr_t end = (begin + out.capacity()) & ~(kHugePageBytes - 1);
  if (end > aligned) madvise(reinterpret_cast<void*>(aligned), end - aligned, MADV_HUGEPAGE);
}

}  // namespace weft::internal
