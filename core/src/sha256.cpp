#include "sha256.hpp"

#include <Poco/SHA2Engine.h>

#include <algorithm>
#include <cstddef>

namespace chainpp::detail {

std::string sha256_hex(std::string_view data) {
  Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
  constexpr std::size_t chunk = 1u << 30;  // update() takes an unsigned length
  for (std::size_t at = 0; at < data.size(); at += chunk)
    engine.update(data.data() + at, static_cast<unsigned>(std::min(chunk, data.size() - at)));
  return Poco::DigestEngine::digestToHex(engine.digest());
}

}  // namespace chainpp::detail
