package wire

import (
	"bufio"
	"context"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
)

// helperEnv selects a verifier that the test binary plays when it is
// started as a subprocess: the reference verifier, or one of the
// misbehaving ones the exec client must survive.
const helperEnv = "OTPLAB_WIRE_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helper(mode))
	}
	os.Exit(m.Run())
}

// helperArgv returns the command line that starts the test binary as the
// helper verifier of the given mode.
func helperArgv(t testing.TB, mode string) ([]string, []string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return []string{exe, "-test.run=^$"}, append(os.Environ(), helperEnv+"="+mode)
}

// helper runs one helper verifier on stdin and stdout.
func helper(mode string) int {
	if mode == "reference" || mode == "flows" || mode == "reference-wall" {
		p, opts := reference.Default(), []reference.Option(nil)
		if mode == "flows" {
			p.Flows = harness.Purposes()
		}
		if mode == "reference-wall" {
			// The reference on its own clock, which is the clock file
			// when the harness names one.
			p.Clock = harness.ClockWall
			if file := os.Getenv(FakeTimeFileEnv); file != "" {
				now, err := ClockFromFile(file)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return 1
				}
				opts = append(opts, reference.WithClock(now))
			}
		}
		v, err := reference.New(p, opts...)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := ServeLines(context.Background(), v, os.Stdin, os.Stdout, ServeOptions{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	switch mode {
	case "crash-at-start":
		fmt.Fprintln(os.Stderr, "fatal: cannot open /etc/verifier.conf")
		return 7
	case "sleep":
		time.Sleep(time.Minute)
		return 0
	case "silent":
		_, _ = bufio.NewReader(os.Stdin).ReadString(0) // reads until EOF, answers nothing
		return 0
	case "harness-of-stubborn":
		return harnessOfStubborn()
	case "stubborn":
		// Ignores SIGTERM and EOF: only SIGKILL ends it.
		signal.Ignore(syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT)
		if f := os.Getenv(stubbornPidEnv); f != "" {
			_ = os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o600)
		}
		defer time.Sleep(10 * time.Minute)
	case "slow-start":
		// A second before the first line is read, then like "hang".
		time.Sleep(time.Second)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	write := func(s string) {
		out.WriteString(s + "\n")
		out.Flush()
	}
	var secret []byte // of the last token enrolled
	for in.Scan() {
		var req struct {
			ID    int64  `json:"id"`
			Op    string `json:"op"`
			Code  string `json:"code"`
			Token *struct {
				Secret string `json:"secret"`
			} `json:"token"`
		}
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			return 2
		}
		if req.Token != nil {
			secret, _ = hex.DecodeString(req.Token.Secret)
		}
		ok := fmt.Sprintf(`{"id":%d,"ok":true}`, req.ID)
		if req.Op == "hello" {
			write(fmt.Sprintf(`{"id":%d,"ok":true,"name":"helper %s","ops":["enroll","check"]}`, req.ID, mode))
			continue
		}
		if req.Op != "check" || req.Code == "good" {
			if req.Op == "check" {
				ok = fmt.Sprintf(`{"id":%d,"ok":true,"accepted":true}`, req.ID)
			}
			write(ok)
			continue
		}
		switch mode {
		case "crash":
			fmt.Fprintln(os.Stderr, "Traceback (most recent call last):\nZeroDivisionError: boom")
			return 3
		case "hang":
			// never answers a check
		case "garbage":
			write("DEBUG: checking code for serial 1000000000001")
		case "wrong-id":
			write(fmt.Sprintf(`{"id":%d,"ok":true,"accepted":false}`, req.ID+1000))
		case "bad-type":
			write(fmt.Sprintf(`{"id":%d,"ok":true,"accepted":"no"}`, req.ID))
		case "no-ok":
			write(fmt.Sprintf(`{"id":%d,"accepted":false}`, req.ID))
		case "leak-stderr":
			// A crash that prints the secret, between an error first
			// (Node, Java) and an error last (Python), with much between.
			fmt.Fprintf(os.Stderr, "Error: first news\nloading key %s\n", strings.ToUpper(hex.EncodeToString(secret)))
			for i := range 200 {
				fmt.Fprintf(os.Stderr, "  at frame %d (key %s)\n", i, base64.StdEncoding.EncodeToString(secret))
			}
			fmt.Fprintf(os.Stderr, "key %s\nValueError: last news\n", strings.ToLower(base32.StdEncoding.EncodeToString(secret)))
			return 3
		case "leak-stdout":
			write(fmt.Sprintf(`{"id":%d,"ok":true,"accepted":"%x"}`, req.ID, secret))
		case "leak-refusal":
			write(fmt.Sprintf(`{"id":%d,"ok":false,"error":"bad key %x"}`, req.ID, secret))
		case "huge-unended":
			out.WriteString(strings.Repeat("x", 2<<20))
			out.Flush()
			time.Sleep(time.Minute)
		case "huge-line":
			out.WriteString(`{"id":` + strconv.FormatInt(req.ID, 10) + `,"ok":true,"accepted":false,"pad":"`)
			out.WriteString(strings.Repeat("x", 5<<20))
			write(`"}`)
		case "close-stdout":
			os.Stdout.Close()
			time.Sleep(time.Minute)
		case "orphan":
			// A child that inherits stdout and outlives us: the
			// process-group kill must take it too.
			exe, _ := os.Executable()
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), helperEnv+"=sleep")
			cmd.Stdout = os.Stdout
			if err := cmd.Start(); err != nil {
				return 4
			}
			fmt.Fprintf(os.Stderr, "child %d\n", cmd.Process.Pid)
			return 5
		case "refuse":
			write(fmt.Sprintf(`{"id":%d,"ok":false,"error":"token store offline"}`, req.ID))
		case "unsupported":
			write(fmt.Sprintf(`{"id":%d,"ok":false,"error":"no checks today","unsupported":true}`, req.ID))
		}
	}
	return 0
}

// stubbornPidEnv names the file where the stubborn helper writes its pid.
const stubbornPidEnv = "OTPLAB_WIRE_STUBBORN_PID"

// harnessOfStubborn plays a harness: it starts the stubborn verifier,
// talks to it, then waits to be killed.
func harnessOfStubborn() int {
	exe, err := os.Executable()
	if err != nil {
		return 1
	}
	env := append(os.Environ(), helperEnv+"=stubborn")
	c, err := NewExec([]string{exe, "-test.run=^$"}, ExecOptions{Env: env})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := c.Enroll(context.Background(), testToken); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ready")
	time.Sleep(10 * time.Minute)
	return 0
}

// children returns the pids of this process's live children (zombies
// excluded), from /proc.
func children(t testing.TB) []int {
	t.Helper()
	if runtime.GOOS != "linux" {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, state, ok := procStat(pid)
		if ok && ppid == self && state != "Z" {
			out = append(out, pid)
		}
	}
	return out
}

// alive reports whether pid names a live (not zombie) process.
func alive(pid int) bool {
	_, state, ok := procStat(pid)
	return ok && state != "Z"
}

func procStat(pid int) (ppid int, state string, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, "", false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, "", false
	}
	ppid, err = strconv.Atoi(f[1])
	return ppid, f[0], err == nil
}

// noLeaks fails the test if, after it ends, goroutines or child processes
// remain that were not there when it began.
func noLeaks(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(30 * time.Second)
		for {
			n, kids := runtime.NumGoroutine(), children(t)
			if n <= before && len(kids) == 0 {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("leak: %d goroutines (was %d), children %v\n%s", n, before, kids, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}
