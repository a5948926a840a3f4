package emulator

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
)

// BenchmarkRequests measures requests per second over real TLS connections (keep-alive, as clients use them),
// faults off, with parallel clients. The goal is >= 5,000 req/s on a 2-core machine.
func BenchmarkRequests(b *testing.B) {
	e := start(b, Options{})
	c := raw(b, e, DefaultSPObjectID)
	wsID := newWorkspace(b, c, map[string]any{"displayName": "bench"})
	for i := range 20 {
		c.do("POST", "/v1/workspaces/"+wsID+"/items", map[string]string{"displayName": fmt.Sprint("nb", i), "type": "Notebook"})
	}
	for _, bc := range []struct{ name, path string }{
		{"GetWorkspace", "/v1/workspaces/" + wsID},
		{"ListItems", "/v1/workspaces/" + wsID + "/items"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			hc := e.HTTPClient()
			url := e.URL() + bc.path
			b.SetParallelism(8)
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("GET", url, nil)
					req.Header.Set("Authorization", "Bearer "+c.token)
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// BenchmarkCreateItems measures item creation (202 + operation) over TLS.
func BenchmarkCreateItems(b *testing.B) {
	e := start(b, Options{})
	c := raw(b, e, DefaultSPObjectID)
	wsID := newWorkspace(b, c, map[string]any{"displayName": "bench"})
	body := `{"displayName":"nb%d","type":"Notebook","definition":{"parts":[{"path":"notebook-content.py","payload":"` + b64(strings.Repeat("x = 1\n", 40)) + `","payloadType":"InlineBase64"}]}}`
	start := time.Now()
	b.ResetTimer()
	for i := range b.N {
		if r := c.do("POST", "/v1/workspaces/"+wsID+"/items", fmt.Sprintf(body, i)); r.status != 202 {
			b.Fatalf("create: %d %s", r.status, r.body)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkMemory1000x50 holds 1,000 workspaces with 50 items each (every item with a 240-byte definition and
// its finished create operation) and reports the live heap. The goal is < 300 MB.
func BenchmarkMemory1000x50(b *testing.B) {
	for range b.N {
		e := start(b, Options{})
		tok, _ := e.AccessToken(DefaultSPObjectID, audienceFabric)
		serve := func(method, path, body string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(method, e.URL()+path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			return rec
		}
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		payload := b64(strings.Repeat("x = 1\n", 40))
		for w := range 1000 {
			rec := serve("POST", "/v1/workspaces", fmt.Sprintf(`{"displayName":"ws%d"}`, w))
			if rec.Code != 201 {
				b.Fatalf("create workspace: %d %s", rec.Code, rec.Body)
			}
			id := rec.Header().Get("Location")[len(e.URL()+"/v1/workspaces/"):]
			for i := range 50 {
				rec := serve("POST", "/v1/workspaces/"+id+"/items", fmt.Sprintf(`{"displayName":"nb%d","type":"Notebook","definition":{"parts":[{"path":"notebook-content.py","payload":"%s","payloadType":"InlineBase64"}]}}`, i, payload))
				if rec.Code != 202 {
					b.Fatalf("create item: %d %s", rec.Code, rec.Body)
				}
			}
		}
		e.reqlog.reset()
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB-heap")
		if rec := serve("GET", "/v1/workspaces", ""); rec.Code != 200 {
			b.Fatalf("list: %d", rec.Code)
		}
	}
}
