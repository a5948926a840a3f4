package emulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files kept in the emulator's directory. With --dir they outlive the process, so that a restarted
// emulator (with --state) keeps its clients: they trust the same CA and hold tokens signed by the same key.
const (
	caCertFile   = "ca.pem"
	caKeyFile    = "ca-key.pem"
	tokenKeyFile = "token-key.pem"
)

// caLifetime bounds how long a kept CA is reused; an older one is replaced at the next start.
const caLifetime = 30 * 24 * time.Hour

// makeCertificates loads the CA and token signing key kept in the directory (making them when they are
// missing, unreadable or about to expire) and issues a fresh leaf for the loopback names.
func (e *Emulator) makeCertificates(host string) (tls.Certificate, error) {
	now := time.Now()
	caCert, caKey, err := e.loadCA(now)
	if err != nil {
		if caCert, caKey, err = e.newCA(now); err != nil {
			return tls.Certificate{}, err
		}
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("emulator: leaf key: %w", err)
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if ip := net.ParseIP(host); ip != nil && !ip.IsLoopback() {
		ips = append(ips, ip)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     caCert.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  ips,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, caCert, &leafKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("emulator: leaf certificate: %w", err)
	}
	e.pool = x509.NewCertPool()
	e.pool.AddCert(caCert)
	e.caFile = filepath.Join(e.dir, caCertFile)

	if e.signKey, err = readKey(filepath.Join(e.dir, tokenKeyFile)); err != nil {
		if e.signKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return tls.Certificate{}, fmt.Errorf("emulator: signing key: %w", err)
		}
		if err := writeKey(filepath.Join(e.dir, tokenKeyFile), e.signKey); err != nil {
			return tls.Certificate{}, err
		}
	}
	return tls.Certificate{Certificate: [][]byte{leafDER, caCert.Raw}, PrivateKey: leafKey}, nil
}

// loadCA reads the kept CA; an error means there is none worth reusing.
func (e *Emulator) loadCA(now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(filepath.Join(e.dir, caCertFile))
	if err != nil {
		return nil, nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, nil, errors.New("ca.pem holds no certificate")
	}
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := readKey(filepath.Join(e.dir, caKeyFile))
	if err != nil {
		return nil, nil, err
	}
	if !cert.IsCA || !key.PublicKey.Equal(cert.PublicKey) || now.Add(24*time.Hour).After(cert.NotAfter) {
		return nil, nil, errors.New("the kept CA does not match its key or expires within a day")
	}
	return cert, key, nil
}

func (e *Emulator) newCA(now time.Time) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("emulator: CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "fabplan emulator CA", Organization: []string{"fabplan"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("emulator: CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, err
	}
	// The key first: a ca.pem without its key is never reused.
	if err := writeKey(filepath.Join(e.dir, caKeyFile), caKey); err != nil {
		return nil, nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := os.WriteFile(filepath.Join(e.dir, caCertFile), caPEM, 0o644); err != nil {
		return nil, nil, fmt.Errorf("emulator: write CA file: %w", err)
	}
	return caCert, caKey, nil
}

func readKey(path string) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s holds no PEM block", path)
	}
	return x509.ParseECPrivateKey(blk.Bytes)
}

// writeKey writes a private key readable by its owner only.
func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("emulator: replace %s: %w", path, err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("emulator: write %s: %w", path, err)
	}
	return nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}
