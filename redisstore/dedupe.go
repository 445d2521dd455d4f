package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// releaseScript deletes a claim only when this Store made it (the value
// starts with the Store's identity), so a replica whose slow callback failed
// after its claim expired never forgets a claim another replica holds now.
var releaseScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1])) == ARGV[1] then
	return redis.call("DEL", KEYS[1])
end
return 0
`)

// Claim records an SNS MessageId for ttl (SET key value NX PX ttl) and
// reports whether this call recorded it: false means another delivery of the
// same message, on this replica or another, claimed it first and is handling
// or has handled it. ttl must be at least 1ms; make it longer than SNS keeps
// redelivering (an hour is plenty for bKash).
func (s *Store) Claim(ctx context.Context, messageID string, ttl time.Duration) (bool, error) {
	if messageID == "" {
		return false, errors.New("redisstore: Claim: empty message ID")
	}
	px, err := pxMillis("Claim", ttl)
	if err != nil {
		return false, err
	}
	k := s.prefix + "webhook:" + messageID
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	ok, err := s.setNX(ctx, k, s.id+":"+rand.Text(), px)
	if err != nil {
		return false, fmt.Errorf("redisstore: claim %s: %w", k, err)
	}
	return ok, nil
}

// Release forgets a claim this Store made (a Lua compare-and-delete), so that
// SNS's redelivery of a message whose callback failed is processed again. A
// claim that expired, or that another replica has made since, is left alone.
func (s *Store) Release(ctx context.Context, messageID string) error {
	if messageID == "" {
		return errors.New("redisstore: Release: empty message ID")
	}
	k := s.prefix + "webhook:" + messageID
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := releaseScript.Run(ctx, s.rdb, []string{k}, s.id+":").Err(); err != nil {
		return fmt.Errorf("redisstore: release %s: %w", k, err)
	}
	return nil
}

// doneValue marks a message processed (Complete). No Store's identity
// starts with it, so Release never deletes it.
const doneValue = "done"

// completeScript marks a message processed, unless another Store holds its
// claim now (this one's expired and another replica claimed the
// redelivery, which is still running).
var completeScript = redis.NewScript(`
local v = redis.call("GET", KEYS[1])
if v and v ~= ARGV[2] and string.sub(v, 1, string.len(ARGV[1])) ~= ARGV[1] then
	return 0
end
redis.call("SET", KEYS[1], ARGV[2], "PX", ARGV[3])
return 1
`)

// Complete marks an SNS MessageId processed for ttl (bkash.DedupeCompleter):
// the webhook Handler answers a redelivery 200 from then on, and 503 while
// the message is claimed but not complete. A claim another replica holds
// now is left alone.
func (s *Store) Complete(ctx context.Context, messageID string, ttl time.Duration) error {
	if messageID == "" {
		return errors.New("redisstore: Complete: empty message ID")
	}
	px, err := pxMillis("Complete", ttl)
	if err != nil {
		return err
	}
	k := s.prefix + "webhook:" + messageID
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	if err := completeScript.Run(ctx, s.rdb, []string{k}, s.id+":", doneValue, px).Err(); err != nil {
		return fmt.Errorf("redisstore: complete %s: %w", k, err)
	}
	return nil
}

// Completed reports whether an SNS MessageId is marked processed
// (bkash.DedupeCompleter).
func (s *Store) Completed(ctx context.Context, messageID string) (bool, error) {
	if messageID == "" {
		return false, errors.New("redisstore: Completed: empty message ID")
	}
	k := s.prefix + "webhook:" + messageID
	ctx, cancel := s.ctx(ctx)
	defer cancel()
	v, err := s.rdb.Get(ctx, k).Result()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("redisstore: completed %s: %w", k, err)
	}
	return v == doneValue, nil
}
