// The Microsoft Entra ID credentials of chainpp/credentials.hpp against the
// emulator's identity endpoints (tools/emulator/identity.cpp) over loopback:
// the exact token request of each credential, the cache, the refresh ahead
// of expiry, one refresh under concurrency, the default chain's error, the
// Azure CLI through a stand-in `az`, and the plugins' `azure_credential`.
// Every test runs inside an EntraEnv: nothing can reach a real identity service.
#include "emulator_process.hpp"
#include "entra_env.hpp"
#include "run_command.hpp"
#include "temp_dir.hpp"

#include <catch2/catch.hpp>
#include <chainpp/config.hpp>
#include <chainpp/credentials.hpp>
#include <chainpp/errors.hpp>
#include <chainpp/registry.hpp>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <ctime>
#include <regex>
#include <thread>

using namespace chainpp;
using chainpp::test::EmulatorProcess;
using chainpp::test::EntraEnv;
using chainpp::test::TempDir;
using chainpp::test::read_file;
using chainpp::test::run_command;
using chainpp::test::write_file;

namespace {

using Clock = std::chrono::system_clock;
const std::vector<std::string> cognitive = {kCognitiveServicesScope};
const std::string encoded_scope = "https%3A%2F%2Fcognitiveservices.azure.com%2F.default";

PluginRegistry& registry() {
  static PluginRegistry r;
  static bool loaded = (r.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_azure_openai.so"),
                        r.load_file(CHAINPP_PLUGIN_DIR "/libchainpp_openai.so"), true);
  (void)loaded;
  return r;
}

// An emulator whose identity endpoints issue tokens as `identity` says (YAML map body).
std::unique_ptr<EmulatorProcess> emulator(const TempDir& dir, const std::string& identity = "token_lifetime: 3600") {
  const std::string path = dir.path("emulator.yaml");
  write_file(path, "api_keys: [test-key]\ndeployments:\n  gpt-4o: {model: gpt-4o, version: '2024-08-06'}\n"
                   "identity: {" + identity + "}\n");
  return std::make_unique<EmulatorProcess>(std::vector<std::string>{"--config", path, "--quiet"});
}

// The requests the emulator received on `path_prefix`.
std::vector<Json> requests_to(const EmulatorProcess& emu, const std::string& path_prefix) {
  std::vector<Json> out;
  const Json all = emu.requests();
  for (const auto& r : all.as_array())
    if (r["uri"].as_string().rfind(path_prefix, 0) == 0) out.push_back(r);
  return out;
}

// PATH as a shell has it, while the system's openssl runs (EntraEnv empties PATH).
class SystemPath {
public:
  SystemPath() : saved_(std::getenv("PATH") ? std::getenv("PATH") : "") { ::setenv("PATH", "/usr/bin:/bin", 1); }
  ~SystemPath() { ::setenv("PATH", saved_.c_str(), 1); }

private:
  std::string saved_;
};

// base64url <-> bytes, by the openssl command (a reference not written here).
std::string b64url_decode(std::string text) {
  for (char& c : text) c = c == '-' ? '+' : (c == '_' ? '/' : c);
  while (text.size() % 4) text += '=';
  SystemPath path;
  auto r = run_command("openssl", {"base64", "-d", "-A"}, text);
  REQUIRE(r.code == 0);
  return r.out;
}
std::string b64url_encode(const std::string& bytes) {
  SystemPath path;
  auto r = run_command("openssl", {"base64", "-A"}, bytes);
  REQUIRE(r.code == 0);
  std::string text = r.out;
  while (!text.empty() && (text.back() == '=' || text.back() == '\n')) text.pop_back();
  for (char& c : text) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  return text;
}

// The form fields of a body, in order.
std::vector<std::pair<std::string, std::string>> form_of(const std::string& body) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start <= body.size()) {
    const auto end = std::min(body.find('&', start), body.size());
    const std::string pair = body.substr(start, end - start);
    const auto eq = pair.find('=');
    out.emplace_back(pair.substr(0, eq), eq == std::string::npos ? "" : pair.substr(eq + 1));
    start = end + 1;
  }
  return out;
}

double seconds_from_now(Clock::time_point t) {
  return std::chrono::duration<double>(t - Clock::now()).count();
}

std::string message_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const std::exception& e) {
    return e.what();
  }
  FAIL("no error");
  return {};
}

}  // namespace

TEST_CASE("ClientSecretCredential sends the client credentials form and reads the token") {
  TempDir dir("chainpp_entra_secret");
  auto emu = emulator(dir);
  EntraEnv env(emu->base_url());
  ClientSecretCredential credential("tenant-1", "client-1", "test-client-secret");
  const auto before = Clock::now();
  const AccessToken t = credential.get_token(cognitive);
  REQUIRE(std::regex_match(t.token, std::regex("emu-entra-1-[0-9a-f]+")));
  REQUIRE(t.expires_on >= before + std::chrono::seconds(3600));
  REQUIRE(t.expires_on <= Clock::now() + std::chrono::seconds(3600));
  REQUIRE_FALSE(t.refresh_on);

  const auto sent = emu->requests();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0]["method"] == Json("POST"));
  REQUIRE(sent[0]["uri"] == Json("/tenant-1/oauth2/v2.0/token"));
  REQUIRE(sent[0]["headers"]["Content-Type"] == Json("application/x-www-form-urlencoded"));
  REQUIRE(sent[0]["headers"]["Accept"] == Json("application/json"));
  REQUIRE_FALSE(sent[0]["headers"].contains("Authorization"));
  REQUIRE(sent[0]["body"] == Json("grant_type=client_credentials&client_id=client-1&scope=" + encoded_scope +
                                  "&client_secret=test-client-secret"));

  // A wrong secret: Entra ID's error, without the secret.
  ClientSecretCredential wrong("tenant-1", "client-1", "wrong-secret-9f");
  REQUIRE(message_of([&] { wrong.get_token(cognitive); }) ==
          "ClientSecretCredential: the token endpoint answered HTTP 401: invalid_client: AADSTS7000215: Invalid "
          "client secret provided. (1 attempt)");
  try {
    wrong.get_token(cognitive);
  } catch (const AuthenticationError& e) {
    REQUIRE(e.status() == 401);
    REQUIRE(e.info().provider == "ClientSecretCredential");
  }
}

TEST_CASE("the token endpoint's refresh_in is honoured, and several scopes are sent joined") {
  TempDir dir("chainpp_entra_refresh_in");
  auto emu = emulator(dir, "token_lifetime: 3600, refresh_in: 1800");
  EntraEnv env(emu->base_url());
  ClientSecretCredential credential("tenant-1", "client-1", "test-client-secret");
  const auto before = Clock::now();
  const AccessToken t = credential.get_token({"api://gateway/.default", "offline_access"});
  REQUIRE(t.refresh_on);
  REQUIRE(*t.refresh_on >= before + std::chrono::seconds(1800));
  REQUIRE(*t.refresh_on <= Clock::now() + std::chrono::seconds(1800));
  REQUIRE(emu->requests()[0]["body"] ==
          Json("grant_type=client_credentials&client_id=client-1&scope=api%3A%2F%2Fgateway%2F.default%20offline_access"
               "&client_secret=test-client-secret"));
}

TEST_CASE("ClientCertificateCredential signs an RS256 client assertion with the certificate's x5t") {
  TempDir dir("chainpp_entra_cert");
  auto emu = emulator(dir);
  const std::string cert = CHAINPP_SOURCE_DIR "/tests/data/tls/cert.pem";
  const std::string pem = dir.path("client.pem");
  write_file(pem, read_file(cert) + read_file(CHAINPP_SOURCE_DIR "/tests/data/tls/key.pem"));
  EntraEnv env(emu->base_url());
  ClientCertificateCredential credential("tenant-2", "client-2", pem);
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
  const AccessToken t = credential.get_token(cognitive);
  REQUIRE(t.token.rfind("emu-entra-", 0) == 0);

  const auto sent = emu->requests();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0]["uri"] == Json("/tenant-2/oauth2/v2.0/token"));
  REQUIRE(sent[0]["headers"]["Content-Type"] == Json("application/x-www-form-urlencoded"));
  const auto fields = form_of(sent[0]["body"].as_string());
  REQUIRE(fields.size() == 5);
  REQUIRE(fields[0] == std::pair<std::string, std::string>("grant_type", "client_credentials"));
  REQUIRE(fields[1] == std::pair<std::string, std::string>("client_id", "client-2"));
  REQUIRE(fields[2] == std::pair<std::string, std::string>("scope", encoded_scope));
  REQUIRE(fields[3] == std::pair<std::string, std::string>(
                           "client_assertion_type", "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"));
  REQUIRE(fields[4].first == "client_assertion");
  const std::string jwt = fields[4].second;  // base64url and '.' need no percent-encoding
  const auto dot1 = jwt.find('.');
  const auto dot2 = jwt.find('.', dot1 + 1);
  REQUIRE(dot2 != std::string::npos);

  // x5t: the base64url SHA-1 of the certificate's DER, as openssl computes it.
  std::string x5t;
  {
    SystemPath path;
    auto der = run_command("openssl", {"x509", "-in", cert, "-outform", "DER"});
    REQUIRE(der.code == 0);
    auto sha1 = run_command("openssl", {"dgst", "-sha1", "-binary"}, der.out);
    REQUIRE(sha1.code == 0);
    x5t = b64url_encode(sha1.out);
  }
  REQUIRE(b64url_decode(jwt.substr(0, dot1)) == "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5t\":\"" + x5t + "\"}");
  const Json claims = Json::parse(b64url_decode(jwt.substr(dot1 + 1, dot2 - dot1 - 1)));
  REQUIRE(claims["aud"] == Json(emu->base_url() + "/tenant-2/oauth2/v2.0/token"));
  REQUIRE(claims["iss"] == Json("client-2"));
  REQUIRE(claims["sub"] == Json("client-2"));
  REQUIRE(std::regex_match(claims["jti"].as_string(), std::regex("[0-9a-f-]{36}")));
  REQUIRE(claims["nbf"].as_int() >= now);
  REQUIRE(claims["nbf"].as_int() <= now + 60);
  REQUIRE(claims["exp"].as_int() == claims["nbf"].as_int() + 600);
  REQUIRE(claims.as_object().size() == 6);

  // The signature verifies with the certificate's public key (openssl dgst -verify).
  write_file(dir.path("input"), jwt.substr(0, dot2));
  write_file(dir.path("signature"), b64url_decode(jwt.substr(dot2 + 1)));
  SystemPath path;
  auto pub = run_command("openssl", {"x509", "-in", cert, "-pubkey", "-noout"});
  write_file(dir.path("pub.pem"), pub.out);
  auto verified = run_command("openssl", {"dgst", "-sha256", "-verify", dir.path("pub.pem"), "-signature",
                                          dir.path("signature"), dir.path("input")});
  REQUIRE(verified.out == "Verified OK\n");

  // EnvironmentCredential picks the certificate when there is no secret.
  env.set("AZURE_TENANT_ID", "tenant-4");
  env.set("AZURE_CLIENT_ID", "client-4");
  env.set("AZURE_CLIENT_CERTIFICATE_PATH", pem);
  REQUIRE(EnvironmentCredential().get_token(cognitive).token.rfind("emu-entra-2-", 0) == 0);
  const auto last = emu->requests();
  REQUIRE(last.size() == 2);
  REQUIRE(last[1]["uri"] == Json("/tenant-4/oauth2/v2.0/token"));
  REQUIRE(form_of(last[1]["body"].as_string())[3].second ==
          "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer");
}

TEST_CASE("ClientCertificateCredential refuses a file without a key, without showing it") {
  TempDir dir("chainpp_entra_cert_bad");
  EntraEnv env;
  REQUIRE(message_of([&] {
            ClientCertificateCredential("t", "c", CHAINPP_SOURCE_DIR "/tests/data/tls/cert.pem");
          }) == "ClientCertificateCredential: the PEM file holds no unencrypted RSA private key");
  REQUIRE(message_of([&] { ClientCertificateCredential("t", "c", CHAINPP_SOURCE_DIR "/tests/data/tls/key.pem"); }) ==
          "ClientCertificateCredential: the PEM file holds no certificate");
  REQUIRE(message_of([&] { ClientCertificateCredential("t", "c", dir.path("none.pem")); }) ==
          "ClientCertificateCredential: cannot read the certificate file '" + dir.path("none.pem") +
              "': No such file or directory");
}

TEST_CASE("WorkloadIdentityCredential re-reads the federated token file at each request") {
  TempDir dir("chainpp_entra_workload");
  auto emu = emulator(dir);
  EntraEnv env(emu->base_url());
  const auto exp = std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count() + 3600;
  auto federated = [&](const std::string& sub) {
    return b64url_encode("{\"alg\":\"RS256\",\"kid\":\"k1\"}") + "." +
           b64url_encode("{\"aud\":\"api://AzureADTokenExchange\",\"iss\":\"https://oidc.example\",\"sub\":\"" + sub +
                         "\",\"exp\":" + std::to_string(exp) + "}") +
           ".c2lnbmF0dXJl";
  };
  const std::string first = federated("system:serviceaccount:default:one");
  const std::string second = federated("system:serviceaccount:default:two");
  write_file(dir.path("token"), first + "\n");
  env.set("AZURE_TENANT_ID", "tenant-3");
  env.set("AZURE_CLIENT_ID", "client-3");
  env.set("AZURE_FEDERATED_TOKEN_FILE", dir.path("token"));
  auto credential = WorkloadIdentityCredential::from_environment();
  credential->get_token({"scope-a"});
  write_file(dir.path("token"), second);  // Kubernetes rotated it
  credential->get_token({"scope-b"});
  const auto sent = emu->requests();
  REQUIRE(sent.size() == 2);
  const std::string type = "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";
  REQUIRE(sent[0]["uri"] == Json("/tenant-3/oauth2/v2.0/token"));
  REQUIRE(sent[0]["body"] ==
          Json("grant_type=client_credentials&client_id=client-3&scope=scope-a" + type + "&client_assertion=" + first));
  REQUIRE(sent[1]["body"] ==
          Json("grant_type=client_credentials&client_id=client-3&scope=scope-b" + type + "&client_assertion=" + second));
}

TEST_CASE("ManagedIdentityCredential on App Service: IDENTITY_ENDPOINT with X-IDENTITY-HEADER") {
  TempDir dir("chainpp_entra_appservice");
  auto emu = emulator(dir);
  EntraEnv env;
  env.set("IDENTITY_ENDPOINT", emu->base_url() + "/msi/token");
  env.set("IDENTITY_HEADER", "test-identity-header");
  ManagedIdentityCredential system_assigned;
  const AccessToken t = system_assigned.get_token(cognitive);
  REQUIRE(t.token.rfind("emu-appservice-1-", 0) == 0);
  REQUIRE(seconds_from_now(t.expires_on) > 3590);
  REQUIRE(seconds_from_now(t.expires_on) <= 3600);
  CredentialOptions options;
  options.managed_identity_client_id = "mi-client-1";
  ManagedIdentityCredential(options).get_token(cognitive);
  const auto sent = emu->requests();
  REQUIRE(sent.size() == 2);
  REQUIRE(sent[0]["method"] == Json("GET"));
  REQUIRE(sent[0]["uri"] == Json("/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fcognitiveservices.azure.com"));
  REQUIRE(sent[0]["headers"]["X-IDENTITY-HEADER"] == Json("test-identity-header"));
  REQUIRE_FALSE(sent[0]["headers"].contains("Metadata"));
  REQUIRE(sent[1]["uri"] == Json("/msi/token?api-version=2019-08-01&resource=https%3A%2F%2Fcognitiveservices.azure.com"
                                 "&client_id=mi-client-1"));
  env.set("IDENTITY_HEADER", "wrong-header");
  REQUIRE(message_of([] { ManagedIdentityCredential().get_token(cognitive); }) ==
          "ManagedIdentityCredential: the token endpoint answered HTTP 401: invalid_request: The X-IDENTITY-HEADER "
          "header is missing or wrong. (1 attempt)");
}

TEST_CASE("ManagedIdentityCredential through IMDS: Metadata: true, api-version 2018-02-01, the spec's response") {
  TempDir dir("chainpp_entra_imds");
  auto emu = emulator(dir);
  EntraEnv env(emu->base_url());  // AZURE_POD_IDENTITY_AUTHORITY_HOST: the emulator
  CredentialOptions options;
  options.managed_identity_client_id = "mi-client-2";
  const AccessToken t = ManagedIdentityCredential(options).get_token(cognitive);
  REQUIRE(t.token.rfind("emu-imds-1-", 0) == 0);
  REQUIRE(seconds_from_now(t.expires_on) > 3590);
  const auto sent = emu->requests();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0]["method"] == Json("GET"));
  REQUIRE(sent[0]["uri"] == Json("/metadata/identity/oauth2/token?api-version=2018-02-01&resource="
                                 "https%3A%2F%2Fcognitiveservices.azure.com&client_id=mi-client-2"));
  REQUIRE(sent[0]["headers"]["Metadata"] == Json("true"));

  // The emulator answers with the members of the official example, all strings.
  const Json example =
      Json::parse(read_file(CHAINPP_SOURCE_DIR "/tests/data/entra-id/imds-2018-02-01.getIdentityToken.example.json"));
  HttpRequest request;
  request.method = "GET";
  request.url = emu->base_url() + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net";
  request.headers = {{"Metadata", "true"}};
  const Json body = Json::parse(HttpClient().send(request).body);
  std::vector<std::string> expected, got;
  for (const auto& [k, v] : example["responses"]["200"]["body"].as_object()) expected.push_back(k);
  for (const auto& [k, v] : body.as_object()) {
    got.push_back(k);
    REQUIRE(v.is_string());
  }
  expected.push_back("token_type");  // IdentityTokenResponse has it; the example leaves it out
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  REQUIRE(got == expected);
  REQUIRE(body["resource"] == Json("https://vault.azure.net"));
}

TEST_CASE("IMDS answering 410 and 404 while it starts is retried") {
  TempDir dir("chainpp_entra_imds_410");
  auto emu = emulator(dir, "fault: '410-then-ok:2'");
  EntraEnv env(emu->base_url());
  CredentialOptions options;
  options.transport.initial_backoff_seconds = 0.01;
  const AccessToken t = ManagedIdentityCredential(options).get_token(cognitive);
  REQUIRE(t.token.rfind("emu-imds-1-", 0) == 0);
  REQUIRE(requests_to(*emu, "/metadata/identity/oauth2/token").size() == 3);  // the probe, a retry, the token

  TempDir dir404("chainpp_entra_imds_404");
  auto emu404 = emulator(dir404, "fault: '404-then-ok:1'");
  env.set("AZURE_POD_IDENTITY_AUTHORITY_HOST", emu404->base_url());
  REQUIRE(ManagedIdentityCredential(options).get_token(cognitive).token.rfind("emu-imds-1-", 0) == 0);
  REQUIRE(emu404->requests().size() == 2);
}

TEST_CASE("the token endpoint's 500 and 429 are retried by the transport") {
  for (const char* fault : {"500-then-ok:1", "429-then-ok:2"}) {
    CAPTURE(fault);
    TempDir dir("chainpp_entra_retry");
    auto emu = emulator(dir, std::string("fault: '") + fault + "'");
    EntraEnv env(emu->base_url());
    CredentialOptions options;
    options.transport.initial_backoff_seconds = 0.01;
    ClientSecretCredential credential("tenant-1", "client-1", "test-client-secret", options);
    REQUIRE(credential.get_token(cognitive).token.rfind("emu-entra-", 0) == 0);
    REQUIRE(emu->requests().size() == (fault[0] == '5' ? 2u : 3u));
  }
  TempDir dir("chainpp_entra_retry_out");
  auto emu = emulator(dir, "fault: '500'");
  EntraEnv env(emu->base_url());
  CredentialOptions options;
  options.transport.initial_backoff_seconds = 0.01;
  options.transport.max_retries = 1;
  ClientSecretCredential credential("tenant-1", "client-1", "test-client-secret", options);
  REQUIRE(message_of([&] { credential.get_token(cognitive); }) ==
          "ClientSecretCredential: the token endpoint answered HTTP 500: server_error: Server error (2 attempts)");
}

TEST_CASE("token endpoints: plain http only to loopback (IMDS excepted), and nothing but loopback in tests") {
  EntraEnv env;
  CredentialOptions remote;
  remote.authority_host = "http://login.example.com";
  REQUIRE(message_of([&] { ClientSecretCredential("t", "c", "s", remote); }) ==
          "ClientSecretCredential: refusing the token endpoint 'login.example.com', which is not loopback, while "
          "CHAINPP_CREDENTIALS_LOOPBACK_ONLY is set");
  env.unset("AZURE_POD_IDENTITY_AUTHORITY_HOST");  // the real IMDS address: refused in a test process
  REQUIRE(message_of([] { ManagedIdentityCredential(); }) ==
          "ManagedIdentityCredential: refusing the token endpoint '169.254.169.254', which is not loopback, while "
          "CHAINPP_CREDENTIALS_LOOPBACK_ONLY is set");
  // Without the test guard (constructing only: nothing is sent).
  env.unset("CHAINPP_CREDENTIALS_LOOPBACK_ONLY");
  REQUIRE(message_of([&] { ClientSecretCredential("t", "c", "s", remote); }) ==
          "ClientSecretCredential: refusing to send the credential over plain http:// to 'login.example.com', which "
          "is not loopback; use https://");
  REQUIRE_NOTHROW(ManagedIdentityCredential());  // IMDS is http:// by design
  env.set("IDENTITY_ENDPOINT", "http://10.0.0.1/msi/token");
  env.set("IDENTITY_HEADER", "h");
  REQUIRE(message_of([] { ManagedIdentityCredential(); }) ==
          "ManagedIdentityCredential: refusing to send the credential over plain http:// to '10.0.0.1', which is not "
          "loopback; use https://");
  CredentialOptions https;
  https.authority_host = "https://login.microsoftonline.com";
  REQUIRE(message_of([&] { ClientSecretCredential("a/b", "c", "s", https); }) ==
          "ClientSecretCredential: the tenant id may hold only letters, digits, '.' and '-'");
}

TEST_CASE("the default chain, with nothing configured, lists each credential's reason") {
  EntraEnv env;  // no variables, IMDS on a closed loopback port, no az on PATH
  DefaultAzureCredential credential;
  const std::string authority = std::getenv("AZURE_POD_IDENTITY_AUTHORITY_HOST") + std::string();
  const std::string port = authority.substr(authority.rfind(':') + 1);
  REQUIRE(message_of([&] { credential.get_token(cognitive); }) ==
          "DefaultAzureCredential: no credential gave a token:\n"
          "  EnvironmentCredential: needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET or "
          "AZURE_CLIENT_CERTIFICATE_PATH; AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and "
          "AZURE_CLIENT_CERTIFICATE_PATH not set\n"
          "  WorkloadIdentityCredential: AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_FEDERATED_TOKEN_FILE not set\n"
          "  ManagedIdentityCredential: connection refused (127.0.0.1:" + port +
              ") (1 attempt) (no managed identity endpoint)\n"
          "  AzureCliCredential: the Azure CLI ('az') is not on PATH");
}

namespace {

// An azure_openai model on the emulator with `credential_yaml` (e.g. "azure_credential: environment").
std::shared_ptr<ChatModel> azure_model(const EmulatorProcess& emu, const std::string& credential_yaml,
                                       const ProviderContext& ctx = {}) {
  return registry().create("azure_openai",
                           ConfigNode::parse_yaml("provider: azure_openai\nazure_deployment: gpt-4o\nazure_endpoint: " +
                                                      emu.base_url() + "\napi_version: 2024-10-21\nmax_retries: 0\n" +
                                                      credential_yaml,
                                                  "model.yaml"),
                           ctx);
}

// Points EnvironmentCredential at the emulator's client secret.
void service_principal(EntraEnv& env) {
  env.set("AZURE_TENANT_ID", "tenant-1");
  env.set("AZURE_CLIENT_ID", "client-1");
  env.set("AZURE_CLIENT_SECRET", "test-client-secret");
}

const Messages hello{HumanMessage("Hello")};

}  // namespace

TEST_CASE("azure_credential: 100 calls take 1 token request, each sending the token as Bearer only") {
  TempDir dir("chainpp_entra_cache");
  auto emu = emulator(dir);
  EntraEnv env(emu->base_url());
  service_principal(env);
  env.set("AZURE_OPENAI_API_KEY", "test-key");  // azure_credential wins over the environment's key
  auto model = azure_model(*emu, "azure_credential: environment\n");
  for (int i = 0; i < 100; ++i) model->invoke(hello);
  const auto tokens = requests_to(*emu, "/tenant-1/oauth2/v2.0/token");
  REQUIRE(tokens.size() == 1);
  const auto chats = requests_to(*emu, "/openai/deployments/gpt-4o/chat/completions");
  REQUIRE(chats.size() == 100);
  const std::string bearer = chats[0]["headers"]["Authorization"].as_string();
  REQUIRE(std::regex_match(bearer, std::regex("Bearer emu-entra-1-[0-9a-f]+")));
  for (const auto& c : chats) {
    REQUIRE(c["headers"]["Authorization"] == Json(bearer));
    REQUIRE_FALSE(c["headers"].contains("api-key"));
  }
  REQUIRE(model->to_config()["azure_credential"] == Json("environment"));
}

TEST_CASE("a 3-second token is refreshed ahead of expiry: no 401 reaches the caller over 10 s") {
  TempDir dir("chainpp_entra_short");
  auto emu = emulator(dir, "token_lifetime: 3");
  EntraEnv env(emu->base_url());
  service_principal(env);
  auto model = azure_model(*emu, "azure_credential: environment\n");
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int calls = 0;
  while (std::chrono::steady_clock::now() < end && calls < 5000) {
    REQUIRE_NOTHROW(model->invoke(hello));
    ++calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // Each token lives 3 s: 10 s of calls need at least 4.
  const auto tokens = requests_to(*emu, "/tenant-1/oauth2/v2.0/token");
  REQUIRE(tokens.size() >= 4);
  const auto chats = requests_to(*emu, "/openai/deployments/");
  REQUIRE(chats.size() == static_cast<std::size_t>(calls));
  // The first token has expired by now: the emulator refuses it.
  HttpRequest stale;
  stale.url = emu->base_url() + "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21";
  stale.headers = {{"Authorization", chats[0]["headers"]["Authorization"].as_string()},
                   {"Content-Type", "application/json"}};
  stale.body = R"({"messages":[{"role":"user","content":"Hello"}]})";
  TransportOptions once;
  once.max_retries = 0;
  REQUIRE_THROWS_AS(HttpClient().send(stale, once), AuthenticationError);
}

TEST_CASE("32 calls in flight when the token expires make one refresh") {
  TempDir dir("chainpp_entra_concurrent");
  auto emu = emulator(dir, "token_lifetime: 1, fault: 'slow-first-byte:300'");
  EntraEnv env(emu->base_url());
  ClientSecretCredential credential("tenant-1", "client-1", "test-client-secret");
  const AccessToken first = credential.get_token(cognitive);
  std::this_thread::sleep_until(first.expires_on + std::chrono::milliseconds(50));
  std::barrier start(32);
  std::vector<std::string> got(32);
  std::vector<std::thread> threads;
  for (int i = 0; i < 32; ++i)
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      got[static_cast<std::size_t>(i)] = credential.get_token(cognitive).token;
    });
  for (auto& t : threads) t.join();
  REQUIRE(emu->requests().size() == 2);
  for (const auto& token : got) {
    REQUIRE(token == got[0]);
    REQUIRE(token != first.token);
  }
}

TEST_CASE("while one caller refreshes a still-valid token, the others keep it") {
  TempDir dir("chainpp_entra_early");
  // A 10-second token is refreshed from 5 s on; the refresh takes 2 s.
  auto emu = emulator(dir, "token_lifetime: 10, fault: 'slow-first-byte:2000'");
  EntraEnv env(emu->base_url());
  ClientSecretCredential credential("tenant-1", "client-1", "test-client-secret");
  const auto before = Clock::now();
  const AccessToken first = credential.get_token(cognitive);
  std::this_thread::sleep_until(before + std::chrono::milliseconds(5100));
  std::barrier start(32);
  std::vector<std::string> got(32);
  std::vector<std::thread> threads;
  for (int i = 0; i < 32; ++i)
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      got[static_cast<std::size_t>(i)] = credential.get_token(cognitive).token;
    });
  for (auto& t : threads) t.join();
  REQUIRE(emu->requests().size() == 2);
  const auto kept = std::count(got.begin(), got.end(), first.token);
  REQUIRE(kept == 31);  // the 32nd fetched the new one
  REQUIRE(credential.get_token(cognitive).token != first.token);
  REQUIRE(emu->requests().size() == 2);
}

namespace {

// A stand-in `az` on PATH: a shell script that records its arguments and runs `body`.
void stand_in_az(const EntraEnv& env, const std::string& body) {
  const std::string path = env.bin() + "/az";
  write_file(path, "#!/bin/sh\nprintf '%s|' \"$@\" > \"${0%/*}/args\"\n" + body + "\n");
  ::chmod(path.c_str(), 0755);
}

}  // namespace

TEST_CASE("AzureCliCredential runs az account get-access-token and reads its expiry") {
  EntraEnv env;
  stand_in_az(env, "echo '{\"accessToken\": \"cli-token-1\", \"expiresOn\": \"2030-01-02 03:04:05.000000\", "
                   "\"expires_on\": 1893553445, \"subscription\": \"s\", \"tenant\": \"t\", \"tokenType\": \"Bearer\"}'");
  AzureCliCredential credential;
  const AccessToken t = credential.get_token(cognitive);
  REQUIRE(t.token == "cli-token-1");
  REQUIRE(t.expires_on == Clock::time_point(std::chrono::seconds(1893553445)));
  REQUIRE(read_file(env.bin() + "/args") ==
          "account|get-access-token|--scope|https://cognitiveservices.azure.com/.default|--output|json|");

  // Older CLIs: only expiresOn, in local time.
  stand_in_az(env, "echo '{\"accessToken\": \"cli-token-2\", \"expiresOn\": \"2030-01-02 03:04:05.000000\"}'");
  std::tm local{};
  local.tm_year = 130;
  local.tm_mon = 0;
  local.tm_mday = 2;
  local.tm_hour = 3;
  local.tm_min = 4;
  local.tm_sec = 5;
  local.tm_isdst = -1;
  REQUIRE(AzureCliCredential().get_token(cognitive).expires_on == Clock::from_time_t(std::mktime(&local)));

  stand_in_az(env, "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1");
  REQUIRE(message_of([] { AzureCliCredential().get_token(cognitive); }) ==
          "AzureCliCredential: not logged in; run 'az login' (exit code 1): ERROR: Please run 'az login' to setup "
          "account.");
  stand_in_az(env, "echo 'not json, cli-token-3'");
  REQUIRE(message_of([] { AzureCliCredential().get_token(cognitive); }) ==
          "AzureCliCredential: the output of 'az account get-access-token' is not JSON");
  stand_in_az(env, "exec /bin/sleep 30");
  CredentialOptions quick;
  quick.cli_timeout = std::chrono::milliseconds(300);
  REQUIRE(message_of([&] { AzureCliCredential(quick).get_token(cognitive); }) ==
          "AzureCliCredential: 'az account get-access-token' did not finish within 300 ms");
  // A scope that is not a plain URL never reaches a command line.
  REQUIRE(message_of([] { AzureCliCredential().get_token({"https://x/.default --tenant evil"}); }) ==
          "AzureCliCredential: the scope may hold only letters, digits and . - : / _");
}

TEST_CASE("the default chain uses the first credential that works: the Azure CLI here") {
  EntraEnv env;
  stand_in_az(env, "echo '{\"accessToken\": \"cli-token-9\", \"expires_on\": 1893553445}'");
  DefaultAzureCredential credential;
  REQUIRE(credential.get_token(cognitive).token == "cli-token-9");
}

TEST_CASE("azure_credential in YAML: the kinds, managed_identity_client_id, azure_ad_scope, and what wins") {
  TempDir dir("chainpp_entra_yaml");
  auto emu = emulator(dir);
  EntraEnv env(emu->base_url());
  REQUIRE(message_of([&] { azure_model(*emu, "azure_credential: keyless\n"); }) ==
          "model.yaml:6:19: azure_openai: unknown azure_credential 'keyless'; known: default, environment, "
          "workload_identity, managed_identity, azure_cli");
  REQUIRE(message_of([&] { azure_model(*emu, "azure_credential: azure_cli\nmanaged_identity_client_id: x\n"); }) ==
          "model.yaml:7:29: azure_openai: 'managed_identity_client_id' needs azure_credential: managed_identity or "
          "default");
  REQUIRE(message_of([&] { azure_model(*emu, "azure_credential: default\nazure_ad_scope: 'a b'\n"); }) ==
          "model.yaml:7:17: azure_openai: 'azure_ad_scope' must be one scope, without spaces");
  REQUIRE(message_of([&] { azure_model(*emu, "azure_credential: workload_identity\n"); }) ==
          "model.yaml:6:19: azure_openai: WorkloadIdentityCredential: AZURE_TENANT_ID, AZURE_CLIENT_ID and "
          "AZURE_FEDERATED_TOKEN_FILE not set");

  // managed_identity through IMDS with a user-assigned identity and another scope.
  auto mi = azure_model(*emu, "azure_credential: managed_identity\nmanaged_identity_client_id: mi-3\n"
                              "azure_ad_scope: api://gateway/.default\n");
  mi->invoke(hello);
  auto sent = emu->requests();
  REQUIRE(sent.size() == 2);
  REQUIRE(sent[0]["uri"] == Json("/metadata/identity/oauth2/token?api-version=2018-02-01&resource="
                                 "api%3A%2F%2Fgateway&client_id=mi-3"));
  REQUIRE(sent[1]["headers"]["Authorization"].as_string().rfind("Bearer emu-imds-1-", 0) == 0);

  // api_key in the file still wins: exactly one credential, the key.
  emu->reset();
  azure_model(*emu, "azure_credential: managed_identity\napi_key: test-key\n")->invoke(hello);
  sent = emu->requests();
  REQUIRE(sent.size() == 1);
  REQUIRE(sent[0]["headers"]["api-key"] == Json("test-key"));
  REQUIRE_FALSE(sent[0]["headers"].contains("Authorization"));

  // A host's TokenCredential wins over the file's key and azure_credential.
  emu->reset();
  ProviderContext ctx;
  ctx.token_credential = std::make_shared<ClientSecretCredential>("tenant-9", "client-9", "test-client-secret");
  azure_model(*emu, "api_key: test-key\n", ctx)->invoke(hello);
  sent = emu->requests();
  REQUIRE(sent.size() == 2);
  REQUIRE(sent[0]["uri"] == Json("/tenant-9/oauth2/v2.0/token"));
  REQUIRE(sent[1]["headers"]["Authorization"].as_string().rfind("Bearer emu-entra-", 0) == 0);
  REQUIRE_FALSE(sent[1]["headers"].contains("api-key"));
}

TEST_CASE("the openai plugin sends a TokenCredential's token as Bearer") {
  TempDir dir("chainpp_entra_openai");
  auto emu = emulator(dir);
  EntraEnv env(emu->base_url());
  service_principal(env);
  auto yaml = [&](const std::string& extra) {
    return ConfigNode::parse_yaml("provider: openai\nmodel: gpt-4o\nbase_url: " + emu->base_url() + "/v1\n" + extra,
                                  "openai.yaml");
  };
  registry().create("openai", yaml("azure_credential: environment\nazure_ad_scope: api://gateway/.default\n"))
      ->invoke(hello);
  ProviderContext ctx;
  ctx.token_credential = std::make_shared<ClientSecretCredential>("tenant-8", "client-8", "test-client-secret");
  registry().create("openai", yaml(""), ctx)->invoke(hello);
  const auto sent = emu->requests();
  REQUIRE(sent.size() == 4);
  REQUIRE(sent[0]["body"] == Json("grant_type=client_credentials&client_id=client-1&scope=api%3A%2F%2Fgateway%2F."
                                  "default&client_secret=test-client-secret"));
  REQUIRE(sent[1]["uri"] == Json("/v1/chat/completions"));
  REQUIRE(sent[1]["headers"]["Authorization"].as_string().rfind("Bearer emu-entra-1-", 0) == 0);
  REQUIRE(sent[2]["uri"] == Json("/tenant-8/oauth2/v2.0/token"));
  REQUIRE(sent[3]["headers"]["Authorization"].as_string().rfind("Bearer emu-entra-2-", 0) == 0);

  // A model with a key keeps it; OpenAI itself never gets the host's token.
  emu->reset();
  env.set("OPENAI_API_KEY", "test-key");
  registry().create("openai", yaml(""), ctx)->invoke(hello);
  REQUIRE(emu->requests().size() == 1);
  REQUIRE(emu->requests()[0]["headers"]["Authorization"] == Json("Bearer test-key"));
  env.unset("OPENAI_API_KEY");
  REQUIRE(message_of([&] {
            registry().create("openai", ConfigNode::parse_yaml("provider: openai\nmodel: gpt-4o\n", "openai.yaml"), ctx);
          }) == "openai.yaml:1:1: openai has no credential: set the environment variable OPENAI_API_KEY or 'api_key' "
                "in the configuration (only local servers at another base_url may go without)");
  REQUIRE(registry().create("openai", yaml("azure_credential: environment\n"))->to_config()["azure_credential"] ==
          Json("environment"));
}

TEST_CASE("bearer_token_provider gives the cached token at each call") {
  TempDir dir("chainpp_entra_provider");
  auto emu = emulator(dir);
  EntraEnv env(emu->base_url());
  auto provider = bearer_token_provider(
      std::make_shared<ClientSecretCredential>("tenant-1", "client-1", "test-client-secret"), cognitive);
  const std::string first = provider();
  REQUIRE(provider() == first);
  REQUIRE(emu->requests().size() == 1);
}
