package statetest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Fault makes matching requests fail: the Nth one and the Times-1 after it (Times 0 = 1).
type Fault struct {
	Method string // "" = any
	Comp   string // the request's comp= parameter (appendblock, lease, list, ...); "" = any
	Nth    int    // 1-based
	Times  int
	// Action: "503" answers 503 ServerBusy without passing the request on; "lost" passes it on and
	// then drops the answer, as a timeout after the storage service acted would; "hang" holds the
	// request for Delay and then drops it unsent.
	Action string
	Delay  time.Duration
}

// Proxy is a loopback HTTP proxy in front of a storage endpoint that injects faults.
type Proxy struct {
	// URL replaces the endpoint: http://127.0.0.1:PORT/ACCOUNT.
	URL    string
	target *url.URL
	srv    *httptest.Server

	mu     sync.Mutex
	faults []*faultState
	down   bool
	log    []string
}

type faultState struct {
	Fault
	seen int
}

// NewProxy proxies endpoint (http://HOST:PORT/ACCOUNT).
func NewProxy(endpoint string) (*Proxy, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: u}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.srv.URL + u.Path
	return p, nil
}

// Add installs a fault.
func (p *Proxy) Add(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f.Times == 0 {
		f.Times = 1
	}
	p.faults = append(p.faults, &faultState{Fault: f})
}

// SetDown makes every request fail with 503 (an outage) until SetDown(false), which also removes
// every fault.
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if !down {
		p.faults = nil
	}
}

// Requests lists what reached the proxy: "METHOD comp" per request, faults marked.
func (p *Proxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.log...)
}

// Close stops the proxy.
func (p *Proxy) Close() { p.srv.Close() }

func (p *Proxy) action(r *http.Request) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	comp := r.URL.Query().Get("comp")
	entry := r.Method + " " + comp
	defer func() { p.log = append(p.log, entry) }()
	if p.down {
		entry += " [down]"
		return Fault{Action: "503"}, true
	}
	for _, f := range p.faults {
		if (f.Method != "" && f.Method != r.Method) || (f.Comp != "" && !strings.EqualFold(f.Comp, comp)) {
			continue
		}
		f.seen++
		if f.seen >= f.Nth && f.seen < f.Nth+f.Times {
			entry += " [" + f.Action + "]"
			return f.Fault, true
		}
	}
	return Fault{}, false
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	f, fault := p.action(r)
	switch {
	case fault && f.Action == "503":
		w.Header().Set("x-ms-error-code", "ServerBusy")
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code>`+
			`<Message>Injected by the test proxy.</Message></Error>`)
		return
	case fault && f.Action == "hang":
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
		}
		drop(w)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Scheme, out.URL.Host = p.target.Scheme, p.target.Host
	out.Host = p.target.Host
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	if fault && f.Action == "lost" {
		io.Copy(io.Discard, resp.Body)
		drop(w)
		return
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
