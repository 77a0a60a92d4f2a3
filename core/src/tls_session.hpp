#pragma once
// The TLS half of the HTTP transport lives in its own library,
// libchainpp_tls.so, next to libchainpp_core.so: core/src/http/pool.cpp loads it on the
// first https:// connection, so that a process that never opens one (the
// fake provider, a plain-http endpoint) does not load or relocate OpenSSL and
// Poco's NetSSL, Crypto and Util at start-up (about 10 ms here).
#include <Poco/Net/HTTPClientSession.h>

namespace chainpp::detail {

/// A new, unconnected HTTPS session to host:port. `verify`: check the
/// server's certificate against `ca_file` (empty: the system's CAs).
/// Throws Poco::Exception when the TLS context cannot be created.
using NewTlsSession = Poco::Net::HTTPClientSession* (*)(const std::string& host, unsigned short port, bool verify,
                                                         const std::string& ca_file);

/// The symbol libchainpp_tls.so exports, of type NewTlsSession.
inline constexpr const char* kNewTlsSessionSymbol = "chainpp_new_tls_session";
inline constexpr const char* kTlsLibrary = "libchainpp_tls.so";

}  // namespace chainpp::detail
