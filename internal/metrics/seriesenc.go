package metrics

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"math"
	"math/bits"
	"sync"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// The series seal one histogram per series each second, and a
// PackedHistogram's Encode makes a new zlib compressor for every call:
// about 800 KiB at BestCompression, a third of all the bytes a minimal
// journey's run allocated (docs/benchmarks.md). encodeSeries writes the
// same bytes with one compressor kept for the process.
//
// It writes what PackedHistogram.Encode writes, byte for byte
// (TestEncodeSeriesMatchesLibrary): the V2 compressed encoding of
// HdrHistogram, the format its decoders read. The counts of the buckets
// from 0 to the highest one populated, each a ZigZag LEB128 number and
// each run of more than one empty bucket the negated length of the run,
// after a 40-byte header; zlib-compressed at BestCompression behind an
// 8-byte header of its own; base64.

// The cookies of the V2 encoding, as the library writes them (its base
// cookies with the word size, 8, in bits 4-7).
const (
	v2Cookie           = 0x1c849303 | 0x10
	v2CompressedCookie = 0x1c849304 | 0x10
	v2HeaderSize       = 40
)

// seriesEnc is the process's series encoder; mu guards it.
var seriesEnc struct {
	mu  sync.Mutex
	zw  *zlib.Writer
	raw []byte       // the uncompressed encoding
	z   bytes.Buffer // the compressed one, after its header
	b64 []byte
}

// encodeSeries returns p's V2 compressed base64 encoding, as
// p.Encode() does. p is a series histogram (its lowest trackable value 1,
// and the conversion ratio 1 of every histogram this package makes).
func encodeSeries(p *hdr.PackedHistogram) string {
	half := subBucketHalfMagnitude(int(p.SignificantFigures()))
	unit := int32(bits.Len64(uint64(p.LowestTrackableValue())) - 1)
	e := &seriesEnc
	e.mu.Lock()
	defer e.mu.Unlock()
	raw := binary.BigEndian.AppendUint32(e.raw[:0], v2Cookie)
	raw = binary.BigEndian.AppendUint32(raw, 0) // the payload's length, below
	raw = binary.BigEndian.AppendUint32(raw, 0) // normalizing index offset
	raw = binary.BigEndian.AppendUint32(raw, uint32(p.SignificantFigures()))
	raw = binary.BigEndian.AppendUint64(raw, uint64(p.LowestTrackableValue()))
	raw = binary.BigEndian.AppendUint64(raw, uint64(p.HighestTrackableValue()))
	raw = binary.BigEndian.AppendUint64(raw, math.Float64bits(1))
	// Empty buckets are written as runs: a run of one as the count 0, a
	// longer one as its negated length. A bucket the histogram keeps with
	// the count 0 is in a run too; the last one kept ends the counts (bucket
	// 0 for an empty histogram).
	next, run := int64(0), int64(0) // the index after the last bucket seen; the run before it
	for v, n := range p.ForEachBucket {
		i := countsIndex(v, unit, half)
		run += i - next
		next = i + 1
		if n == 0 {
			run++
			continue
		}
		raw = appendZigZag(appendRun(raw, run), n)
		run = 0
	}
	raw = appendRun(raw, run+max(next, 1)-next)
	binary.BigEndian.PutUint32(raw[4:], uint32(len(raw)-v2HeaderSize))
	e.raw = raw

	e.z.Reset()
	var head [8]byte
	e.z.Write(head[:]) // filled in below
	if e.zw == nil {
		// Cannot fail: the level is valid.
		e.zw, _ = zlib.NewWriterLevel(&e.z, zlib.BestCompression)
	} else {
		e.zw.Reset(&e.z)
	}
	// Writes to a bytes.Buffer do not fail.
	_, _ = e.zw.Write(raw)
	_ = e.zw.Close()
	out := e.z.Bytes()
	binary.BigEndian.PutUint32(out[0:], v2CompressedCookie)
	binary.BigEndian.PutUint32(out[4:], uint32(len(out)-8))
	e.b64 = base64.StdEncoding.AppendEncode(e.b64[:0], out)
	return string(e.b64)
}

// appendRun appends a run of n empty buckets.
func appendRun(b []byte, n int64) []byte {
	switch {
	case n == 1:
		return appendZigZag(b, 0)
	case n > 1:
		return appendZigZag(b, -n)
	}
	return b
}

// subBucketHalfMagnitude is HdrHistogram's: the magnitude of half the
// sub-buckets that give single-unit resolution up to 2 x 10^figures.
func subBucketHalfMagnitude(figures int) int32 {
	m := int32(math.Ceil(math.Log2(2 * math.Pow10(figures))))
	return max(m, 1) - 1
}

// countsIndex is the index of v's bucket in HdrHistogram's counts array.
func countsIndex(v int64, unit, half int32) int64 {
	mask := (int64(1)<<(half+1) - 1) << unit
	bucket := int32(64-bits.LeadingZeros64(uint64(v|mask))) - unit - (half + 1)
	sub := v >> (bucket + unit)
	return int64(bucket+1)<<half + sub - int64(1)<<half
}

// appendZigZag appends v in HdrHistogram's ZigZag LEB128: seven bits a
// byte, low first, and all eight bits in a ninth byte.
func appendZigZag(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for k := 0; k < 8; k++ {
		if u < 0x80 {
			return append(b, byte(u))
		}
		b = append(b, byte(u)|0x80)
		u >>= 7
	}
	return append(b, byte(u))
}
