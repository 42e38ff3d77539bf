package harness

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// sectionFile is the file that holds the cases of a section under the
// layout harness/doc.go describes: "rfc4226/7.4" is rfc4226_7_4.go.
func sectionFile(section string) string {
	return "harness/" + strings.NewReplacer("/", "_", ".", "_").Replace(section) + ".go"
}

func TestSectionFile(t *testing.T) {
	for section, want := range map[string]string{
		"rfc4226/5.1":   "harness/rfc4226_5_1.go",
		"rfc4226/7.4":   "harness/rfc4226_7_4.go",
		"rfc6238/6":     "harness/rfc6238_6.go",
		"otplab/flows":  "harness/otplab_flows.go",
		"otplab/enroll": "harness/otplab_enroll.go",
	} {
		assert.Equal(t, want, sectionFile(section), section)
	}
}

// TestEveryCaseInItsSectionFile holds the catalogue to its layout: the
// code of each case is in the file of its ID's section, so a case is
// found from its ID alone.
func TestEveryCaseInItsSectionFile(t *testing.T) {
	files := caseFiles()
	for _, c := range catalogue() {
		assert.Equal(t, sectionFile(c.section()), files[c.id], "case %s", c.id)
	}
}

// TestFilesOfFindsMisplacedCase shows the layout check can fail: a case
// whose code is written outside its section's file is named with the
// file it is really in, also when a case shape wraps its code.
func TestFilesOfFindsMisplacedCase(t *testing.T) {
	direct := &caseDef{id: "rfc4226/7.2/misplaced", body: func(*ct) {}}
	shaped := lockoutCase("misplaced", "", "", nil, nil, func(*ct, *sim, int) {})
	files := filesOf([]*caseDef{direct, shaped})
	assert.Equal(t, "harness/layout_test.go", files[direct.id])
	assert.Equal(t, "harness/layout_test.go", files[shaped.id])
	assert.NotEqual(t, sectionFile(shaped.section()), files[shaped.id])
}
