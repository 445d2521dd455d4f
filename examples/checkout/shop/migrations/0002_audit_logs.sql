-- The audit trail kept for disputes: every HTTP attempt to bKash (from the
-- SDK's Observer) and every webhook message received. Bodies are stored
-- redacted (no secret, no token) with wallet numbers masked.

CREATE TABLE api_log (
	id            {{serial}},
	at            BIGINT NOT NULL,
	op            TEXT NOT NULL,
	endpoint      TEXT NOT NULL DEFAULT '',
	http_status   INTEGER NOT NULL DEFAULT 0,
	code          TEXT NOT NULL DEFAULT '',
	duration_us   BIGINT NOT NULL DEFAULT 0,
	attempt       INTEGER NOT NULL DEFAULT 1,
	success       BOOLEAN NOT NULL,
	error         TEXT NOT NULL DEFAULT '',
	reference     TEXT NOT NULL DEFAULT '',
	order_id      TEXT NOT NULL DEFAULT '',
	request_body  TEXT NOT NULL DEFAULT '',
	response_body TEXT NOT NULL DEFAULT ''
);

CREATE INDEX api_log_by_order ON api_log (order_id, id);
CREATE INDEX api_log_by_reference ON api_log (reference, id);

CREATE TABLE webhook_log (
	id           {{serial}},
	at           BIGINT NOT NULL,
	message_id   TEXT NOT NULL DEFAULT '',
	type         TEXT NOT NULL DEFAULT '',
	verified     BOOLEAN NOT NULL,
	verify_error TEXT NOT NULL DEFAULT '',
	payload      TEXT NOT NULL DEFAULT '',
	status       TEXT NOT NULL,
	error        TEXT NOT NULL DEFAULT '',
	remote_addr  TEXT NOT NULL DEFAULT '',
	order_id     TEXT NOT NULL DEFAULT '',
	trx_id       TEXT NOT NULL DEFAULT ''
);

CREATE INDEX webhook_log_by_order ON webhook_log (order_id, id);
