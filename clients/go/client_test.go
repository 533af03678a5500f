package webhookd_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	webhookd "github.com/webhookd/webhookd/clients/go"
	"github.com/webhookd/webhookd/clients/go/webhooksv1"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// userAdded is a "user added" event in site that everyone may see.
func userAdded(site, id, body string) *webhooksv1.Event {
	return &webhooksv1.Event{
		Id:            id,
		Site:          site,
		ResourceTypes: []string{"user", "principal"},
		EventTypes:    []string{"added"},
		Representations: map[string]*webhooksv1.Representation{
			"webhook-delivery": {Body: []byte(body)},
		},
		Acl: []*webhooksv1.AclEntry{{
			Action:     webhooksv1.AclEntry_ALLOW,
			Principal:  "system.Everyone",
			Permission: "view",
		}},
	}
}

// uniqueSite returns a site of its own under /gosdk/<name>, so that runs
// against the same server (go test -count=N) do not match each other's
// subscriptions.
func uniqueSite(name string) string {
	return "/gosdk/" + name + "/" + strings.TrimPrefix(webhookd.NewTransactionID(), "tx_")
}

// subscribe creates, as the subscriber, a subscription to users added in
// site, delivered to target.
func subscribe(t *testing.T, ctx context.Context, site, target string) *webhooksv1.Subscription {
	t.Helper()
	sub, err := dial(t, subscriberToken).Subscriptions().CreateSubscription(ctx,
		&webhooksv1.CreateSubscriptionRequest{Subscription: &webhooksv1.Subscription{
			Site:         site,
			ResourceType: "user",
			EventType:    "added",
			TargetUrl:    target,
		}})
	if err != nil {
		t.Fatalf("CreateSubscription: %v", err)
	}
	if sub.GetOwner() != subscriberName {
		t.Errorf("owner = %q, want %q", sub.GetOwner(), subscriberName)
	}
	if !strings.HasPrefix(sub.GetSecret(), "whsec_") {
		t.Fatalf("secret = %q, want whsec_...", sub.GetSecret())
	}
	t.Cleanup(func() {
		_, err := dial(t, subscriberToken).Subscriptions().DeleteSubscription(context.Background(),
			&webhooksv1.DeleteSubscriptionRequest{Id: sub.GetId()})
		if err != nil {
			t.Errorf("DeleteSubscription: %v", err)
		}
	})
	return sub
}

func transaction(t *testing.T, ctx context.Context, id string) *webhooksv1.Transaction {
	t.Helper()
	got, err := dial(t, publisherToken).Events().GetTransaction(ctx,
		&webhooksv1.GetTransactionRequest{TransactionId: id})
	if err != nil {
		t.Fatalf("GetTransaction(%s): %v", id, err)
	}
	return got
}

func TestDeliveryIsSignedAndVerifies(t *testing.T) {
	ctx := testContext(t)
	recv := newReceiver(t)
	site := uniqueSite("deliver")
	sub := subscribe(t, ctx, site, recv.URL("/hooks/users"))

	publisher := dial(t, publisherToken)
	txID := webhookd.NewTransactionID()
	body := `{"id":"u-1","name":"Ada"}`
	var tx *webhookd.Tx
	err := publisher.InTransaction(ctx, txID, func(t *webhookd.Tx) error {
		tx = t
		return t.Add(userAdded(site+"/ops", "evt-1", body))
	})
	if err != nil {
		t.Fatalf("InTransaction: %v", err)
	}
	if got := tx.EventResults(); len(got) != 1 || got[0].GetMatchedSubscriptions() != 1 {
		t.Errorf("event results = %v, want one event matching 1 subscription", got)
	}
	if got := tx.Transaction().GetState(); got != webhooksv1.Transaction_COMMITTED {
		t.Errorf("state after InTransaction = %v, want COMMITTED", got)
	}

	got := recv.next(t, 30*time.Second)
	if got.Method != "POST" || got.Path != "/hooks/users" {
		t.Errorf("request = %s %s, want POST /hooks/users", got.Method, got.Path)
	}
	if string(got.Body) != body {
		t.Errorf("body = %q, want %q", got.Body, body)
	}
	if err := webhookd.Verify(sub.GetSecret(), got.Header, got.Body); err != nil {
		t.Errorf("Verify: %v (headers %v)", err, got.Header)
	}
	// The same request with its body changed, or checked with another
	// secret, or an hour later, does not verify.
	if err := webhookd.Verify(sub.GetSecret(), got.Header, append(got.Body, ' ')); !errors.Is(err, webhookd.ErrNoMatchingSignature) {
		t.Errorf("Verify(changed body) = %v, want ErrNoMatchingSignature", err)
	}
	other := "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	if err := webhookd.Verify(other, got.Header, got.Body); !errors.Is(err, webhookd.ErrNoMatchingSignature) {
		t.Errorf("Verify(other secret) = %v, want ErrNoMatchingSignature", err)
	}
	if err := webhookd.Verify(sub.GetSecret(), got.Header, got.Body, webhookd.WithNow(time.Now().Add(time.Hour))); !errors.Is(err, webhookd.ErrTimestampTooOld) {
		t.Errorf("Verify(an hour later) = %v, want ErrTimestampTooOld", err)
	}

	state := transaction(t, ctx, txID)
	if state.GetState() != webhooksv1.Transaction_COMMITTED || state.GetDeliveryCount() != 1 {
		t.Errorf("GetTransaction = %v, want COMMITTED with 1 delivery", state)
	}

	// The subscriber sees the attempt, under the id the receiver got.
	subscriber := dial(t, subscriberToken)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := subscriber.Deliveries().ListAttempts(ctx,
			&webhooksv1.ListAttemptsRequest{SubscriptionId: sub.GetId()})
		if err != nil {
			t.Fatalf("ListAttempts: %v", err)
		}
		if a := resp.GetAttempts(); len(a) == 1 && a[0].GetStatus() == webhooksv1.DeliveryAttempt_SUCCESSFUL {
			if a[0].GetDeliveryId() != got.Header.Get("webhook-id") {
				t.Errorf("attempt delivery id %q, webhook-id %q", a[0].GetDeliveryId(), got.Header.Get("webhook-id"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("attempts = %v, want one SUCCESSFUL", resp.GetAttempts())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestFailedTransactionIsAbortedAndDeliversNothing(t *testing.T) {
	ctx := testContext(t)
	recv := newReceiver(t)
	site := uniqueSite("abort")
	subscribe(t, ctx, site, recv.URL("/hooks"))
	publisher := dial(t, publisherToken)

	// fn returns an error after adding an event: aborted.
	failed := webhookd.NewTransactionID()
	errBusiness := errors.New("the user was not created after all")
	err := publisher.InTransaction(ctx, failed, func(tx *webhookd.Tx) error {
		if err := tx.Add(userAdded(site, "evt-aborted", `{"aborted":true}`)); err != nil {
			return err
		}
		if got := transaction(t, ctx, failed).GetState(); got != webhooksv1.Transaction_PREPARED {
			t.Errorf("state inside fn = %v, want PREPARED", got)
		}
		return errBusiness
	})
	if !errors.Is(err, errBusiness) {
		t.Fatalf("InTransaction = %v, want the callback's error", err)
	}
	if got := transaction(t, ctx, failed).GetState(); got != webhooksv1.Transaction_ABORTED {
		t.Errorf("state = %v, want ABORTED", got)
	}

	// fn panics: aborted too, and the panic goes on.
	panicked := webhookd.NewTransactionID()
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want the callback's panic", p)
			}
		}()
		_ = publisher.InTransaction(ctx, panicked, func(tx *webhookd.Tx) error {
			if err := tx.Add(userAdded(site, "evt-panicked", `{"panicked":true}`)); err != nil {
				t.Errorf("Add: %v", err)
			}
			panic("boom")
		})
	}()
	if got := transaction(t, ctx, panicked).GetState(); got != webhooksv1.Transaction_ABORTED {
		t.Errorf("state after panic = %v, want ABORTED", got)
	}

	// A committed transaction after them is delivered, and is the only
	// delivery the receiver ever gets.
	err = publisher.InTransaction(ctx, "", func(tx *webhookd.Tx) error {
		return tx.Add(userAdded(site, "evt-committed", `{"committed":true}`))
	})
	if err != nil {
		t.Fatalf("InTransaction: %v", err)
	}
	if got := recv.next(t, 30*time.Second); string(got.Body) != `{"committed":true}` {
		t.Errorf("first delivery = %q, want the committed event", got.Body)
	}
	time.Sleep(1500 * time.Millisecond)
	if all := recv.requests(); len(all) != 1 {
		for _, r := range all {
			t.Logf("delivered: %q", r.Body)
		}
		t.Errorf("receiver got %d requests, want 1", len(all))
	}
}

func TestTransactionWithNothingAddedIsNotSent(t *testing.T) {
	ctx := testContext(t)
	id := webhookd.NewTransactionID()
	if err := dial(t, publisherToken).InTransaction(ctx, id, func(*webhookd.Tx) error { return nil }); err != nil {
		t.Fatalf("InTransaction: %v", err)
	}
	_, err := dial(t, publisherToken).Events().GetTransaction(ctx, &webhooksv1.GetTransactionRequest{TransactionId: id})
	if got := webhookd.Code(err); got != codes.NotFound {
		t.Errorf("GetTransaction: %v, want NOT_FOUND", err)
	}
}

func TestInvalidEventAbortsWithFieldError(t *testing.T) {
	ctx := testContext(t)
	id := webhookd.NewTransactionID()
	err := dial(t, publisherToken).InTransaction(ctx, id, func(tx *webhookd.Tx) error {
		return tx.Add(&webhooksv1.Event{Site: "/gosdk/invalid", EventTypes: []string{"added"}})
	})
	apiErr, ok := webhookd.AsAPIError(err)
	if !ok {
		t.Fatalf("InTransaction = %v, want an API error", err)
	}
	if apiErr.Code != codes.InvalidArgument || !strings.HasPrefix(apiErr.Field, "events[0].resource_types") {
		t.Errorf("error = %+v, want INVALID_ARGUMENT on events[0].resource_types", apiErr)
	}
}

func TestBadRequestNamesTheField(t *testing.T) {
	ctx := testContext(t)
	_, err := dial(t, subscriberToken).Subscriptions().CreateSubscription(ctx,
		&webhooksv1.CreateSubscriptionRequest{Subscription: &webhooksv1.Subscription{
			Site:         "NOAA",
			ResourceType: "user",
			EventType:    "added",
			TargetUrl:    "http://127.0.0.1:9/hooks",
		}})
	apiErr, ok := webhookd.AsAPIError(err)
	if !ok {
		t.Fatalf("CreateSubscription = %v, want an API error", err)
	}
	if apiErr.Code != codes.InvalidArgument {
		t.Errorf("code = %v, want InvalidArgument", apiErr.Code)
	}
	if apiErr.Field != "subscription.site" {
		t.Errorf("field = %q, want subscription.site (message %q)", apiErr.Field, apiErr.Message)
	}
	if apiErr.Message == "" || strings.HasPrefix(apiErr.Message, "subscription.site") {
		t.Errorf("message = %q, want the problem without the field", apiErr.Message)
	}
	if webhookd.Code(err) != codes.InvalidArgument {
		t.Errorf("Code(err) = %v", webhookd.Code(err))
	}
}

func TestUnauthenticatedCallIsRefused(t *testing.T) {
	ctx := testContext(t)
	for name, client := range map[string]*webhookd.Client{
		"no token":      dial(t, ""),
		"unknown token": dial(t, "not-a-configured-token-000"),
	} {
		_, err := client.Subscriptions().ListSubscriptions(ctx, &webhooksv1.ListSubscriptionsRequest{})
		if got := webhookd.Code(err); got != codes.Unauthenticated {
			t.Errorf("%s: ListSubscriptions: %v, want UNAUTHENTICATED", name, err)
		}
	}
	// The same connection with a token is let in.
	if _, err := dial(t, "").WithToken(adminToken).Dialects().ListDialects(ctx, &webhooksv1.ListDialectsRequest{}); err != nil {
		t.Errorf("ListDialects with a token: %v", err)
	}
}

func TestRoleIsChecked(t *testing.T) {
	ctx := testContext(t)
	err := dial(t, subscriberToken).InTransaction(ctx, "", func(tx *webhookd.Tx) error {
		return tx.Add(userAdded("/gosdk/role", "evt-1", `{}`))
	})
	if got := webhookd.Code(err); got != codes.PermissionDenied {
		t.Errorf("a subscriber's Prepare: %v, want PERMISSION_DENIED", err)
	}
}

func TestConnServesHealth(t *testing.T) {
	ctx := testContext(t)
	resp, err := healthpb.NewHealthClient(dial(t, adminToken).Conn()).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatalf("Health.Check: %v", err)
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health = %v, want SERVING", resp.GetStatus())
	}
}

func TestDialWithBlock(t *testing.T) {
	ctx := testContext(t)
	c, err := webhookd.Dial(ctx, shared.addr, webhookd.WithInsecure(), webhookd.WithBlock())
	if err != nil {
		t.Fatalf("Dial(WithBlock): %v", err)
	}
	c.Close()

	// Nothing listens on port 1: the wait ends with the context.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if c, err := webhookd.Dial(short, "127.0.0.1:1", webhookd.WithInsecure(), webhookd.WithBlock()); err == nil {
		c.Close()
		t.Errorf("Dial(WithBlock) to a closed port succeeded")
	}
	if _, err := webhookd.Dial(ctx, shared.addr, webhookd.WithInsecure(), webhookd.WithServerName("x")); err == nil {
		t.Errorf("Dial(WithInsecure, WithServerName) succeeded, want an error")
	}
}
