package secrets

import (
	"strings"
	"testing"
)

func TestDigest(t *testing.T) {
	v := []byte("SENTINEL-digest-5e1f")
	d1, d2 := Digest(v), Digest(v)
	if d1 == d2 {
		t.Error("two digests of one value are equal: the salt is not random")
	}
	if strings.Contains(d1, "SENTINEL") || !strings.HasPrefix(d1, "argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("digest = %q", d1)
	}
	if !DigestMatches(d1, v) || !DigestMatches(d2, v) {
		t.Error("a digest does not match its value")
	}
	if DigestMatches(d1, []byte("SENTINEL-digest-5e1g")) {
		t.Error("a digest matches another value")
	}
	// Tampered or cheapened digests match nothing.
	for _, bad := range []string{"", "sha256$x", strings.Replace(d1, "m=19456", "m=99999", 1),
		strings.Replace(d1, "t=2", "t=0", 1), d1[:len(d1)-4], strings.Replace(d1, "argon2id", "argon2i", 1)} {
		if DigestMatches(bad, v) {
			t.Errorf("%q matches", bad)
		}
	}
}
