// Where a request goes: its URL's target, and the proxy it goes through.
#include "http/transport.hpp"

#include <cctype>
#include <cstdlib>
#include <sstream>

namespace chainpp::http {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

namespace {

const char* env(const char* upper, const char* lower) {
  if (const char* v = std::getenv(lower); v && *v) return v;
  if (const char* v = std::getenv(upper); v && *v) return v;
  return nullptr;
}

bool no_proxy_matches(const std::string& host) {
  const char* list = env("NO_PROXY", "no_proxy");
  if (!list) return false;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (item.empty()) continue;
    if (item == "*") return true;
    if (const auto colon = item.find(':'); colon != std::string::npos && item.find(':', colon + 1) == std::string::npos)
      item.resize(colon);  // "host:port" entries match the host
    if (item.front() == '.') item.erase(0, 1);
    for (char& c : item) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));  // hosts are lower case
    if (host == item) return true;
    if (host.size() > item.size() && host.compare(host.size() - item.size(), item.size(), item) == 0 &&
        host[host.size() - item.size() - 1] == '.')
      return true;
  }
  return false;
}

// "%40" as "@": the user information of a URL is percent-encoded.
std::string percent_decoded(std::string_view s) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && digit(s[i + 1]) >= 0 && digit(s[i + 2]) >= 0) {
      out += static_cast<char>(digit(s[i + 1]) * 16 + digit(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

Target parse_target(const HttpRequest& request) {
  return split_url(request.url, provider_name(request.provider) + ": the request URL", nullptr);
}

std::optional<Proxy> proxy_for(const Target& t, const TransportOptions& o) {
  std::string spec = o.proxy;
  if (spec.empty() && o.use_environment_proxy) {
    if (t.loopback() || no_proxy_matches(t.host)) return std::nullopt;
    const char* v = t.scheme == "https" ? env("HTTPS_PROXY", "https_proxy") : env("HTTP_PROXY", "http_proxy");
    if (v) spec = v;
  }
  if (spec.empty()) return std::nullopt;
  std::string info;
  const Url url = split_proxy(spec, info);
  Proxy p;
  p.host = url.host;
  p.port = url.port;
  const auto colon = info.find(':');
  p.username = percent_decoded(info.substr(0, colon));
  if (colon != std::string::npos) p.password = percent_decoded(info.substr(colon + 1));
  return p;
}

}  // namespace chainpp::http
