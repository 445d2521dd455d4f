//go:build windows

package main

import "testing"

// TestAttack2DefectWindowsShellAndSchedulerKeepTwoCounts (second attack,
// see budgetfile_attack2_test.go): on Windows the count is under HOME when
// HOME is set (Git Bash, MSYS2 and Cygwin set it, as C:/Users/<user>) and
// under %LOCALAPPDATA% when it is not (cmd.exe, PowerShell, Task Scheduler,
// services). One user's runs from Git Bash and from a scheduled task then
// keep two counts: four grants an hour, and bKash blocks the app. This is
// the XDG_CACHE_HOME split the first attack closed on Unix, back on
// Windows. It can only be vetted here (GOOS=windows go vet ./cmd/bkash).
//
// Fix: on Windows, ignore HOME and keep the count in %LOCALAPPDATA%\bkash
// (os.UserCacheDir reads LocalAppData), falling back to HOME only when
// LOCALAPPDATA is unset.
func TestAttack2DefectWindowsShellAndSchedulerKeepTwoCounts(t *testing.T) {
	t.Parallel()
	gitBash := &app{getenv: func(k string) string {
		return map[string]string{"HOME": `C:/Users/shop`, "USERPROFILE": `C:\Users\shop`, "LOCALAPPDATA": `C:\Users\shop\AppData\Local`}[k]
	}}
	scheduler := &app{getenv: func(k string) string {
		return map[string]string{"USERPROFILE": `C:\Users\shop`, "LOCALAPPDATA": `C:\Users\shop\AppData\Local`}[k]
	}}
	if d1, d2 := gitBash.budgetDir(), scheduler.budgetDir(); d1 != d2 {
		t.Errorf("one Windows user keeps two counts: %q (Git Bash, HOME set) and %q (Task Scheduler, no HOME)", d1, d2)
	}
}
