//go:build linux

// Package loopcap is the packet capture of the bench programs: the copies
// of a loopback port's IPv4 TCP segments that the receiving sockets get,
// with the kernel's times of them. bench/wiretap times the phases from it;
// bench/tapclock measures how far its times stand from the receiving
// socket's own. Not part of goldenpath.
package loopcap

import (
	"fmt"
	"net"
	"syscall"
	"unsafe"
)

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Open opens a packet socket on lo that takes, of the IPv4 TCP
// segments to or from port, the copies delivered to the receiving socket,
// with their kernel receive times.
func Open(port uint16) (int, error) {
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, int(htons(syscall.ETH_P_IP)))
	if err != nil {
		return -1, fmt.Errorf("a packet socket (run as root, or with CAP_NET_RAW): %w", err)
	}
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		return -1, err
	}
	// classic BPF: the receiving copy (PACKET_HOST), TCP, port at either end
	const skfAdPkttype = 0xfffff004 // SKF_AD_OFF (-0x1000) + SKF_AD_PKTTYPE (4), as a uint32
	prog := []syscall.SockFilter{
		{Code: syscall.BPF_LD | syscall.BPF_W | syscall.BPF_ABS, K: skfAdPkttype},
		{Code: syscall.BPF_JMP | syscall.BPF_JEQ | syscall.BPF_K, K: syscall.PACKET_HOST, Jt: 0, Jf: 8},
		{Code: syscall.BPF_LD | syscall.BPF_B | syscall.BPF_ABS, K: 9},
		{Code: syscall.BPF_JMP | syscall.BPF_JEQ | syscall.BPF_K, K: syscall.IPPROTO_TCP, Jt: 0, Jf: 6},
		{Code: syscall.BPF_LDX | syscall.BPF_B | syscall.BPF_MSH, K: 0},
		{Code: syscall.BPF_LD | syscall.BPF_H | syscall.BPF_IND, K: 0},
		{Code: syscall.BPF_JMP | syscall.BPF_JEQ | syscall.BPF_K, K: uint32(port), Jt: 2, Jf: 0},
		{Code: syscall.BPF_LD | syscall.BPF_H | syscall.BPF_IND, K: 2},
		{Code: syscall.BPF_JMP | syscall.BPF_JEQ | syscall.BPF_K, K: uint32(port), Jt: 0, Jf: 1},
		{Code: syscall.BPF_RET | syscall.BPF_K, K: 1 << 16},
		{Code: syscall.BPF_RET | syscall.BPF_K, K: 0},
	}
	fprog := syscall.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, e := syscall.Syscall6(syscall.SYS_SETSOCKOPT, uintptr(fd), syscall.SOL_SOCKET, syscall.SO_ATTACH_FILTER,
		uintptr(unsafe.Pointer(&fprog)), unsafe.Sizeof(fprog), 0); e != 0 {
		return -1, fmt.Errorf("attach the filter: %w", e)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrLinklayer{Protocol: htons(syscall.ETH_P_IP), Ifindex: lo.Index}); err != nil {
		return -1, err
	}
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 64<<20)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		return -1, err
	}
	return fd, nil
}

// Drops is the kernel's count of segments the socket had no room for.
func Drops(fd int) uint32 {
	var st struct{ packets, drops uint32 }
	l := uint32(unsafe.Sizeof(st))
	_, _, _ = syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.SOL_PACKET, 6, // PACKET_STATISTICS
		uintptr(unsafe.Pointer(&st)), uintptr(unsafe.Pointer(&l)), 0)
	return st.drops
}
