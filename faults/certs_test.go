package faults

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// certSet is a CA and what it signed, as PEM bytes and as files in dir.
type certSet struct {
	caPEM                 []byte
	caFile                string
	serverCert, serverKey []byte
	serverCertFile        string
	serverKeyFile         string
	clientCertFile        string
	clientKeyFile         string
}

// newCerts makes a CA, a server certificate for 127.0.0.1 and localhost, and a client
// certificate (CN faults), all signed by the CA, and writes them to a new directory.
func newCerts(t testing.TB, name string) *certSet {
	t.Helper()
	dir, err := os.MkdirTemp(workDir, "certs-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	caKey := newKey(t)
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "backupctl faults CA " + name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, server bool) ([]byte, []byte) {
		k := newKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if server {
			tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
			tmpl.DNSNames = []string{"localhost"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})
	}
	c := &certSet{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})}
	c.serverCert, c.serverKey = issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, true)
	clientCert, clientKey := issue(3, "faults", x509.ExtKeyUsageClientAuth, false)
	c.caFile = filepath.Join(dir, "ca.pem")
	c.serverCertFile, c.serverKeyFile = filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
	c.clientCertFile, c.clientKeyFile = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client-key.pem")
	writeFile(t, c.caFile, c.caPEM)
	writeFile(t, c.serverCertFile, c.serverCert)
	writeFile(t, c.serverKeyFile, c.serverKey)
	writeFile(t, c.clientCertFile, clientCert)
	writeFile(t, c.clientKeyFile, clientKey)
	return c
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
