package secrets

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Digest fingerprints a secret value so that a later run can tell whether the value changed
// (a rotated connection credential) without keeping it. A plain hash would let anyone holding the
// journal check guesses at a low-entropy secret (a short password) at the speed of SHA-256; the
// digest is Argon2id (RFC 9106) with a random salt per digest and OWASP's minimum cost (19 MiB,
// 2 passes), so every guess costs that memory and time, and two digests of one value differ.
//
// The format is PHC's: argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, base64 without padding.
func Digest(value []byte) string {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		panic("secrets: no randomness for a digest salt: " + err.Error())
	}
	return digestWith(value, salt, digestTime, digestMemory, digestThreads)
}

// The cost of a digest: OWASP's minimum for Argon2id.
const (
	digestTime    = 2
	digestMemory  = 19 * 1024 // KiB
	digestThreads = 1
	digestLen     = 32
)

func digestWith(value, salt []byte, t, m uint32, p uint8) string {
	h := argon2.IDKey(value, salt, t, m, p, digestLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, m, t, p, enc.EncodeToString(salt),
		enc.EncodeToString(h))
}

// DigestMatches reports whether value is the one digest was computed from. A digest that does not
// parse, or whose cost is beyond what Digest writes, matches nothing.
func DigestMatches(digest string, value []byte) bool {
	f := strings.Split(digest, "$")
	if len(f) != 5 || f[0] != "argon2id" || f[1] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(f[2], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil ||
		m == 0 || m > digestMemory || t == 0 || t > digestTime || p == 0 || p > digestThreads {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(f[3])
	if err != nil || len(salt) < 16 {
		return false
	}
	want, err := enc.DecodeString(f[4])
	if err != nil || len(want) != digestLen {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(digestWith(value, salt, t, m, p)), []byte(digest)) == 1
}
