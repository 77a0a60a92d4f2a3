#pragma once
// What the Entra ID credentials share (core/src/credentials): the
// environment, token endpoints and their trust rules, token requests
// through the transport, and reading a token response. Private to core.
#include <chainpp/credentials.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace chainpp::credentials {

/// The value of environment variable `name`, or "".
std::string env(const char* name);

/// "https://login.microsoftonline.com" or the options' / AZURE_AUTHORITY_HOST's
/// host, without a trailing slash.
std::string authority_host(const CredentialOptions& options);

/// {authority}/{tenant}/oauth2/v2.0/token, checked with check_token_url().
/// ConfigError "<who>: ..." for an empty tenant or client id, or a tenant
/// that is not letters, digits, '.' and '-'.
std::string token_endpoint(const CredentialOptions& options, const std::string& tenant,
                           const std::string& client_id, const std::string& who);

/// Refuses (ConfigError "<who>: ...") a URL parse_url() refuses, plain
/// http:// to a host that is not loopback (but the IMDS address when
/// `imds`), and, while kLoopbackOnlyEnv is set, any host that is not loopback.
void check_token_url(const std::string& url, const std::string& who, bool imds = false);

/// name=value pairs joined with '&', each percent-encoded.
std::string form(const std::vector<std::pair<std::string, std::string>>& fields);

/// The scopes joined with spaces; InputError "<who>: ..." when there is none.
std::string join_scopes(const std::vector<std::string>& scopes, const std::string& who);

/// Sends `request` (provider: who) and reads the token of its response.
/// Errors become AuthenticationErrors "<who>: ..." that hold no request
/// bytes: the status and the endpoint's error and error_description.
AccessToken fetch_token(HttpRequest request, const TransportOptions& transport, const std::string& who);

/// The client credentials flow: POST the form to `token_url`.
AccessToken client_credentials(const std::string& token_url, const std::string& client_id,
                               const std::vector<std::string>& scopes,
                               std::vector<std::pair<std::string, std::string>> secret_fields,
                               const TransportOptions& transport, const std::string& who);

/// Reads a token response: access_token, then refresh_in, expires_in
/// (seconds from `now`) or expires_on (epoch seconds), as numbers or
/// numeric strings. BadResponseError "<who>: ..." without the body.
AccessToken parse_token_response(std::string_view body, std::chrono::system_clock::time_point now,
                                 const std::string& who);

/// Reads a whole file of at most `limit` bytes; CredentialUnavailableError "<who>: ..." when it cannot.
std::string read_small_file(const std::string& path, std::size_t limit, const std::string& what,
                            const std::string& who);

/// The RS256 client assertion of the certificate+key `pem` for
/// `token_url` (aud) and `client_id` (iss, sub), valid 10 minutes.
std::string client_assertion(const std::string& pem, const std::string& token_url, const std::string& client_id,
                             const std::string& who);

/// An AuthenticationError "<who>: <message>" (CredentialUnavailableError when `unavailable`).
[[noreturn]] void fail(const std::string& who, const std::string& message, bool unavailable = false);

}  // namespace chainpp::credentials
