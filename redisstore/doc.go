// Package redisstore keeps the bKash SDK's shared state in Redis, so that a
// service running many replicas behaves as one bKash client:
//
//   - one access token for the whole fleet ([Store] is a bkash.TokenStore):
//     bKash allows two grant or refresh calls an hour per application and
//     blocks applications that make more, so replicas must not each grant;
//   - one renewal at a time across processes (bkash.TokenLocker): SET NX PX
//     with a random owner, released by a compare-and-delete Lua script; the
//     other replicas wait for the holder's token instead of granting;
//   - a short lock kept alive while its holder works (bkash.TokenLockExtender):
//     the SDK takes it with a 10 s TTL and extends it (a compare-and-PEXPIRE
//     Lua script) every few seconds, so a slow grant keeps it and a crashed
//     holder frees it within seconds;
//   - one renewal budget for the fleet (bkash.TokenBudgetStore): every grant
//     or refresh request is recorded in a sorted set by one Lua script that
//     refuses a third within Redis's rolling hour, so replicas, restarts and
//     crash loops all draw from the same two requests an hour;
//   - each SNS notification handled once across the fleet (the webhook
//     bkash.DedupeStore): SET NX PX per MessageId.
//
// It is a module of its own (github.com/smartdairy/bkash-go/redisstore) so
// that the SDK itself does not depend on a Redis client.
//
// # Clients
//
// [New] takes any redis.UniversalClient: redis.NewClient for one server,
// redis.NewFailoverClient for Sentinel, redis.NewClusterClient for a Cluster,
// or redis.NewUniversalClient to choose by configuration. Every command the
// Store sends touches exactly one key (the unlock and release scripts too),
// so a Cluster needs no hash tags and keys spread over its slots freely.
//
// # Keys
//
// With the default prefix "bkash:" the Store writes:
//
//	bkash:token:<env>:<hash>    the token blob (hash: 16 hex of sha256(appKey|username))
//	bkash:lock:<env>:<hash>     the renewal lock, while a process renews
//	bkash:budget:<env>:<hash>   grant/refresh requests of the last hour (sorted set)
//	bkash:webhook:<MessageId>   a notification's dedupe claim
//
// Every key expires. [WithKeyPrefix] replaces "bkash:" for applications that
// share a Redis.
//
// # Failures
//
// Redis errors are returned, wrapped with the operation and key, never
// swallowed. The SDK's token manager logs them ("bkash token store load
// failed", "bkash token lock failed; renewing without it", "bkash token
// budget store failed; counting this process's requests only") and carries on:
// each replica keeps using its in-process token while it is valid, and when
// that token is due it renews on its own. An outage shorter than the token's
// remaining life costs nothing; a longer one costs one renewal per replica
// per token lifetime, which in a fleet of more than two replicas can exceed
// bKash's hourly limit, so alert on those log lines. The webhook Handler
// answers 500 when it cannot claim a message, so SNS delivers it again later.
//
// # Encryption
//
// The token blob holds the id_token and refresh_token. Encrypt it at rest
// with bkash.WithTokenEncryption (the SDK seals the blob before the store
// sees it) or with this package's [WithEncryption] (the store seals it).
// Use one of them, not both.
package redisstore
