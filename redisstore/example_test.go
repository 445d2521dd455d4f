package redisstore_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/hex"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	bkash "github.com/smartdairy/bkash-go"
	"github.com/smartdairy/bkash-go/redisstore"
)

// Every replica of a shop builds the same Store on the shared Redis and
// hands it to the client (one token for the fleet) and to the webhook
// verifier (each notification handled once).
func Example() {
	rdb := redis.NewClient(&redis.Options{
		Addr:                  "redis.internal:6379",
		Password:              os.Getenv("REDIS_PASSWORD"),
		ContextTimeoutEnabled: true, // let WithTimeout and request contexts bound each command
	})
	defer rdb.Close()
	store, err := redisstore.New(rdb, redisstore.WithTimeout(time.Second))
	if err != nil {
		log.Fatal(err)
	}

	creds, err := bkash.CredentialsFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	client, err := bkash.NewClient(bkash.Production, creds, bkash.WithTokenStore(store))
	if err != nil {
		log.Fatal(err)
	}

	verifier, err := bkash.NewWebhookVerifier(
		bkash.WithAllowedTopicARNs(os.Getenv("BKASH_TOPIC_ARN")),
		bkash.WithDedupeStore(store))
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("POST /bkash/webhook", verifier.Handler(func(ctx context.Context, n *bkash.Notification) error {
		// Runs once per MessageId across the fleet. Confirm with bKash
		// before fulfilling the order.
		tx, err := client.Payments.Search(ctx, n.TrxID)
		if err != nil {
			return err // 500: SNS delivers again and another replica may take it
		}
		log.Printf("trxID %s: %s %s", tx.TrxID, tx.Status, tx.Amount)
		return nil
	}))
}

// Sentinel and Cluster deployments use the matching go-redis constructor;
// the Store works the same on any redis.UniversalClient.
func ExampleNew_sentinelOrCluster() {
	// Sentinel: a *redis.Client that follows the current master.
	sentinel := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName:    "bkash",
		SentinelAddrs: []string{"sentinel-1:26379", "sentinel-2:26379", "sentinel-3:26379"},
	})
	// Cluster: every command the Store sends touches one key, so keys need
	// no hash tags and spread over the slots.
	cluster := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{"redis-1:6379", "redis-2:6379", "redis-3:6379"},
	})
	// Or choose from configuration: one address is a single server, several
	// a Cluster, and MasterName makes it Sentinel.
	universal := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{"redis:6379"}})

	for _, rdb := range []redis.UniversalClient{sentinel, cluster, universal} {
		if _, err := redisstore.New(rdb, redisstore.WithKeyPrefix("shop-a:bkash:")); err != nil {
			log.Fatal(err)
		}
	}
}

// The token blob carries the id_token and refresh_token. Encrypt it at rest
// with a 32-byte key shared by the fleet (here hex in an environment
// variable). bkash.WithTokenEncryption does the same inside the SDK: use
// one or the other.
func ExampleWithEncryption() {
	key, err := hex.DecodeString(os.Getenv("BKASH_TOKEN_KEY"))
	if err != nil {
		log.Fatal(err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		log.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		log.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "redis.internal:6379"})
	store, err := redisstore.New(rdb, redisstore.WithEncryption(aead))
	if err != nil {
		log.Fatal(err)
	}
	_ = store // bkash.WithTokenStore(store)
}
