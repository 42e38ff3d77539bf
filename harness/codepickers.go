package harness

import "github.com/otplab/otplab/token"

// Choosing tokens and counters that keep a case's expectations
// unambiguous.

// findCollision searches the code stream of random secrets for counters
// j < k <= j+R whose first codes match while the sequences from them
// differ. It costs about sqrt(10^6 x 10^6 / R) codes per secret.
func findCollision(t *ct, n int, r, base uint64) (*token.Key, uint64, uint64, bool) {
	const budget = 3_000_000 // codes, about 0.6 s
	spent := 0
	for spent < budget {
		secret := make([]byte, 20)
		for i := range secret {
			secret[i] = byte(t.rng.Uint32())
		}
		key, _ := token.NewKey(secret, token.SHA1, 6)
		seen := make(map[uint32]uint64)
		for c := base; c < base+200_000 && c >= base && spent < budget; c++ {
			spent++
			v := key.Value(c)
			j, dup := seen[v]
			seen[v] = c
			if !dup || c-j > r {
				continue
			}
			// A genuine sequence at c, and a different one at j.
			same := true
			for i := uint64(1); i < uint64(n) && same; i++ {
				same = key.Value(j+i) == key.Value(c+i)
			}
			if !same {
				return key, j, c, true
			}
		}
	}
	return nil, 0, 0, false
}

// upTo returns 0, 1, ..., n-1 as counters.
func upTo(n uint64) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i)
	}
	return out
}
