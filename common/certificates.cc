#include "common/certificates.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace weft {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreContext = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using Names = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;

// OpenSSL's most recent error, for messages.
std::string OpenSslError(const char* what) {
  const unsigned long code = ERR_peek_last_error();
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof(text));
  ERR_clear_error();
  return absl::StrCat(what, ": ", text);
}

absl::Status Failed(const char* what) { return absl::InternalError(OpenSslError(what)); }

std::string ToPem(int (*write)(BIO*, void*), void* object) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get(), object) != 1) return "";
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string KeyPem(EVP_PKEY* key) {
  return ToPem(
      [](BIO* bio, void* k) {
        return PEM_write_bio_PrivateKey(bio, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0,
                                        nullptr, nullptr);
      },
      key);
}
std::string PublicPem(EVP_PKEY* key) {
  return ToPem(
      [](BIO* bio, void* k) { return PEM_write_bio_PUBKEY(bio, static_cast<EVP_PKEY*>(k)); }, key);
}
std::string CertPem(X509* cert) {
  return ToPem([](BIO* bio, void* c) { return PEM_write_bio_X509(bio, static_cast<X509*>(c)); },
               cert);
}

Bio ReadBio(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}
Key ReadPrivateKey(const std::string& pem) {
  Bio bio = ReadBio(pem);
  return Key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}
Key ReadPublicKey(const std::string& pem) {
  Bio bio = ReadBio(pem);
  return Key(bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}
Cert ReadCert(const std::string& pem) {
  Bio bio = ReadBio(pem);
  return Cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
}

Key NewKey() { return Key(EVP_EC_gen("P-256")); }

// An IP address, or a DNS name of letters, digits, '-' and '.' (what goes into subjectAltName:
// nothing that the OpenSSL configuration syntax would read as more names).
bool PlainHost(const std::string& host) {
  unsigned char buffer[16];
  if (inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
      inet_pton(AF_INET6, host.c_str(), buffer) == 1) {
    return true;
  }
  if (host.empty() || host.size() > 253 || host.front() == '-' || host.front() == '.') {
    return false;
  }
  return std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
  });
}

// A certificate for `key` named `name`, valid over [not_before, not_after], with a random
// 128-bit serial; issued by `issuer` (null: itself).
absl::StatusOr<Cert> NewCert(EVP_PKEY* key, const std::string& name, absl::Time not_before,
                             absl::Time not_after, X509* issuer) {
  Cert cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return Failed("X509_new");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return Failed("RAND_bytes");
  serial[0] &= 0x7f;  // positive
  std::unique_ptr<BIGNUM, Deleter<BN_free>> number(BN_bin2bn(serial, sizeof(serial), nullptr));
  if (!number || !BN_to_ASN1_INTEGER(number.get(), X509_get_serialNumber(cert.get()))) {
    return Failed("serial number");
  }
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), absl::ToTimeT(not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(not_after))) {
    return Failed("validity");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("Weft"), -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1,
                                 0) != 1) {
    return Failed("subject name");
  }
  if (X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : subject) != 1 ||
      X509_set_pubkey(cert.get(), key) != 1) {
    return Failed("issuer or key");
  }
  return cert;
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer ? issuer : cert, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>> extension(
      X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str()));
  if (!extension) {
    return absl::InvalidArgumentError(OpenSslError(absl::StrCat("extension ", value).c_str()));
  }
  if (X509_add_ext(cert, extension.get(), -1) != 1) return Failed("X509_add_ext");
  return absl::OkStatus();
}

// "IP:1.2.3.4" for an address, "DNS:name" otherwise.
std::string AltName(const std::string& host) {
  unsigned char buffer[16];
  const bool ip = inet_pton(AF_INET, host.c_str(), buffer) == 1 ||
                  inet_pton(AF_INET6, host.c_str(), buffer) == 1;
  return absl::StrCat(ip ? "IP:" : "DNS:", host);
}

}  // namespace

absl::StatusOr<Identity> MakeCertificateAuthority(const std::string& name,
                                                  absl::Duration valid_for) {
  Key key = NewKey();
  if (!key) return Failed("EC key");
  const absl::Time now = absl::Now();
  auto cert = NewCert(key.get(), name, now - absl::Hours(1), now + valid_for, nullptr);
  if (!cert.ok()) return cert.status();
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                   std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                                   std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto added = AddExtension(cert->get(), nullptr, nid, value); !added.ok()) return added;
  }
  if (X509_sign(cert->get(), key.get(), EVP_sha256()) <= 0) return Failed("X509_sign");
  Identity ca{KeyPem(key.get()), CertPem(cert->get())};
  if (ca.key_pem.empty() || ca.cert_pem.empty()) return Failed("PEM");
  return ca;
}

absl::StatusOr<std::string> MakePrivateKey() {
  Key key = NewKey();
  if (!key) return Failed("EC key");
  std::string pem = KeyPem(key.get());
  if (pem.empty()) return Failed("PEM");
  return pem;
}

absl::StatusOr<std::string> PublicKeyOf(const std::string& key_pem) {
  Key key = ReadPrivateKey(key_pem);
  if (!key) return absl::InvalidArgumentError(OpenSslError("private key"));
  return PublicPem(key.get());
}

absl::StatusOr<std::string> SignCertificate(const Identity& ca, const std::string& public_key_pem,
                                            const CertificateRequest& request) {
  Key ca_key = ReadPrivateKey(ca.key_pem);
  Cert ca_cert = ReadCert(ca.cert_pem);
  if (!ca_key || !ca_cert) return absl::InvalidArgumentError(OpenSslError("the CA"));
  Key key = ReadPublicKey(public_key_pem);
  if (!key) return absl::InvalidArgumentError(OpenSslError("public key"));
  if (request.hosts.empty()) return absl::InvalidArgumentError("a certificate needs a host");
  if (request.name.empty() || request.name.size() > 64) {
    return absl::InvalidArgumentError("a certificate's name must be 1 to 64 bytes");
  }
  for (const auto& host : request.hosts) {
    if (!PlainHost(host)) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", host, "' is neither an IP address nor a plain DNS name"));
    }
  }
  auto cert =
      NewCert(key.get(), request.name, request.not_before, request.not_after, ca_cert.get());
  if (!cert.ok()) return cert.status();
  std::vector<std::string> names;
  for (const auto& host : request.hosts) names.push_back(AltName(host));
  for (const auto& [nid, value] :
       {std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
        std::pair{NID_key_usage, std::string("critical,digitalSignature,keyAgreement")},
        std::pair{NID_ext_key_usage, std::string("serverAuth,clientAuth")},
        std::pair{NID_authority_key_identifier, std::string("keyid:always")},
        std::pair{NID_subject_alt_name, absl::StrJoin(names, ",")}}) {
    if (auto added = AddExtension(cert->get(), ca_cert.get(), nid, value); !added.ok()) {
      return added;
    }
  }
  if (X509_sign(cert->get(), ca_key.get(), EVP_sha256()) <= 0) return Failed("X509_sign");
  std::string pem = CertPem(cert->get());
  if (pem.empty()) return Failed("PEM");
  return pem;
}

absl::StatusOr<Identity> IssueIdentity(const Identity& ca, const CertificateRequest& request) {
  auto key = MakePrivateKey();
  if (!key.ok()) return key.status();
  auto public_key = PublicKeyOf(*key);
  if (!public_key.ok()) return public_key.status();
  auto cert = SignCertificate(ca, *public_key, request);
  if (!cert.ok()) return cert.status();
  return Identity{*std::move(key), *std::move(cert)};
}

absl::Status VerifyCertificate(const std::string& ca_cert_pem, const std::string& cert_pem) {
  Cert ca = ReadCert(ca_cert_pem);
  Cert cert = ReadCert(cert_pem);
  if (!ca || !cert) return absl::InvalidArgumentError(OpenSslError("certificate"));
  Store store(X509_STORE_new());
  StoreContext context(X509_STORE_CTX_new());
  if (!store || !context || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(context.get(), store.get(), cert.get(), nullptr) != 1) {
    return Failed("X509_STORE");
  }
  if (X509_verify_cert(context.get()) == 1) return absl::OkStatus();
  return absl::UnauthenticatedError(
      X509_verify_cert_error_string(X509_STORE_CTX_get_error(context.get())));
}

absl::StatusOr<std::vector<std::string>> HostsOf(const std::string& cert_pem) {
  Cert cert = ReadCert(cert_pem);
  if (!cert) return absl::InvalidArgumentError(OpenSslError("certificate"));
  Names names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  std::vector<std::string> hosts;
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type == GEN_DNS) {
      const ASN1_STRING* dns = name->d.dNSName;
      hosts.push_back(absl::StrCat(
          "DNS:", std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                              static_cast<size_t>(ASN1_STRING_length(dns)))));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      const int length = ASN1_STRING_length(ip);
      if (length != 4 && length != 16) continue;
      char text[64] = {};
      inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), text, sizeof(text));
      hosts.push_back(absl::StrCat("IP:", text));
    }
  }
  return hosts;
}

bool Certifies(const std::string& cert_pem, const std::string& host) {
  auto hosts = HostsOf(cert_pem);
  if (!hosts.ok()) return false;
  std::string bare = host;
  if (bare.size() > 2 && bare.front() == '[' && bare.back() == ']') {
    bare = bare.substr(1, bare.size() - 2);
  }
  in6_addr ip{};
  const bool is_ip =
      inet_pton(AF_INET, bare.c_str(), &ip) == 1 || inet_pton(AF_INET6, bare.c_str(), &ip) == 1;
  const std::string wanted = absl::StrCat(is_ip ? "IP:" : "DNS:", bare);
  return std::any_of(hosts->begin(), hosts->end(), [&](const std::string& named) {
    return is_ip ? named == wanted : absl::EqualsIgnoreCase(named, wanted);
  });
}

absl::Status CheckKeyOf(const std::string& cert_pem, const std::string& key_pem) {
  Cert cert = ReadCert(cert_pem);
  if (!cert) return absl::InvalidArgumentError(OpenSslError("certificate"));
  Key key = ReadPrivateKey(key_pem);
  if (!key) return absl::InvalidArgumentError(OpenSslError("private key"));
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("the private key is not the certificate's");
  }
  return absl::OkStatus();
}

bool SameCertificate(const std::string& a_pem, const std::string& b_pem) {
  Cert a = ReadCert(a_pem);
  Cert b = ReadCert(b_pem);
  if (!a || !b) {
    ERR_clear_error();
    return false;
  }
  return X509_cmp(a.get(), b.get()) == 0;
}

namespace {

constexpr size_t kSealNonce = 12;
constexpr size_t kSealTag = 16;

// The sealing key: HKDF-SHA256 of the token, for this one purpose.
absl::StatusOr<std::string> SealKey(const std::string& token) {
  std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>> context(
      EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, nullptr));
  static constexpr char kInfo[] = "weft: the cluster CA's key, at rest";
  std::string key(32, '\0');
  size_t length = key.size();
  if (!context || EVP_PKEY_derive_init(context.get()) <= 0 ||
      EVP_PKEY_CTX_set_hkdf_md(context.get(), EVP_sha256()) <= 0 ||
      EVP_PKEY_CTX_set1_hkdf_key(context.get(),
                                 reinterpret_cast<const unsigned char*>(token.data()),
                                 static_cast<int>(token.size())) <= 0 ||
      EVP_PKEY_CTX_add1_hkdf_info(context.get(), reinterpret_cast<const unsigned char*>(kInfo),
                                  sizeof(kInfo) - 1) <= 0 ||
      EVP_PKEY_derive(context.get(), reinterpret_cast<unsigned char*>(key.data()), &length) <= 0) {
    return Failed("HKDF");
  }
  return key;
}

using Cipher = std::unique_ptr<EVP_CIPHER_CTX, Deleter<EVP_CIPHER_CTX_free>>;

}  // namespace

absl::StatusOr<std::string> SealWithToken(const std::string& token, const std::string& secret) {
  auto key = SealKey(token);
  if (!key.ok()) return key.status();
  std::string out(kSealNonce + secret.size() + kSealTag, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  if (RAND_bytes(bytes, kSealNonce) != 1) return Failed("RAND_bytes");
  Cipher cipher(EVP_CIPHER_CTX_new());
  int length = 0;
  if (!cipher ||
      EVP_EncryptInit_ex(cipher.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key->data()), bytes) != 1 ||
      EVP_EncryptUpdate(cipher.get(), bytes + kSealNonce, &length,
                        reinterpret_cast<const unsigned char*>(secret.data()),
                        static_cast<int>(secret.size())) != 1 ||
      EVP_EncryptFinal_ex(cipher.get(), bytes + kSealNonce + length, &length) != 1 ||
      EVP_CIPHER_CTX_ctrl(cipher.get(), EVP_CTRL_GCM_GET_TAG, kSealTag,
                          bytes + kSealNonce + secret.size()) != 1) {
    return Failed("AES-256-GCM");
  }
  return out;
}

absl::StatusOr<std::string> OpenWithToken(const std::string& token, const std::string& sealed) {
  if (sealed.size() < kSealNonce + kSealTag) return absl::DataLossError("sealed bytes cut short");
  auto key = SealKey(token);
  if (!key.ok()) return key.status();
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  const size_t size = sealed.size() - kSealNonce - kSealTag;
  std::string out(size, '\0');
  std::string tag = sealed.substr(kSealNonce + size);
  Cipher cipher(EVP_CIPHER_CTX_new());
  int length = 0;
  const bool opened =
      cipher &&
      EVP_DecryptInit_ex(cipher.get(), EVP_aes_256_gcm(), nullptr,
                         reinterpret_cast<const unsigned char*>(key->data()), bytes) == 1 &&
      EVP_DecryptUpdate(cipher.get(), reinterpret_cast<unsigned char*>(out.data()), &length,
                        bytes + kSealNonce, static_cast<int>(size)) == 1 &&
      EVP_CIPHER_CTX_ctrl(cipher.get(), EVP_CTRL_GCM_SET_TAG, kSealTag, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(cipher.get(), reinterpret_cast<unsigned char*>(out.data()) + length,
                          &length) == 1;
  ERR_clear_error();
  if (!opened) return absl::DataLossError("sealed with another token, or altered");
  return out;
}

}  // namespace weft
