package bkash_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"time"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/bkashtest"
)

// A Client is built once, from explicit credentials, and shared by every
// goroutine. NewClient makes no network call: the first token is granted on
// the first request.
func ExampleNewClient() {
	client, err := bkash.NewClient(bkash.Sandbox, bkash.Credentials{
		Username:  "sandboxTokenizedUser02",
		Password:  bkash.Secret("password-from-your-vault"),
		AppKey:    "app-key-from-bkash",
		AppSecret: bkash.Secret("app-secret-from-your-vault"),
	},
		bkash.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}),
		bkash.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))),
		bkash.WithUserAgent("milkshop/1.4"),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(client.Environment())
	fmt.Println(client) // secrets never print
	// Output:
	// sandbox
	// bkash.Client{env:sandbox, root:https://tokenized.sandbox.bka.sh, username:"sandboxTokenizedUser02", app_key:"app-key-from-bkash"}
}

// Several processes share one token (and stay within bKash's two grants an
// hour) through a shared TokenStore, here with the blob encrypted at rest.
// Package redisstore provides a Redis store; every process must use the same
// encryption key.
func ExampleNewClient_sharedTokenStore() {
	block, err := aes.NewCipher([]byte("32-byte-key-from-your-kms-000000"))
	if err != nil {
		log.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		log.Fatal(err)
	}
	store := bkash.NewMemoryTokenStore() // e.g. redisstore.New(rdb) in production
	client, err := bkash.NewClient(bkash.Production, bkash.Credentials{
		Username: "merchant", Password: "p", AppKey: "k", AppSecret: "s",
	}, bkash.WithTokenStore(store), bkash.WithTokenEncryption(aead))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(client.Environment())
	// Output: production
}

// CredentialsFromEnv reads BKASH_USERNAME, BKASH_PASSWORD, BKASH_APP_KEY and
// BKASH_APP_SECRET, and names every variable that is missing.
func ExampleCredentialsFromEnv() {
	creds, err := bkash.CredentialsFromEnv()
	if err != nil {
		fmt.Println(err)
		return
	}
	client, err := bkash.NewClient(bkash.Production, creds)
	if err != nil {
		log.Fatal(err)
	}
	_ = client
}

// A grant refused because of the credentials is not retried: asking again
// would only spend the renewal budget. errors.Is tells it apart from an
// outage, so that a health check can say "fix the configuration" rather
// than "try later".
func ExampleErrCredentialsRejected() {
	srv := bkashtest.NewServer()
	defer srv.Close()
	creds := srv.Credentials()
	creds.Password = bkash.Secret("not-the-password")
	client, err := bkash.NewClient(bkash.Sandbox, creds, bkash.WithBaseURL(srv.URL))
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.Token(context.Background())
	var ae *bkash.APIError
	switch {
	case errors.Is(err, bkash.ErrCredentialsRejected) && errors.As(err, &ae):
		fmt.Println("credentials refused:", ae.Message, "| class:", ae.Class(), "| temporary:", ae.Temporary())
	case errors.Is(err, bkash.ErrTokenBudgetExceeded):
		fmt.Println("renewal budget spent; the next request is allowed within the hour")
	case err != nil:
		fmt.Println("bKash unreachable, try later:", err)
	}
	fmt.Println("grant requests:", srv.Received("token.grant"))
	// Output:
	// credentials refused: Incorrect username or password | class: auth | temporary: false
	// grant requests: 1
}
