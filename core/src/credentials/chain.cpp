// ChainedTokenCredential and DefaultAzureCredential, the credential a
// configuration names, and bearer_token_provider.
#include "credentials/token_request.hpp"

namespace chainpp {

ChainedTokenCredential::ChainedTokenCredential(std::vector<std::shared_ptr<TokenCredential>> credentials,
                                               std::string name)
    : credentials_(std::move(credentials)), name_(std::move(name)) {
  if (credentials_.empty()) throw ConfigError(name_ + ": no credential to try");
  for (const auto& c : credentials_)
    if (!c) throw ConfigError(name_ + ": a credential is null");
}

AccessToken ChainedTokenCredential::request_token(const std::vector<std::string>& scopes) const {
  if (const int chosen = chosen_.load(); chosen >= 0) return credentials_[static_cast<std::size_t>(chosen)]->get_token(scopes);
  std::string reasons;
  for (std::size_t i = 0; i < credentials_.size(); ++i) {
    try {
      AccessToken t = credentials_[i]->get_token(scopes);
      chosen_ = static_cast<int>(i);  // used from now on, as azure-identity does
      return t;
    } catch (const InputError&) {
      throw;  // the scopes are wrong for every credential
    } catch (const std::exception& e) {
      reasons += std::string("\n  ") + e.what();
    }
  }
  credentials::fail(name_, "no credential gave a token:" + reasons);
}

namespace {

// A credential the chain tries, or, when it cannot even be made (a bad
// environment), one that reports why.
class Failed final : public TokenCredential {
public:
  Failed(std::string name, std::string why) : name_(std::move(name)), why_(std::move(why)) {}
  std::string name() const override { return name_; }

protected:
  AccessToken request_token(const std::vector<std::string>&) const override { throw ConfigError(why_); }

private:
  std::string name_, why_;
};

template <typename Make>
std::shared_ptr<TokenCredential> or_failed(const char* name, Make make) {
  try {
    return make();
  } catch (const CredentialUnavailableError& e) {
    return std::make_shared<Failed>(name, e.what());
  } catch (const ConfigError& e) {
    return std::make_shared<Failed>(name, e.what());
  }
}

std::vector<std::shared_ptr<TokenCredential>> default_chain(CredentialOptions options) {
  if (options.managed_identity_client_id.empty()) options.managed_identity_client_id = credentials::env("AZURE_CLIENT_ID");
  return {
      or_failed("EnvironmentCredential", [&] { return std::make_shared<EnvironmentCredential>(options); }),
      or_failed("WorkloadIdentityCredential", [&] { return WorkloadIdentityCredential::from_environment(options); }),
      or_failed("ManagedIdentityCredential", [&] { return std::make_shared<ManagedIdentityCredential>(options); }),
      or_failed("AzureCliCredential", [&] { return std::make_shared<AzureCliCredential>(options); }),
  };
}

}  // namespace

DefaultAzureCredential::DefaultAzureCredential(CredentialOptions options)
    : ChainedTokenCredential(default_chain(std::move(options)), "DefaultAzureCredential") {}

const std::vector<std::string>& azure_credential_kinds() {
  static const std::vector<std::string> kinds = {"default", "environment", "workload_identity", "managed_identity",
                                                 "azure_cli"};
  return kinds;
}

std::shared_ptr<TokenCredential> make_azure_credential(std::string_view kind, CredentialOptions options) {
  if (kind == "default") return std::make_shared<DefaultAzureCredential>(std::move(options));
  if (kind == "environment") return std::make_shared<EnvironmentCredential>(std::move(options));
  if (kind == "workload_identity") return WorkloadIdentityCredential::from_environment(std::move(options));
  if (kind == "managed_identity") return std::make_shared<ManagedIdentityCredential>(std::move(options));
  if (kind == "azure_cli") return std::make_shared<AzureCliCredential>(std::move(options));
  std::string known;
  for (const auto& k : azure_credential_kinds()) known += (known.empty() ? "" : ", ") + k;
  throw InputError("unknown Azure credential '" + std::string(kind) + "'; known: " + known);
}

std::function<std::string()> bearer_token_provider(std::shared_ptr<TokenCredential> credential,
                                                   std::vector<std::string> scopes) {
  if (!credential) throw InputError("bearer_token_provider: the credential is null");
  return [credential = std::move(credential), scopes = std::move(scopes)] { return credential->get_token(scopes).token; };
}

}  // namespace chainpp
