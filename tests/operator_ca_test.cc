// A cluster under the operator's own certificate authority (issue 13): `weft start --head
// --tls-ca --tls-cert --tls-key` serves with certificates made outside Weft (here by the
// `openssl` command, RSA keys, as an operator's PKI would) instead of a CA of its own. The
// head holds no CA key, so it signs nothing: every node, and every driver beyond the head's
// machine, brings a certificate of that CA. Real daemons, real TLS handshakes, over 127.0.0.1.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "common/process.h"
#include "common/session_dir.h"
#include "tests/cluster_harness.h"

namespace weft::testing {
namespace {

using ::testing::HasSubstr;

// A CA made with the openssl command in `dir`, and certificates it signs.
class OperatorPki {
 public:
  explicit OperatorPki(std::string dir) : dir_(std::move(dir)) {
    ok_ = OpenSsl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir_ + "/ca.key",
                   "-out", dir_ + "/ca.pem", "-days", "30", "-subj", "/CN=Operator CA", "-addext",
                   "basicConstraints=critical,CA:TRUE", "-addext",
                   "keyUsage=critical,keyCertSign,cRLSign"});
  }
  bool ok() const { return ok_; }
  std::string ca() const { return dir_ + "/ca.pem"; }

  // A key and certificate `name`.pem / `name`.key for `san` (e.g. "IP:127.0.0.1"), signed by
  // this CA, or by `other`'s.
  bool Issue(const std::string& name, const std::string& san, const OperatorPki* other = nullptr) {
    const OperatorPki& signer = other ? *other : *this;
    const std::string base = dir_ + "/" + name;
    if (!WriteFile(base + ".ext", "subjectAltName=" + san +
                                      "\nextendedKeyUsage=serverAuth,clientAuth\n"
                                      "basicConstraints=CA:FALSE\n")) {
      return false;
    }
    return OpenSsl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", base + ".key", "-out",
                    base + ".csr", "-subj", "/CN=" + name}) &&
           OpenSsl({"x509", "-req", "-in", base + ".csr", "-CA", signer.ca(), "-CAkey",
                    signer.dir_ + "/ca.key", "-CAcreateserial", "-out", base + ".pem", "-days",
                    "30", "-extfile", base + ".ext"});
  }
  // The flags (or a driver's environment) that give `name`'s files.
  std::vector<std::string> Flags(const std::string& name) const {
    return {"--tls-ca", ca(), "--tls-cert", Cert(name), "--tls-key", Key(name)};
  }
  std::string Cert(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string Key(const std::string& name) const { return dir_ + "/" + name + ".key"; }

 private:
  static bool OpenSsl(std::vector<std::string> args) {
    args.insert(args.begin(), "/usr/bin/openssl");
    const auto made = Run(args, std::chrono::seconds(30));
    EXPECT_EQ(made.exit_code, 0) << made.out << made.err;
    return made.exit_code == 0;
  }
  static bool WriteFile(const std::string& path, const std::string& text) {
    FILE* file = std::fopen(path.c_str(), "w");
    if (!file) return false;
    const bool written = std::fputs(text.c_str(), file) >= 0;
    return std::fclose(file) == 0 && written;
  }

  std::string dir_;
  bool ok_ = false;
};

std::string Contents(const std::string& path) { return ReadFile(path).value_or("(unreadable)"); }

std::vector<std::string> Concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The operator's CA and a certificate for the head, made before the head starts (members are
// built in order).
struct Files {
  TempDir dir;
  OperatorPki pki{dir.path()};
  bool ok = pki.ok() && pki.Issue("head", "IP:127.0.0.1,DNS:localhost") &&
            pki.Issue("node", "IP:127.0.0.1") && pki.Issue("driver", "IP:127.0.0.1");
};

class OperatorCaTest : public ::testing::Test {
 protected:
  Files files;
  TestCluster cluster{1, Concat(files.pki.Flags("head"), {"--resources", R"({"a": 1})"})};
  const SessionDir head{cluster.head_session()};
  TempDir scratch;
};

TEST_F(OperatorCaTest, TheClusterServesUnderTheOperatorsCertificates) {
  ASSERT_TRUE(files.ok);
  // The head serves with the certificate it was given, and its machine's drivers and CLI
  // trust the operator's CA.
  EXPECT_EQ(Contents(head.TlsDir() + "/ca.pem"), Contents(files.pki.ca()));
  EXPECT_EQ(Contents(head.TlsDir() + "/cert.pem"), Contents(files.pki.Cert("head")));

  // It signs nothing: a node with the token alone is refused, and told what to bring.
  const auto bare =
      Weft({"start", "--address", cluster.head_address(), "--session-dir", scratch.Sub("bare"),
            "--token-file", cluster.token_file(), "--exit-with-pid", std::to_string(getpid())});
  EXPECT_NE(bare.exit_code, 0);
  EXPECT_THAT(bare.out + bare.err, HasSubstr("--tls-cert"));
  const auto issued = Weft({"certificate", "issue", "--session-dir", cluster.head_session(),
                            "--host", "127.0.0.1", "--out", scratch.Sub("issued")});
  EXPECT_NE(issued.exit_code, 0);
  EXPECT_THAT(issued.out + issued.err, HasSubstr("holds no CA key"));

  // A node with a certificate of the operator's CA joins; a driver on the head's machine runs
  // an actor there, fetches a result worker to worker and lends it a value of its own.
  ASSERT_FALSE(cluster
                   .JoinNode(Concat(files.pki.Flags("node"),
                                    {"--num-cpus", "1", "--resources", R"({"b": 1})"}))
                   .empty());
  EXPECT_EQ(cluster.AliveNodeCount(), 2);
  const auto local = testing::Run({BinPath("tls_driver")}, std::chrono::seconds(90),
                                  {"WEFT_SESSION_DIR=" + cluster.head_session()});
  EXPECT_EQ(local.exit_code, 0) << local.out << local.err;
  EXPECT_THAT(local.out, HasSubstr("ok"));

  // A driver elsewhere serves its objects under the certificate it is given; without one it
  // is told to bring one.
  const std::vector<std::string> remote = {
      "WEFT_SESSION_DIR=" + scratch.Sub("empty"), "WEFT_ADDRESS=" + cluster.head_address(),
      "WEFT_TOKEN=" + cluster.token(), "WEFT_TLS_CA=" + files.pki.ca()};
  const auto with_cert = testing::Run({BinPath("tls_driver")}, std::chrono::seconds(90),
                                      Concat(remote, {"WEFT_TLS_CERT=" + files.pki.Cert("driver"),
                                                      "WEFT_TLS_KEY=" + files.pki.Key("driver")}));
  EXPECT_EQ(with_cert.exit_code, 0) << with_cert.out << with_cert.err;
  EXPECT_THAT(with_cert.out, HasSubstr("ok"));
  const auto without = testing::Run({BinPath("tls_driver")}, std::chrono::seconds(60), remote);
  EXPECT_NE(without.exit_code, 0);
  EXPECT_THAT(without.out + without.err, HasSubstr("WEFT_TLS_CERT"));
  EXPECT_EQ(cluster.AliveNodeCount(), 2);
}

// What the head is given is checked before it serves; the cluster keeps its CA across a
// restart of the head.
TEST_F(OperatorCaTest, TheHeadRefusesFilesThatDoNotFitAndKeepsItsCa) {
  ASSERT_TRUE(files.ok);
  TempDir other_dir;
  OperatorPki other{other_dir.path()};
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(files.pki.Issue("elsewhere", "DNS:elsewhere.example"));
  ASSERT_TRUE(files.pki.Issue("stranger", "IP:127.0.0.1", &other));
  const auto start = [&](const std::string& session, std::vector<std::string> tls) {
    return Weft(Concat({"start", "--head", "--port", "0", "--num-cpus", "0", "--session-dir",
                        scratch.Sub(session), "--exit-with-pid", std::to_string(getpid())},
                       tls));
  };
  const auto unnamed = start("unnamed", files.pki.Flags("elsewhere"));
  EXPECT_NE(unnamed.exit_code, 0);
  EXPECT_THAT(unnamed.out + unnamed.err, HasSubstr("does not name 127.0.0.1"));
  const auto stranger = start("stranger", files.pki.Flags("stranger"));
  EXPECT_NE(stranger.exit_code, 0);
  EXPECT_THAT(stranger.out + stranger.err, HasSubstr("not signed by"));
  const auto wrong_key =
      start("wrong-key", {"--tls-ca", files.pki.ca(), "--tls-cert", files.pki.Cert("head"),
                          "--tls-key", files.pki.Key("node")});
  EXPECT_NE(wrong_key.exit_code, 0);
  EXPECT_THAT(wrong_key.out + wrong_key.err, HasSubstr("key"));

  // Started again on its store: without the files (it would make a CA of its own, which its
  // nodes do not trust), or under another CA, refused; with them, it serves its node again.
  ASSERT_FALSE(cluster.JoinNode(Concat(files.pki.Flags("node"), {"--num-cpus", "1"})).empty());
  const pid_t old_head = cluster.HeadPid();
  ASSERT_EQ(kill(old_head, SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return !ProcessAlive(old_head); }));
  const std::string port = cluster.head_address().substr(cluster.head_address().rfind(':') + 1);
  const auto again = [&](std::vector<std::string> tls) {
    return Weft(Concat({"start", "--head", "--port", port, "--session-dir", cluster.head_session(),
                        "--num-cpus", "1", "--exit-with-pid", std::to_string(getpid())},
                       tls));
  };
  const auto own_ca = again({"--tls"});
  EXPECT_NE(own_ca.exit_code, 0);
  EXPECT_THAT(own_ca.out + own_ca.err, HasSubstr("--tls-ca"));
  ASSERT_TRUE(other.Issue("head", "IP:127.0.0.1"));
  const auto other_ca = again(other.Flags("head"));
  EXPECT_NE(other_ca.exit_code, 0);
  EXPECT_THAT(other_ca.out + other_ca.err, HasSubstr("another CA"));
  const auto restarted = cluster.RestartHead();
  ASSERT_EQ(restarted.exit_code, 0) << restarted.out << restarted.err;
  EXPECT_TRUE(WaitFor([&] { return cluster.AliveNodeCount() == 2; }, std::chrono::seconds(20)))
      << "the node that joined with its certificate did not come back";
}

}  // namespace
}  // namespace weft::testing
