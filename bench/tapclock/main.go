//go:build linux

// Command tapclock measures how far apart the kernel's two receive times
// of one loopback TCP segment are: the one a receiving TCP socket reports
// (SO_TIMESTAMPNS, which goldenpath and bench/wireclient read) and the
// one bench/wiretap's capture (bench/internal/loopcap) reports for its copy.
// scripts/bench-latency.sh judges the clients against bench/wiretap, so
// this is the finest difference that comparison can resolve.
//
// A server on loopback writes -n short messages, -gap apart; a client
// reads each on its own with SO_TIMESTAMPNS while a packet socket on lo
// (root or CAP_NET_RAW) captures their segments. For each message it
// prints nothing; at the end, the quantiles of the socket's time minus
// the packet copy's, in microseconds:
//
//	segments N: socket - packet (us): p1 A p10 B p50 C p90 D p99 E
//
// With -late, every other packet copy is read a millisecond late, to show
// that its time is the kernel's, not the read's. Not part of goldenpath.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"log"
	"net"
	"sort"
	"syscall"
	"time"

	"github.com/goldenpath-dev/goldenpath/bench/internal/loopcap"
)

// stamp is the SCM_TIMESTAMPNS in oob, in Unix nanoseconds.
func stamp(oob []byte) int64 {
	msgs, _ := syscall.ParseSocketControlMessage(oob)
	for _, m := range msgs {
		if m.Header.Level == syscall.SOL_SOCKET && m.Header.Type == syscall.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			return int64(binary.NativeEndian.Uint64(m.Data))*1e9 + int64(binary.NativeEndian.Uint64(m.Data[8:]))
		}
	}
	return 0
}

func main() {
	n := flag.Int("n", 2000, "messages")
	gap := flag.Duration("gap", 200*time.Microsecond, "pause between two messages")
	late := flag.Bool("late", false, "read every other packet copy a millisecond late")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	pfd, err := loopcap.Open(uint16(ln.Addr().(*net.TCPAddr).Port)) // bench/wiretap's very capture
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		for i := range *n {
			if _, err := fmt.Fprintf(c, "msg %08d", i); err != nil {
				log.Fatal(err)
			}
			time.Sleep(*gap)
		}
		_ = c.Close()
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	f, err := c.(*net.TCPConn).File() // a blocking duplicate of the socket
	if err != nil {
		log.Fatal(err)
	}
	cfd := int(f.Fd())
	if err := syscall.SetsockoptInt(cfd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		log.Fatal(err)
	}
	msg, pkt, oob, poob := make([]byte, 12), make([]byte, 1<<16), make([]byte, 64), make([]byte, 64)
	var diffs []float64
	for i := range *n {
		k, oobn, _, _, err := syscall.Recvmsg(cfd, msg, oob, syscall.MSG_WAITALL)
		if err != nil || k < len(msg) {
			log.Fatalf("message %d: %d bytes, %v", i, k, err)
		}
		at := stamp(oob[:oobn])
		if *late && i%2 == 1 {
			time.Sleep(time.Millisecond)
		}
		for { // the copy of this message's segment
			pn, poobn, _, _, err := syscall.Recvmsg(pfd, pkt, poob, 0)
			if err != nil {
				log.Fatal(err)
			}
			ihl := int(pkt[0]&0x0f) * 4
			if pn < ihl+20 {
				continue
			}
			if doff := int(pkt[ihl+12]>>4) * 4; pn >= ihl+doff && string(pkt[ihl+doff:pn]) == string(msg) {
				diffs = append(diffs, float64(at-stamp(poob[:poobn]))/1e3)
				break
			}
		}
	}
	sort.Float64s(diffs)
	q := func(p float64) float64 { return diffs[int(p*float64(len(diffs)-1))] }
	fmt.Printf("segments %d: socket - packet (us): p1 %.1f p10 %.1f p50 %.1f p90 %.1f p99 %.1f\n", len(diffs), q(0.01), q(0.1), q(0.5), q(0.9), q(0.99))
}
