-- 0105: the platform's SET key can be rotated (POST /admin/v1/platform-keys).
-- The newest key with a private part signs. A rotation retires the keys
-- before it: retired_at is set and the private part wiped (''), so nobody
-- signs with them again, while the public part stays published in
-- /.well-known/jwks.json as long as events they may have signed are kept
-- (the purge deletes a key events_ttl after retired_at). A
-- key given as a file (--platform-key) is recorded here by its public part
-- only, so that replacing the file does not unpublish the key before it.
ALTER TABLE delivery_platform_keys ADD COLUMN public_jwk TEXT;
ALTER TABLE delivery_platform_keys ADD COLUMN retired_at INTEGER;
