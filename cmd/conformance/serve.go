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
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the reference verifier over protocol v1 HTTP (or exec, with --stdio)",
		Long: `Serve the reference verifier over protocol v1 HTTP (POST PREFIX/<op>), to try
a client against it or to compare a verifier with it. Every request is logged
on stderr (op, serial, verdict, duration; never a secret or a code). SIGINT or
SIGTERM (or SIGHUP) shuts the server down cleanly.

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
			v, err := reference.New(p, opts...)
			if err != nil {
				return usageError{err}
			}
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
			ctx, stop := signal.NotifyContext(cmd.Context(), stopSignals...)
			defer stop()
			if len(lns) == 1 {
				return serve(ctx, lns[0], v, strings.TrimRight(prefix, "/"), cmd.OutOrStdout(), cmd.ErrOrStderr())
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
					err := serve(ctx, ln, v, strings.TrimRight(prefix, "/"), out, logw)
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

// newServer returns the HTTP server of conformance serve: the reference
// verifier behind the protocol v1 handler, logging each request to logw.
func newServer(v harness.Verifier, prefix string, logw io.Writer) *http.Server {
	log := slog.New(slog.NewTextHandler(logw, nil))
	h := wire.NewHandler(v, prefix, wire.ServeOptions{Log: func(e wire.Event) {
		attrs := []slog.Attr{slog.String("op", e.Op), slog.Int("status", e.Status), slog.Bool("ok", e.OK)}
		if e.Serial != "" {
			attrs = append(attrs, slog.String("serial", e.Serial))
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
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serve runs the server on ln until ctx ends, then shuts it down,
// letting requests in flight finish.
func serve(ctx context.Context, ln net.Listener, v harness.Verifier, prefix string, out, logw io.Writer) error {
	srv := newServer(v, prefix, logw)
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
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("shut down %s: %w", ln.Addr(), err)
	}
	return nil
}
