package harness_test

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
)

// TestCasesDocIsCurrent fails when docs/cases.md no longer matches the
// catalogue: run `go generate ./harness` and commit the result.
func TestCasesDocIsCurrent(t *testing.T) {
	var buf bytes.Buffer
	require.NoError(t, harness.WriteCatalogue(&buf))
	disk, err := os.ReadFile("../docs/cases.md")
	require.NoError(t, err)
	if !bytes.Equal(buf.Bytes(), disk) {
		t.Fatal("docs/cases.md is stale: run `go generate ./harness` and commit it")
	}
}

// TestCatalogueShape keeps the catalogue honest: unique stable IDs of the
// form source/section/name, a known level, a requirement and a description.
func TestCatalogueShape(t *testing.T) {
	id := regexp.MustCompile(`^(rfc4226|rfc6238|otplab)/[0-9a-z.]+/[a-z0-9^-]+$`)
	seen := map[string]bool{}
	for _, c := range harness.Cases() {
		assert.Regexp(t, id, c.ID)
		assert.False(t, seen[c.ID], "duplicate ID %s", c.ID)
		seen[c.ID] = true
		assert.Contains(t, []harness.Level{harness.MUST, harness.SHOULD, harness.PROFILE, harness.INFO}, c.Level, c.ID)
		assert.NotEmpty(t, c.Requirement, c.ID)
		assert.True(t, strings.HasSuffix(c.What, "."), "%s: description should be a sentence", c.ID)
		assert.Equal(t, c.ID[:strings.LastIndex(c.ID, "/")], c.Section)
	}
	assert.GreaterOrEqual(t, len(seen), 60)
}
