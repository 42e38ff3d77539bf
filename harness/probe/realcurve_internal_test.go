package probe

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestFitCurve: measured refusals, each a second off either way, fit the
// throttles within a second of every one; a third refusal decides between
// the throttles two fit.
func TestFitCurve(t *testing.T) {
	for _, tt := range []struct {
		name     string
		measured []int64
		best     curveFit // the closest fit (miss not compared)
		n        int      // how many fit
	}{
		{"django-otp read a second long: 1, 2, 4 s measured 2, 3, 5 s", []int64{2, 3, 5}, curveFit{d: 1, k: 2}, 1},
		{"exact 1, 2, 4 s", []int64{1, 2, 4}, curveFit{d: 1, k: 2}, 1},
		{"whole seconds a second short: 3, 3, 3 s measured 2, 3, 2 s", []int64{2, 3, 2}, curveFit{d: 2, k: 1}, 2},
		{"two refusals fit many", []int64{2, 3}, curveFit{d: 2, k: 1}, 6},
		{"one refusal: no factor", []int64{3}, curveFit{d: 3, k: 1}, 3},
		{"3 s then 12 s: factor 4", []int64{3, 12, 48}, curveFit{d: 3, k: 4}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fits := fitCurve(tt.measured)
			assert.Len(t, fits, tt.n, "%+v", fits)
			if assert.NotEmpty(t, fits) {
				assert.Equal(t, tt.best.d, fits[0].d, "%+v", fits)
				assert.Equal(t, tt.best.k, fits[0].k, "%+v", fits)
			}
			for _, c := range fits {
				for i, m := range tt.measured {
					assert.LessOrEqual(t, max(c.predict(i)-m, m-c.predict(i)), int64(1), "%+v at %d", c, i)
				}
			}
		})
	}
	assert.Empty(t, fitCurve([]int64{2, 9, 3}), "a refusal that shrinks is no throttle")
	assert.Empty(t, fitCurve([]int64{1, 2, 12}), "no factor takes 1, 2 to 12 within a second")
}
