#include "common/certificates.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <memory>

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
  const unsigned long code = ERR_get_error();
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
  auto cert = NewCert(key.get(), name, now - absl::Minutes(5), now + valid_for, nullptr);
  if (!cert.ok()) return cert.status();
  for (const auto& [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                                   std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                                   std::pair{NID_subject_key_identifier, "hash"}}) {
    if (auto added = AddExtension(cert->get(), nullptr, nid, value); !added.ok()) return added;
  }
  if (X509_sign(cert->get(), key.get(), EVP_sha256()) <= 0) return Failed("X509_sign");
  return Identity{KeyPem(key.get()), CertPem(cert->get())};
}

absl::StatusOr<std::string> MakePrivateKey() {
  Key key = NewKey();
  if (!key) return Failed("EC key");
  return KeyPem(key.get());
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
  return CertPem(cert->get());
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
      char text[64] = {};
      const int family = ASN1_STRING_length(ip) == 4 ? AF_INET : AF_INET6;
      inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof(text));
      hosts.push_back(absl::StrCat("IP:", text));
    }
  }
  return hosts;
}

}  // namespace weft
