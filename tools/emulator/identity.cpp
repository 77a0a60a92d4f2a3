// The emulator's Microsoft Entra ID side, for the credentials of
// chainpp/credentials.hpp:
//   POST /{tenant}/oauth2/v2.0/token       the client credentials flow, with
//        client_secret or a client_assertion (a certificate's, or a
//        workload identity's federated token); the form fields are checked
//   GET  /msi/token?api-version=2019-08-01  App Service (X-IDENTITY-HEADER)
//   GET  /metadata/identity/oauth2/token?api-version=2018-02-01  IMDS (Metadata: true)
// Each issues a token of identity.token_lifetime seconds that the chat
// endpoints accept as Bearer until it expires (then 401). Faults:
// identity.fault, or a request's x-emulator-fault header (status codes,
// -then-ok:N, slow-first-byte:MS, reset).
#include "handler.hpp"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>

#include <random>
#include <regex>
#include <sstream>
#include <thread>

namespace emulator {

using chainpp::Json;

namespace {

constexpr const char* kJwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

std::int64_t epoch_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A base64url JWT part as JSON; null when it is not.
Json jwt_part(const std::string& part) {
  try {
    std::istringstream in(part);
    Poco::Base64Decoder decoder(in, Poco::BASE64_URL_ENCODING | Poco::BASE64_NO_PADDING);
    std::string text((std::istreambuf_iterator<char>(decoder)), std::istreambuf_iterator<char>());
    return Json::parse(text);
  } catch (const std::exception&) {
    return Json();
  }
}

// Why a client assertion is refused (Entra ID's AADSTS text), or "" when it is accepted:
// a certificate's (header x5t, RS256; aud the token URL, iss and sub the client id, not
// expired) or a federated token (aud api://AzureADTokenExchange, not expired).
std::string assertion_problem(const std::string& jwt, const std::string& token_url, const std::string& client_id) {
  const auto dot1 = jwt.find('.');
  const auto dot2 = dot1 == std::string::npos ? dot1 : jwt.find('.', dot1 + 1);
  if (dot2 == std::string::npos || jwt.find('.', dot2 + 1) != std::string::npos || dot2 + 1 == jwt.size())
    return "AADSTS50027: JWT token is invalid or malformed.";
  const Json header = jwt_part(jwt.substr(0, dot1));
  const Json claims = jwt_part(jwt.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!header.is_object() || !claims.is_object()) return "AADSTS50027: JWT token is invalid or malformed.";
  const Json* exp = claims.find("exp");
  if (!exp || !exp->is_number() || exp->as_double() <= static_cast<double>(epoch_seconds(std::chrono::system_clock::now())))
    return "AADSTS700024: Client assertion is not within its valid time range.";
  const std::string aud = claims.value("aud", "");
  if (header.contains("x5t")) {
    if (header.value("alg", "") != "RS256") return "AADSTS5002738: Invalid JWT token. 'alg' is not RS256.";
    if (aud != token_url) return "AADSTS700016: The audience of the client assertion is not the token endpoint.";
    if (claims.value("iss", "") != client_id || claims.value("sub", "") != client_id)
      return "AADSTS700021: Client assertion application identifier doesn't match 'client_id' parameter.";
    return "";
  }
  if (aud != "api://AzureADTokenExchange")
    return "AADSTS700212: No matching federated identity record found for presented assertion audience.";
  return "";
}

}  // namespace

IdentityConfig parse_identity(const YAML::Node& node, const std::string& source) {
  auto fail = [&](const YAML::Node& at, const std::string& message) {
    const auto m = at.Mark();
    throw std::runtime_error(source + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": " +
                             message);
  };
  if (!node.IsMap()) fail(node, "identity must be a map");
  IdentityConfig c;
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "token_lifetime") {
      c.token_lifetime = v.as<long>();
      if (c.token_lifetime < 1) fail(v, "identity.token_lifetime must be at least 1 second");
    } else if (key == "refresh_in") {
      c.refresh_in = v.as<long>();
    } else if (key == "client_secret") {
      c.client_secret = v.as<std::string>();
    } else if (key == "identity_header") {
      c.identity_header = v.as<std::string>();
    } else if (key == "fault") {
      c.fault = v.as<std::string>();
      parse_faults(c.fault);  // refused now when unknown
    } else {
      fail(kv.first, "unknown identity key '" + key + "'");
    }
  }
  return c;
}

std::string IssuedTokens::issue(const std::string& kind, std::chrono::system_clock::time_point expires) {
  thread_local std::mt19937_64 random{std::random_device{}()};
  std::lock_guard lock(mutex_);
  std::ostringstream token;
  token << "emu-" << kind << "-" << ++next_ << "-" << std::hex << random();
  tokens_[token.str()] = expires;
  return token.str();
}

IssuedTokens::Status IssuedTokens::status(const std::string& token) const {
  std::lock_guard lock(mutex_);
  const auto it = tokens_.find(token);
  if (it == tokens_.end()) return Status::unknown;
  return std::chrono::system_clock::now() < it->second ? Status::valid : Status::expired;
}

void IssuedTokens::clear() {
  std::lock_guard lock(mutex_);
  tokens_.clear();
}

bool Handler::serve_identity(const Poco::URI& uri, const std::string& path, const std::string& body,
                             Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response) {
  static const std::regex token_path("/([A-Za-z0-9.-]+)/oauth2/v2\\.0/token");
  std::smatch tenant;
  enum class Kind { entra, appservice, imds } kind;
  if (std::regex_match(path, tenant, token_path)) {
    kind = Kind::entra;
  } else if (path == "/msi/token") {
    kind = Kind::appservice;
  } else if (path == "/metadata/identity/oauth2/token") {
    kind = Kind::imds;
  } else {
    return false;
  }
  const IdentityConfig& config = state_.config.identity;
  auto oauth_error = [&](int status, const std::string& error, const std::string& description) {
    send_json(response, status, Json{{"error", error}, {"error_description", description}});
  };

  // Faults, counted per endpoint.
  const std::string spec = request.get("x-emulator-fault", config.fault);
  std::vector<Fault> faults;
  try {
    faults = parse_faults(spec);
  } catch (const std::exception& e) {
    oauth_error(400, "invalid_request", std::string("emulator: ") + e.what());
    return true;
  }
  long seq = 0;
  if (!faults.empty()) {
    std::lock_guard lock(state_.mutex);
    seq = ++state_.fault_counts["identity|" + path + "|" + spec];
  }
  for (const auto& f : faults) {
    if (f.first_n >= 0 && seq > f.first_n) continue;
    fault_text_ = spec;
    if (f.kind == "slow-first-byte") std::this_thread::sleep_for(std::chrono::milliseconds(f.arg));
    if (f.kind == "reset") {
      reset_connection(request);
      status_ = 0;
      return true;
    }
    if (f.kind == "status") {
      if (f.status == 429) response.set("retry-after-ms", "10");
      oauth_error(f.status, f.status == 429 ? "too_many_requests" : (f.status >= 500 ? "server_error" : "not_found"),
                  f.status == 429 ? "Too many requests" : (f.status >= 500 ? "Server error" : "Not found"));
      return true;
    }
  }

  const auto now = std::chrono::system_clock::now();
  const auto expires = now + std::chrono::seconds(config.token_lifetime);
  if (kind == Kind::entra) {
    if (request.getMethod() != "POST") {
      oauth_error(405, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests.");
      return true;
    }
    if (request.getContentType() != "application/x-www-form-urlencoded") {
      oauth_error(400, "invalid_request", "AADSTS900144: The request body must be application/x-www-form-urlencoded.");
      return true;
    }
    std::map<std::string, std::string> form;
    std::istringstream in(body);
    for (std::string pair; std::getline(in, pair, '&');) {
      const auto eq = pair.find('=');
      std::string name, value;
      Poco::URI::decode(pair.substr(0, eq), name, true);
      if (eq != std::string::npos) Poco::URI::decode(pair.substr(eq + 1), value, true);
      form[name] = value;
    }
    auto field = [&](const char* name) { return form.count(name) ? form[name] : std::string(); };
    if (field("grant_type") != "client_credentials") {
      oauth_error(400, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
      return true;
    }
    for (const char* required : {"client_id", "scope"}) {
      if (field(required).empty()) {
        oauth_error(400, "invalid_request",
                    std::string("AADSTS900144: The request body must contain the following parameter: '") + required +
                        "'.");
        return true;
      }
    }
    const bool secret = form.count("client_secret") > 0;
    const bool assertion = form.count("client_assertion") > 0 || form.count("client_assertion_type") > 0;
    if (secret == assertion) {
      oauth_error(401, "invalid_client",
                  "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or "
                  "'client_secret'.");
      return true;
    }
    if (secret && field("client_secret") != config.client_secret) {
      oauth_error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
      return true;
    }
    if (assertion) {
      if (field("client_assertion_type") != kJwtBearer) {
        oauth_error(400, "invalid_request", "AADSTS50027: Invalid client_assertion_type.");
        return true;
      }
      const std::string host = request.getHost();
      const std::string problem =
          assertion_problem(field("client_assertion"), "http://" + host + path, field("client_id"));
      if (!problem.empty()) {
        oauth_error(401, "invalid_client", problem);
        return true;
      }
    }
    Json out{{"token_type", "Bearer"},
             {"expires_in", config.token_lifetime},
             {"ext_expires_in", config.token_lifetime},
             {"access_token", state_.tokens.issue("entra", expires)}};
    if (config.refresh_in) out.set("refresh_in", *config.refresh_in);
    send_json(response, 200, out);
    return true;
  }

  if (request.getMethod() != "GET") {
    oauth_error(405, "method_not_allowed", "Not allowed");
    return true;
  }
  const std::string resource = query_parameter(uri, "resource");
  const std::string client_id = query_parameter(uri, "client_id");
  if (kind == Kind::appservice) {
    if (request.get("X-IDENTITY-HEADER", "") != config.identity_header) {
      oauth_error(401, "invalid_request", "The X-IDENTITY-HEADER header is missing or wrong.");
      return true;
    }
    if (query_parameter(uri, "api-version") != "2019-08-01" || resource.empty()) {
      oauth_error(400, "invalid_request", "api-version=2019-08-01 and resource are required.");
      return true;
    }
    // The token is valid until the expires_on it reports (whole seconds).
    const auto until = std::chrono::system_clock::time_point(std::chrono::seconds(epoch_seconds(expires)));
    send_json(response, 200,
              Json{{"access_token", state_.tokens.issue("appservice", until)},
                   {"expires_on", std::to_string(epoch_seconds(until))},
                   {"resource", resource},
                   {"token_type", "Bearer"},
                   {"client_id", client_id.empty() ? std::string("system-assigned") : client_id}});
    return true;
  }
  // IMDS: the 2018-02-01 IdentityTokenResponse, every value a string.
  if (request.get("Metadata", "") != "true") {
    oauth_error(400, "invalid_request", "Required metadata header not specified");
    return true;
  }
  if (query_parameter(uri, "api-version") != "2018-02-01" || resource.empty()) {
    oauth_error(400, "invalid_request", "Bad request");
    return true;
  }
  send_json(response, 200,
            Json{{"access_token", state_.tokens.issue("imds", expires)},
                 {"client_id", client_id.empty() ? std::string("system-assigned") : client_id},
                 {"expires_in", std::to_string(config.token_lifetime)},
                 {"expires_on", std::to_string(epoch_seconds(expires))},
                 {"ext_expires_in", std::to_string(config.token_lifetime)},
                 {"not_before", std::to_string(epoch_seconds(now))},
                 {"resource", resource},
                 {"token_type", "Bearer"}});
  return true;
}

}  // namespace emulator
