package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/otplab/otplab/harness"
	"github.com/otplab/otplab/harness/reference"
	"github.com/otplab/otplab/harness/wire"
)

func newServeCmd() *cobra.Command {
	var addrs []string
	var profile, prefix, clock string
	var stdio bool
	lim := defaultServeLimits()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the reference verifier over protocol v1 HTTP (or exec, with --stdio)",
		Long: `Serve the reference verifier over protocol v1 HTTP (POST PREFIX/<op>), to try
a client against it or to compare a verifier with it. Every request is logged
on stderr (op, serial, verdict, duration; never a secret or a code). SIGINT or
SIGTERM (or SIGHUP) shuts the server down: requests in flight get a few
seconds to finish, then the remaining connections are closed, and the exit
code is 0.

It is a test server: it has no authentication and keeps every token it is
sent in memory. Listen on a loopback address (the default); any other address
is warned about. It bounds what a client can make it hold: a request body of
at most 64 KiB read within 30 s, serials of at most 256 bytes, at most
--max-tokens distinct serials (an enroll beyond that is refused; restart the
server to start afresh), idle connections closed after 2 minutes.

With --stdio it speaks protocol v1's exec transport instead: one JSON request a
line on standard input, one reply a line on standard output, until EOF; run it
as 'conformance run --verifier "exec:conformance serve --stdio"'.

With --clock wall the reference reads its own clock, as most deployed verifiers
do, and claims clock "wall": the request's time is ignored. Its clock is the
system's, or, when OTPLAB_FAKETIME_FILE names a clock file, that file's (a Go
program cannot be put under libfaketime; the harness writes the file under
'conformance run --clock file').`,
		Example: `  conformance serve --addr 127.0.0.1:8080 &
  conformance serve --addr 127.0.0.1:8081 --addr 127.0.0.1:8082 --addr 127.0.0.1:8083 &
  conformance run --verifier http://127.0.0.1:8080/
  conformance run --verifier 'exec:conformance serve --stdio --clock wall' --clock file`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p := reference.Default()
			if profile != "" {
				var err error
				if p, err = readProfile(profile); err != nil {
					return err
				}
			}
			if prefix != "" && !strings.HasPrefix(prefix, "/") {
				return usagef("--prefix %q: want a path starting with /", prefix)
			}
			var opts []reference.Option
			switch clock {
			case "":
			case harness.ClockRequest:
				p.Clock = harness.ClockRequest
			case harness.ClockWall:
				p.Clock = harness.ClockWall
				if file := os.Getenv(wire.FakeTimeFileEnv); file != "" {
					now, err := wire.ClockFromFile(file)
					if err != nil {
						return usagef("--clock wall: %s: %w", wire.FakeTimeFileEnv, err)
					}
					opts = append(opts, reference.WithClock(now))
				}
			default:
				return usagef("--clock %q: want request or wall", clock)
			}
			ref, err := reference.New(p, opts...)
			if err != nil {
				return usageError{err}
			}
			if lim.MaxTokens <= 0 {
				return usagef("--max-tokens %d: want at least 1", lim.MaxTokens)
			}
			v := newCapped(ref, lim)
			if stdio {
				if cmd.Flags().Changed("addr") || prefix != "" {
					return usagef("--stdio: --addr and --prefix are for HTTP")
				}
				ctx, stop := signal.NotifyContext(cmd.Context(), stopSignals...)
				defer stop()
				if err := wire.ServeLines(ctx, v, cmd.InOrStdin(), cmd.OutOrStdout(), wire.ServeOptions{}); err != nil {
					return ioError{fmt.Errorf("serve --stdio: %w", err)}
				}
				return nil
			}
			var lns []net.Listener
			for _, addr := range addrs {
				ln, err := net.Listen("tcp", addr)
				if err != nil {
					for _, l := range lns {
						l.Close()
					}
					return usagef("--addr: %w", err)
				}
				lns = append(lns, ln)
			}
			for i, ln := range lns {
				if !loopback(ln.Addr()) {
					fmt.Fprintf(cmd.ErrOrStderr(), "warning: --addr %s is not a loopback address: this test server has no authentication, and anyone who reaches it can enroll tokens and check codes\n", addrs[i])
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), stopSignals...)
			defer stop()
			if len(lns) == 1 {
				return serve(ctx, lns[0], v, strings.TrimRight(prefix, "/"), lim, cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			// One verifier on several ports: the nodes of one deployment
			// over one store, for run and stress with several --verifier.
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			errc := make(chan error, len(lns))
			var mu sync.Mutex
			out := &lockedWriter{w: cmd.OutOrStdout(), mu: &mu}
			logw := &lockedWriter{w: cmd.ErrOrStderr(), mu: &mu}
			for _, ln := range lns {
				go func() {
					err := serve(ctx, ln, v, strings.TrimRight(prefix, "/"), lim, out, logw)
					cancel() // one port failing stops them all
					errc <- err
				}()
			}
			var first error
			for range lns {
				if err := <-errc; err != nil && first == nil {
					first = err
				}
			}
			return first
		},
	}
	cmd.Flags().StringArrayVar(&addrs, "addr", []string{defaultAddr}, "the address to listen on (port 0 picks a free one); repeat it to serve one verifier, one store, on several ports, as the nodes of one deployment")
	cmd.Flags().BoolVar(&stdio, "stdio", false, "speak the exec transport on standard input and output instead of HTTP")
	cmd.Flags().StringVar(&clock, "clock", "", "request: judge at each request's time; wall: read the verifier's own clock (default: the profile's clock)")
	cmd.Flags().StringVar(&profile, "profile", "", "a JSON profile file: the policy the reference verifier enforces (default: its built-in profile)")
	cmd.Flags().StringVar(&prefix, "prefix", "", "the URL path prefix of the protocol (requests go to PREFIX/<op>)")
	cmd.Flags().IntVar(&lim.MaxTokens, "max-tokens", lim.MaxTokens, "the most distinct serials the server holds; an enroll beyond is refused")
	return cmd
}

// lockedWriter serialises the writes of several servers to one writer.
type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// defaultAddr is where conformance serve listens by default.
const defaultAddr = "127.0.0.1:8080"

// serveLimits bound what a client can make conformance serve hold or
// wait for.
type serveLimits struct {
	// MaxBody bounds a request body, in bytes.
	MaxBody int
	// MaxSerial bounds a serial, in bytes.
	MaxSerial int
	// MaxTokens bounds the distinct serials enrolled.
	MaxTokens int
	// ReadHeader, Read, Write and Idle are the http.Server timeouts:
	// Read bounds the whole request, body included.
	ReadHeader, Read, Write, Idle time.Duration
	// ShutdownGrace is how long requests in flight may take to finish
	// once the server is told to stop; then connections are closed.
	ShutdownGrace time.Duration
}

// defaultServeLimits are conformance serve's limits.
func defaultServeLimits() serveLimits {
	return serveLimits{
		MaxBody:       64 << 10,
		MaxSerial:     256,
		MaxTokens:     100_000,
		ReadHeader:    10 * time.Second,
		Read:          30 * time.Second,
		Write:         time.Minute,
		Idle:          2 * time.Minute,
		ShutdownGrace: 5 * time.Second,
	}
}

// loopback reports whether addr is a loopback address.
func loopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// capped is the reference verifier behind conformance serve's caps: it
// refuses serials longer than MaxSerial and enrolls of new serials beyond
// MaxTokens.
type capped struct {
	harness.Verifier
	lim serveLimits

	mu      sync.Mutex
	serials map[string]struct{}
}

func newCapped(v harness.Verifier, lim serveLimits) *capped {
	return &capped{Verifier: v, lim: lim, serials: make(map[string]struct{})}
}

// Describe passes the reference's hello through.
func (c *capped) Describe(ctx context.Context) (harness.Info, error) {
	if d, ok := c.Verifier.(harness.Describer); ok {
		return d.Describe(ctx)
	}
	return harness.Info{Name: "otplab reference verifier"}, nil
}

func (c *capped) serial(s string) error {
	if len(s) > c.lim.MaxSerial {
		return fmt.Errorf("a serial of %d bytes: this server takes at most %d", len(s), c.lim.MaxSerial)
	}
	return nil
}

// Enroll refuses a serial too long, or a new one once MaxTokens are held.
func (c *capped) Enroll(ctx context.Context, tok harness.Token) error {
	if err := c.serial(tok.Serial); err != nil {
		return err
	}
	c.mu.Lock()
	_, known := c.serials[tok.Serial]
	if !known && len(c.serials) >= c.lim.MaxTokens {
		c.mu.Unlock()
		return fmt.Errorf("this test server holds its maximum of %d tokens (--max-tokens): restart it to start afresh", c.lim.MaxTokens)
	}
	c.serials[tok.Serial] = struct{}{}
	c.mu.Unlock()
	return c.Verifier.Enroll(ctx, tok)
}

// Check refuses a serial too long.
func (c *capped) Check(ctx context.Context, req harness.CheckRequest) (harness.Reply, error) {
	if err := c.serial(req.Serial); err != nil {
		return harness.Reply{}, err
	}
	return c.Verifier.Check(ctx, req)
}

// Resync refuses a serial too long.
func (c *capped) Resync(ctx context.Context, req harness.ResyncRequest) (harness.Reply, error) {
	if err := c.serial(req.Serial); err != nil {
		return harness.Reply{}, err
	}
	return c.Verifier.Resync(ctx, req)
}

// Unlock refuses a serial too long.
func (c *capped) Unlock(ctx context.Context, serial string) error {
	if err := c.serial(serial); err != nil {
		return err
	}
	return c.Verifier.Unlock(ctx, serial)
}

// logSerialMax bounds a serial in a log line.
const logSerialMax = 64

// logSerial is s for a log line: at most logSerialMax bytes, the cut
// marked with the full length.
func logSerial(s string) string {
	if len(s) <= logSerialMax {
		return s
	}
	return fmt.Sprintf("%s…(%d bytes)", strings.ToValidUTF8(s[:logSerialMax], ""), len(s))
}

// newServer returns the HTTP server of conformance serve: the reference
// verifier behind the protocol v1 handler, logging each request to logw.
func newServer(v harness.Verifier, prefix string, lim serveLimits, logw io.Writer) *http.Server {
	log := slog.New(slog.NewTextHandler(logw, nil))
	h := wire.NewHandler(v, prefix, wire.ServeOptions{MaxMessage: lim.MaxBody, Log: func(e wire.Event) {
		attrs := []slog.Attr{slog.String("op", e.Op), slog.Int("status", e.Status), slog.Bool("ok", e.OK)}
		if e.Serial != "" {
			attrs = append(attrs, slog.String("serial", logSerial(e.Serial)))
		}
		if e.Accepted != nil {
			attrs = append(attrs, slog.Bool("accepted", *e.Accepted))
		}
		if e.Locked {
			attrs = append(attrs, slog.Bool("locked", true))
		}
		if e.Error != "" {
			attrs = append(attrs, slog.String("error", e.Error))
		}
		attrs = append(attrs, slog.Duration("duration", e.Duration))
		log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
	}})
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.ReadHeader,
		ReadTimeout:       lim.Read,
		WriteTimeout:      lim.Write,
		IdleTimeout:       lim.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serve runs the server on ln until ctx ends, then shuts it down, letting
// requests in flight finish for lim.ShutdownGrace and then closing what
// is left: a stop is never an error.
func serve(ctx context.Context, ln net.Listener, v harness.Verifier, prefix string, lim serveLimits, out, logw io.Writer) error {
	srv := newServer(v, prefix, lim, logw)
	url := fmt.Sprintf("http://%s%s/", ln.Addr(), prefix)
	fmt.Fprintf(out, "serving the otplab reference verifier (protocol v1) at %s\n", url)
	fmt.Fprintf(out, "try: conformance run --verifier %s\n", url)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	fmt.Fprintln(logw, "shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), lim.ShutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		fmt.Fprintf(logw, "closing the connections still open after %s\n", lim.ShutdownGrace)
		err = srv.Close()
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shut down %s: %w", ln.Addr(), err)
	}
	return nil
}
