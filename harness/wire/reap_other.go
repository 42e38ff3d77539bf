//go:build !linux

package wire

// becomeSubreaper does nothing where there is no PR_SET_CHILD_SUBREAPER:
// a verifier's child that leaves its process group escapes.
func becomeSubreaper() {}

// killOrphans does nothing where orphans cannot be found.
func killOrphans(string) {}
