package webhookd

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a delivery's webhook-timestamp may be from now
// for [Verify] to accept it.
const DefaultTolerance = 5 * time.Minute

// Errors returned by [Verify]; test with errors.Is.
var (
	ErrMissingHeader       = errors.New("webhookd: missing webhook-id, webhook-timestamp or webhook-signature header")
	ErrInvalidTimestamp    = errors.New("webhookd: webhook-timestamp is not a Unix time in seconds")
	ErrTimestampTooOld     = errors.New("webhookd: webhook-timestamp is too old")
	ErrTimestampTooNew     = errors.New("webhookd: webhook-timestamp is too far in the future")
	ErrInvalidSecret       = errors.New("webhookd: secret is not whsec_ followed by base64")
	ErrNoMatchingSignature = errors.New("webhookd: no matching signature")
)

// VerifyOption configures [Verify].
type VerifyOption func(*verifyConfig)

type verifyConfig struct {
	tolerance time.Duration
	now       time.Time
}

// WithTolerance sets how far webhook-timestamp may be from now, in either
// direction (default [DefaultTolerance]).
func WithTolerance(d time.Duration) VerifyOption {
	return func(c *verifyConfig) { c.tolerance = d }
}

// WithNow sets the time the timestamp is checked against (default
// time.Now()).
func WithNow(now time.Time) VerifyOption {
	return func(c *verifyConfig) { c.now = now }
}

// Verify checks a delivery's Standard Webhooks signature: headers
// webhook-id, webhook-timestamp and webhook-signature (space-separated
// "v1,<base64>" entries, any of which may match), body the request body as
// received, secret the subscription's "whsec_..." signing secret. It returns
// nil when a signature matches and the timestamp is within tolerance.
//
// After a secret rotation the server signs with both secrets for a while;
// verifying with either succeeds.
func Verify(secret string, headers http.Header, body []byte, opts ...VerifyOption) error {
	cfg := verifyConfig{tolerance: DefaultTolerance}
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.now.IsZero() {
		cfg.now = time.Now()
	}

	id := headers.Get("webhook-id")
	ts := headers.Get("webhook-timestamp")
	sigs := headers.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeader
	}
	seconds, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	sent := time.Unix(seconds, 0)
	if cfg.now.Sub(sent) > cfg.tolerance {
		return ErrTimestampTooOld
	}
	if sent.Sub(cfg.now) > cfg.tolerance {
		return ErrTimestampTooNew
	}

	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return ErrInvalidSecret
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.", id, ts)
	mac.Write(body)
	want := mac.Sum(nil)

	for _, entry := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrNoMatchingSignature
}

// Sign returns the webhook-signature entry ("v1,<base64>") for a message, as
// the server computes it. Useful to test receivers.
func Sign(secret, msgID string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return "", ErrInvalidSecret
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", msgID, timestamp)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}
