// What the Entra ID credentials share: endpoints and their trust rules,
// token requests through the transport, token responses (token_request.hpp).
#include "credentials/token_request.hpp"

#include "tls_session.hpp"

#include <chainpp/callbacks.hpp>
#include <chainpp/endpoint.hpp>
#include <chainpp/json.hpp>
#include <chainpp/terminal.hpp>

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace chainpp::credentials {

namespace {

constexpr const char* kDefaultAuthority = "https://login.microsoftonline.com";
constexpr const char* kImdsHost = "169.254.169.254";
constexpr std::size_t kMaxTokenBytes = 64 * 1024;

// Server text for an error message: one line, escaped, at most 300 bytes.
std::string server_text(const std::string& text) {
  std::string out = escape_for_terminal(text.substr(0, 300));
  if (text.size() > 300) out += "...";
  return out;
}

// A number of seconds: a JSON number, or a string of decimal digits.
std::optional<double> seconds_of(const Json* v) {
  if (!v) return std::nullopt;
  if (v->is_number()) return v->as_double();
  if (!v->is_string()) return std::nullopt;
  const std::string& s = v->as_string();
  double d = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return d;
}

std::chrono::system_clock::time_point after(std::chrono::system_clock::time_point t, double seconds) {
  return t + std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

void fail(const std::string& who, const std::string& message, bool unavailable) {
  ProviderErrorInfo info{who, 0, "", "", "", 1, {}, {}, {}};
  if (unavailable) throw CredentialUnavailableError(who + ": " + message, std::move(info));
  throw AuthenticationError(who + ": " + message, std::move(info));
}

std::string authority_host(const CredentialOptions& options) {
  std::string host = options.authority_host.empty() ? env("AZURE_AUTHORITY_HOST") : options.authority_host;
  if (host.empty()) host = kDefaultAuthority;
  while (!host.empty() && host.back() == '/') host.pop_back();
  return host;
}

void check_token_url(const std::string& url, const std::string& who, bool imds) {
  const Url u = parse_url(url, who + ": the token endpoint");
  if (!env(kLoopbackOnlyEnv).empty() && !u.loopback())
    throw ConfigError(who + ": refusing the token endpoint '" + u.host + "', which is not loopback, while " +
                      kLoopbackOnlyEnv + " is set");
  if (u.scheme == "http" && !u.loopback() && !(imds && u.host == kImdsHost))
    throw ConfigError(who + ": refusing to send the credential over plain http:// to '" + u.host +
                      "', which is not loopback; use https://");
}

std::string token_endpoint(const CredentialOptions& options, const std::string& tenant, const std::string& client_id,
                           const std::string& who) {
  if (tenant.empty()) throw ConfigError(who + ": the tenant id is empty");
  if (client_id.empty()) throw ConfigError(who + ": the client id is empty");
  for (const char c : tenant)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-')
      throw ConfigError(who + ": the tenant id may hold only letters, digits, '.' and '-'");
  const std::string url = authority_host(options) + "/" + tenant + "/oauth2/v2.0/token";
  check_token_url(url, who);
  return url;
}

std::string form(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [name, value] : fields) {
    if (!out.empty()) out += '&';
    out += url_encode(name) + "=" + url_encode(value);
  }
  return out;
}

std::string join_scopes(const std::vector<std::string>& scopes, const std::string& who) {
  if (scopes.empty()) throw InputError(who + ": no scope to get a token for");
  std::string out;
  for (const auto& s : scopes) {
    if (s.empty()) throw InputError(who + ": an empty scope");
    out += (out.empty() ? "" : " ") + s;
  }
  return out;
}

AccessToken parse_token_response(std::string_view body, std::chrono::system_clock::time_point now,
                                 const std::string& who) {
  auto bad = [&](const std::string& why) -> AccessToken {
    throw BadResponseError(who + ": " + why, ProviderErrorInfo{who, 200, "", "", "", 1, {}, {}, {}});
  };
  Json j;
  try {
    j = Json::parse(body);
  } catch (const std::exception&) {
    return bad("the token response is not JSON");
  }
  if (!j.is_object()) return bad("the token response is not a JSON object");
  const Json* token = j.find("access_token");
  if (!token || !token->is_string() || token->as_string().empty())
    return bad("the token response has no access_token");
  AccessToken t;
  t.token = token->as_string();
  if (t.token.size() > kMaxTokenBytes) return bad("the access_token is longer than 65536 bytes");
  if (header_problem("Authorization", t.token)) return bad("the access_token holds CR, LF or NUL");
  auto valid = [](std::optional<double> s) { return s && std::isfinite(*s) && *s >= 0 && *s < 1e10; };
  const auto expires_in = seconds_of(j.find("expires_in"));
  const auto expires_on = seconds_of(j.find("expires_on"));
  if (valid(expires_in)) {
    t.expires_on = after(now, *expires_in);
  } else if (valid(expires_on)) {
    t.expires_on = after(std::chrono::system_clock::time_point{}, *expires_on);
  } else {
    return bad("the token response has no valid expires_in or expires_on");
  }
  if (const auto refresh_in = seconds_of(j.find("refresh_in")); valid(refresh_in))
    t.refresh_on = after(now, *refresh_in);
  return t;
}

AccessToken fetch_token(HttpRequest request, const TransportOptions& transport, const std::string& who) {
  request.provider = who;
  request.headers.emplace_back("Accept", "application/json");
  const auto now = std::chrono::system_clock::now();
  HttpResponse response;
  try {
    response = HttpClient::shared().send(request, transport);
  } catch (const ProviderError& e) {
    ProviderErrorInfo info = e.info();
    info.provider = who;
    if (info.status == 0) throw AuthenticationError(e.what(), std::move(info));  // already "<who>: ..."
    // {"error": "invalid_client", "error_description": "AADSTS7000215: ..."} (Entra ID, IMDS, App Service)
    std::string message = who + ": the token endpoint answered HTTP " + std::to_string(info.status);
    const Json& b = info.body;
    const Json* error = b.is_object() ? b.find("error") : nullptr;
    const Json* description = b.is_object() ? b.find("error_description") : nullptr;
    if (error && error->is_string()) message += ": " + server_text(error->as_string());
    if (description && description->is_string()) message += ": " + server_text(description->as_string());
    message += " (" + std::to_string(info.attempts) + (info.attempts == 1 ? " attempt)" : " attempts)");
    throw AuthenticationError(message, std::move(info));
  }
  return parse_token_response(response.body, now, who);
}

AccessToken client_credentials(const std::string& token_url, const std::string& client_id,
                               const std::vector<std::string>& scopes,
                               std::vector<std::pair<std::string, std::string>> secret_fields,
                               const TransportOptions& transport, const std::string& who) {
  check_token_url(token_url, who);
  std::vector<std::pair<std::string, std::string>> fields = {
      {"grant_type", "client_credentials"}, {"client_id", client_id}, {"scope", join_scopes(scopes, who)}};
  for (auto& f : secret_fields) fields.push_back(std::move(f));
  HttpRequest request;
  request.method = "POST";
  request.url = token_url;
  request.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
  request.body = form(fields);
  return fetch_token(std::move(request), transport, who);
}

std::string read_small_file(const std::string& path, std::size_t limit, const std::string& what,
                            const std::string& who) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(who, "cannot read " + what + " '" + escape_for_terminal(path) + "': " + std::strerror(errno), true);
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > limit)
    fail(who, what + " '" + escape_for_terminal(path) + "' is larger than " + std::to_string(limit) + " bytes", true);
  return text;
}

std::string client_assertion(const std::string& pem, const std::string& token_url, const std::string& client_id,
                             const std::string& who) {
  const auto sign = reinterpret_cast<detail::SignJwt>(detail::tls_symbol(detail::kSignJwtSymbol, who.c_str()));
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const Json claims{{"aud", token_url}, {"iss", client_id}, {"sub", client_id},
                    {"jti", new_uuid()},  {"nbf", now},       {"exp", now + 600}};
  std::string error;
  std::string jwt = sign(pem, claims.dump(), error);
  if (jwt.empty()) fail(who, error);
  return jwt;
}

}  // namespace chainpp::credentials
