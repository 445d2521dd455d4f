package redisstore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	bkash "github.com/smartdairy/bkash-go"
)

// Some tests need separate OS processes (a fleet of replicas, a lock holder
// that is killed). They re-run this test binary with workerEnv naming the
// role; TestMain runs the worker instead of the tests. Workers read their
// settings from the environment and speak to the parent over stdin/stdout:
// "ready" when set up, then wait for a line on stdin, then print one JSON
// result line.
const workerEnv = "REDISSTORE_TEST_WORKER"

func TestMain(m *testing.M) {
	switch role := os.Getenv(workerEnv); role {
	case "":
		os.Exit(m.Run())
	case "fleet":
		os.Exit(runWorker(fleetWorker))
	case "holder":
		os.Exit(runWorker(holderWorker))
	case "granter":
		os.Exit(runWorker(granterWorker))
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", workerEnv, role)
		os.Exit(2)
	}
}

// workerResult is what a worker prints as its last line.
type workerResult struct {
	OK     int      `json:"ok"`     // calls that behaved as expected
	Errors []string `json:"errors"` // the others
}

// runWorker runs body with a context bounded in time, so that a worker the
// parent forgets ends by itself.
func runWorker(body func(ctx context.Context, in *bufio.Reader, out io.Writer) error) int {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := body(ctx, bufio.NewReader(os.Stdin), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		return 1
	}
	return 0
}

func workerRedis() (*redis.Client, *Store, error) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr()})
	s, err := New(rdb, WithKeyPrefix(os.Getenv("REDISSTORE_TEST_PREFIX")))
	if err != nil {
		_ = rdb.Close()
		return nil, nil, err
	}
	return rdb, s, nil
}

// awaitGo says "ready" and blocks until the parent sends a line.
func awaitGo(in *bufio.Reader, out io.Writer) error {
	if _, err := fmt.Fprintln(out, "ready"); err != nil {
		return err
	}
	_, err := in.ReadString('\n')
	return err
}

// fleetWorker is one replica of a service: its own bkash.Client on the
// shared Redis store, with REDISSTORE_TEST_GOROUTINES goroutines each
// querying REDISSTORE_TEST_PAYMENT_ID once, all at the parent's signal.
// The payment does not exist: bKash answering 2002 (Invalid Payment ID)
// proves the token was accepted; an auth failure would be a 401.
func fleetWorker(ctx context.Context, in *bufio.Reader, out io.Writer) error {
	creds, err := bkash.CredentialsFromEnv()
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(os.Getenv("REDISSTORE_TEST_GOROUTINES"))
	if err != nil {
		return err
	}
	rdb, store, err := workerRedis()
	if err != nil {
		return err
	}
	defer rdb.Close()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	client, err := bkash.NewClient(bkash.Sandbox, creds,
		bkash.WithBaseURL(os.Getenv("REDISSTORE_TEST_BKASH_URL")),
		bkash.WithTokenStore(store),
		bkash.WithLogger(logger.With("pid", os.Getpid())))
	if err != nil {
		return err
	}
	if err := awaitGo(in, out); err != nil {
		return err
	}

	paymentID := os.Getenv("REDISSTORE_TEST_PAYMENT_ID")
	var (
		mu  sync.Mutex
		res = workerResult{Errors: []string{}}
		wg  sync.WaitGroup
	)
	for range n {
		wg.Go(func() {
			_, err := client.Payments.Query(ctx, paymentID)
			var ae *bkash.APIError
			mu.Lock()
			defer mu.Unlock()
			if errors.As(err, &ae) && ae.Code == bkash.CodeInvalidPaymentID {
				res.OK++
				return
			}
			res.Errors = append(res.Errors, fmt.Sprint(err))
		})
	}
	wg.Wait()
	return json.NewEncoder(out).Encode(res)
}

// holderWorker takes the renewal lock for REDISSTORE_TEST_KEY with TTL
// REDISSTORE_TEST_TTL, says "locked" and waits, never unlocking, for the
// parent to kill it.
func holderWorker(ctx context.Context, in *bufio.Reader, out io.Writer) error {
	ttl, err := time.ParseDuration(os.Getenv("REDISSTORE_TEST_TTL"))
	if err != nil {
		return err
	}
	rdb, store, err := workerRedis()
	if err != nil {
		return err
	}
	defer rdb.Close()
	if _, err := store.Lock(ctx, os.Getenv("REDISSTORE_TEST_KEY"), ttl); err != nil {
		return err
	}
	if _, err := fmt.Fprintln(out, "locked"); err != nil {
		return err
	}
	_, err = in.ReadString('\n') // the parent kills us before sending anything
	return err
}

// worker is a running worker process.
type worker struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *syncBuffer
}

// startWorker starts this test binary as a worker of the given role, with env
// added to the environment. The process is killed when the test ends.
func startWorker(t *testing.T, role string, env ...string) *worker {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), workerEnv+"="+role, "BKASH_REDIS_ADDR="+redisAddr())
	cmd.Env = append(cmd.Env, env...)
	w := &worker{cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = w.stderr
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	w.stdout = bufio.NewReader(stdout)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return w
}

// readLine reads the worker's next stdout line, failing the test when it
// does not come within d.
func (w *worker) readLine(t *testing.T, d time.Duration) string {
	t.Helper()
	type line struct {
		s   string
		err error
	}
	ch := make(chan line, 1)
	go func() {
		s, err := w.stdout.ReadString('\n')
		ch <- line{s, err}
	}()
	select {
	case l := <-ch:
		if l.err != nil {
			t.Fatalf("worker pid %d: reading its output: %v; its stderr:\n%s", w.cmd.Process.Pid, l.err, w.stderr)
		}
		return l.s[:len(l.s)-1]
	case <-time.After(d):
		t.Fatalf("worker pid %d said nothing for %v; its stderr:\n%s", w.cmd.Process.Pid, d, w.stderr)
		return ""
	}
}

// syncBuffer collects a worker's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

// granterWorker is a replica that starts a token renewal against
// REDISSTORE_TEST_BKASH_URL on the shared store, says "renewing" and waits
// for the parent to kill it in the middle of the grant, which the parent's
// fake bKash holds back.
func granterWorker(ctx context.Context, _ *bufio.Reader, out io.Writer) error {
	creds, err := bkash.CredentialsFromEnv()
	if err != nil {
		return err
	}
	rdb, store, err := workerRedis()
	if err != nil {
		return err
	}
	defer rdb.Close()
	client, err := bkash.NewClient(bkash.Sandbox, creds,
		bkash.WithBaseURL(os.Getenv("REDISSTORE_TEST_BKASH_URL")), bkash.WithTokenStore(store))
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(out, "renewing"); err != nil {
		return err
	}
	_, err = client.Token(ctx) // the parent kills us before the answer comes
	return err
}
