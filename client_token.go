package bkash

import "context"

// Token returns the access token the client is using, granting one (POST
// token/grant, or token/refresh when a refresh token is cached) if it has
// none that is still fresh. Retry class: read. Ordinary calls obtain their
// token themselves; Token serves connection checks and monitoring (report
// ExpiresAt, never the token). It counts against the renewal budget like any
// renewal. The Token is a copy: changing it does not change the client's.
func (c *Client) Token(ctx context.Context) (*Token, error) {
	t, err := c.tokens.token(ctx)
	if err != nil {
		return nil, err
	}
	cp := *t
	return &cp, nil
}
