package state

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// DefaultLocation is the state directory when none is chosen.
const DefaultLocation = ".fabplan"

// Location is a parsed --state value.
type Location struct {
	Dir string // a local directory, or "" for a blob location
	// A blob location:
	Account   string
	Container string
	Prefix    string // without leading or trailing slash; may be ""
	Endpoint  string // https://ACCOUNT.blob.core.windows.net, or the https form's host
}

// IsBlob reports whether the location is in Azure Blob Storage.
func (l Location) IsBlob() bool { return l.Dir == "" }

func (l Location) String() string {
	if !l.IsBlob() {
		return l.Dir
	}
	s := "azblob://" + l.Account + "/" + l.Container
	if l.Prefix != "" {
		s += "/" + l.Prefix
	}
	return s
}

// ParseLocation reads a --state value: a directory, azblob://ACCOUNT/CONTAINER[/PREFIX], or
// https://ACCOUNT.blob.core.windows.net/CONTAINER[/PREFIX] (any blob endpoint host of the account).
func ParseLocation(s string) (Location, error) {
	if s == "" {
		return Location{Dir: DefaultLocation}, nil
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return Location{Dir: s}, nil
	}
	bad := func(why string) (Location, error) {
		return Location{}, fmt.Errorf("state location %q: %s; use a directory, azblob://ACCOUNT/CONTAINER/PREFIX "+
			"or https://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX", s, why)
	}
	var loc Location
	var path string
	switch scheme {
	case "azblob":
		loc.Account, path, _ = strings.Cut(rest, "/")
		loc.Endpoint = "https://" + loc.Account + ".blob.core.windows.net"
	case "https":
		u, err := url.Parse(s)
		if err != nil {
			return bad(err.Error())
		}
		if u.RawQuery != "" || u.User != nil {
			return bad("it must not carry credentials (a SAS goes in AZURE_STORAGE_SAS_TOKEN)")
		}
		account, _, ok := strings.Cut(u.Hostname(), ".")
		if !ok || !strings.Contains(u.Hostname(), ".blob.") {
			return bad("the host is not a blob endpoint (ACCOUNT.blob.core.windows.net)")
		}
		loc.Account, loc.Endpoint, path = account, "https://"+u.Host, strings.TrimPrefix(u.Path, "/")
	default:
		return bad("unknown scheme " + scheme)
	}
	loc.Container, loc.Prefix, _ = strings.Cut(strings.Trim(path, "/"), "/")
	if loc.Account == "" || loc.Container == "" {
		return bad("it names no account or no container")
	}
	return loc, nil
}

// Options say how Open reaches a blob location.
type Options struct {
	// Getenv reads AZURE_STORAGE_CONNECTION_STRING and AZURE_STORAGE_SAS_TOKEN.
	Getenv func(string) string
	// Credential is the identity used when neither is set: fabplan's Fabric identity, which needs
	// the role Storage Blob Data Contributor. It is called only for a blob location.
	Credential func() (azcore.TokenCredential, error)
	// Transport replaces the HTTP client (tests).
	Transport policy.Transporter
	// TryTimeout bounds one attempt of a storage call; default 20 s.
	TryTimeout time.Duration
}

// Open returns the store at loc.
func Open(loc Location, opts Options) (Store, error) {
	if !loc.IsBlob() {
		return NewLocal(loc.Dir), nil
	}
	if opts.TryTimeout <= 0 {
		opts.TryTimeout = 20 * time.Second
	}
	// The SDK's retry (not fabric's): storage has no Retry-After minutes, no creates to reconcile, and
	// the journal's appends are made safe to repeat by their append-position condition.
	co := &container.ClientOptions{ClientOptions: policy.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: 4, TryTimeout: opts.TryTimeout, RetryDelay: 250 * time.Millisecond,
			MaxRetryDelay: 4 * time.Second},
		Telemetry: policy.TelemetryOptions{ApplicationID: "fabplan"},
		Transport: opts.Transport,
	}}
	getenv := opts.Getenv
	var (
		c   *container.Client
		err error
	)
	switch cs, sas := getenv("AZURE_STORAGE_CONNECTION_STRING"), getenv("AZURE_STORAGE_SAS_TOKEN"); {
	case cs != "":
		if name := connAccount(cs); name != "" && !strings.EqualFold(name, loc.Account) {
			return nil, fmt.Errorf("state location %s names account %s, but AZURE_STORAGE_CONNECTION_STRING is for "+
				"account %s", loc, loc.Account, name)
		}
		c, err = container.NewClientFromConnectionString(cs, loc.Container, co)
	case sas != "":
		c, err = container.NewClientWithNoCredential(loc.Endpoint+"/"+loc.Container+"?"+strings.TrimPrefix(sas, "?"), co)
	default:
		if opts.Credential == nil {
			return nil, fmt.Errorf("state location %s: no identity to reach it (set AZURE_STORAGE_CONNECTION_STRING "+
				"or AZURE_STORAGE_SAS_TOKEN)", loc)
		}
		cred, cerr := opts.Credential()
		if cerr != nil {
			return nil, cerr
		}
		c, err = container.NewClient(loc.Endpoint+"/"+loc.Container, cred, co)
	}
	if err != nil {
		// The SDK's message can quote the connection string; only say which setting is wrong.
		return nil, fmt.Errorf("state location %s: AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_SAS_TOKEN "+
			"cannot be used: check its format", loc)
	}
	prefix := loc.Prefix
	if prefix != "" {
		prefix += "/"
	}
	return &Blob{loc: loc.String(), prefix: prefix, c: c}, nil
}

// connAccount is the AccountName of a connection string.
func connAccount(cs string) string {
	for _, part := range strings.Split(cs, ";") {
		if k, v, ok := strings.Cut(part, "="); ok && strings.EqualFold(strings.TrimSpace(k), "AccountName") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Secrets are the credentials in the storage settings, for the redactor.
func Secrets(getenv func(string) string) []string {
	var out []string
	for _, part := range strings.Split(getenv("AZURE_STORAGE_CONNECTION_STRING"), ";") {
		if k, v, ok := strings.Cut(part, "="); ok {
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "accountkey", "sharedaccesssignature":
				out = append(out, strings.TrimSpace(v))
			}
		}
	}
	if sas := getenv("AZURE_STORAGE_SAS_TOKEN"); sas != "" {
		out = append(out, strings.TrimPrefix(sas, "?"))
	}
	return out
}
