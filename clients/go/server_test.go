package webhookd_test

// A real webhookd process for the tests, and a local HTTP receiver.

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	webhookd "github.com/webhookd/webhookd/clients/go"
)

const (
	adminToken      = "admin-token-0123456789"
	publisherToken  = "publisher-token-0123456789"
	subscriberToken = "alice-token-0123456789"
	subscriberName  = "alice"
)

// tokensConfig names an admin, a publisher and a subscriber ("alice"), and a
// short retry schedule.
const tokensConfig = `
tokens { token: "` + adminToken + `" principal: "ops" roles: ADMIN }
tokens { token: "` + publisherToken + `" principal: "app" roles: PUBLISHER }
tokens { token: "` + subscriberToken + `" principal: "` + subscriberName + `" roles: SUBSCRIBER }
delivery { retry_schedule_seconds: [0, 1, 1] total_timeout_ms: 5000 }
`

// The server shared by the tests (started by TestMain).
var shared *serverProcess

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "webhookd-go-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared, err = startServer(dir, tokensConfig)
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	if err := shared.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "TestMain: stopping webhookd:", err)
		if code == 0 {
			code = 1
		}
	}
	if code != 0 {
		shared.dumpLog(os.Stderr)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// webhookdBinary is $WEBHOOKD_BINARY, or the CMake build's server next to
// this module.
func webhookdBinary() (string, error) {
	bin := os.Getenv("WEBHOOKD_BINARY")
	if bin == "" {
		bin = filepath.Join("..", "..", "build", "server", "webhookd")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("webhookd binary not found (%v); build it or set WEBHOOKD_BINARY", err)
	}
	return abs, nil
}

type serverProcess struct {
	cmd     *exec.Cmd
	addr    string // 127.0.0.1:port
	logPath string
	done    chan struct{}
	waitErr error
}

// startServer runs webhookd on a free loopback port with its data in dir and
// config (text format) as its config file, and waits until it serves.
func startServer(dir, config string) (*serverProcess, error) {
	bin, err := webhookdBinary()
	if err != nil {
		return nil, err
	}
	configPath := filepath.Join(dir, "webhookd.textproto")
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		return nil, err
	}
	portFile := filepath.Join(dir, "port")
	logPath := filepath.Join(dir, "webhookd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin,
		"--listen=127.0.0.1:0",
		"--data_dir="+filepath.Join(dir, "data"),
		"--port_file="+portFile,
		"--config="+configPath,
		"--allow_http_targets",
		"--allowed_cidrs=127.0.0.1/32",
		"--shutdown_grace_seconds=2",
	)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &serverProcess{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.done)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if b, err := os.ReadFile(portFile); err == nil {
			if port, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && port > 0 {
				s.addr = fmt.Sprintf("127.0.0.1:%d", port)
				return s, nil
			}
		}
		select {
		case <-s.done:
			s.dumpLog(os.Stderr)
			return nil, fmt.Errorf("webhookd exited before serving: %v", s.waitErr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			s.dumpLog(os.Stderr)
			return nil, fmt.Errorf("webhookd did not write %s within 60s", portFile)
		}
	}
}

// stop sends SIGTERM and waits; SIGKILL after 15 s.
func (s *serverProcess) stop() error {
	select {
	case <-s.done:
		return fmt.Errorf("webhookd had exited: %v", s.waitErr)
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		return s.waitErr
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("webhookd did not stop within 15s of SIGTERM")
	}
}

func (s *serverProcess) dumpLog(w io.Writer) {
	b, _ := os.ReadFile(s.logPath)
	fmt.Fprintf(w, "---- webhookd log ----\n%s---- end of webhookd log ----\n", b)
}

// dial connects to the shared server in plaintext with token (none if empty).
func dial(t *testing.T, token string) *webhookd.Client {
	t.Helper()
	opts := []webhookd.Option{webhookd.WithInsecure()}
	if token != "" {
		opts = append(opts, webhookd.WithToken(token))
	}
	c, err := webhookd.Dial(context.Background(), shared.addr, opts...)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// received is one request the receiver got.
type received struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte
}

// receiver is a local HTTP server that answers 200 and records requests.
type receiver struct {
	srv *httptest.Server
	ch  chan received
	mu  sync.Mutex
	all []received
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{ch: make(chan received, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got := received{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: body}
		r.mu.Lock()
		r.all = append(r.all, got)
		r.mu.Unlock()
		select {
		case r.ch <- got:
		default:
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// URL returns the receiver's URL for path ("/hooks").
func (r *receiver) URL(path string) string { return r.srv.URL + path }

// next waits for the next request.
func (r *receiver) next(t *testing.T, timeout time.Duration) received {
	t.Helper()
	select {
	case got := <-r.ch:
		return got
	case <-time.After(timeout):
		t.Fatalf("no delivery within %v", timeout)
		return received{}
	}
}

// requests returns every request so far.
func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.all...)
}
