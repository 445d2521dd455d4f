package sns

import (
	"errors"
	"testing"
)

func TestCheckCertURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{
		"https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
		"https://sns.us-gov-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
		"https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
		"https://sns.ap-southeast-1.amazonaws.com:443/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
		"https://sns.EU-WEST-1.amazonaws.com/SimpleNotificationService-0123456789ABCDEF0123456789ABCDEF.pem",
		// AWS's documented example and the certificates of recorded SNS messages.
		"https://sns.us-west-2.amazonaws.com/SimpleNotificationService-f3ecfb7224c7233fe7bb5f59f96de52f.pem",
		"https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-0d3805b6d188487ea00966f991ca85ec.pem",
		"https://sns.us-isob-east-1.amazonaws.com/SimpleNotificationService-9b8b327a734e4b5db66e525c2ac6ac6f.pem",
		"https://sns.il-central-1.amazonaws.com/SimpleNotificationService-9b8b327a734e4b5db66e525c2ac6ac6f.pem",
	} {
		if err := CheckCertURL(u); err != nil {
			t.Errorf("%s: rejected: %v", u, err)
		}
	}
	for name, u := range map[string]string{
		"http":                 "http://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-1.pem",
		"localhost":            "http://localhost:8000/SimpleNotificationService-0d3805b6d188487ea00966f991ca85ec.pem",
		"other host":           "https://sns.evil.com/SimpleNotificationService-1.pem",
		"suffix trick":         "https://sns.ap-southeast-1.amazonaws.com.evil.com/SimpleNotificationService-1.pem",
		"no sns prefix":        "https://s3.ap-southeast-1.amazonaws.com/bucket/cert.pem",
		"bucket host":          "https://evil.s3.amazonaws.com/sns.ap-southeast-1.amazonaws.com/x.pem",
		"prefix trick":         "https://xsns.ap-southeast-1.amazonaws.com/x.pem",
		"short region":         "https://sns.ab.amazonaws.com/x.pem",
		"dotted region":        "https://sns.a.b.c.amazonaws.com/x.pem",
		"bare amazonaws":       "https://sns.amazonaws.com/x.pem",
		"userinfo":             "https://sns.ap-southeast-1.amazonaws.com@evil.com/x.pem",
		"userinfo on sns host": "https://user:pw@sns.ap-southeast-1.amazonaws.com/x.pem",
		"other port":           "https://sns.ap-southeast-1.amazonaws.com:8443/x.pem",
		"port 80":              "https://sns.ap-southeast-1.amazonaws.com:80/x.pem",
		"no .pem":              "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-1",
		".pem in query only":   "https://sns.ap-southeast-1.amazonaws.com/x?f=.pem",
		"query":                "https://sns.ap-southeast-1.amazonaws.com/x.pem?x=1",
		"empty query":          "https://sns.ap-southeast-1.amazonaws.com/x.pem?",
		"fragment":             "https://sns.ap-southeast-1.amazonaws.com/x.pem#f",
		"trailing dot":         "https://sns.ap-southeast-1.amazonaws.com./x.pem",
		"unicode host":         "https://sns.ap-southeast-1.amazonaws.com\u3002evil/x.pem",
		"relative":             "//sns.ap-southeast-1.amazonaws.com/x.pem",
		"opaque":               "https:sns.ap-southeast-1.amazonaws.com/x.pem",
		"empty":                "",
		"not a URL":            "https://sns.ap-southeast-1.amazonaws.com/%zz.pem",
		"backslash":            "https://sns.ap-southeast-1.amazonaws.com\\@evil.com/x.pem",
		"uppercase scheme":     "HTTPS://sns.ap-southeast-1.amazonaws.com.evil.com/x.pem",
		// Only SNS's certificate path shape: anything else on an SNS host
		// is refused without a download.
		"other file":        "https://sns.ap-southeast-1.amazonaws.com/x.pem",
		"short id":          "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-1.pem",
		"31 hex":            "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcde.pem",
		"33 hex":            "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef0.pem",
		"not hex":           "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdeg.pem",
		"subdirectory":      "https://sns.ap-southeast-1.amazonaws.com/x/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
		"escaped path":      "https://sns.ap-southeast-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcde%66.pem",
		"traversal":         "https://sns.ap-southeast-1.amazonaws.com/../SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
		"other prefix case": "https://sns.ap-southeast-1.amazonaws.com/simplenotificationservice-0123456789abcdef0123456789abcdef.pem",
		// S3 endpoints of a bucket named "sns" (anyone may own one).
		"s3 accelerate": "https://sns.s3-accelerate.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
		"s3 legacy":     "https://sns.s3-us-west-2.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
		"s3 external":   "https://sns.s3-external-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
		"s3 website":    "https://sns.s3-website-us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
		"s3 dualstack":  "https://sns.s3.dualstack.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
		"s3 china":      "https://sns.s3-cn-north-1.amazonaws.com.cn/SimpleNotificationService-0123456789abcdef0123456789abcdef.pem",
	} {
		if err := CheckCertURL(u); !errors.Is(err, ErrCertURL) {
			t.Errorf("%s (%q): err = %v, want ErrCertURL", name, u, err)
		}
	}
}

func TestCheckSubscribeURL(t *testing.T) {
	t.Parallel()
	good := "https://sns.ap-southeast-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:ap-southeast-1:123456789012:t&Token=abc"
	if err := CheckSubscribeURL(good); err != nil {
		t.Fatalf("rejected: %v", err)
	}
	for name, u := range map[string]string{
		"http":           "http://sns.ap-southeast-1.amazonaws.com/?Action=ConfirmSubscription",
		"other host":     "https://sns.evil.com/?Action=ConfirmSubscription",
		"suffix trick":   "https://sns.ap-southeast-1.amazonaws.com.evil.com/?Action=ConfirmSubscription",
		"localhost":      "http://localhost:8000",
		"other action":   "https://sns.ap-southeast-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
		"no action":      "https://sns.ap-southeast-1.amazonaws.com/?TopicArn=x",
		"two actions":    "https://sns.ap-southeast-1.amazonaws.com/?Action=ConfirmSubscription&Action=DeleteTopic",
		"bad query":      "https://sns.ap-southeast-1.amazonaws.com/?Action=ConfirmSubscription&x=%zz",
		"fragment":       "https://sns.ap-southeast-1.amazonaws.com/?Action=ConfirmSubscription#x",
		"userinfo":       "https://sns.ap-southeast-1.amazonaws.com@evil.com/?Action=ConfirmSubscription",
		"other port":     "https://sns.ap-southeast-1.amazonaws.com:444/?Action=ConfirmSubscription",
		"empty":          "",
		"not https link": "mailto:x@sns.ap-southeast-1.amazonaws.com",
	} {
		if err := CheckSubscribeURL(u); !errors.Is(err, ErrSubscribeURL) {
			t.Errorf("%s (%q): err = %v, want ErrSubscribeURL", name, u, err)
		}
	}
}

func TestIsTopicARN(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"arn:aws:sns:ap-southeast-1:123456789012:bkash-merchant-ipn": true,
		"arn:aws-cn:sns:cn-north-1:123456789012:t":                   true,
		"arn:aws:sqs:ap-southeast-1:123456789012:q":                  false,
		"arn:aws:sns:ap-southeast-1:123456789012":                    false,
		"arn:aws:sns:ap-southeast-1::t":                              false,
		"arn:aws:sns:ap-southeast-1:1:t:extra":                       false,
		"urn:aws:sns:ap-southeast-1:1:t":                             false,
		"arn:gcp:sns:r:1:t":                                          false,
		"":                                                           false,
	} {
		if got := IsTopicARN(s); got != want {
			t.Errorf("IsTopicARN(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestIsSNSHostAcceptsOnlyRegionShapedHosts(t *testing.T) {
	t.Parallel()
	for host, want := range map[string]bool{
		"sns.ap-southeast-1.amazonaws.com":       true,
		"sns.us-gov-west-1.amazonaws.com":        true,
		"sns.cn-north-1.amazonaws.com.cn":        true,
		"sns.cn-northwest-1.amazonaws.com.cn":    true,
		"sns.us-isob-east-1.amazonaws.com":       true,
		"sns.me-central-1.amazonaws.com":         true,
		"SNS.AP-SOUTHEAST-1.AMAZONAWS.COM":       true,
		"sns.s3-accelerate.amazonaws.com":        false,
		"sns.s3-us-west-2.amazonaws.com":         false,
		"sns.s3-external-1.amazonaws.com":        false,
		"sns.s3-website-us-east-1.amazonaws.com": false,
		"sns.us-east.amazonaws.com":              false,
		"sns.us-1.amazonaws.com":                 false,
		"sns.us-east-123.amazonaws.com":          false,
		"sns.u-east-1.amazonaws.com":             false,
		"sns.us--1.amazonaws.com":                false,
		"sns.us-east-1-.amazonaws.com":           false,
		"sns.us_east-1.amazonaws.com":            false,
		"sns.abc.amazonaws.com":                  false,
		"sns.amazonaws.com":                      false,
	} {
		if got := IsSNSHost(host); got != want {
			t.Errorf("IsSNSHost(%q) = %v, want %v", host, got, want)
		}
	}
}
