// A thin harness over Istio's own code, for the Istio tier (test/istio.test.ts).
//
// It reads scenarios (each a set of Kubernetes and Istio objects, as the function composes them
// plus the Pods their Deployments would make) from the JSON file named by AEROGRID_ISTIO_IN, and
// writes what Istio makes of them to AEROGRID_ISTIO_OUT:
//   - the findings of every analyzer `istioctl analyze` runs (analyzers.All()), over the objects
//     as Istio's own analyzer tests load them, keeping Pods, Services and Namespaces;
//   - for each Pod named as a workload, the inbound listener istiod would send its sidecar,
//     computed in process by the config generator (pilot's FakeDiscoveryServer, which wraps
//     core.NewConfigGenTest with the Kubernetes service registry), and the filter chain
//     Istio's traffic simulator matches for the calls the scenario asks about.
//
// The judging is in TypeScript: this file only runs Istio and reports. Istio's version is
// go.mod's: a development snapshot of Istio 1.31, the only one the Go module proxy serves whole.
package harness

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	listener "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/model"
	"istio.io/istio/pilot/pkg/simulation"
	"istio.io/istio/pilot/test/xds"
	"istio.io/istio/pkg/config/analysis"
	"istio.io/istio/pkg/config/analysis/analyzers"
	"istio.io/istio/pkg/config/analysis/local"
)

type scenario struct {
	Name string `json:"name"`
	// Objects: Kubernetes and Istio objects, one JSON document each.
	Objects   []json.RawMessage `json:"objects"`
	Workloads []workload        `json:"workloads"`
}

type workload struct {
	Namespace string            `json:"namespace"`
	Pod       string            `json:"pod"`
	IP        string            `json:"ip"`
	Labels    map[string]string `json:"labels"`
	// Calls: inbound calls to this Pod for Istio's traffic simulator.
	Calls []call `json:"calls"`
}

type call struct {
	Port int    `json:"port"`
	TLS  string `json:"tls"` // plaintext | mtls
}

type finding struct {
	Code    string `json:"code"`
	Level   string `json:"level"`
	Origin  string `json:"origin"`
	Message string `json:"message"`
}

type callResult struct {
	call
	Error       string `json:"error,omitempty"`
	FilterChain string `json:"filterChain,omitempty"`
}

type workloadResult struct {
	Namespace string          `json:"namespace"`
	Pod       string          `json:"pod"`
	Inbound   json.RawMessage `json:"inbound"`
	Calls     []callResult    `json:"calls"`
}

type scenarioResult struct {
	Name string `json:"name"`
	// All: every analyzer `istioctl analyze` has (analyzers.All()); Analyzers: those that ran.
	All       []string  `json:"all"`
	Analyzers []string  `json:"analyzers"`
	Skipped   []string  `json:"skipped"`
	Findings  []finding `json:"findings"`
	// LoadError: Istio could not read the objects at all (the analyzer's parser refused them).
	LoadError string `json:"loadError,omitempty"`
	// ConfigError: istiod's config parser refused the Istio objects, so no workload got any.
	ConfigError string           `json:"configError,omitempty"`
	Workloads   []workloadResult `json:"workloads"`
}

func TestScenarios(t *testing.T) {
	in, out := os.Getenv("AEROGRID_ISTIO_IN"), os.Getenv("AEROGRID_ISTIO_OUT")
	if in == "" || out == "" {
		t.Fatal("set AEROGRID_ISTIO_IN (scenarios, JSON) and AEROGRID_ISTIO_OUT (results)")
	}
	raw, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var scenarios []scenario
	if err := json.Unmarshal(raw, &scenarios); err != nil {
		t.Fatalf("%s: %v", in, err)
	}
	results := make([]scenarioResult, 0, len(scenarios))
	for _, s := range scenarios {
		t.Run(s.Name, func(t *testing.T) { results = append(results, run(t, s)) })
	}
	b, err := json.Marshal(results)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, s scenario) scenarioResult {
	r := scenarioResult{Name: s.Name, Findings: []finding{}, Workloads: []workloadResult{}}
	docs := make([]string, len(s.Objects))
	var kubeDocs, istioDocs []string
	for i, o := range s.Objects {
		docs[i] = string(o)
		var head struct {
			APIVersion string `json:"apiVersion"`
		}
		if err := json.Unmarshal(o, &head); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(head.APIVersion, "istio.io/") {
			istioDocs = append(istioDocs, docs[i])
		} else {
			kubeDocs = append(kubeDocs, docs[i])
		}
	}

	// The analyzers, all of them, as Istio's own analyzer tests set them up (keeping Pods,
	// Services and Namespaces, which `istioctl analyze --use-kube=false` drops).
	for _, a := range analyzers.All() {
		r.All = append(r.All, a.Metadata().Name)
	}
	sa := local.NewSourceAnalyzer(analysis.Combine("all", analyzers.All()...), "", "istio-system", nil)
	if err := sa.AddTestReaderKubeSource([]local.ReaderSource{{Name: s.Name, Reader: strings.NewReader(strings.Join(docs, "\n---\n"))}}); err != nil {
		r.LoadError = err.Error()
		return r
	}
	// No AddDefaultResources: it adds istioctl's guess of an ingress gateway (a Pod labelled
	// istio=ingressgateway in istio-system), and the scenarios carry the platform's own in the
	// namespace platform.yaml names. With both, the Gateway analyzer picks one of the two
	// gateways at random (map order) and looks for the credential beside it.
	res, err := sa.Analyze(make(chan struct{}))
	if err != nil {
		t.Fatal(err)
	}
	r.Analyzers, r.Skipped = res.ExecutedAnalyzers, res.SkippedAnalyzers
	for _, m := range res.Messages {
		f := finding{Code: m.Type.Code(), Level: m.Type.Level().String(), Message: m.String()}
		if m.Resource != nil {
			f.Origin = m.Resource.Origin.FriendlyName()
		}
		r.Findings = append(r.Findings, f)
	}
	if len(s.Workloads) == 0 {
		return r
	}

	// What istiod would send each workload's sidecar, if it takes the configuration at all.
	if _, _, err := crd.ParseInputs(strings.Join(istioDocs, "\n---\n")); err != nil {
		r.ConfigError = err.Error()
		return r
	}
	ds := xds.NewFakeDiscoveryServer(t, xds.FakeOptions{
		ConfigString:           strings.Join(istioDocs, "\n---\n"),
		KubernetesObjectString: strings.Join(kubeDocs, "\n---\n"),
	})
	for _, w := range s.Workloads {
		proxy := ds.SetupProxy(&model.Proxy{
			ID:              w.Pod + "." + w.Namespace,
			IPAddresses:     []string{w.IP},
			ConfigNamespace: w.Namespace,
			Labels:          w.Labels,
			Metadata:        &model.NodeMetadata{Namespace: w.Namespace, Labels: w.Labels},
		})
		sim := simulation.NewSimulation(t, ds, proxy)
		wr := workloadResult{Namespace: w.Namespace, Pod: w.Pod, Calls: []callResult{}}
		for _, l := range sim.Listeners {
			if l.Name == "virtualInbound" {
				wr.Inbound = marshal(t, l)
			}
		}
		for _, c := range w.Calls {
			got := sim.Run(simulation.Call{
				Address:  w.IP,
				Port:     c.Port,
				Protocol: simulation.HTTP,
				TLS:      simulation.TLSMode(c.TLS),
				CallMode: simulation.CallModeInbound,
			})
			cr := callResult{call: c, FilterChain: got.FilterChainMatched}
			if got.Error != nil {
				cr.Error = got.Error.Error()
			}
			wr.Calls = append(wr.Calls, cr)
		}
		r.Workloads = append(r.Workloads, wr)
	}
	return r
}

func marshal(t *testing.T, l *listener.Listener) json.RawMessage {
	b, err := protojson.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
