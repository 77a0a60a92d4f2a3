// Header lists: case-insensitive lookup, the request id, and Poco's headers
// as chainpp's.
#include "http/transport.hpp"

namespace chainpp {

bool same_header_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

const std::string* find_header(const HttpHeaders& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (same_header_name(k, name)) return &v;
  return nullptr;
}

std::string HttpResponse::request_id() const { return http::request_id_of(headers); }

namespace http {

std::string request_id_of(const HttpHeaders& headers) {
  if (const auto* v = find_header(headers, "apim-request-id")) return *v;
  if (const auto* v = find_header(headers, "x-request-id")) return *v;
  return {};
}

HttpHeaders headers_of(const Poco::Net::HTTPResponse& response) {
  HttpHeaders headers;
  headers.reserve(response.size());
  for (const auto& [k, v] : response) headers.emplace_back(k, v);
  return headers;
}

}  // namespace http

}  // namespace chainpp
