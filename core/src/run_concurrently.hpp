#pragma once
// Internal: runs `count` jobs with at most `max_concurrency` at once.
#include <cstddef>
#include <functional>

namespace chainpp::detail {

/// Calls job(i) for i in [0, count) on up to `max_concurrency` threads (0: up to 16),
/// waits for all, then rethrows the first exception thrown by a job (lowest index).
void run_concurrently(std::size_t count, int max_concurrency, const std::function<void(std::size_t)>& job);

}  // namespace chainpp::detail
