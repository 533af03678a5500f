package webhookd_test

import (
	"fmt"
	"net/http"
	"time"

	webhookd "github.com/webhookd/webhookd/clients/go"
)

func ExampleVerify() {
	// What a receiver gets (here the first shared test vector).
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	headers := http.Header{}
	headers.Set("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek")
	headers.Set("webhook-timestamp", "1614265330")
	headers.Set("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")

	// Received a minute after it was signed: within the default 5 minutes.
	now := time.Unix(1614265330, 0).Add(time.Minute)
	fmt.Println(webhookd.Verify(secret, headers, body, webhookd.WithNow(now)))
	// Ten minutes late: refused.
	fmt.Println(webhookd.Verify(secret, headers, body, webhookd.WithNow(now.Add(9*time.Minute))))
	// Output:
	// <nil>
	// webhookd: webhook-timestamp is too old
}
