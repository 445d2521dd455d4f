// Package pgtest gives tests of the demo shop a fresh PostgreSQL database.
//
// It connects to PostgreSQL at BKASH_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), creates a
// database with a unique name and drops it when the test ends. When
// PostgreSQL is unreachable the test is skipped, unless
// BKASH_REQUIRE_POSTGRES=1 (CI sets it), which makes it a failure.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
)

// AdminURL is the database the test databases are created from.
func AdminURL() string {
	if u := os.Getenv("BKASH_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewDatabase creates an empty database for t and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	admin, err := sql.Open("pgx", AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		if os.Getenv("BKASH_REQUIRE_POSTGRES") == "1" {
			t.Fatalf("BKASH_REQUIRE_POSTGRES=1 but PostgreSQL is unreachable at %s: %v", redacted(AdminURL()), err)
		}
		t.Skipf("PostgreSQL unreachable at %s (%v); set BKASH_REQUIRE_POSTGRES=1 to make this a failure", redacted(AdminURL()), err)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "shoptest_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		_ = admin.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

func redacted(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable URL)"
}
