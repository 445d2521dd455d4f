package sns

import (
	"fmt"
	"net/url"
	"strings"
)

// CheckCertURL applies the rules for a SigningCertURL: https, host
// sns.<region>.amazonaws.com or sns.<region>.amazonaws.com.cn (see
// IsSNSHost), the default port, no user info, no query or fragment, and the
// path SNS publishes its certificates at:
// /SimpleNotificationService-<32 hex digits>.pem, as in AWS's documented
// example (SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem)
// and every certificate URL recorded from SNS. Any other path on an SNS
// host is refused without a download, so forged messages cannot make the
// verifier fetch arbitrary paths. It never touches the network.
func CheckCertURL(raw string) error {
	u, err := checkSNSURL(raw)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCertURL, err)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return fmt.Errorf("%w: %.200q has a query or fragment", ErrCertURL, raw)
	}
	if u.RawPath != "" || !isCertPath(u.Path) {
		return fmt.Errorf("%w: %.200q is not an SNS certificate path (/SimpleNotificationService-<32 hex>.pem)", ErrCertURL, raw)
	}
	return nil
}

// isCertPath reports whether p is /SimpleNotificationService-<32 hex>.pem.
func isCertPath(p string) bool {
	id, ok := strings.CutPrefix(p, "/SimpleNotificationService-")
	if !ok {
		return false
	}
	if id, ok = strings.CutSuffix(id, ".pem"); !ok || len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
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
// sns.<region>.amazonaws.com.cn, letter case ignored, where region has
// the shape of an AWS region: two or more hyphen-separated groups of
// letters and a final group of digits (ap-southeast-1, us-gov-west-1,
// cn-north-1, us-isob-east-1).
//
// AWS's published pattern, ^sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?$,
// is looser: it also matches sns.s3-accelerate.amazonaws.com,
// sns.s3-us-west-2.amazonaws.com and sns.s3-external-1.amazonaws.com,
// which are S3 endpoints of a bucket named "sns" that anyone may own. A
// region's first group has no digit, which keeps every s3-... label out.
func IsSNSHost(host string) bool {
	host = strings.ToLower(host)
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
	return isRegion(region)
}

// isRegion reports whether s is letters-letters(-letters)*-digits, with at
// least two letters in each letter group and at most two digits.
func isRegion(s string) bool {
	groups := strings.Split(s, "-")
	if len(groups) < 3 {
		return false
	}
	last := groups[len(groups)-1]
	if len(last) < 1 || len(last) > 2 {
		return false
	}
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			return false
		}
	}
	for _, g := range groups[:len(groups)-1] {
		if len(g) < 2 {
			return false
		}
		for i := 0; i < len(g); i++ {
			if g[i] < 'a' || g[i] > 'z' {
				return false
			}
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
