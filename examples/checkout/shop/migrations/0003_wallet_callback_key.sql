-- A wallet link's callback is bound to it like a payment attempt's: the
-- callback URL given to bKash for the agreement carries a per-link secret,
-- and callback_key_hash is its SHA-256 (the secret itself is never stored).
-- Links started before this migration have no key: their callbacks are
-- refused and the customer starts the link again (nothing was linked).
ALTER TABLE wallets ADD COLUMN callback_key_hash TEXT NOT NULL DEFAULT '';
