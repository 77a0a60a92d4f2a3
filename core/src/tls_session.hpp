#pragma once
// The TLS half of the HTTP transport lives in its own library,
// libchainpp_tls.so, next to libchainpp_core.so: core/src/http/pool.cpp loads it on the
// first https:// connection, so that a process that never opens one (the
// fake provider, a plain-http endpoint) does not load or relocate OpenSSL and
// Poco's NetSSL, Crypto and Util at start-up (about 10 ms here). The same
// library signs the client assertions of ClientCertificateCredential.
#include <Poco/Net/HTTPClientSession.h>

#include <string>

namespace chainpp::detail {

/// A new, unconnected HTTPS session to host:port. `verify`: check the
/// server's certificate against `ca_file` (empty: the system's CAs).
/// Throws Poco::Exception when the TLS context cannot be created.
using NewTlsSession = Poco::Net::HTTPClientSession* (*)(const std::string& host, unsigned short port, bool verify,
                                                         const std::string& ca_file);

/// The symbol libchainpp_tls.so exports, of type NewTlsSession.
inline constexpr const char* kNewTlsSessionSymbol = "chainpp_new_tls_session";
inline constexpr const char* kTlsLibrary = "libchainpp_tls.so";

/// A JWT signed RS256 with the private key in `pem`, whose header is
/// {"alg":"RS256","typ":"JWT","x5t":<base64url SHA-1 thumbprint of the
/// certificate in `pem`>} and whose claims are `payload_json`:
/// header.payload.signature, each base64url. "" and `error` set when `pem`
/// holds no certificate or RSA key (`error` never holds key material).
using SignJwt = std::string (*)(const std::string& pem, const std::string& payload_json, std::string& error);

/// The symbol libchainpp_tls.so exports, of type SignJwt.
inline constexpr const char* kSignJwtSymbol = "chainpp_sign_jwt";

/// The symbol `name` of libchainpp_tls.so, which is loaded on first use
/// (core/src/http/pool.cpp). ConfigError "<what> needs TLS support, which
/// could not be loaded: ..." when it cannot be.
void* tls_symbol(const char* name, const char* what);

}  // namespace chainpp::detail
