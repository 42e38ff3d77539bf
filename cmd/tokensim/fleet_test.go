package main

import (
	"bytes"
	"encoding/csv"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otplab/otplab/token/pskc"
	"github.com/otplab/otplab/token/state"
)

func readCSV(t *testing.T, name string) [][]string {
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	return rows
}

func TestFleet(t *testing.T) {
	inTemp(t)
	out := ok(t, "fleet", "--model", "c100", "--count", "20", "--drift", "uniform:0-50", "--seed", "qa-1",
		"--counter", "100", "--pskc", "f.pskc", "--manifest", "f.csv", "--dir", "dev")
	assert.Contains(t, out, "fleet: 20 c100 devices, drift uniform:0-50")
	rows := readCSV(t, "f.csv")
	require.Len(t, rows, 21)
	assert.Equal(t, []string{"serial", "server_counter", "counter", "drift", "next_code", "next_code_2"}, rows[0])

	pf, err := os.Open("f.pskc")
	require.NoError(t, err)
	defer pf.Close()
	_, pkgs, err := pskc.ReadAll(pf, pskc.Options{})
	require.NoError(t, err)
	require.Len(t, pkgs, 20)

	for i, row := range rows[1:] {
		serial := row[0]
		assert.Equal(t, "100", row[1])
		counter, _ := strconv.ParseUint(row[2], 10, 64)
		drift, _ := strconv.ParseUint(row[3], 10, 64)
		assert.Equal(t, 100+drift, counter)
		assert.LessOrEqual(t, drift, uint64(50))
		// The state file is the device: its next two presses show the
		// manifest's codes.
		assert.Equal(t, row[4:6], lines(ok(t, "press", "dev/"+serial+".json", "-n", "2")))
		// The PSKC holds the server's view: same serial, secret of the
		// device, counter where the server believes it is.
		assert.Equal(t, serial, pkgs[i].SerialNo)
		assert.EqualValues(t, 100, pkgs[i].Counter)
		b, err := os.ReadFile("dev/" + serial + ".json")
		require.NoError(t, err)
		d, err := state.Unmarshal(b)
		require.NoError(t, err)
		assert.Equal(t, d.Key().Secret(), pkgs[i].Secret)
	}
	info, err := os.Stat("f.pskc")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	// The same seed makes the same fleet; --force replaces the files.
	before, _ := os.ReadFile("f.csv")
	ok(t, "fleet", "--model", "c100", "--count", "20", "--drift", "uniform:0-50", "--seed", "qa-1",
		"--counter", "100", "--pskc", "f2.pskc", "--manifest", "f2.csv")
	after, _ := os.ReadFile("f2.csv")
	assert.Equal(t, string(before), string(after))
	ok(t, "fleet", "--model", "c100", "--count", "3", "--seed", "qa-2", "--pskc", "f2.pskc", "--manifest", "f2.csv", "--force")
	assert.Len(t, readCSV(t, "f2.csv"), 4)
}

func TestFleetEncrypted(t *testing.T) {
	inTemp(t)
	ok(t, "fleet", "--count", "5", "--drift", "geometric:0.1", "--seed", "s", "--pskc", "p.pskc", "--password", "staging",
		"--iterations", "1000", "--manifest", "p.csv")
	ok(t, "fleet", "--count", "5", "--drift", "fixed:3", "--seed", "s", "--pskc", "k.pskc",
		"--key", "000102030405060708090a0b0c0d0e0f", "--manifest", "k.csv")
	b, _ := os.ReadFile("p.pskc")
	assert.NotContains(t, string(b), "PlainValue>MT", "no plain secret in an encrypted file")
	assert.Equal(t, 1, bytes.Count(b, []byte("<Salt>")), "one derived key per file")

	ok(t, "import", "p.pskc", "--password", "staging", "--dir", "p")
	ok(t, "import", "k.pskc", "--key", "000102030405060708090a0b0c0d0e0f", "--dir", "k")
	// Same seed, same secrets and serials, whatever the protection.
	p, k := readCSV(t, "p.csv"), readCSV(t, "k.csv")
	for i := 1; i < len(p); i++ {
		assert.Equal(t, p[i][0], k[i][0])
		server := lines(ok(t, "codes", "p/"+p[i][0]+".json", "--count", "1"))
		assert.Equal(t, server, lines(ok(t, "codes", "k/"+k[i][0]+".json", "--count", "1")))
	}
}

func TestTimeFleet(t *testing.T) {
	inTemp(t)
	ok(t, "fleet", "--model", "c200", "--count", "4", "--drift", "uniform:-120..120", "--seed", "t",
		"--pskc", "t.pskc", "--manifest", "t.csv", "--dir", "dev", "--at", "1700000000")
	rows := readCSV(t, "t.csv")
	assert.Equal(t, []string{"serial", "server_step", "device_step", "drift_seconds", "next_code", "next_code_2"}, rows[0])
	for _, row := range rows[1:] {
		assert.Equal(t, strconv.Itoa(1700000000/60), row[1])
		assert.Equal(t, row[4:5], lines(ok(t, "press", "dev/"+row[0]+".json", "--at", "1700000000")))
	}
}
