package webhookd_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	webhookd "github.com/webhookd/webhookd/clients/go"
	"github.com/webhookd/webhookd/clients/go/webhooksv1"
)

// testCA issues certificates for the TLS test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "webhookd Go SDK test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key for 127.0.0.1 (server) or a client.
func (ca *testCA) issue(t *testing.T, serial int64, server bool) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "client"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.Subject.CommonName = "localhost"
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
}

func writeFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A server with TLS and client certificates (mTLS): the client verifies it
// with WithRootCAFile, presents WithClientCertificateFiles, and sends its
// token over TLS without WithInsecure.
func TestDialTLSWithClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	serverCert, serverKey := ca.issue(t, 2, true)
	clientCert, clientKey := ca.issue(t, 3, false)
	caFile := writeFile(t, filepath.Join(dir, "ca.pem"), ca.pem)
	config := tokensConfig + `tls {
  cert_file: "` + writeFile(t, filepath.Join(dir, "server.pem"), serverCert) + `"
  key_file: "` + writeFile(t, filepath.Join(dir, "server.key"), serverKey) + `"
  client_ca_file: "` + caFile + `"
}
`
	clientCertFile := writeFile(t, filepath.Join(dir, "client.pem"), clientCert)
	clientKeyFile := writeFile(t, filepath.Join(dir, "client.key"), clientKey)

	srv, err := startServer(dir, config)
	if err != nil {
		t.Fatalf("starting a TLS webhookd: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("stopping the TLS webhookd: %v", err)
		}
		if t.Failed() {
			srv.dumpLog(os.Stderr)
		}
	})
	ctx := testContext(t)

	c, err := webhookd.Dial(ctx, srv.addr,
		webhookd.WithRootCAFile(caFile),
		webhookd.WithClientCertificateFiles(clientCertFile, clientKeyFile),
		webhookd.WithToken(adminToken))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	resp, err := c.Dialects().ListDialects(ctx, &webhooksv1.ListDialectsRequest{})
	if err != nil {
		t.Fatalf("ListDialects over mTLS: %v", err)
	}
	if len(resp.GetDialects()) == 0 {
		t.Errorf("no dialects, want the built-in default")
	}

	// The same with a tls.Config and in-memory certificates.
	pair, err := tls.X509KeyPair(clientCert, clientKey)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	c2, err := webhookd.Dial(ctx, srv.addr,
		webhookd.WithTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}),
		webhookd.WithRootCAs(pool), webhookd.WithClientCertificate(pair),
		webhookd.WithServerName("localhost"), webhookd.WithToken(publisherToken))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c2.Close()
	if _, err := c2.Events().GetTransaction(ctx, &webhooksv1.GetTransactionRequest{TransactionId: "none"}); webhookd.Code(err) != codes.NotFound {
		t.Errorf("GetTransaction over mTLS: %v, want NOT_FOUND", err)
	}

	// Without a client certificate the handshake fails.
	noCert, err := webhookd.Dial(ctx, srv.addr, webhookd.WithRootCAFile(caFile), webhookd.WithToken(adminToken))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer noCert.Close()
	if _, err := noCert.Dialects().ListDialects(ctx, &webhooksv1.ListDialectsRequest{}); err == nil {
		t.Errorf("ListDialects without a client certificate succeeded")
	}

	// Without the CA the server is not trusted.
	untrusted, err := webhookd.Dial(ctx, srv.addr,
		webhookd.WithClientCertificateFiles(clientCertFile, clientKeyFile), webhookd.WithToken(adminToken))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer untrusted.Close()
	if _, err := untrusted.Dialects().ListDialects(ctx, &webhooksv1.ListDialectsRequest{}); webhookd.Code(err) != codes.Unavailable {
		t.Errorf("ListDialects with an unknown CA: %v, want UNAVAILABLE", err)
	}
}

// A token is never sent over a plaintext connection unless WithInsecure says
// so: here plaintext transport is forced through WithDialOptions.
func TestTokenRequiresTLSUnlessInsecure(t *testing.T) {
	ctx := testContext(t)
	c, err := webhookd.Dial(context.Background(), shared.addr,
		webhookd.WithToken(adminToken),
		webhookd.WithDialOptions(grpc.WithTransportCredentials(insecure.NewCredentials())))
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	_, err = c.Dialects().ListDialects(ctx, &webhooksv1.ListDialectsRequest{})
	if webhookd.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "insecure connection") {
		t.Fatalf("ListDialects = %v, want the client to refuse sending the token in plaintext", err)
	}
}

func TestRootCAFileErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := webhookd.Dial(ctx, "127.0.0.1:1", webhookd.WithRootCAFile(filepath.Join(t.TempDir(), "missing.pem"))); err == nil {
		t.Errorf("Dial with a missing CA file succeeded")
	}
	empty := writeFile(t, filepath.Join(t.TempDir(), "empty.pem"), []byte("not a certificate"))
	if _, err := webhookd.Dial(ctx, "127.0.0.1:1", webhookd.WithRootCAFile(empty)); err == nil {
		t.Errorf("Dial with a CA file without certificates succeeded")
	}
}
