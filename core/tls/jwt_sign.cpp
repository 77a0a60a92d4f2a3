// libchainpp_tls.so: RS256 signatures of client assertions for
// ClientCertificateCredential (see tls_session.hpp), with OpenSSL.
#include "tls_session.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>
#include <type_traits>
#include <vector>

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;

std::string base64url(const unsigned char* data, std::size_t size) {
  std::vector<unsigned char> out(4 * ((size + 2) / 3) + 1);
  const int n = EVP_EncodeBlock(out.data(), data, static_cast<int>(size));
  std::string text(reinterpret_cast<const char*>(out.data()), static_cast<std::size_t>(n));
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) c = c == '+' ? '-' : (c == '/' ? '_' : c);
  return text;
}

std::string base64url(const std::string& text) {
  return base64url(reinterpret_cast<const unsigned char*>(text.data()), text.size());
}

Bio pem_bio(const std::string& pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

}  // namespace

extern "C" __attribute__((visibility("default"))) std::string chainpp_sign_jwt(const std::string& pem,
                                                                              const std::string& payload_json,
                                                                              std::string& error) {
  // No password callback: an encrypted key is refused rather than prompted for.
  static pem_password_cb* const no_password = [](char*, int, int, void*) { return 0; };
  Cert cert(PEM_read_bio_X509(pem_bio(pem).get(), nullptr, no_password, nullptr));
  if (!cert) {
    error = "the PEM file holds no certificate";
    return {};
  }
  Key key(PEM_read_bio_PrivateKey(pem_bio(pem).get(), nullptr, no_password, nullptr));
  if (!key || EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) {
    error = "the PEM file holds no unencrypted RSA private key";
    return {};
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    error = "the private key in the PEM file is not the certificate's";
    return {};
  }
  unsigned char sha1[EVP_MAX_MD_SIZE];
  unsigned int sha1_size = 0;
  if (X509_digest(cert.get(), EVP_sha1(), sha1, &sha1_size) != 1) {
    error = "cannot compute the certificate's thumbprint";
    return {};
  }
  const std::string header = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"x5t\":\"" + base64url(sha1, sha1_size) + "\"}";
  const std::string input = base64url(header) + "." + base64url(payload_json);
  MdCtx ctx(EVP_MD_CTX_new());
  std::size_t size = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()), input.size()) !=
          1) {
    error = "cannot sign with the private key";
    return {};
  }
  std::vector<unsigned char> signature(size);
  if (EVP_DigestSign(ctx.get(), signature.data(), &size, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    error = "cannot sign with the private key";
    return {};
  }
  return input + "." + base64url(signature.data(), size);
}

// The exported function has the type credentials expect.
static_assert(std::is_same_v<decltype(&chainpp_sign_jwt), chainpp::detail::SignJwt>);
