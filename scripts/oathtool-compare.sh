#!/usr/bin/env bash
# make oathtool-compare: times a full HOTP look-ahead window of one million
# counters (0 .. 999,999) with oathtool (C, OATH Toolkit) and with otplab's
# engine (BenchmarkWindow in token/), alternating the two ROUNDS times
# (default 5) so that both see the same machine load, and prints the
# medians per code. Secret: the RFC 4226 test secret, SHA1, 6 digits; the
# code searched for is the smallest one no counter in the window shows, so
# both tools compute every code. Installs oathtool (Debian) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-5}
secret=3132333435363738393031323334353637383930 # RFC 4226 Appendix D
window=999999                                    # oathtool -w: additional codes

if ! command -v oathtool >/dev/null 2>&1; then
  echo "== installing oathtool (Debian package)"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq oathtool >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The smallest 6-digit code absent from the window, from oathtool's own list.
oathtool --hotp -w "$window" "$secret" >"$tmp/codes"
[ "$(wc -l <"$tmp/codes")" -eq $((window + 1)) ] || { echo "oathtool-compare: oathtool listed the wrong number of codes" >&2; exit 1; }
code=$(awk '{ seen[$1 + 0] = 1 } END { for (v = 0; v < 1000000; v++) if (!(v in seen)) { printf "%06d\n", v; exit } }' "$tmp/codes")
[ -n "$code" ] || { echo "oathtool-compare: every code appears in the window" >&2; exit 1; }

go test -c -o "$tmp/token.test" ./token/

echo "== machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores," \
  "SHA-NI $(grep -q -w sha_ni /proc/cpuinfo && echo yes || echo no), $(go version | cut -d' ' -f3-)," \
  "$(oathtool --version | head -1)"
echo "== window: counters 0 .. $window, searching for $code (in no counter of the window)"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Wall time is what the Go benchmark measures too; CPU time (user + sys)
# is printed beside it because it depends less on what else the machine
# runs.
TIMEFORMAT='%R %U %S'
for i in $(seq "$rounds"); do
  # oathtool exits 2 and says so when the code is not in the window.
  read -r t u s < <( { time oathtool --hotp -w "$window" "$secret" "$code" >"$tmp/oath.out" 2>&1 || true; } 2>&1 )
  grep -q "not found in range 0 .. $window" "$tmp/oath.out" || { echo "oathtool-compare: unexpected oathtool output: $(cat "$tmp/oath.out")" >&2; exit 1; }
  echo "$t" >>"$tmp/oath.times"
  awk -v u="$u" -v s="$s" 'BEGIN { printf "%.3f\n", u + s }' >>"$tmp/oath.cpu"

  "$tmp/token.test" -test.run '^$' -test.bench '^BenchmarkWindow$' -test.benchtime 10x -test.v >"$tmp/go.out"
  got=$(sed -n 's/.*absent code \([0-9]*\).*/\1/p' "$tmp/go.out" | head -1)
  [ "$got" = "$code" ] || { echo "oathtool-compare: the benchmark searched for $got, oathtool for $code" >&2; exit 1; }
  awk '$1 ~ /^BenchmarkWindow/ { for (f = 1; f < NF; f++) if ($(f + 1) == "ns/code") print $f }' "$tmp/go.out" >>"$tmp/go.times"
  printf 'round %d: oathtool %s s wall, %s s CPU (%s ns/code wall), otplab %s ns/code\n' "$i" "$t" \
    "$(tail -1 "$tmp/oath.cpu")" "$(awk -v s="$t" -v n=$((window + 1)) 'BEGIN { printf "%.1f", s * 1e9 / n }')" \
    "$(tail -1 "$tmp/go.times")"
done

median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
oath_s=$(median "$tmp/oath.times")
oath_ns=$(awk -v s="$oath_s" -v n=$((window + 1)) 'BEGIN { printf "%.1f", s * 1e9 / n }')
oath_cpu=$(median "$tmp/oath.cpu")
oath_cpu_ns=$(awk -v s="$oath_cpu" -v n=$((window + 1)) 'BEGIN { printf "%.1f", s * 1e9 / n }')
go_ns=$(median "$tmp/go.times")
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== medians of $rounds rounds, one million codes each"
printf '%-44s %10s\n' "oathtool --hotp -w $window (wall time)" "$oath_ns ns/code ($oath_s s)"
printf '%-44s %10s\n' "oathtool --hotp -w $window (CPU time)" "$oath_cpu_ns ns/code ($oath_cpu s)"
printf '%-44s %10s\n' "otplab Key.FindValue (BenchmarkWindow)" "$go_ns ns/code"
awk -v o="$oath_ns" -v c="$oath_cpu_ns" -v g="$go_ns" 'BEGIN { printf "otplab per code / oathtool per code = %.2f (wall), %.2f (against oathtool CPU time)\n", g / o, g / c; exit !(g <= o) }' ||
  { echo "oathtool-compare: otplab is slower per code than oathtool" >&2; exit 1; }
