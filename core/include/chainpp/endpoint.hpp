#pragma once
// Where a provider connects and what it may put in a header, decided by the
// rules the transport itself applies: one URL parse (the transport's), one
// definition of a loopback host (which also decides proxy bypass), one check
// of header names and values. Providers check their settings with these at
// load, so that a configuration the transport would refuse, or that would
// send a credential somewhere unintended, fails with file:line:col.
#include <chainpp/export.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace chainpp {

class ConfigNode;

/// An absolute http:// or https:// URL, split as the transport sends it.
struct CHAINPP_API Url {
  std::string scheme;          ///< "http" or "https"
  std::string host;            ///< in lower case; an IPv6 literal without its brackets
  unsigned short port = 0;     ///< the URL's port, else 80 or 443
  std::string path_and_query;  ///< exactly as written, percent-escapes kept ("%2F" stays); "/" when empty

  /// is_loopback_host(host).
  bool loopback() const;
  /// "host:port", with an IPv6 literal in brackets: "[::1]:8080".
  std::string authority() const;
};

/// Parses `text` as the transport does. ConfigError "<what> ..." when it is
/// not an http:// or https:// URL with a host, has user information
/// ("user@" or "user:password@" before the host: refused, and never
/// repeated in the message), a port outside 1..65535, a fragment, or a
/// space, control character or byte beyond ASCII (which must be
/// percent-encoded). `what` names the URL: "azure_openai: the endpoint".
CHAINPP_API Url parse_url(std::string_view text, std::string_view what = "URL");

/// Parses a proxy as the transport does: "host:port" or
/// "http://[user:password@]host:port" (the form of `proxy` and of
/// HTTPS_PROXY). The credentials are accepted, not returned, and never
/// repeated in a ConfigError.
CHAINPP_API Url parse_proxy_url(std::string_view text);

/// Whether `host` is this machine: "localhost" (any case), an IPv4 literal
/// in 127.0.0.0/8 (four decimal parts), or the IPv6 literal ::1. A name
/// that merely starts with "127." is not.
CHAINPP_API bool is_loopback_host(std::string_view host);

/// Why `name: value` cannot be sent as a header line, or nullopt when it
/// can: the name must be an RFC 9110 token (letters, digits and
/// !#$%&'*+-.^_`|~), the value must hold no CR, LF or NUL. The reason names
/// the header (its unprintable bytes escaped) and never holds the value.
CHAINPP_API std::optional<std::string> header_problem(std::string_view name, std::string_view value);

/// `text` percent-encoded for a query or a path segment: every byte but
/// A-Z a-z 0-9 - _ . ~ becomes %XX (so "/" is "%2F").
CHAINPP_API std::string url_encode(std::string_view text);

/// `text` as one path segment (url_encode); InputError "<what> ..." for
/// "", "." and "..", which would not be a segment of their own on the wire.
CHAINPP_API std::string path_segment(std::string_view text, std::string_view what);

/// What check_endpoint() checks an endpoint setting for.
struct CHAINPP_API EndpointRules {
  std::string provider;        ///< "azure_openai", for messages
  std::string key;             ///< the setting, "azure_endpoint"
  std::string env;             ///< the environment variable read when the setting is absent, or ""
  bool sends_credential = true;  ///< refuse plain http:// to a non-loopback host
  std::string example;         ///< shown when the scheme is missing: "https://YOUR-RESOURCE.openai.azure.com"
};

/// Parses the endpoint `url` of `node` (the value of rules.key, else of
/// rules.env) with parse_url(); fails at the key (else at the node) for a
/// URL parse_url() refuses, and, when a credential is sent, for plain
/// http:// to a host that is not loopback unless the node says
/// `allow_insecure_http: true` (then a warning is reported, once).
CHAINPP_API Url check_endpoint(const ConfigNode& node, const std::string& url, const EndpointRules& rules);

/// Fails at `key` (else at the node, naming the environment variable `env`)
/// when `value`, a credential sent in a header, holds CR, LF or NUL. The
/// message never holds the value.
CHAINPP_API void check_credential(const ConfigNode& node, const char* key, const char* env, std::string_view value);

}  // namespace chainpp
