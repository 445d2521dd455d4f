//go:build unix

package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFakeCommandStopsOnSignals runs "bkash fake" as a process and stops it
// with SIGINT and SIGTERM: exit code 0, the stop reported, the port freed.
func TestFakeCommandStopsOnSignals(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(os.Args[0], "fake", "--addr", "127.0.0.1:0", "--json")
			cmd.Env = append(os.Environ(), "BKASH_TEST_RUN_MAIN=1")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			timer := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
			defer timer.Stop()
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("no first line: %v\nstderr:\n%s", err, stderr.String())
			}
			var v fakeView
			if err := json.Unmarshal([]byte(line), &v); err != nil {
				t.Fatal(err)
			}
			if v.PID != cmd.Process.Pid {
				t.Errorf("pid %d, want %d", v.PID, cmd.Process.Pid)
			}
			resp, err := http.Get(v.BaseURL + "/_bkashtest/counters")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err = cmd.Wait()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				t.Fatal(err)
			}
			if code := cmd.ProcessState.ExitCode(); code != 0 {
				t.Errorf("exit %d after %v, want 0\nstderr:\n%s", code, sig, stderr.String())
			}
			if !strings.Contains(stderr.String(), "bkash fake: stopped") {
				t.Errorf("stderr:\n%s", stderr.String())
			}
			if _, err := http.Get(v.BaseURL + "/_bkashtest/counters"); err == nil {
				t.Error("the port still answers after the process exited")
			}
		})
	}
}
