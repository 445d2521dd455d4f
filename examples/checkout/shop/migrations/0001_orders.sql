-- Orders, their payment attempts and refunds, and saved wallets.
-- Times are Unix nanoseconds (UTC), amounts integer poisha: the same columns
-- work on SQLite and PostgreSQL, and no float is ever near an amount.

CREATE TABLE counters (
	name  TEXT PRIMARY KEY,
	value BIGINT NOT NULL
);

INSERT INTO counters (name, value) VALUES ('order', 1000);

CREATE TABLE orders (
	id          TEXT PRIMARY KEY,
	customer    TEXT NOT NULL,
	total       BIGINT NOT NULL CHECK (total >= 0),
	status      TEXT NOT NULL,
	note        TEXT NOT NULL DEFAULT '',
	next_try    INTEGER NOT NULL DEFAULT 0,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	-- Set when paid. A bKash transaction settles one order only.
	payment_id  TEXT,
	trx_id      TEXT UNIQUE,
	paid        BIGINT NOT NULL DEFAULT 0,
	payer       TEXT NOT NULL DEFAULT '',
	paid_at     BIGINT NOT NULL DEFAULT 0,
	-- A refund sent whose outcome is not known yet (at most one per order).
	refund_pending_amount BIGINT,
	refund_pending_reason TEXT NOT NULL DEFAULT '',
	refund_pending_at     BIGINT NOT NULL DEFAULT 0,
	refund_pending_note   TEXT NOT NULL DEFAULT '',
	webhook_trx_id TEXT NOT NULL DEFAULT '',
	webhook_at     BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX orders_by_customer ON orders (customer, created_at);
CREATE INDEX orders_by_created ON orders (created_at);

CREATE TABLE order_items (
	order_id   TEXT NOT NULL REFERENCES orders (id),
	line       INTEGER NOT NULL,
	sku        TEXT NOT NULL,
	name       TEXT NOT NULL,
	qty        INTEGER NOT NULL CHECK (qty > 0),
	unit_price BIGINT NOT NULL CHECK (unit_price >= 0),
	PRIMARY KEY (order_id, line)
);

-- One row per bKash payment created for an order. callback_key_hash is the
-- SHA-256 of the per-attempt secret carried by the callback URL given to
-- bKash; the secret itself is never stored.
CREATE TABLE attempts (
	payment_id        TEXT PRIMARY KEY,
	order_id          TEXT NOT NULL REFERENCES orders (id),
	invoice           TEXT NOT NULL UNIQUE,
	mode              TEXT NOT NULL,
	agreement_id      TEXT NOT NULL DEFAULT '',
	state             TEXT NOT NULL,
	note              TEXT NOT NULL DEFAULT '',
	callback_key_hash TEXT NOT NULL,
	created_at        BIGINT NOT NULL,
	updated_at        BIGINT NOT NULL
);

CREATE INDEX attempts_by_order ON attempts (order_id, created_at);
CREATE INDEX attempts_by_state ON attempts (state);

CREATE TABLE refunds (
	refund_trx_id TEXT PRIMARY KEY,
	order_id      TEXT NOT NULL REFERENCES orders (id),
	amount        BIGINT NOT NULL,
	charge        BIGINT NOT NULL DEFAULT 0,
	status        TEXT NOT NULL,
	reason        TEXT NOT NULL DEFAULT '',
	at            BIGINT NOT NULL
);

CREATE INDEX refunds_by_order ON refunds (order_id, at);

CREATE TABLE wallets (
	payment_id   TEXT PRIMARY KEY,
	agreement_id TEXT UNIQUE,
	customer     TEXT NOT NULL,
	msisdn       TEXT NOT NULL DEFAULT '',
	state        TEXT NOT NULL,
	note         TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL
);

CREATE INDEX wallets_by_customer ON wallets (customer, created_at);
CREATE INDEX wallets_by_state ON wallets (state);
