package sns

import (
	"fmt"
	"net/url"
	"strings"
)

// CheckCertURL applies AWS's rules for a SigningCertURL: https, host
// sns.<region>.amazonaws.com or sns.<region>.amazonaws.com.cn, the default
// port, no user info, no query or fragment, and a path ending in ".pem".
// It never touches the network.
func CheckCertURL(raw string) error {
	u, err := checkSNSURL(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCertURL, err)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return fmt.Errorf("%w: %.200q has a query or fragment", ErrCertURL, raw)
	}
	if !strings.HasSuffix(u.Path, ".pem") {
		return fmt.Errorf("%w: %.200q does not name a .pem file", ErrCertURL, raw)
	}
	return nil
}

// CheckSubscribeURL applies the same host rules to a SubscribeURL and
// requires the ConfirmSubscription action, so confirming can only ever
// confirm a subscription.
func CheckSubscribeURL(raw string) error {
	u, err := checkSNSURL(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSubscribeURL, err)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil || q.Get("Action") != "ConfirmSubscription" || len(q["Action"]) != 1 {
		return fmt.Errorf("%w: %.200q is not a ConfirmSubscription link", ErrSubscribeURL, raw)
	}
	if u.Fragment != "" {
		return fmt.Errorf("%w: %.200q has a fragment", ErrSubscribeURL, raw)
	}
	return nil
}

func checkSNSURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%.200q is not a URL", raw)
	}
	if u.Scheme != "https" {
		return nil, fmt.Errorf("%.200q is not https", raw)
	}
	if u.Opaque != "" || u.User != nil {
		return nil, fmt.Errorf("%.200q has user info or an opaque part", raw)
	}
	if p := u.Port(); p != "" && p != "443" {
		return nil, fmt.Errorf("%.200q uses port %s", raw, p)
	}
	if !IsSNSHost(u.Hostname()) {
		return nil, fmt.Errorf("host %.100q is not sns.<region>.amazonaws.com", u.Hostname())
	}
	return u, nil
}

// IsSNSHost reports whether host is sns.<region>.amazonaws.com or
// sns.<region>.amazonaws.com.cn, where region is at least three letters,
// digits or hyphens (AWS's published pattern
// ^sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?$).
func IsSNSHost(host string) bool {
	rest, ok := strings.CutPrefix(host, "sns.")
	if !ok {
		return false
	}
	region, ok := strings.CutSuffix(rest, ".amazonaws.com")
	if !ok {
		if region, ok = strings.CutSuffix(rest, ".amazonaws.com.cn"); !ok {
			return false
		}
	}
	if len(region) < 3 {
		return false
	}
	for i := 0; i < len(region); i++ {
		c := region[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// IsTopicARN reports whether s looks like an SNS topic ARN:
// arn:<partition>:sns:<region>:<account>:<name>.
func IsTopicARN(s string) bool {
	parts := strings.Split(s, ":")
	if len(parts) != 6 || parts[0] != "arn" || !strings.HasPrefix(parts[1], "aws") || parts[2] != "sns" {
		return false
	}
	for _, p := range parts[3:] {
		if p == "" {
			return false
		}
	}
	return true
}
