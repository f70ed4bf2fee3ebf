// Command cnitool is braid's test driver: a small libcni client that runs a CNI network list the way a
// container runtime does. Debian ships libcni (golang-github-appc-cni-dev) but no cnitool binary, so the
// integration tests build this instead. Usage matches the upstream tool:
//
//	cnitool add|check|del <net> <netns-path>
//
// Environment: NETCONFPATH (where <net>'s .conflist/.conf lives, default /etc/cni/net.d), CNI_PATH
// (plugin dirs, ':'-separated), CNI_IFNAME (default eth0), CNI_ARGS ("K=V;K=V"), CAP_ARGS (a JSON
// object of capability args, i.e. the runtimeConfig), CNI_CONTAINERID (default: derived from the
// netns path) and CNI_CACHE_DIR (libcni's result cache, default libcni's /var/lib/cni).
package main

import (
	"context"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func usage() {
	fmt.Fprintf(os.Stderr, "usage: %s add|check|del <net> <netns-path>\n", filepath.Base(os.Args[0]))
	os.Exit(2)
}

func fail(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "cnitool: "+format+"\n", a...)
	os.Exit(1)
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

// cniArgs turns "K=V;K=V" into libcni's pairs.
func cniArgs(s string) [][2]string {
	var out [][2]string
	for _, pair := range strings.Split(s, ";") {
		if pair == "" {
			continue
		}
		kv := strings.SplitN(pair, "=", 2)
		if len(kv) != 2 || kv[0] == "" {
			fail("CNI_ARGS: invalid pair %q", pair)
		}
		out = append(out, [2]string{kv[0], kv[1]})
	}
	return out
}

func main() {
	if len(os.Args) != 4 {
		usage()
	}
	action, netName, netns := os.Args[1], os.Args[2], os.Args[3]

	list, err := libcni.LoadConfList(envOr("NETCONFPATH", "/etc/cni/net.d"), netName)
	if err != nil {
		fail("loading network %q: %v", netName, err)
	}

	capArgs := map[string]interface{}{}
	if s := os.Getenv("CAP_ARGS"); s != "" {
		if err := json.Unmarshal([]byte(s), &capArgs); err != nil {
			fail("CAP_ARGS is not a JSON object: %v", err)
		}
	}

	containerID := os.Getenv("CNI_CONTAINERID")
	if containerID == "" {
		sum := sha512.Sum512([]byte(netns))
		containerID = fmt.Sprintf("cnitool-%x", sum[:10])
	}
	absNetns, err := filepath.Abs(netns)
	if err != nil {
		fail("netns path %q: %v", netns, err)
	}

	rt := &libcni.RuntimeConf{
		ContainerID:    containerID,
		NetNS:          absNetns,
		IfName:         envOr("CNI_IFNAME", "eth0"),
		Args:           cniArgs(os.Getenv("CNI_ARGS")),
		CapabilityArgs: capArgs,
		CacheDir:       os.Getenv("CNI_CACHE_DIR"),
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(os.Getenv("CNI_PATH")), rt.CacheDir, nil)
	ctx := context.Background()

	switch action {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail("add: %v", err)
		}
		if err := printResult(result); err != nil {
			fail("printing result: %v", err)
		}
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail("check: %v", err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail("del: %v", err)
		}
	default:
		usage()
	}
}

func printResult(result types.Result) error {
	if result == nil {
		return nil
	}
	return result.Print()
}
