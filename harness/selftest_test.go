package harness_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

func TestReferenceDefault(t *testing.T) {
	p := reference.Default()
	v, err := reference.New(p)
	require.NoError(t, err)
	rep, err := harness.Execute(context.Background(), v, harness.Options{Seed: 1})
	require.NoError(t, err)
	for _, r := range rep.Results {
		t.Logf("%-45s %-10s %v", r.ID, r.Verdict, r.Messages)
	}
	t.Log(rep.Counts(), rep.Duration)
}
