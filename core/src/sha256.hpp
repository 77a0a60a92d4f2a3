#pragma once
// Internal: the SHA-256 digest, shared by the plugin registry (a plugin file's
// sha256 pin) and batches (the digest of each input line in its result line).
#include <string>
#include <string_view>

namespace chainpp::detail {

/// The SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

}  // namespace chainpp::detail
