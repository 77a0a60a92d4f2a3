// URLs, loopback hosts and header lines: the one parse the transport and
// the providers' configuration checks share (chainpp/endpoint.hpp).
#include "http/transport.hpp"

#include <chainpp/config.hpp>
#include <chainpp/diagnostics.hpp>
#include <chainpp/endpoint.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <mutex>
#include <set>

namespace chainpp {

namespace {

constexpr char kHex[] = "0123456789ABCDEF";

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool printable_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c < 0x21 || c > 0x7e) return false;
  return true;
}

// `s` for a message: unprintable bytes as \xNN.
std::string shown(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool token_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// The reg-name or IPv4 characters this parse accepts in a host.
bool host_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

}  // namespace

namespace http {

Url split_url(std::string_view text, std::string_view what, std::string* userinfo) {
  // The URL as it may be repeated in a message: not when it could hold a
  // password, nor when it holds bytes a terminal would act on.
  const bool has_at = text.substr(0, text.find_first_of("/?#", text.find("://") == std::string_view::npos
                                                                    ? 0
                                                                    : text.find("://") + 3))
                          .find('@') != std::string_view::npos;
  const std::string quoted =
      has_at || !printable_ascii(text) ? std::string() : " '" + std::string(text) + "'";
  auto fail = [&](const std::string& why) -> void { throw ConfigError(std::string(what) + quoted + " " + why); };

  Url u;
  const auto sep = text.find("://");
  if (sep != std::string_view::npos)
    for (char c : text.substr(0, sep)) u.scheme += lower(c);
  if (sep == std::string_view::npos || (u.scheme != "http" && u.scheme != "https"))
    fail("must start with http:// or https://");
  std::string_view rest = text.substr(sep + 3);
  const auto authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  rest = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);

  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    if (!userinfo)
      throw ConfigError(std::string(what) +
                        " must not hold a user name or password ('...@' before the host): give credentials in "
                        "the provider's settings, never in the URL");
    *userinfo = std::string(authority.substr(0, at));
    authority.remove_prefix(at + 1);
  }
  for (unsigned char c : text)
    if (c <= 0x20 || c >= 0x7f)
      fail("holds a space, a control character or a byte beyond ASCII (percent-encode it)");

  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) fail("is not a valid URL: the IPv6 address has no closing ']'");
    u.host = std::string(authority.substr(1, close - 1));
    in6_addr addr{};
    if (inet_pton(AF_INET6, u.host.c_str(), &addr) != 1) fail("is not a valid URL: malformed IPv6 address");
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') fail("is not a valid URL: unexpected text after the IPv6 address");
      port = after.substr(1);
      if (port.empty()) fail("is not a valid URL: empty port");
    }
  } else {
    const auto colon = authority.find(':');
    std::string_view host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) fail("is not a valid URL: empty port");
    }
    for (unsigned char c : host)
      if (!host_char(c)) fail("is not a valid URL: the host holds '" + std::string(1, static_cast<char>(c)) + "'");
    for (char c : host) u.host += lower(c);
  }
  if (u.host.empty()) fail("is not a valid URL: no host");
  if (!port.empty()) {
    unsigned long n = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || port.size() > 5) fail("is not a valid URL: the port is not a number from 1 to 65535");
      n = n * 10 + static_cast<unsigned long>(c - '0');
    }
    if (n < 1 || n > 65535) fail("is not a valid URL: the port is not a number from 1 to 65535");
    u.port = static_cast<unsigned short>(n);
  } else {
    u.port = u.scheme == "https" ? 443 : 80;
  }
  if (rest.find('#') != std::string_view::npos) fail("holds a fragment ('#'), which is never sent");
  u.path_and_query = rest.empty() ? "/" : rest.front() == '?' ? "/" + std::string(rest) : std::string(rest);
  return u;
}

Url split_proxy(std::string_view spec, std::string& userinfo) {
  if (spec.find("://") == std::string_view::npos) return split_url("http://" + std::string(spec), "the proxy", &userinfo);
  return split_url(spec, "the proxy", &userinfo);
}

}  // namespace http

bool Url::loopback() const { return is_loopback_host(host); }

std::string Url::authority() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

Url parse_url(std::string_view text, std::string_view what) { return http::split_url(text, what, nullptr); }

Url parse_proxy_url(std::string_view text) {
  std::string userinfo;
  return http::split_proxy(text, userinfo);
}

bool is_loopback_host(std::string_view host) {
  if (host.size() == 9) {
    std::string l;
    for (char c : host) l += lower(c);
    if (l == "localhost") return true;
  }
  const std::string h(host);
  in_addr v4{};
  if (inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, h.c_str(), &v6) == 1) return std::memcmp(&v6, &in6addr_loopback, sizeof v6) == 0;
  return false;
}

std::optional<std::string> header_problem(std::string_view name, std::string_view value) {
  if (name.empty()) return std::string("a header has an empty name");
  for (unsigned char c : name)
    if (!token_char(c))
      return "the header name '" + shown(name) + "' holds '" + shown(std::string_view(reinterpret_cast<const char*>(&c), 1)) +
             "', which a header name cannot hold";
  for (unsigned char c : value) {
    if (c == '\r' || c == '\n' || c == '\0')
      return "the value of header '" + std::string(name) + "' holds " +
             (c == '\r' ? "a carriage return (CR)" : c == '\n' ? "a line feed (LF)" : "a NUL byte") +
             ", which would end the header line";
  }
  return std::nullopt;
}

std::string url_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string path_segment(std::string_view text, std::string_view what) {
  if (text.empty() || text == "." || text == "..")
    throw InputError(std::string(what) + " '" + std::string(text) +
                     "' cannot be a URL path segment (empty, '.' and '..' are refused)");
  return url_encode(text);
}

Url check_endpoint(const ConfigNode& node, const std::string& url, const EndpointRules& rules) {
  const ConfigNode* at = node.find(rules.key);
  const ConfigNode& where = at ? *at : node;
  const std::string what = rules.provider + ": " + (at || rules.env.empty() ? rules.key : rules.env);
  Url u;
  try {
    u = parse_url(url, what);
  } catch (const ConfigError& e) {
    std::string message = e.what();
    if (!rules.example.empty() && url.find("://") == std::string::npos) message += " (e.g. " + rules.example + ")";
    where.fail(message);
  }
  if (!rules.sends_credential || u.scheme != "http" || u.loopback()) return u;
  if (node.get_bool("allow_insecure_http", false)) {
    static std::mutex mutex;
    static std::set<std::string> warned;  // once per provider and host
    std::lock_guard lock(mutex);
    if (warned.insert(rules.provider + "|" + u.host).second)
      report_diagnostic({DiagnosticKind::warning, rules.provider + " sends its credential over plain http:// to " +
                                                      u.host + " (allow_insecure_http)"});
    return u;
  }
  where.fail(rules.provider + ": refusing to send the credential over plain http:// to '" + u.host +
             "', which is not loopback; use https://, or set allow_insecure_http: true");
}

void check_credential(const ConfigNode& node, const char* key, const char* env, std::string_view value) {
  for (unsigned char c : value) {
    if (c != '\r' && c != '\n' && c != '\0') continue;
    const char* what = c == '\r' ? "a carriage return (CR)" : c == '\n' ? "a line feed (LF)" : "a NUL byte";
    if (const ConfigNode* at = node.find(key))
      at->fail(std::string("'") + key + "' holds " + what + ", which cannot be sent in a header (value not shown)");
    node.fail(std::string("the environment variable ") + env + " (for '" + key + "') holds " + what +
              ", which cannot be sent in a header (value not shown)");
  }
}

}  // namespace chainpp
