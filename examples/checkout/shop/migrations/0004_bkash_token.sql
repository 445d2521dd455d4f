-- The bKash token the shop's processes share (tokenstore.go), so that
-- replicas renew it once for all of them and count their grant and refresh
-- requests together: bKash blocks an app that sends more than two an hour.
-- The blob is sealed by the SDK with a key derived from the credentials
-- (WithTokenEncryption): no token is stored in clear. Times are Unix
-- milliseconds on the database's clock.
CREATE TABLE bkash_tokens (
	store_key  TEXT PRIMARY KEY,
	blob       TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);

-- The renewal lock: one holder per key until expires_at.
CREATE TABLE bkash_token_locks (
	store_key  TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);

-- Grant and refresh requests of the last hour, failed ones included.
CREATE TABLE bkash_token_renewals (
	store_key TEXT NOT NULL,
	id        TEXT NOT NULL,
	at        BIGINT NOT NULL,
	PRIMARY KEY (store_key, id)
);
