// Package webhookd is the Go client of webhookd, the webhook delivery service.
//
// The generated gRPC stubs live in package webhooksv1
// (github.com/webhookd/webhookd/clients/go/webhooksv1); this package adds a
// thin layer on top of them:
//
//   - [Dial] connects with TLS (or, for development, plaintext) and a bearer
//     token, and hands out the five service clients;
//   - [Client.InTransaction] prepares events, commits when the callback
//     succeeds and aborts when it fails or panics;
//   - [Verify] checks a delivery's Standard Webhooks signature on the
//     receiving side;
//   - [AsAPIError] turns a failed call into its gRPC code and the request
//     field the server objected to.
package webhookd
