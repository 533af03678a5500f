package webhookd_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	webhookd "github.com/webhookd/webhookd/clients/go"
)

// The shared Standard Webhooks vectors in testdata/webhook_signatures.json.
type vector struct {
	Why       string `json:"why"`
	Secret    string `json:"secret"`
	MsgID     string `json:"msg_id"`
	Timestamp int64  `json:"timestamp"`
	Body      string `json:"body"`
	Signature string `json:"signature"`
}

type vectors struct {
	Valid    []vector `json:"valid"`
	Invalid  []vector `json:"invalid"`
	Rotation struct {
		vector
		NewSecret string `json:"new_secret"`
		OldSecret string `json:"old_secret"`
	} `json:"rotation"`
	ToleranceSeconds int64 `json:"tolerance_seconds"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "webhook_signatures.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Valid) == 0 || len(v.Invalid) == 0 || v.Rotation.Signature == "" {
		t.Fatalf("vectors incomplete: %+v", v)
	}
	return v
}

func (v vector) headers() http.Header {
	h := http.Header{}
	h.Set("webhook-id", v.MsgID)
	h.Set("webhook-timestamp", strconv.FormatInt(v.Timestamp, 10))
	h.Set("webhook-signature", v.Signature)
	return h
}

func (v vector) sent() time.Time { return time.Unix(v.Timestamp, 0) }

func TestVerifyAcceptsValidVectors(t *testing.T) {
	for i, v := range loadVectors(t).Valid {
		if err := webhookd.Verify(v.Secret, v.headers(), []byte(v.Body), webhookd.WithNow(v.sent())); err != nil {
			t.Errorf("valid[%d] (%s): Verify = %v", i, v.MsgID, err)
		}
		sig, err := webhookd.Sign(v.Secret, v.MsgID, v.Timestamp, []byte(v.Body))
		if err != nil || sig != v.Signature {
			t.Errorf("valid[%d]: Sign = %q, %v; want %q", i, sig, err, v.Signature)
		}
	}
}

func TestVerifyRejectsInvalidVectors(t *testing.T) {
	for i, v := range loadVectors(t).Invalid {
		err := webhookd.Verify(v.Secret, v.headers(), []byte(v.Body), webhookd.WithNow(v.sent()))
		if !errors.Is(err, webhookd.ErrNoMatchingSignature) {
			t.Errorf("invalid[%d] (%s): Verify = %v, want ErrNoMatchingSignature", i, v.Why, err)
		}
	}
}

func TestVerifyAcceptsEitherSecretAfterRotation(t *testing.T) {
	r := loadVectors(t).Rotation
	for _, secret := range []string{r.NewSecret, r.OldSecret} {
		if err := webhookd.Verify(secret, r.headers(), []byte(r.Body), webhookd.WithNow(r.sent())); err != nil {
			t.Errorf("Verify(%s) = %v", secret, err)
		}
	}
	third := loadVectors(t).Valid[3].Secret
	if err := webhookd.Verify(third, r.headers(), []byte(r.Body), webhookd.WithNow(r.sent())); !errors.Is(err, webhookd.ErrNoMatchingSignature) {
		t.Errorf("Verify(a third secret) = %v, want ErrNoMatchingSignature", err)
	}
}

func TestVerifyChecksTimestampTolerance(t *testing.T) {
	all := loadVectors(t)
	tolerance := time.Duration(all.ToleranceSeconds) * time.Second
	if tolerance != webhookd.DefaultTolerance {
		t.Errorf("vectors' tolerance %v, DefaultTolerance %v", tolerance, webhookd.DefaultTolerance)
	}
	v := all.Valid[0]
	body := []byte(v.Body)
	for _, c := range []struct {
		name string
		now  time.Time
		opts []webhookd.VerifyOption
		want error
	}{
		{"at the edge, late", v.sent().Add(tolerance), nil, nil},
		{"at the edge, early", v.sent().Add(-tolerance), nil, nil},
		{"stale", v.sent().Add(tolerance + time.Second), nil, webhookd.ErrTimestampTooOld},
		{"a day stale", v.sent().Add(24 * time.Hour), nil, webhookd.ErrTimestampTooOld},
		{"from the future", v.sent().Add(-tolerance - time.Second), nil, webhookd.ErrTimestampTooNew},
		{"stale, wider tolerance", v.sent().Add(time.Hour), []webhookd.VerifyOption{webhookd.WithTolerance(2 * time.Hour)}, nil},
		{"narrower tolerance", v.sent().Add(time.Minute), []webhookd.VerifyOption{webhookd.WithTolerance(30 * time.Second)}, webhookd.ErrTimestampTooOld},
	} {
		opts := append([]webhookd.VerifyOption{webhookd.WithNow(c.now)}, c.opts...)
		if err := webhookd.Verify(v.Secret, v.headers(), body, opts...); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
	}
	// Without WithNow the clock is now: the vector is years old.
	if err := webhookd.Verify(v.Secret, v.headers(), body); !errors.Is(err, webhookd.ErrTimestampTooOld) {
		t.Errorf("Verify(now) = %v, want ErrTimestampTooOld", err)
	}
}

func TestVerifyRejectsMalformedInput(t *testing.T) {
	v := loadVectors(t).Valid[0]
	body := []byte(v.Body)
	now := webhookd.WithNow(v.sent())
	for _, name := range []string{"webhook-id", "webhook-timestamp", "webhook-signature"} {
		h := v.headers()
		h.Del(name)
		if err := webhookd.Verify(v.Secret, h, body, now); !errors.Is(err, webhookd.ErrMissingHeader) {
			t.Errorf("without %s: Verify = %v, want ErrMissingHeader", name, err)
		}
	}
	h := v.headers()
	h.Set("webhook-timestamp", "yesterday")
	if err := webhookd.Verify(v.Secret, h, body, now); !errors.Is(err, webhookd.ErrInvalidTimestamp) {
		t.Errorf("bad timestamp: Verify = %v, want ErrInvalidTimestamp", err)
	}
	if err := webhookd.Verify("whsec_***", v.headers(), body, now); !errors.Is(err, webhookd.ErrInvalidSecret) {
		t.Errorf("bad secret: Verify = %v, want ErrInvalidSecret", err)
	}
	for _, sig := range []string{"v1,not-base64!", "v1", "", "v1," + v.Signature[3:10]} {
		h := v.headers()
		h.Set("webhook-signature", sig)
		if err := webhookd.Verify(v.Secret, h, body, now); err == nil {
			t.Errorf("signature %q: Verify = nil, want an error", sig)
		}
	}
	// A valid entry among others that do not match verifies.
	h = v.headers()
	h.Set("webhook-signature", "v1a,xyz v1,AAAA "+v.Signature+" v2,foo")
	if err := webhookd.Verify(v.Secret, h, body, now); err != nil {
		t.Errorf("several entries: Verify = %v", err)
	}
	// The secret without its whsec_ prefix works too.
	if err := webhookd.Verify(v.Secret[len("whsec_"):], v.headers(), body, now); err != nil {
		t.Errorf("secret without prefix: Verify = %v", err)
	}
}
