// Where a request goes: its URL's target, and the proxy it goes through.
#include "http/transport.hpp"

#include <Poco/URI.h>

#include <cstdlib>
#include <sstream>

namespace chainpp::http {

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

namespace {

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

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
    if (host == item) return true;
    if (host.size() > item.size() && host.compare(host.size() - item.size(), item.size(), item) == 0 &&
        host[host.size() - item.size() - 1] == '.')
      return true;
  }
  return false;
}

}  // namespace

Target parse_target(const HttpRequest& request) {
  Target t;
  try {
    Poco::URI uri(request.url);
    t.scheme = uri.getScheme();
    t.host = uri.getHost();
    t.port = uri.getPort();
    t.path_and_query = uri.getPathAndQuery();
  } catch (const Poco::Exception& e) {
    throw ConfigError(provider_name(request.provider) + ": invalid URL '" + request.url + "': " + e.message());
  }
  if ((t.scheme != "http" && t.scheme != "https") || t.host.empty())
    throw ConfigError(provider_name(request.provider) + ": invalid URL '" + request.url +
                      "' (expected http:// or https://host/...)");
  if (t.path_and_query.empty()) t.path_and_query = "/";
  return t;
}

std::optional<Proxy> proxy_for(const Target& t, const TransportOptions& o) {
  std::string spec = o.proxy;
  if (spec.empty() && o.use_environment_proxy) {
    if (is_loopback(t.host) || no_proxy_matches(t.host)) return std::nullopt;
    const char* v = t.scheme == "https" ? env("HTTPS_PROXY", "https_proxy") : env("HTTP_PROXY", "http_proxy");
    if (v) spec = v;
  }
  if (spec.empty()) return std::nullopt;
  if (spec.find("://") == std::string::npos) spec = "http://" + spec;
  try {
    Poco::URI uri(spec);
    Proxy p;
    p.host = uri.getHost();
    p.port = uri.getPort();
    const std::string info = uri.getUserInfo();
    if (const auto colon = info.find(':'); colon != std::string::npos) {
      p.username = info.substr(0, colon);
      p.password = info.substr(colon + 1);
    } else {
      p.username = info;
    }
    if (p.host.empty()) throw Poco::SyntaxException("no host");
    return p;
  } catch (const Poco::Exception&) {
    throw ConfigError("invalid proxy '" + (spec.find('@') == std::string::npos ? spec : std::string("<redacted>")) +
                      "'");
  }
}

}  // namespace chainpp::http
