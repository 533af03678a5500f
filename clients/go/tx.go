package webhookd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/webhookd/webhookd/clients/go/webhooksv1"
)

// abortTimeout bounds the Abort sent when a transaction's callback fails; it
// runs even when the callback's context is already cancelled.
const abortTimeout = 10 * time.Second

// Tx is an open transaction inside [Client.InTransaction]. It is not safe
// for concurrent use.
type Tx struct {
	ctx      context.Context
	client   *Client
	id       string
	ttl      time.Duration
	prepared bool
	tx       *webhooksv1.Transaction
	results  []*webhooksv1.EventResult
}

// ID returns the transaction id.
func (tx *Tx) ID() string { return tx.id }

// Add prepares events in the transaction: when it returns nil they are stored
// durably, and they are delivered only if the transaction commits. An event
// id already prepared is a no-op. An error from Add should usually be
// returned from the callback, which aborts the transaction.
func (tx *Tx) Add(events ...*webhooksv1.Event) error {
	if len(events) == 0 {
		return nil
	}
	req := &webhooksv1.PrepareRequest{TransactionId: tx.id, Events: events}
	if tx.ttl > 0 && !tx.prepared {
		req.Ttl = durationpb.New(tx.ttl)
	}
	resp, err := tx.client.events.Prepare(tx.ctx, req)
	if err != nil {
		// A failed Prepare may still have reached the server.
		tx.prepared = true
		return err
	}
	tx.prepared = true
	tx.tx = resp.GetTransaction()
	tx.results = append(tx.results, resp.GetEventResults()...)
	return nil
}

// Transaction returns the transaction as of the last Prepare or Commit (nil
// before the first).
func (tx *Tx) Transaction() *webhooksv1.Transaction { return tx.tx }

// EventResults returns what each prepared event matched, in order of Add.
func (tx *Tx) EventResults() []*webhooksv1.EventResult { return tx.results }

// TxOption configures [Client.InTransaction].
type TxOption func(*Tx)

// WithTTL sets how long the transaction may stay prepared before it expires
// (the server caps it).
func WithTTL(d time.Duration) TxOption { return func(tx *Tx) { tx.ttl = d } }

// InTransaction runs fn in the transaction txID (a fresh id when empty).
// Events that fn adds with [Tx.Add] are prepared as they are added. When fn
// returns nil the transaction is committed and deliveries are created; when fn
// returns an error or panics, the transaction is aborted (in a deferred call,
// even if ctx is already cancelled) and nothing is delivered, and the error
// is returned (the panic goes on). A transaction to which nothing was added
// is neither committed nor aborted.
//
// If Commit itself fails the error is returned and the transaction is left
// as it is: ask [webhooksv1.EventServiceClient.GetTransaction] what became of
// it, or let it expire.
func (c *Client) InTransaction(ctx context.Context, txID string, fn func(tx *Tx) error, opts ...TxOption) (err error) {
	if txID == "" {
		txID = NewTransactionID()
	}
	tx := &Tx{ctx: ctx, client: c, id: txID}
	for _, opt := range opts {
		opt(tx)
	}

	committed := false
	defer func() {
		if committed || !tx.prepared {
			return
		}
		// Runs on a panic too (while it unwinds), without recovering it.
		abortCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		_, abortErr := c.events.Abort(abortCtx, &webhooksv1.AbortRequest{TransactionId: txID})
		// NOT_FOUND: nothing was stored (the first Prepare failed).
		if abortErr != nil && status.Code(abortErr) != codes.NotFound {
			err = errors.Join(err, fmt.Errorf("webhookd: abort transaction %q: %w", txID, abortErr))
		}
	}()

	if err := fn(tx); err != nil {
		return err
	}
	if !tx.prepared {
		return nil
	}
	resp, err := c.events.Commit(ctx, &webhooksv1.CommitRequest{TransactionId: txID})
	// Whatever happened, the deferred abort must not undo a commit that may
	// have reached the server.
	committed = true
	if err != nil {
		return err
	}
	tx.tx = resp.GetTransaction()
	return nil
}

// NewTransactionID returns a random transaction id, "tx_" and 32 hex digits.
func NewTransactionID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return "tx_" + hex.EncodeToString(b[:])
}
