package webhookd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/webhookd/webhookd/clients/go/webhooksv1"
)

// Option configures [Dial].
type Option func(*dialConfig) error

type dialConfig struct {
	insecure    bool
	tlsConfig   *tls.Config
	rootCAs     *x509.CertPool
	certs       []tls.Certificate
	serverName  string
	token       string
	block       bool
	dialOptions []grpc.DialOption
}

// WithToken sends `authorization: Bearer <token>` with every call. Over TLS
// only, unless [WithInsecure] is also given.
func WithToken(token string) Option {
	return func(c *dialConfig) error {
		c.token = token
		return nil
	}
}

// WithInsecure connects without TLS, and allows the bearer token to travel in
// plaintext. For development and loopback tests only.
func WithInsecure() Option {
	return func(c *dialConfig) error {
		c.insecure = true
		return nil
	}
}

// WithTLSConfig uses cfg (cloned) as the base TLS configuration. The other
// TLS options are applied on top of it.
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *dialConfig) error {
		c.tlsConfig = cfg.Clone()
		return nil
	}
}

// WithRootCAs verifies the server against pool instead of the system's roots.
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *dialConfig) error {
		c.rootCAs = pool
		return nil
	}
}

// WithRootCAFile verifies the server against the PEM certificates in path
// instead of the system's roots.
func WithRootCAFile(path string) Option {
	return func(c *dialConfig) error {
		pem, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("webhookd: root CAs: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("webhookd: root CAs: no PEM certificate in %s", path)
		}
		c.rootCAs = pool
		return nil
	}
}

// WithClientCertificate presents cert to the server (mTLS).
func WithClientCertificate(cert tls.Certificate) Option {
	return func(c *dialConfig) error {
		c.certs = append(c.certs, cert)
		return nil
	}
}

// WithClientCertificateFiles presents the PEM certificate and key in
// certFile and keyFile to the server (mTLS).
func WithClientCertificateFiles(certFile, keyFile string) Option {
	return func(c *dialConfig) error {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return fmt.Errorf("webhookd: client certificate: %w", err)
		}
		c.certs = append(c.certs, cert)
		return nil
	}
}

// WithServerName overrides the name the server's certificate is checked
// against (by default the host of the address).
func WithServerName(name string) Option {
	return func(c *dialConfig) error {
		c.serverName = name
		return nil
	}
}

// WithBlock makes [Dial] wait, within its context, until the connection is
// ready; without it Dial returns at once and connects in the background.
func WithBlock() Option {
	return func(c *dialConfig) error {
		c.block = true
		return nil
	}
}

// WithDialOptions passes extra options to grpc.NewClient (interceptors,
// keepalive, ...). Do not pass transport credentials here; use the TLS
// options or [WithInsecure].
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *dialConfig) error {
		c.dialOptions = append(c.dialOptions, opts...)
		return nil
	}
}

// Client is a connection to webhookd. It is safe for concurrent use.
type Client struct {
	conn     *grpc.ClientConn
	cc       grpc.ClientConnInterface // conn with the client's call options
	insecure bool
	owner    bool // Close closes conn

	subscriptions webhooksv1.SubscriptionServiceClient
	principals    webhooksv1.PrincipalServiceClient
	dialects      webhooksv1.DialectServiceClient
	events        webhooksv1.EventServiceClient
	deliveries    webhooksv1.DeliveryServiceClient
	apiKeys       webhooksv1.ApiKeyServiceClient
}

// Dial connects to the webhookd server at address ("host:port"). By default
// the connection uses TLS verified against the system's roots and sends no
// token. ctx bounds the wait for [WithBlock]; the connection itself outlives
// it. Close the client when done.
func Dial(ctx context.Context, address string, opts ...Option) (*Client, error) {
	var cfg dialConfig
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	var creds credentials.TransportCredentials
	if cfg.insecure {
		if cfg.tlsConfig != nil || cfg.rootCAs != nil || len(cfg.certs) > 0 || cfg.serverName != "" {
			return nil, errors.New("webhookd: WithInsecure cannot be combined with TLS options")
		}
		creds = insecure.NewCredentials()
	} else {
		tc := cfg.tlsConfig
		if tc == nil {
			tc = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		if cfg.rootCAs != nil {
			tc.RootCAs = cfg.rootCAs
		}
		if len(cfg.certs) > 0 {
			tc.Certificates = append(tc.Certificates, cfg.certs...)
		}
		if cfg.serverName != "" {
			tc.ServerName = cfg.serverName
		}
		creds = credentials.NewTLS(tc)
	}
	dialOpts := append([]grpc.DialOption{grpc.WithTransportCredentials(creds)}, cfg.dialOptions...)
	conn, err := grpc.NewClient(address, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("webhookd: dial %s: %w", address, err)
	}
	if cfg.block {
		if err := waitReady(ctx, conn); err != nil {
			conn.Close()
			return nil, fmt.Errorf("webhookd: dial %s: %w", address, err)
		}
	}
	c := newClient(conn, cfg.insecure, cfg.token)
	c.owner = true
	return c, nil
}

func waitReady(ctx context.Context, conn *grpc.ClientConn) error {
	conn.Connect()
	for {
		s := conn.GetState()
		if s == connectivity.Ready {
			return nil
		}
		if !conn.WaitForStateChange(ctx, s) {
			return ctx.Err()
		}
	}
}

func newClient(conn *grpc.ClientConn, insecure bool, token string) *Client {
	var cc grpc.ClientConnInterface = conn
	if token != "" {
		cc = &callOptionConn{conn: conn, opts: []grpc.CallOption{
			grpc.PerRPCCredentials(bearerToken{token: token, insecure: insecure}),
		}}
	}
	return &Client{
		conn:          conn,
		cc:            cc,
		insecure:      insecure,
		subscriptions: webhooksv1.NewSubscriptionServiceClient(cc),
		principals:    webhooksv1.NewPrincipalServiceClient(cc),
		dialects:      webhooksv1.NewDialectServiceClient(cc),
		events:        webhooksv1.NewEventServiceClient(cc),
		deliveries:    webhooksv1.NewDeliveryServiceClient(cc),
		apiKeys:       webhooksv1.NewApiKeyServiceClient(cc),
	}
}

// WithToken returns a client that shares c's connection but sends token
// instead (no token when empty). Closing the returned client does nothing;
// close c.
func (c *Client) WithToken(token string) *Client {
	return newClient(c.conn, c.insecure, token)
}

// Subscriptions returns the SubscriptionService client.
func (c *Client) Subscriptions() webhooksv1.SubscriptionServiceClient { return c.subscriptions }

// Principals returns the PrincipalService client.
func (c *Client) Principals() webhooksv1.PrincipalServiceClient { return c.principals }

// Dialects returns the DialectService client.
func (c *Client) Dialects() webhooksv1.DialectServiceClient { return c.dialects }

// Events returns the EventService client.
func (c *Client) Events() webhooksv1.EventServiceClient { return c.events }

// Deliveries returns the DeliveryService client.
func (c *Client) Deliveries() webhooksv1.DeliveryServiceClient { return c.deliveries }

// ApiKeys returns the ApiKeyService client (admin only).
func (c *Client) ApiKeys() webhooksv1.ApiKeyServiceClient { return c.apiKeys }

// Conn returns the connection with the client's token attached, for other
// services the server offers (grpc.health.v1, reflection).
func (c *Client) Conn() grpc.ClientConnInterface { return c.cc }

// Close closes the connection. It is a no-op on clients made by
// [Client.WithToken].
func (c *Client) Close() error {
	if !c.owner {
		return nil
	}
	return c.conn.Close()
}

// callOptionConn adds call options to every call made through it.
type callOptionConn struct {
	conn *grpc.ClientConn
	opts []grpc.CallOption
}

func (c *callOptionConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.conn.Invoke(ctx, method, args, reply, append(c.opts[:len(c.opts):len(c.opts)], opts...)...)
}

func (c *callOptionConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.conn.NewStream(ctx, desc, method, append(c.opts[:len(c.opts):len(c.opts)], opts...)...)
}

// bearerToken is per-RPC credentials sending `authorization: Bearer <token>`.
type bearerToken struct {
	token    string
	insecure bool
}

var _ credentials.PerRPCCredentials = bearerToken{}

func (b bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is false only when the caller chose WithInsecure.
func (b bearerToken) RequireTransportSecurity() bool { return !b.insecure }
